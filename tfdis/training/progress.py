"""Progress reporting for long runs: steps/s, images/s and ETA in the log; `logged` for loops."""

from __future__ import annotations

import time
from collections.abc import Iterable, Iterator, Mapping

from absl import logging


def format_duration(seconds: float) -> str:
    """`3725` -> `"1h02m05s"`."""
    seconds = max(0, int(round(seconds)))
    hours, rest = divmod(seconds, 3600)
    minutes, secs = divmod(rest, 60)
    if hours:
        return f"{hours}h{minutes:02d}m{secs:02d}s"
    if minutes:
        return f"{minutes}m{secs:02d}s"
    return f"{secs}s"


class ProgressLogger:
    """Logs a progress line at most every `every_seconds` (and always at the last step).

    Args:
        start_step: completed steps when the run (re)started.
        total_steps: the run's final step.
        batch_size: observations per step, for images/s.
        every_seconds: minimum wall time between two lines.
    """

    def __init__(
        self, start_step: int, total_steps: int, batch_size: int, every_seconds: float = 10.0
    ):
        self.start_step = start_step
        self.total_steps = total_steps
        self.batch_size = batch_size
        self.every_seconds = every_seconds
        self.start_time = time.perf_counter()
        self.last_time = self.start_time
        self.last_step = start_step

    def steps_per_second(self, step: int) -> float:
        """Mean rate since the last line (the whole run so far if none)."""
        elapsed = time.perf_counter() - self.last_time
        return (step - self.last_step) / elapsed if elapsed > 0 else 0.0

    def maybe_log(self, step: int, logs: Mapping[str, float]) -> float | None:
        """Logs if due; returns the steps/s it logged, else None."""
        now = time.perf_counter()
        if now - self.last_time < self.every_seconds and step != self.total_steps:
            return None
        rate = self.steps_per_second(step)
        overall = (step - self.start_step) / max(now - self.start_time, 1e-9)
        eta = (self.total_steps - step) / overall if overall > 0 else float("inf")
        terms = " ".join(f"{k} {v:.4g}" for k, v in logs.items())
        logging.info(
            "step %d/%d (%.1f%%) | %.1f steps/s | %.0f images/s | ETA %s | %s",
            step,
            self.total_steps,
            100.0 * step / self.total_steps,
            rate,
            rate * self.batch_size,
            format_duration(eta) if eta != float("inf") else "?",
            terms,
        )
        self.last_time, self.last_step = now, step
        return rate


def logged(
    iterable: Iterable, total: int, what: str, unit: str = "batches", every_seconds: float = 10.0
) -> Iterator:
    """Yields `iterable`'s items, logging `what: i/total (pct) | rate | ETA` when due.

    A line at most every `every_seconds`, and one at the end with the total time, so a long
    step after training (the final evaluation, an export, a code table) is never silent.
    """
    start = last = time.perf_counter()
    done = 0
    logging.info("%s: %d %s.", what, total, unit)
    for item in iterable:
        yield item
        done += 1
        now = time.perf_counter()
        if now - last >= every_seconds and done < total:
            rate = done / (now - start)
            logging.info(
                "%s: %d/%d %s (%.0f%%) | %.1f %s/s | ETA %s",
                what,
                done,
                total,
                unit,
                100.0 * done / max(total, 1),
                rate,
                unit,
                format_duration((total - done) / rate),
            )
            last = now
    logging.info("%s: done in %s.", what, format_duration(time.perf_counter() - start))
