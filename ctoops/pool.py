"""The one thread pool ctoops' concurrent work runs in (smoke checks, usage windows).

``concurrent.futures.ThreadPoolExecutor`` used as a context manager waits for every running
task when the block is left, also when it is left by Ctrl-C: a run with three requests in
flight would sit out their timeouts (30 s each, times the retries) before saying
"interrupted". This pool, left by Ctrl-C, cancels what has not started and does not wait for
what has; the process then ends without joining those threads (``ctoops.cli.main``).
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING

from ctoops.errors import Terminated

if TYPE_CHECKING:
    from concurrent.futures import ThreadPoolExecutor

_left = threading.Event()  # a pool was left by Ctrl-C or SIGTERM: the run is ending


def abandoned() -> bool:
    """Whether the calling thread is a worker the run has left behind: a pool was left by
    Ctrl-C or SIGTERM and this is not the main thread. What such a thread would say now (a
    retry notice for the socket closed under it) is about the ending, not news, and would
    follow the run's last line, ``ctoops: interrupted``; callers leave it unsaid."""
    return _left.is_set() and threading.current_thread() is not threading.main_thread()


def new_run() -> None:
    """Forget an earlier run's ending (one process may run several commands: a library
    caller, the tests)."""
    _left.clear()


@contextmanager
def thread_pool(workers: int, name: str) -> Iterator[ThreadPoolExecutor]:
    """A ``ThreadPoolExecutor`` of ``workers`` threads named ``name-N``. Left normally or
    by an error it waits for every running task, as the executor does (the callers stop their
    tasks on an error, and a library caller gets no thread left running behind its back); left
    by Ctrl-C (``KeyboardInterrupt``) or SIGTERM (``Terminated``) it cancels the queued tasks,
    does not wait for the running ones, and re-raises."""
    from concurrent.futures import ThreadPoolExecutor

    pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix=name)
    try:
        yield pool
    except (KeyboardInterrupt, Terminated):
        _left.set()
        pool.shutdown(wait=False, cancel_futures=True)
        raise
    except BaseException:
        pool.shutdown(wait=True)
        raise
    pool.shutdown(wait=True)
