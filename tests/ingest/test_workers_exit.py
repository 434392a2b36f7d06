"""A parser worker does not outlive the process that started it (a SIGKILLed server or CLI)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

import pytest

from ingest.workers import exit_with_parent

# A parent that starts a pool whose worker sleeps, prints the worker's pid, then waits.
PARENT = """
import os, sys, time, multiprocessing
from concurrent.futures import ProcessPoolExecutor
from ingest.workers import exit_with_parent

def sleeper():
    print(os.getpid(), flush=True)
    time.sleep(120)

if __name__ == "__main__":
    pool = ProcessPoolExecutor(1, mp_context=multiprocessing.get_context("spawn"),
                               initializer=exit_with_parent, initargs=(os.getpid(),))
    pool.submit(sleeper)
    time.sleep(120)
"""


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    with open(f"/proc/{pid}/stat") as stat:  # a zombie waiting to be reaped is gone too
        return stat.read().split(") ")[-1].split()[0] != "Z"


@pytest.mark.skipif(sys.platform != "linux", reason="reads /proc")
def test_a_worker_exits_soon_after_its_parent_is_killed(tmp_path) -> None:
    script = tmp_path / "parent.py"
    script.write_text(PARENT)
    parent = subprocess.Popen(
        [sys.executable, str(script)], stdout=subprocess.PIPE, text=True, cwd=os.getcwd()
    )
    try:
        assert parent.stdout is not None
        worker = int(parent.stdout.readline())
        assert _alive(worker)
    finally:
        parent.send_signal(signal.SIGKILL)
        parent.wait(10)
    deadline = time.monotonic() + 10
    while _alive(worker) and time.monotonic() < deadline:
        time.sleep(0.1)
    try:
        assert not _alive(worker), "the worker outlived its killed parent"
    finally:
        if _alive(worker):
            os.kill(worker, signal.SIGKILL)


def test_a_worker_whose_parent_is_already_gone_exits_at_once(monkeypatch) -> None:
    exits: list[int] = []

    def record_exit(code: int) -> None:
        exits.append(code)
        raise SystemExit(code)

    monkeypatch.setattr(os, "_exit", record_exit)
    with pytest.raises(SystemExit):
        exit_with_parent(os.getppid() + 1_000_000)
    assert exits == [1]
