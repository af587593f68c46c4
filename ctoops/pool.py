"""The one thread pool ctoops' concurrent work runs in (smoke checks, usage windows).

``concurrent.futures.ThreadPoolExecutor`` used as a context manager waits for every running
task when the block is left, also when it is left by Ctrl-C: a run with three requests in
flight would sit out their timeouts (30 s each, times the retries) before saying
"interrupted". This pool, left by an exception, cancels what has not started and does not
wait for what has; the process then ends without joining those threads (``ctoops.cli.main``).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from concurrent.futures import ThreadPoolExecutor


@contextmanager
def thread_pool(workers: int, name: str) -> Iterator[ThreadPoolExecutor]:
    """A ``ThreadPoolExecutor`` of ``workers`` threads named ``name-N``. On a normal exit
    it waits for every task, as the executor does; on an exception (``KeyboardInterrupt``
    included) it cancels the queued tasks, does not wait for the running ones, and re-raises."""
    from concurrent.futures import ThreadPoolExecutor

    pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix=name)
    try:
        yield pool
    except BaseException:
        pool.shutdown(wait=False, cancel_futures=True)
        raise
    pool.shutdown(wait=True)
