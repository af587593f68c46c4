"""Run a Python module as ``__main__`` and write its peak RSS to a file when it exits.

    python benchmarks/peak_rss.py OUT_FILE MODULE [ARGS...]    # OUT_FILE gets "<KiB>"

Why not ``os.wait4``'s ``ru_maxrss``: on Linux a child's ``ru_maxrss`` keeps the high-water
mark of the process it was forked from across ``exec`` (the kernel folds the old memory map's
high water into it), so a child of a big parent (pytest holding test data, a benchmark
holding its input) reports at least the parent's size. ``VmHWM`` in ``/proc/self/status``
belongs to the memory map the ``exec`` created: the module's own peak.
"""

from __future__ import annotations

import atexit
import runpy
import sys


def _write_peak(path: str) -> None:
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmHWM:"):
                with open(path, "w") as out:
                    out.write(line.split()[1])
                return


def main() -> None:
    out, module = sys.argv[1], sys.argv[2]
    sys.argv = [module, *sys.argv[3:]]
    atexit.register(_write_peak, out)
    runpy.run_module(module, run_name="__main__", alter_sys=True)


if __name__ == "__main__":
    main()
