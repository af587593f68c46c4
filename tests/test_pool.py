"""The thread pool: Ctrl-C does not wait for running tasks; an error and a normal end do."""

from __future__ import annotations

import threading

import pytest

from ctoops.pool import thread_pool


def test_ctrl_c_leaves_running_tasks_behind_and_cancels_queued_ones():
    release = threading.Event()
    started = threading.Event()

    def task() -> None:
        started.set()
        release.wait()

    try:
        with pytest.raises(KeyboardInterrupt):
            with thread_pool(1, "test-pool") as pool:
                running = pool.submit(task)
                queued = pool.submit(task)
                started.wait()
                raise KeyboardInterrupt
        # reached while the first task still runs: the block did not wait for it
        assert running.running() and queued.cancelled()
    finally:
        release.set()


def test_an_error_waits_for_every_task():
    release = threading.Event()
    finished = []

    def task() -> None:
        release.wait()
        finished.append(True)

    with pytest.raises(ValueError):
        with thread_pool(1, "test-pool") as pool:
            futures = [pool.submit(task) for _ in range(4)]  # one runs, three queue behind it
            release.set()
            raise ValueError("one window failed")
    # none was cancelled or left running: the callers stop their own tasks on an error
    assert all(f.done() and not f.cancelled() for f in futures) and len(finished) == 4
