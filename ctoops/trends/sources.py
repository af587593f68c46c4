"""Where logs come from, and their bytes as UTF-8, however they were stored.

A source is a path (file or folder), ``-`` (stdin), ``(name, bytes)``, or a
``StreamSource`` (anything that can open a binary stream: an object-storage reader hands
its objects over this way). Folders are walked in name order (Logpush's ``YYYYMMDD/``
layout); hidden entries and entries that are not regular files are counted, not read.

Bytes are read in bounded blocks: gzip is detected by its magic bytes (whatever the name)
and inflated a block at a time, so a gzip bomb costs time, never memory; a UTF-8 BOM is
dropped and UTF-16/32 (with a BOM: Windows PowerShell 5.1's ``>`` writes UTF-16LE) is
transcoded to UTF-8 as it streams. A live source (a pipe, a terminal, or a
``StreamSource(live=True)``) can be waited on, so the reader hands over what arrived.
"""

from __future__ import annotations

import codecs
import os
import stat
import sys
import zlib
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from typing import IO, TYPE_CHECKING, Any, BinaryIO

from ctoops.errors import BadInput

if TYPE_CHECKING:
    from ctoops.trends.archives import Storage

BLOCK = 1 << 20  # bytes asked of a stream at a time
BOMS = (  # longest first: UTF-32LE's BOM starts with UTF-16LE's
    (codecs.BOM_UTF32_LE, "utf-32-le"),
    (codecs.BOM_UTF32_BE, "utf-32-be"),
    (codecs.BOM_UTF8, "utf-8"),
    (codecs.BOM_UTF16_LE, "utf-16-le"),
    (codecs.BOM_UTF16_BE, "utf-16-be"),
)


@dataclass(frozen=True)
class StreamSource:
    """A log stream ctoops reads like a file: ``name`` (for messages and ``name:line``),
    ``open`` (called once; returns a binary stream, closed after reading; gzip detected by
    magic bytes as for files), ``size`` (bytes, when known; informative), ``live`` (True for a
    stream that stays open while events arrive: read as they come, and Ctrl-C reports what
    arrived; give it a ``fileno()`` (a pipe, a socket) so that waiting for bytes can be
    stopped at once, else Ctrl-C takes effect when the next bytes come or the stream ends)."""

    name: str
    open: Callable[[], BinaryIO]
    size: int | None = None
    live: bool = False


Source = str | os.PathLike[str] | tuple[str, bytes] | StreamSource


@dataclass(frozen=True)
class Item:
    """One thing to read: ``path`` for a regular file, else ``opener``; ``live`` as above."""

    name: str
    path: str | None = None
    opener: Callable[[], BinaryIO] | None = None
    stdin: bool = False
    live: bool = False


@dataclass
class Walk:
    """What expanding the sources passed over: hidden entries, entries that are not regular
    files, and what could not be listed or looked at, as ``(path, reason)``."""

    hidden: int = 0
    special: list[str] = field(default_factory=list)
    unreadable: list[tuple[str, str]] = field(default_factory=list)


def expand(
    sources: list[Source],
    walk: Walk,
    *,
    since_ms: int | None = None,
    until_ms: int | None = None,
    storage: Storage | None = None,
) -> list[Item]:
    """The items to read, in order, folders walked, ``s3://bucket/prefix/`` listed (only the
    objects whose names fall in ``[since_ms, until_ms)``: ``archives.sources``). Exit 2
    (before reading) for a missing path, an empty folder, a device, or no source at all."""
    if not sources:
        raise BadInput("no log source: give files, folders, or - for stdin")
    items: list[Item] = []
    for source in sources:
        if isinstance(source, StreamSource):
            items.append(Item(source.name, opener=source.open, live=source.live))
        elif isinstance(source, tuple):
            name, data = source
            items.append(Item(name, opener=_bytes_opener(data)))
        elif str(source) == "-":
            items.append(Item("-", stdin=True, live=_stdin_live()))
        elif str(source).startswith("s3://"):
            from ctoops.trends.archives import sources as archived

            for obj in archived(str(source), since_ms=since_ms, until_ms=until_ms, storage=storage):
                items.append(Item(obj.name, opener=obj.open))
        else:
            items += _path_items(str(source), walk)
    return items


def _bytes_opener(data: bytes) -> Callable[[], BinaryIO]:
    import io

    return lambda: io.BytesIO(data)


def _stdin_live() -> bool:
    try:
        mode = os.fstat(sys.stdin.fileno()).st_mode
    except (OSError, ValueError, AttributeError):  # not a real descriptor (a test runner's stdin)
        return False
    return not stat.S_ISREG(mode)


def _path_items(source: str, walk: Walk) -> list[Item]:
    try:
        info = os.stat(source)
    except FileNotFoundError:
        raise BadInput(f"no such file or folder: {source}") from None
    except OSError as exc:
        raise BadInput(f"cannot read {source}: {exc.strerror or exc}") from None
    if stat.S_ISREG(info.st_mode):
        return [Item(source, path=source)]
    if stat.S_ISFIFO(info.st_mode) or stat.S_ISSOCK(info.st_mode):
        return [Item(source, path=source, live=True)]  # a named pipe: ``<(wrangler tail ...)``
    if not stat.S_ISDIR(info.st_mode):
        raise BadInput(f"{source} is a device, not a log file or folder")
    found: list[Item] = []
    unreadable = walk.unreadable

    def failed(exc: OSError) -> None:
        unreadable.append((str(exc.filename), exc.strerror or str(exc)))

    for folder, dirs, files in os.walk(source, onerror=failed):
        hidden = [d for d in dirs if d.startswith(".")]
        walk.hidden += len(hidden)
        dirs[:] = sorted(d for d in dirs if not d.startswith("."))
        for name in sorted(files):
            if name.startswith("."):
                walk.hidden += 1
                continue
            path = os.path.join(folder, name)
            try:
                mode = os.stat(path).st_mode
            except OSError as exc:
                unreadable.append((path, exc.strerror or str(exc)))
                continue
            if stat.S_ISREG(mode):
                found.append(Item(path, path=path))
            else:
                walk.special.append(path)
    if not found and not unreadable:
        raise BadInput(f"folder {source} holds no log files")
    return found


# -- bytes ---------------------------------------------------------------------------------------


class Stopped(Exception):
    """Reading was asked to stop (Ctrl-C on a live source, or the run ended)."""


class Stream:
    """A source's bytes as UTF-8, in bounded reads: ``readinto(view)`` (0 at the end; no
    copy when no decoding layer is in the way), ``read(n)`` (b"" at the end), and
    ``wait(seconds)`` (False when a live source sent nothing for that long; always True for
    one that cannot be polled). ``kind`` names the decoding layers, for messages."""

    def __init__(
        self,
        read: Callable[[int], bytes],
        wait: Callable[[float], bool],
        kind: str = "plain",
        raw_readinto: Callable[[memoryview], int] | None = None,
        pending: bytes = b"",
    ) -> None:
        self.read = read
        self.wait = wait
        self.kind = kind
        self._raw_readinto = raw_readinto
        self._pending = pending  # bytes read ahead (the head) that ``raw_readinto`` would skip

    def readinto(self, view: memoryview) -> int:
        if self._raw_readinto is None or self._pending:
            data = self.read(len(view))
            if self._pending and self._raw_readinto is not None:
                self._pending = self._pending[len(data) :]
            view[: len(data)] = data
            return len(data)
        return self._raw_readinto(view)


def _always(_: float) -> bool:
    return True


@contextmanager
def open_stream(item: Item, stop: Any) -> Iterator[Stream]:
    """The item's bytes, gunzipped when they start with gzip's magic and transcoded from
    UTF-16/32 when they start with a BOM. ``stop`` (a ``threading.Event``) makes a read of a
    live descriptor raise ``Stopped``. Raises OSError when the item cannot be opened."""
    with ExitStack() as stack:
        fd: int | None = None
        raw_readinto: Callable[[memoryview], int] | None = None
        if item.stdin:
            raw_read, fd = _stdin_reader()
        elif item.path is not None:
            handle = stack.enter_context(open(item.path, "rb", buffering=0))  # noqa: SIM115
            raw_read, raw_readinto = handle.read, handle.readinto
            fd = handle.fileno() if item.live else None
        else:
            assert item.opener is not None
            opened: IO[bytes] = stack.enter_context(item.opener())
            raw_read = getattr(opened, "read1", opened.read)  # what has arrived, on a live stream
            if item.live:  # a pipe or socket: read its descriptor, so waiting can be polled and stopped
                try:
                    fd = opened.fileno()
                    raw_read = _fd_reader(fd)
                except (OSError, ValueError, AttributeError):
                    fd = None
        if fd is not None:
            _widen_pipe(fd)
        if fd is not None and raw_readinto is None:
            descriptor = fd
            raw_readinto = lambda view: os.readv(descriptor, [view])  # noqa: E731 - into the buffer, no copy
        wait = _poller(fd) if fd is not None and item.live else _always
        if fd is not None and item.live:
            raw_read = _stoppable(raw_read, wait, stop)
            raw_readinto = _stoppable(raw_readinto, wait, stop) if raw_readinto else None
        kind = "plain"
        read = raw_read  # positioned after ``head``
        head = _read_at_least(read, 4)
        if head[:2] == b"\x1f\x8b":
            read, kind, raw_readinto = _gunzip(_prefixed(head, read)), "gzip", None
            head = _read_at_least(read, 4)
        for bom, encoding in BOMS:
            if head.startswith(bom):
                rest = _prefixed(head[len(bom) :], read)
                read = rest if encoding == "utf-8" else _transcode(rest, encoding)
                kind = encoding if kind == "plain" else f"{kind}, {encoding}"
                raw_readinto = None
                break
        else:
            read = _prefixed(head, read)
        yield Stream(read, wait, kind, raw_readinto, head if raw_readinto else b"")


def _stdin_reader() -> tuple[Callable[[int], bytes], int | None]:
    """Reads of stdin that never take the buffered reader's lock (a reader thread blocked in
    it at exit makes the interpreter abort), on its descriptor when it has one."""
    if sys.stdin is None:  # started with stdin closed (`<&-`)
        raise BadInput("- means stdin, but stdin is closed: pipe the logs in, or name files")
    try:
        fd = sys.stdin.fileno()
    except (OSError, ValueError, AttributeError):  # a test runner's stdin
        buffer: Any = getattr(sys.stdin, "buffer", sys.stdin)
        return buffer.read, None
    return _fd_reader(fd), fd


def _widen_pipe(fd: int) -> None:
    """Ask for a 1 MiB pipe buffer (Linux's default ceiling for anyone, fs/pipe-max-size): a
    64 KiB one wakes the reader for every 64 KiB, which made a pipe 5x slower to drain than a
    file. Nothing changes where it is not a pipe or not allowed."""
    try:
        import fcntl

        if stat.S_ISFIFO(os.fstat(fd).st_mode):
            fcntl.fcntl(fd, getattr(fcntl, "F_SETPIPE_SZ", 1031), 1 << 20)
    except (OSError, ValueError):
        pass


def _fd_reader(fd: int) -> Callable[[int], bytes]:
    return lambda size: os.read(fd, size)


def _poller(fd: int) -> Callable[[float], bool]:
    import select

    poller = select.poll()
    poller.register(fd, select.POLLIN | select.POLLHUP | select.POLLERR)
    return lambda seconds: bool(poller.poll(int(seconds * 1000)))


def _stoppable(call: Callable[[Any], Any], wait: Callable[[float], bool], stop: Any) -> Callable[[Any], Any]:
    """``call`` once the descriptor has bytes, checking ``stop`` every 0.2 s meanwhile."""

    def waiting(arg: Any) -> Any:
        while not wait(0.2):
            if stop.is_set():
                raise Stopped
        return call(arg)

    return waiting


def _read_at_least(read: Callable[[int], bytes], count: int) -> bytes:
    data = b""
    while len(data) < count:
        more = read(count - len(data))
        if not more:
            break
        data += more
    return data


def _prefixed(prefix: bytes, read: Callable[[int], bytes]) -> Callable[[int], bytes]:
    pending = [prefix]

    def reader(size: int) -> bytes:
        if pending[0]:
            head, pending[0] = pending[0][:size], pending[0][size:]
            return head
        return read(size)

    return reader


def _gunzip(read: Callable[[int], bytes]) -> Callable[[int], bytes]:
    """Inflate gzip (one member or several) at most ``size`` bytes at a time, so memory
    stays bounded whatever the ratio. A stream cut before its end marker raises EOFError."""
    d = zlib.decompressobj(16 + zlib.MAX_WBITS)
    pending = b""

    def reader(size: int) -> bytes:
        nonlocal d, pending
        while True:
            if d.eof:
                # after the member's end, zlib keeps the rest of the input in ``unused_data``;
                # ``unconsumed_tail`` (our ``pending``) may hold the same bytes again when the
                # last call was cut short by ``size`` (CPython's zlib), so it is not added
                rest = d.unused_data.lstrip(b"\x00")
                while not rest:
                    more = read(BLOCK)
                    if not more:
                        return b""
                    rest = more.lstrip(b"\x00")
                d, pending = zlib.decompressobj(16 + zlib.MAX_WBITS), rest
            if not pending:
                pending = read(BLOCK)
                if not pending:
                    raise EOFError("the gzip stream ends before its end marker (a truncated file)")
            out = d.decompress(pending, size)
            pending = d.unconsumed_tail
            if out:
                return out

    return reader


def _transcode(read: Callable[[int], bytes], encoding: str) -> Callable[[int], bytes]:
    decoder = codecs.getincrementaldecoder(encoding)("replace")
    done = [False]

    def reader(size: int) -> bytes:
        while not done[0]:
            data = read(min(size, BLOCK))
            text = decoder.decode(data, final=not data)
            if not data:
                done[0] = True
            if text:
                return text.encode("utf-8")
        return b""

    return reader


UNREADABLE = (OSError, EOFError, zlib.error)  # what a damaged or vanishing source raises while read
