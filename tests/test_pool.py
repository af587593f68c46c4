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


def test_a_worker_left_behind_by_ctrl_c_says_nothing_after_the_run_ended(capsys):
    """After Ctrl-C the main thread prints ``ctoops: interrupted`` and ends; a worker still
    running (its socket closed under it) used to add 'could not be reached ... retry 1 of 3'
    after that last line. Its notices are left unsaid; the main thread's, and the next
    run's, are not."""
    from ctoops.context import AppContext
    from ctoops.pool import new_run

    app = AppContext(click_ctx=None)  # type: ignore[arg-type]
    release, started, said = threading.Event(), threading.Event(), threading.Event()

    def task() -> None:
        started.set()
        release.wait()
        app.notify("the OpenCTO worker could not be reached (retry 1 of 3)")
        said.set()

    try:
        with pytest.raises(KeyboardInterrupt):
            with thread_pool(1, "test-pool") as pool:
                pool.submit(task)
                started.wait()
                raise KeyboardInterrupt
        release.set()
        assert said.wait(5)
        app.notify("interrupted")  # the main thread still speaks
        assert capsys.readouterr().err == "ctoops: interrupted\n"
        new_run()
        with thread_pool(1, "test-pool") as pool:
            pool.submit(app.notify, "a notice of the next run").result()
        assert capsys.readouterr().err == "ctoops: a notice of the next run\n"
    finally:
        release.set()
        new_run()
