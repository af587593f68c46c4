"""Which ctoops, Python and libraries a run used: for ``--version`` and the JSON report.

Read with :mod:`importlib.metadata` (the installed distributions' metadata), never by
importing a library: ``ctoops --version`` stays as light as ``--help``.
"""

from __future__ import annotations

import platform
import sys
from collections.abc import Sequence

# What the JSON report has always recorded (its bytes are part of the contract: keep them).
REPORT_LIBRARIES = ("httpx", "click")
# What ``--version`` shows: every library whose version changes what a run does or prints.
KEY_LIBRARIES = ("click", "httpx", "pandas", "pyarrow", "rich", "plotext", "keyring")


def versions(libraries: Sequence[str] = REPORT_LIBRARIES) -> dict[str, str]:
    """``{"ctoops", "python", <each library installed>, "platform"}`` in that order.

    ``libraries`` are distribution names; one that is not installed is left out (ctoops
    depends on all of them, so that only happens in a broken environment, which the output
    then shows by its absence). ``platform`` is ``sys.platform-machine`` (``linux-x86_64``).
    """
    from importlib.metadata import PackageNotFoundError, version

    from ctoops import __version__

    found = {"ctoops": __version__, "python": platform.python_version()}
    for package in libraries:
        try:
            found[package] = version(package)
        except PackageNotFoundError:
            pass
    found["platform"] = f"{sys.platform}-{platform.machine()}"
    return found


def version_text() -> str:
    """What ``ctoops --version`` prints: ``ctoops X.Y.Z`` alone on the first line (scripts
    read that line), then Python with the platform, then the key libraries.

    Example::

        ctoops 0.1.0
        python 3.11.2 (linux-x86_64)
        click 8.5.1, httpx 0.28.1, pandas 3.1.1, pyarrow 26.0.1, rich 15.0.0, plotext 6.1.0,
        keyring 25.7.0

    (the libraries wrapped under 80 columns).
    """
    found = versions(KEY_LIBRARIES)
    names = [f"{name} {found[name]}" for name in KEY_LIBRARIES if name in found]
    # the libraries in lines under 80 columns (one line of all seven was 99)
    libraries: list[str] = []
    for name in names:
        if libraries and len(libraries[-1]) + len(name) + 2 <= 79:
            libraries[-1] += f", {name}"
        else:
            libraries.append(name)
    missing = [name for name in KEY_LIBRARIES if name not in found]
    lines = [f"ctoops {found['ctoops']}", f"python {found['python']} ({found['platform']})", *libraries]
    if missing:
        lines.append(f"not installed: {', '.join(missing)}")
    return "\n".join(lines)
