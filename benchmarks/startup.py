"""How much `ctoops --help` costs next to `python -c "import click"`, on this machine.

Also `ctoops --version` (versions read from the installed metadata) and one Tab press
(`ctoops runbook run <Tab>`: Click's completion, the runbook folders listed), which a shell
runs on every Tab.

Runs the two commands alternately (A B A B ...) after a warm-up, so machine noise hits both,
and prints each median and the median of the per-pair ratios. Target: at most 1.3x (the
heavy libraries are imported only by the commands that use them).

    python benchmarks/startup.py [--pairs 40]
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

TAB = {"COMP_WORDS": "ctoops runbook run ", "COMP_CWORD": "3", "_CTOOPS_COMPLETE": "bash_complete"}


def timed(cmd: list[str]) -> float:
    env = None
    if cmd[-1] == "<Tab>":
        cmd, env = cmd[:-1], {**os.environ, **TAB}
    t0 = time.perf_counter()
    subprocess.run(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=True, env=env)
    return time.perf_counter() - t0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pairs", type=int, default=40)
    parser.add_argument("--warmup", type=int, default=3)
    args = parser.parse_args()

    script = Path(sys.executable).with_name("ctoops")
    ctoops = [str(script)] if script.exists() else [shutil.which("ctoops") or "ctoops"]
    commands = {
        "ctoops --help": ctoops + ["--help"],
        "ctoops models list --help": ctoops + ["models", "list", "--help"],
        "ctoops --version": ctoops + ["--version"],
        "ctoops runbook run <Tab>": ctoops + ["<Tab>"],
        'python -c "import click"': [sys.executable, "-c", "import click"],
    }
    base = 'python -c "import click"'
    for cmd in commands.values():
        for _ in range(args.warmup):
            timed(cmd)
    times: dict[str, list[float]] = {name: [] for name in commands}
    ratios: dict[str, list[float]] = {name: [] for name in commands if name != base}
    for _ in range(args.pairs):
        click_time = timed(commands[base])
        times[base].append(click_time)
        for name, cmd in commands.items():
            if name == base:
                continue
            t = timed(cmd)
            times[name].append(t)
            ratios[name].append(t / click_time)
    print(f"{args.pairs} alternating runs each, after {args.warmup} warm-ups")
    for name, values in times.items():
        print(f"  {name:<28} median {statistics.median(values) * 1000:6.1f} ms")
    for name, values in ratios.items():
        q = statistics.quantiles(values, n=4)
        print(
            f"  ratio {name} / import click: median {statistics.median(values):.2f}x "
            f"(quartiles {q[0]:.2f}-{q[2]:.2f}); target <= 1.30x"
        )


if __name__ == "__main__":
    main()
