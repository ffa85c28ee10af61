"""SIGINT/SIGTERM during training: finish the step, checkpoint, say how to resume, exit.

Clusters send SIGTERM before they kill a job; a user presses Ctrl-C. Inside `stop_requests()`
the first such signal only sets a flag; the training loop checks it after every step, writes a
checkpoint and raises `TrainingInterrupted`, which the command line prints with the resume hint
(exit status 130 for SIGINT, 143 for SIGTERM). A second signal aborts at once: everything on
disk is written atomically, so the run still resumes from its last checkpoint.
"""

from __future__ import annotations

import contextlib
import os
import signal
import sys
import threading
from collections.abc import Iterator

_SIGNALS = (signal.SIGINT, signal.SIGTERM)


class TrainingInterrupted(RuntimeError):
    """Training stopped on a signal after checkpointing `step`; the message says how to resume."""

    def __init__(self, step: int, signum: int):
        self.step = step
        self.exit_code = 128 + signum
        name = signal.Signals(signum).name
        super().__init__(
            f"interrupted ({name}) at step {step}; a checkpoint of step {step} is saved. Rerun "
            "the same command to resume from it."
        )


class StopRequest:
    """Set by the first SIGINT/SIGTERM: `signum` is the signal, 0 while none came."""

    def __init__(self):
        self.signum = 0

    def __bool__(self) -> bool:
        return self.signum != 0


@contextlib.contextmanager
def stop_requests() -> Iterator[StopRequest]:
    """Yields a `StopRequest` set by the first signal; a second aborts the process at once.

    Outside the main thread (signals cannot be handled there) the request is never set.
    """
    request = StopRequest()
    if threading.current_thread() is not threading.main_thread():
        yield request
        return

    def handle(signum, frame):
        del frame
        if request:
            print(
                "aborted by a second signal; the run resumes from its last checkpoint.",
                file=sys.stderr,
                flush=True,
            )
            os._exit(128 + signum)
        request.signum = signum
        print(
            f"{signal.Signals(signum).name} received: finishing the step and saving a "
            "checkpoint (send it again to abort at once).",
            file=sys.stderr,
            flush=True,
        )

    previous = {s: signal.signal(s, handle) for s in _SIGNALS}
    try:
        yield request
    finally:
        for s, handler in previous.items():
            signal.signal(s, handler)
