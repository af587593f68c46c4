"""Running the readers over a set of sources, and what Ctrl-C means while they run.

1. Regular files are sniffed (format, gzip, BOM) and those of one layout handed to DuckDB
   in one query, which reads them in parallel (``duck.Engine.files``); a file DuckDB
   refuses, or holding a record to skip or a sampling notice, is read as a stream instead.
2. Streams (stdin, pipes, ``StreamSource``, byte strings, and the files of step 1 handed
   back) are cut into chunk files (in the temporary folder, ``$TMPDIR``) by a reader thread
   (``framing``) while this thread has each chunk counted: by DuckDB when it reads it
   cleanly, else record by record.

DuckDB runs in a worker thread so that this one always sees Ctrl-C at once. On a live
source it ends reading: the whole records that arrived are counted and the run reports
them; anywhere else it stops everything and propagates (exit 130).
"""

from __future__ import annotations

import contextlib
import os
import queue
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from typing import TypeVar

from ctoops.errors import BadInput, Terminated
from ctoops.trends.compute import Tally
from ctoops.trends.duck import Engine, clean
from ctoops.trends.framing import CHUNK, Chunk, Done, Note, drain, produce
from ctoops.trends.layout import Layout, OtherLog, detect
from ctoops.trends.ledger import Stats
from ctoops.trends.records import Group, read_chunk
from ctoops.trends.sources import UNREADABLE, Item, open_stream

SNIFF = 64 << 10  # bytes of a file read to decide its format
PROGRESS_EVERY = 1.0  # seconds between progress calls on a live source
# chunks of one stream read by one DuckDB query when they are waiting already; also how many
# may wait, so at most 2 * BATCH + 1 chunk files exist at once (one batch being read, one
# waiting, one chunk being written): 144 MiB in the temporary folder, deleted as they are read
BATCH = 4
T = TypeVar("T")


class Run:
    """One pass over ``items`` into ``tally`` and ``stats``; ``on_progress()`` is called
    every ``PROGRESS_EVERY`` s while a live source is read (the caller builds the snapshot)."""

    def __init__(
        self,
        items: list[Item],
        forced: str,
        tally: Tally,
        stats: Stats,
        on_progress: Callable[[], None] | None,
    ) -> None:
        self.items = items
        self.forced = forced
        self.tally = tally
        self.stats = stats
        self.on_progress = on_progress
        self.params = tally.params
        self.interrupted = False
        self._engine: Engine | None = None
        self._engine_job: Future[Engine] | None = None
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="ctoops-engine")
        self._last_progress = time.monotonic()
        self._live_now = False  # a live source is being read
        self._stop = threading.Event()
        self._held: Chunk | Note | Done | BaseException | None = None  # a message taken while batching

    @property
    def engine(self) -> Engine:
        if self._engine is None:
            self._engine = self._wait(self._engine_job) if self._engine_job is not None else Engine()
        return self._engine

    def go(self) -> bool:
        """Read everything; True when a live source was ended by Ctrl-C or SIGTERM."""
        try:
            # DuckDB's import and connection (about 0.15 s) overlap the sniffing and the
            # stream reader's first chunk instead of waiting for them
            self._engine_job = self._pool.submit(Engine)
            streams = self._files()
            if streams:
                folder = scratch_folder()
                try:
                    self._streams(streams, folder)
                finally:
                    remove_folder(folder)
        except BaseException:
            self._stop.set()
            if self._engine is not None:
                self._engine.interrupt()
            raise
        finally:
            self._pool.shutdown(wait=False, cancel_futures=True)
        return self.interrupted

    # -- step 1: regular files through DuckDB -----------------------------------------------------

    def _files(self) -> list[Item]:
        streams: list[Item] = []
        batches: dict[tuple[Layout, str], list[Item]] = {}
        known: dict[tuple[str, str], Layout] = {}  # (folder, compression) -> the layout sniffed there
        for item in self.items:
            if item.path is None or item.live:
                streams.append(item)
                continue
            sniffed = self._sniff(item, known)
            if isinstance(sniffed, tuple):
                batches.setdefault(sniffed, []).append(item)
            elif sniffed == "stream":
                streams.append(item)
        for (layout, compression), batch in batches.items():
            streams += self._batch(batch, layout, compression)
        return sorted(streams, key=self.items.index)

    def _sniff(self, item: Item, known: dict[tuple[str, str], Layout]) -> tuple[Layout, str] | str | None:
        """(layout, compression) of a file for DuckDB; "stream" when it must be read as a
        stream (a BOM, a damaged gzip: what inflates before the damage still counts); None
        when there is nothing to read (empty, unreadable, another log: noted).

        The first file of a folder (per compression) is read as far as ``SNIFF`` bytes;
        the others only as far as their magic bytes, and take its layout: a file that is
        not of it (another dataset, other key spellings) is refused by DuckDB or shows
        records to skip, and is then read as a stream, which sniffs it whole. A folder of
        thousands of Logpush files is not opened twice over."""
        head = b""
        assert item.path is not None
        folder = os.path.dirname(item.path)
        try:
            with open_stream(item, self._stop) as stream:
                kind = stream.kind
                compression = "gzip" if kind == "gzip" else "none"
                if kind in ("plain", "gzip") and (folder, compression) in known:
                    return known[(folder, compression)], compression
                while len(head) < SNIFF and (more := stream.read(SNIFF - len(head))):
                    head += more
        except OSError as exc:
            self.stats.unreadable.append((item.name, exc.strerror or str(exc)))
            return None
        except UNREADABLE:
            return "stream"
        if not head.strip():
            return None
        if kind not in ("plain", "gzip"):
            return "stream"
        try:
            layout = detect(head, self.forced, final=True)
        except OtherLog as exc:
            self.stats.other_logs.append((item.name, str(exc)))
            return None
        assert layout is not None
        known[(folder, compression)] = layout
        return layout, compression

    def _batch(self, batch: list[Item], layout: Layout, compression: str) -> list[Item]:
        """Count what DuckDB reads cleanly; return the items to read as streams. When DuckDB
        refuses the batch, it is halved until the refused files are found (a few queries
        for a few bad files among thousands)."""
        paths = [item.path for item in batch if item.path is not None]
        results = self._wait(self._pool.submit(self.engine.files, paths, layout, compression, self.params))
        if results is None:
            if len(batch) == 1:
                return batch
            half = len(batch) // 2
            return self._batch(batch[:half], layout, compression) + self._batch(batch[half:], layout, compression)
        back = []
        for item in batch:
            groups = results.get(item.path or "", [])
            if not clean(groups):
                back.append(item)
                continue
            self.tally.add_groups(groups)
            self.stats.records += sum(g[6] for g in groups)
            self.stats.formats[item.name] = layout.label + (", gzip" if compression == "gzip" else "")
        return back

    # -- step 2: streams through the reader thread --------------------------------------------------

    def _streams(self, streams: list[Item], folder: str) -> None:
        out: queue.Queue[Chunk | Note | Done] = queue.Queue(maxsize=BATCH)
        reader = threading.Thread(
            target=produce,
            args=(streams, self.forced, folder, out, self._stop),
            name="ctoops-log-reader",
            daemon=True,
        )
        reader.start()
        max_ts: dict[str, int | None] = {}
        try:
            while (message := self._get(out, reader)) is not None:
                if isinstance(message, BaseException):
                    raise message
                if isinstance(message, Note):
                    self._note(message, max_ts)
                    continue
                self._live_now = message.item.live
                batch = self._more(message, out)
                for chunk, found in zip(batch, self._read_batch(batch), strict=True):
                    groups, seen, last = self._chunk(chunk, max_ts.get(chunk.item.name), found)
                    max_ts[chunk.item.name] = last
                    self.tally.add_groups(groups)
                    self.stats.merge(seen)
        finally:
            # a reader still at work ends at its next check of ``stop``; one blocked opening a
            # named pipe no writer has opened never does, and is not waited for after Ctrl-C
            ending = sys.exc_info()[0] is not None
            self._stop.set()
            drain(out)
            reader.join(timeout=0.5 if ending else 5)

    def _more(self, first: Chunk, out: queue.Queue[Chunk | Note | Done]) -> list[Chunk]:
        """``first`` and the chunks of the same source waiting behind it (up to ``BATCH``):
        DuckDB reads one small file on one thread, several in parallel, so a fast stream is
        read by fewer queries of several chunks. After a full chunk (the stream is flowing)
        the next one is waited for briefly; a live source's quiet hand-over is not held."""
        batch = [first]
        while len(batch) < BATCH and self._held is None and not first.suspect:
            flowing = len(batch) == 1 and first.size > CHUNK // 2
            try:
                message = out.get(timeout=0.5) if flowing else out.get_nowait()
            except queue.Empty:
                break
            if isinstance(message, Chunk) and message.item == first.item and not message.suspect:
                batch.append(message)
            else:
                self._held = message
        return batch

    def _read_batch(self, batch: list[Chunk]) -> list[list[Group] | None]:
        """DuckDB's groups per chunk of ``batch`` (one query), None where it must be read again."""
        if len(batch) == 1:
            return [None]
        paths = [c.path for c in batch]
        results = self._wait(self._pool.submit(self.engine.files, paths, batch[0].layout, "none", self.params))
        if results is None:
            return [None] * len(batch)
        return [results.get(path) for path in paths]

    def _get(
        self, out: queue.Queue[Chunk | Note | Done], reader: threading.Thread
    ) -> Chunk | Note | BaseException | None:
        """The next message, or None when the reader is done (its ``Done``, or its thread
        gone); progress while waiting."""
        if self._held is not None:
            held, self._held = self._held, None
            return None if isinstance(held, Done) else held
        while True:
            try:
                self._progress()
                message = out.get(timeout=0.2)
                return None if isinstance(message, Done) else message
            except queue.Empty:
                if not reader.is_alive() and out.empty():
                    return None
            except (KeyboardInterrupt, Terminated) as exc:
                self._absorb(exc)

    def _absorb(self, exc: KeyboardInterrupt | Terminated) -> None:
        """Ctrl-C or SIGTERM (``timeout 60 ctoops errors trend -``): on a live source (the
        first time), end reading and keep what arrived; anywhere else, or a second time, or
        another signal (SIGHUP: the terminal is gone), propagate ``exc``."""
        if not self._live_now or self._stop.is_set() or (isinstance(exc, Terminated) and exc.code != 143):
            raise exc
        self.interrupted = True
        self._stop.set()

    def _note(self, note: Note, max_ts: dict[str, int | None]) -> None:
        item = note.item
        self.stats.merge(note.stats)
        if note.layout is not None:
            self.stats.formats[item.name] = note.layout.label + ("" if note.kind == "plain" else f", {note.kind}")
            self._live_now = item.live
        if note.unreadable is not None:
            self.stats.unreadable.append((item.name, note.unreadable))
        if note.other is not None:
            if item.live:  # say so at once: someone is watching it
                raise BadInput(f"{item.name}: {note.other}")
            self.stats.other_logs.append((item.name, note.other))
        if note.end:
            self._live_now = False
            max_ts.pop(item.name, None)

    def _chunk(
        self, chunk: Chunk, max_ts: int | None, found: list[Group] | None
    ) -> tuple[list[Group], Stats, int | None]:
        """A chunk's groups: DuckDB's (``found``, or a query now) when it read the chunk
        cleanly, else record by record."""
        try:
            groups = found if found is None or clean(found) else None
            if found is None and not chunk.suspect:
                groups = self._wait(self._pool.submit(self.engine.chunk, chunk.path, chunk.layout, self.params))
            if groups is not None:
                stats = Stats()
                stats.records = sum(g[6] for g in groups)
                stamps = [g[9] for g in groups if g[9] is not None]
                last = max([*stamps, *([] if max_ts is None else [max_ts])], default=None)
                return groups, stats, last
            with open(chunk.path, "rb") as handle:
                data = handle.read()
            job = self._pool.submit(
                read_chunk, data, chunk.layout, chunk.item.name, chunk.first_line, self.params, max_ts
            )
            return self._wait(job)
        finally:
            with contextlib.suppress(OSError):
                os.unlink(chunk.path)

    # -- shared -----------------------------------------------------------------------------------

    def _wait(self, future: Future[T]) -> T:
        """The worker's result; this thread stays free for Ctrl-C and progress meanwhile."""
        while True:
            try:
                return future.result(timeout=0.2)
            except TimeoutError:
                pass
            except (KeyboardInterrupt, Terminated) as exc:
                self._absorb(exc)  # live: the chunk in hand still counts
                continue
            try:
                self._progress()
            except (KeyboardInterrupt, Terminated) as exc:
                self._absorb(exc)

    def _progress(self) -> None:
        if self.on_progress is None or not self._live_now or self.interrupted:
            return
        now = time.monotonic()
        if now - self._last_progress >= PROGRESS_EVERY:
            self._last_progress = now
            self.on_progress()


def scratch_folder() -> str:
    """A new private folder (0700) for chunk files: in ``$TMPDIR`` when it is set, and only
    there (``tempfile`` would fall back to /tmp, or to the working folder, without a word,
    when it is missing, read-only or full); else in the system's temporary folder. Raises
    BadInput (exit 2) naming the folder and the reason when it cannot be made."""
    chosen = os.environ.get("TMPDIR") or None
    try:
        return tempfile.mkdtemp(prefix="ctoops-trend-", dir=chosen)
    except OSError as exc:
        where = chosen or tempfile.gettempdir()
        setting = "TMPDIR" if chosen else "the temporary folder (set TMPDIR to choose one)"
        raise BadInput(
            f"cannot make a folder for the chunk files streams are read through in {where} "
            f"({setting}): {exc.strerror or exc}"
        ) from None


def remove_folder(folder: str) -> None:
    """Remove the chunk folder and everything in it, even when Ctrl-C or SIGTERM comes again
    during the removal (the interrupt is raised once it is done) or the reader thread, not
    yet stopped, writes one more chunk (removed on the next pass; up to 1 s)."""
    import shutil

    pending: BaseException | None = None
    deadline = time.monotonic() + 1.0
    while True:
        try:
            shutil.rmtree(folder, ignore_errors=True)
            if not os.path.exists(folder) or time.monotonic() > deadline:
                break
            time.sleep(0.05)
        except BaseException as exc:  # KeyboardInterrupt, Terminated: finish first
            pending = pending or exc
    if pending is not None:
        raise pending
