"""benchmarks/cloudflare_counts.py still runs (a tiny size; nothing about speed asserted)."""

from __future__ import annotations

import importlib.util
import subprocess
import sys

import pytest
from conftest import ROOT


@pytest.mark.skipif(importlib.util.find_spec("duckdb") is None, reason="duckdb is in the bench extra")
def test_cloudflare_counts_benchmark_runs():
    done = subprocess.run(
        [
            sys.executable,
            str(ROOT / "benchmarks" / "cloudflare_counts.py"),
            "--requests-per-minute",
            "40",
            "--pairs",
            "1",
        ],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=300,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert "counts agree: True" in done.stdout and "ratio ctoops/duckdb" in done.stdout
