"""Files ctoops writes (exports, reports, the credentials file): checked before any request,
written atomically.

``check_writable`` runs before any request, so a bad ``-o`` or report path is exit 2 with
nothing spent. ``atomic_write`` writes a temporary file in the same folder, then
``os.replace``: a failure or an interrupt leaves no file and no half file behind.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Callable
from pathlib import Path


def check_writable(given: str, what: str) -> Path:
    """Before any request: ``given`` names a file in an existing, writable folder (exit 2)."""
    from ctoops.errors import BadInput

    path = Path(given)
    folder = path.parent if str(path.parent) else Path(".")
    if path.is_dir():
        raise BadInput(f"{what} {given} is a folder; give a file name")
    if not folder.is_dir():
        raise BadInput(f"cannot write {what} {given}: folder {folder} does not exist")
    if not os.access(folder, os.W_OK):
        raise BadInput(f"cannot write {what} {given}: folder {folder} is not writable")
    return path


def atomic_write(path: Path, write: Callable[[Path], None], *, mode: int | None = None) -> None:
    """Call ``write(tmp_path)`` on a temporary file beside ``path``, then move it into place.

    If ``write`` fails or is interrupted, the temporary file is removed and ``path`` is
    untouched: never a half-written file.
    """
    path = Path(path)
    directory = path.parent if str(path.parent) else Path(".")
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=directory)
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
    except BaseException:
        tmp_path.unlink(missing_ok=True)
        raise


def _umask() -> int:
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def atomic_write_text(path: Path, text: str, *, mode: int | None = None) -> None:
    """``text`` (UTF-8) written to ``path`` atomically, as ``atomic_write``."""

    def write(tmp: Path) -> None:
        tmp.write_text(text, encoding="utf-8")

    atomic_write(path, write, mode=mode)
