"""The benchmark scripts still run (tiny sizes, nothing timed or asserted about speed:
performance is measured by running them, see benchmarks/)."""

from __future__ import annotations

import os
import subprocess
import sys

from conftest import ROOT

BENCH = ROOT / "benchmarks"


def run(*args: str) -> str:
    env = {k: v for k, v in os.environ.items() if not k.startswith("PYTHON_KEYRING")}
    done = subprocess.run([sys.executable, *args], capture_output=True, text=True, env=env, cwd=ROOT, timeout=300)
    assert done.returncode == 0, done.stdout + done.stderr
    return done.stdout


def test_startup_benchmark_runs():
    out = run(str(BENCH / "startup.py"), "--pairs", "2", "--warmup", "1")
    assert "ratio ctoops --help / import click" in out


def test_usage_benchmarks_run():
    pulled = run(str(BENCH / "usage_pull.py"), "--latency", "0.01", "--repeat", "1")
    assert "ratio" in pulled and "complete: 365/365 days" in pulled
    assert "ratio pandas/ctoops" in run(str(BENCH / "usage_csv.py"), "--rows", "2000", "--repeat", "1")
    assert "ratio openpyxl write-only / ctoops" in run(str(BENCH / "usage_xlsx.py"), "--rows", "500", "--repeat", "1")


def test_trend_benchmark_runs(tmp_path):
    """Every case of the trend benchmark runs at a tiny size, and ctoops agrees with DuckDB."""
    data = tmp_path / "data"
    out = run(str(BENCH / "errors_trend.py"), "--events", "3000", "--pairs", "1", "--data", str(data))
    for case in ("plain NDJSON", "one .gz", "a folder of .gz", "pretty tail", "cat NDJSON | ctoops -"):
        assert f"{case}: counts agree: True" in out
    assert out.count("ratio ctoops") == 8  # five cases, read_json_auto on two, the pipe against the file
    assert "ratio ctoops, pipe / DuckDB, schema, pipe" in out and "ratio DuckDB, pipe / DuckDB, file" in out
    assert sorted(p.name for p in data.iterdir()) == [
        "logpush-3000-gz",
        "logpush-3000.ndjson",
        "logpush-3000.ndjson.gz",
        "tail-3000.json",
    ]


def test_realtime_probe_benchmark_runs():
    out = run(str(BENCH / "realtime_probe.py"), "--pairs", "2", "--warmup", "1")
    assert "ratio probe / bare websockets" in out
