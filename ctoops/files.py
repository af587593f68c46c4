"""Files ctoops writes (exports, reports, the credentials file): checked before any request,
written atomically.

``check_writable`` runs before any request, so a bad ``-o`` or report path is exit 2 with
nothing spent: a folder, a missing or read-only folder, a socket, or a path that is one of the
run's inputs (the runbook, the config file, another report). ``atomic_write`` writes a
temporary file in the same folder, then ``os.replace``: a failure, an interrupt or a SIGTERM
leaves no file and no half file behind, and a full disk is named (exit 2). Special files
(``/dev/stdout``, ``/dev/null``, a FIFO) are written as streams, never replaced by a regular
file; a symbolic link is followed, and the file written is its target.
"""

from __future__ import annotations

import os
import stat
import tempfile
from collections.abc import Callable, Iterable
from pathlib import Path


def check_writable(
    given: str,
    what: str,
    *,
    inputs: Iterable[str | Path] = (),
    notify: Callable[[str], None] | None = None,
) -> Path:
    """The file to write for ``given`` (a link's target), checked before any request.

    Raises BadInput (exit 2) for a folder, a socket, a missing or unwritable folder, or a path
    that is one of ``inputs`` (compared as files, links and relative paths resolved).
    ``notify`` hears which file a link leads to."""
    from ctoops.errors import BadInput

    path = Path(given)
    for other in inputs:
        if same_file(path, Path(other)):
            raise BadInput(f"{what} {given} is also an input of this run ({other}); writing it would destroy it")
    if _is_stream(path):  # /dev/stdout (a link to a pipe or a tty), /dev/null, a FIFO
        return path
    if path.is_symlink():
        target = path.resolve()
        if notify:
            notify(f"{what} {given} is a link: writing its target {target}")
        path = target
    if path.is_dir():
        raise BadInput(f"{what} {given} is a folder; give a file name")
    if path.exists() and not path.is_file():
        raise BadInput(f"{what} {given} is neither a regular file nor a device or FIFO; refusing to replace it")
    folder = path.parent if str(path.parent) else Path(".")
    if not folder.is_dir():
        raise BadInput(f"cannot write {what} {given}: folder {folder} does not exist")
    if not os.access(folder, os.W_OK):
        raise BadInput(f"cannot write {what} {given}: folder {folder} is not writable")
    return path


def atomic_write(path: Path, write: Callable[[Path], None], *, mode: int | None = None) -> None:
    """Call ``write(tmp_path)`` on a temporary file beside ``path``, then move it into place.

    If ``write`` fails or is interrupted, the temporary file is removed and ``path`` is
    untouched: never a half-written file. A device or FIFO (``/dev/stdout``) is written
    directly, as a stream. An OSError (a full disk, a lost mount) is BadInput (exit 2) naming
    the file and the cause.
    """
    from ctoops.errors import BadInput

    path = Path(path)
    if _is_stream(path):
        try:
            write(path)
        except OSError as exc:
            raise BadInput(f"cannot write {path}: {exc.strerror or exc}") from None
        return
    directory = path.parent if str(path.parent) else Path(".")
    try:
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=directory)
    except OSError as exc:
        raise BadInput(f"cannot write {path}: {exc.strerror or exc}") from None
    os.close(fd)
    tmp_path = Path(tmp)
    if mode is None:  # what open() would have given: 0666 less the umask (mkstemp gives 0600)
        mode = 0o666 & ~_umask()
    try:
        os.chmod(tmp_path, mode)
        write(tmp_path)
        os.chmod(tmp_path, mode)
        with open(tmp_path, "rb+") as fh:
            os.fsync(fh.fileno())
        os.replace(tmp_path, path)
    except OSError as exc:
        tmp_path.unlink(missing_ok=True)
        raise BadInput(
            f"cannot write {path}: {exc.strerror or exc} (nothing was written; any earlier file is unchanged)"
        ) from None
    except BaseException:
        tmp_path.unlink(missing_ok=True)
        raise


def atomic_write_text(path: Path, text: str, *, mode: int | None = None) -> None:
    """``text`` (UTF-8) written to ``path`` atomically, as ``atomic_write``."""

    def write(tmp: Path) -> None:
        with open(tmp, "w", encoding="utf-8") as fh:
            fh.write(text)

    atomic_write(path, write, mode=mode)


def _umask() -> int:
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def _is_stream(path: Path) -> bool:
    """A character device (``/dev/stdout``, ``/dev/null``) or a FIFO: written, never replaced."""
    try:
        mode = path.stat().st_mode
    except OSError:
        return False
    return stat.S_ISCHR(mode) or stat.S_ISFIFO(mode)


def same_file(a: Path, b: Path) -> bool:
    """Whether ``a`` and ``b`` are one file: the same inode when both exist (links, other
    spellings), else the same resolved path (a file this run will create)."""
    try:
        if a.exists() and b.exists():
            return os.path.samefile(a, b)
    except OSError:
        pass
    return a.resolve() == b.resolve()
