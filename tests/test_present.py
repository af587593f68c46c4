"""Output a person reads at 3 am, rendered through a real pseudo-terminal at 80 and 120
columns: no table row wraps, the key numbers are there, verdicts are coloured on a terminal
and plain when piped or with NO_COLOR, and the chart gives each series its own colour."""

from __future__ import annotations

import json
import re
import subprocess
import sys

import pytest
from terminal import clean_env, run_in_tty

ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")
TREND = ["--sandbox", "errors", "trend", "--window", "5m", "--max-429-rate", "0.01", "--max-5xx-rate", "0.01"]


def plain(text: str) -> str:
    return ANSI.sub("", text).replace("\r\n", "\n")


def trend_rows() -> list[dict]:
    out = subprocess.run(
        [sys.executable, "-m", "ctoops", *TREND[:5], "--format", "json"], capture_output=True, text=True, check=True
    ).stdout
    return json.loads(out)


@pytest.mark.parametrize("width", [80, 120])
def test_the_trend_table_never_wraps_a_row(width):
    rows = trend_rows()
    screen = run_in_tty([*TREND, "--min-requests", "20"], env=clean_env(), columns=width, rows=60)
    text = plain(screen.output)
    table = [line for line in text.split("\n") if re.match(r"^(\d\d-\d\d )?\d\d:\d\d ", line)]
    assert len(table) == len(rows)  # one line per row: none wrapped onto a second line
    assert all(len(line) <= width for line in table)
    assert "150" in text and "1.3%" in text  # the key numbers: requests, the worst 429 rate
    assert "group: realtime = realtime_token, proxy = cto_openai_proxy" in text
    assert screen.exit_code == 1  # realtime_token's 429 rate 1.3% is over 1%


def test_a_failing_threshold_is_red_and_a_passing_one_green_on_a_terminal():
    screen = run_in_tty([*TREND, "--min-requests", "20"], env=clean_env(), columns=100, rows=60)
    assert re.search(r"\x1b\[31m(\x1b\[[0-9;]*m)*✗", screen.output)  # red
    assert re.search(r"\x1b\[32m(\x1b\[[0-9;]*m)*✓", screen.output)  # green
    text = plain(screen.output)
    assert re.search(r"✗ realtime_token +429 ≤ 1\.0% +worst 1\.3%", text)


def test_no_colour_with_no_color_and_plain_words_when_piped():
    screen = run_in_tty([*TREND, "--min-requests", "20"], env=clean_env(NO_COLOR="1"), columns=100, rows=60)
    assert re.search(r"\x1b\[[0-9;]*m", screen.output) is None
    assert "✗ realtime_token" in screen.output  # the marks stay; only the colour goes
    piped = subprocess.run([sys.executable, "-m", "ctoops", *TREND], capture_output=True, text=True, check=False)
    assert "\x1b[" not in piped.stdout and "✗" not in piped.stdout
    assert piped.stdout.startswith("window_start")  # the plain, complete table, as before
    assert "  FAIL       realtime_token    429 <= 1.0%" in piped.stdout


def test_the_chart_gives_each_series_its_colour():
    screen = run_in_tty([*TREND, "--plot"], env=clean_env(), columns=100, rows=80)
    plus = set(re.findall(r"\x1b\[38;5;(\d+)m\+", screen.output))
    cross = set(re.findall(r"\x1b\[38;5;(\d+)mx", screen.output))
    assert plus and cross and plus.isdisjoint(cross)
    assert "0.0%" in plain(screen.output) or "0%" in plain(screen.output)


@pytest.mark.parametrize("width", [80, 120])
def test_smoke_reads_without_a_wrapped_row(width):
    env = clean_env(CTOOPS_SANDBOX_FAULTS="models-502")
    screen = run_in_tty(["--sandbox", "smoke"], env=env, columns=width, rows=40)
    text = plain(screen.output)
    checks = [line for line in text.split("\n") if re.match(r"^(realtime_token|realtime_session|models|usage) ", line)]
    assert len(checks) >= 3 and all(len(line) <= width for line in checks)
    assert any("✗ FAIL" in line for line in checks if line.startswith("models"))
    assert re.search(r"\x1b\[31m(\x1b\[[0-9;]*m)*✗ FAIL", screen.output)
    assert screen.exit_code == 4


def test_usage_report_plots_tokens_per_day():
    args = ["--sandbox", "--via", "openai", "usage", "report", "--start", "14d", "--plot"]
    screen = run_in_tty(args, env=clean_env(), columns=80, rows=120)
    assert screen.exit_code == 0
    plus = set(re.findall(r"\x1b\[38;5;(\d+)m\+", screen.output))
    cross = set(re.findall(r"\x1b\[38;5;(\d+)mx", screen.output))
    assert plus and cross and plus.isdisjoint(cross)
    text = plain(screen.output)
    assert "Tokens per day (UTC)" in text and "+ input tokens" in text
    piped = subprocess.run([sys.executable, "-m", "ctoops", *args], capture_output=True, text=True, check=True)
    assert "Tokens per day (UTC)" in piped.stdout and "\x1b[" not in piped.stdout


@pytest.mark.parametrize("width", [80, 120])
def test_the_runbook_reads_without_a_line_over_the_width(width):
    env = clean_env(CTOOPS_SANDBOX_FAULTS="models-502")
    screen = run_in_tty(["--sandbox", "runbook", "run"], env=env, columns=width, rows=100)
    text = plain(screen.output)
    stdout_lines = [line for line in text.split("\n") if not line.startswith(("ctoops:", "Error:"))]
    assert all(len(line) <= width for line in stdout_lines)
    assert "✗ FAIL  ops-path/models" in text and "✓ PASS  ops-path/usage" in text
    assert re.search(r"\x1b\[31m(\x1b\[[0-9;]*m)*✗ FAIL", screen.output)
    piped = subprocess.run(
        [sys.executable, "-m", "ctoops", "--sandbox", "runbook", "run"],
        capture_output=True,
        text=True,
        check=False,
        env={**clean_env(), "CTOOPS_SANDBOX_FAULTS": "models-502"},
    )
    assert "      FAIL  ops-path/models" in piped.stdout and "✗" not in piped.stdout and "\x1b[" not in piped.stdout


def test_over_threshold_lines_wrap_at_words_on_a_terminal_and_stay_whole_when_piped():
    """The terminal broke ``over threshold: ...`` lines mid-word (``(570 re`` / ``quests)``);
    on a terminal they wrap at word boundaries under a hanging indent; piped, one line each."""
    screen = run_in_tty([*TREND, "--min-requests", "20"], env=clean_env(), columns=60, rows=80)
    lines = plain(screen.output).replace("\r", "").split("\n")
    starts = [i for i, line in enumerate(lines) if line.startswith("over threshold:")]
    assert starts, screen.output
    for i in starts:
        assert len(lines[i]) <= 59 and lines[i + 1].startswith("    "), lines[i : i + 2]
    piped = subprocess.run([sys.executable, "-m", "ctoops", *TREND, "--min-requests", "20"], capture_output=True,
                           text=True, check=False, env=clean_env(COLUMNS="60"))  # fmt: skip
    over = [line for line in piped.stderr.splitlines() if line.startswith("over threshold:")]
    assert over and all(line.endswith("requests)") for line in over), over
