"""benchmarks/errors_trend_s3.py still runs (a tiny size; nothing about speed is asserted:
performance is measured by running it, docs/scale.md)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_the_s3_benchmark_runs_and_its_two_readings_agree():
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTHON_KEYRING", "AWS_"))}
    done = subprocess.run(
        [
            sys.executable,
            str(ROOT / "benchmarks" / "errors_trend_s3.py"),
            "--events",
            "3000",
            "--batch-seconds",
            "600",
            "--pairs",
            "1",
        ],
        capture_output=True,
        text=True,
        env=env,
        cwd=ROOT,
        timeout=300,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert "3,000 Logpush events in 144 objects of 600 s" in done.stdout
    assert "counts agree: True" in done.stdout
    assert "ratio s3 / local" in done.stdout
