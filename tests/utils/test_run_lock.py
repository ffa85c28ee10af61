"""Run-directory locks: exclusive writers, shared readers, released when a process dies."""

from __future__ import annotations

import fcntl
import os
import signal
import subprocess
import sys

import pytest

from tfdis.utils import run_lock

HOLD = """
import sys, time
from tfdis.utils import run_lock
with run_lock.run_lock(sys.argv[1], exclusive=True):
    print("locked", flush=True)
    time.sleep(60)
"""


def _env():
    root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    return dict(os.environ, PYTHONPATH=root)


def test_a_second_process_is_refused_naming_the_holder_and_a_kill_frees_the_lock(tmp_path):
    run = str(tmp_path / "run")
    holder = subprocess.Popen(
        [sys.executable, "-c", HOLD, run], stdout=subprocess.PIPE, text=True, env=_env()
    )
    try:
        assert holder.stdout.readline().strip() == "locked"
        with pytest.raises(run_lock.RunLockedError, match=f"trained by process {holder.pid}@"):
            with run_lock.run_lock(run, exclusive=True):
                pass
        with pytest.raises(run_lock.RunLockedError, match="refusing to evaluate"):
            run_lock.refuse_if_training(run, "evaluate")
    finally:
        holder.send_signal(signal.SIGKILL)
        holder.wait()
    with run_lock.run_lock(run, exclusive=True):  # SIGKILL leaves no stale lock
        pass


def test_readers_share_and_block_a_writer(tmp_path):
    run = str(tmp_path / "run")
    os.makedirs(run)
    with open(run_lock.lock_file_path(run), "a+") as other:  # another process's reader lock
        fcntl.flock(other, fcntl.LOCK_SH | fcntl.LOCK_NB)
        with run_lock.run_lock(run, exclusive=False):
            pass
        with pytest.raises(run_lock.RunLockedError, match="being read by another process"):
            with run_lock.run_lock(run, exclusive=True):
                pass


def test_locks_are_reentrant_within_a_process(tmp_path):
    run = str(tmp_path / "run")
    with run_lock.run_lock(run, exclusive=True), run_lock.run_lock(run, exclusive=False):
        with run_lock.run_lock(run, exclusive=True):
            pass
    assert not run_lock._HELD
