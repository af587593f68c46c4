"""`usage costs` and `usage report` as a person sees them at a terminal (80 and 120 columns):
every money cell of the Forecast table is money (2 decimals and the currency), every token
cell a count (no decimals), and a budget verdict wraps to the width at word boundaries with
a hanging indent, an amount never apart from its currency. Piped, a verdict stays one line.
What is pulled (the range) is said once on a terminal: the summary's title, not also stderr.

In-process with ``CLICOLOR_FORCE`` (a terminal, as ctoops decides it) and the sandbox's
clock pinned; one run in a real pseudo-terminal at the real time."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from decimal import Decimal

import pytest
from terminal import clean_env, run_in_tty

from ctoops.render import infer_columns
from ctoops.tables import terminal_table

NOW = datetime(2026, 11, 18, 9, 30, tzinfo=UTC).timestamp()  # mid-month: costs settled through 11-16
MONEY = re.compile(r"^(<)?[\d,]+\.\d\d USD$")
COUNT = re.compile(r"^\d{1,3}(,\d{3})*$")
DAY = re.compile(r"^2026-\d\d-\d\d$")


@pytest.fixture(autouse=True)
def clock(monkeypatch):
    monkeypatch.setattr("ctoops.checks.clock.now", lambda: NOW)


def on_terminal(columns: int) -> dict[str, str]:
    return {"CLICOLOR_FORCE": "1", "NO_COLOR": "1", "COLUMNS": str(columns)}


def section(stdout: str, title: str) -> list[str]:
    """The lines of the table titled ``title``: a table up to the next blank line, blocks
    (one per row, blank lines apart) up to their note; never the verdict after them."""
    lines = [line.rstrip() for line in stdout.split(title, 1)[1].splitlines()[1:]]
    blocks = bool(lines) and lines[0] == ""
    out = []
    for line in lines:
        if line.startswith(("budget ", "(")) or (line == "" and not blocks):
            break
        if line:
            out.append(line)
    return out


def cells_of(table: list[str]) -> dict[str, list[str]]:
    """A fitted table's cells by header, from its lines (header, rule, rows) or its blocks
    (``field  value``), whichever the width gave."""
    if table and set(table[1].strip()) == {"─"}:  # a table: columns are 2+ spaces apart
        headers = table[0].split()
        rows = [re.split(r"\s{2,}", line.strip()) for line in table[2:] if line.strip()]
        return {h: [r[i] for r in rows] for i, h in enumerate(headers)}
    found: dict[str, list[str]] = {}
    for line in table:
        if line.strip() and not line.startswith("("):
            field, value = re.split(r"\s{2,}", line.strip(), maxsplit=1)
            found.setdefault(field, []).append(value)
    return found


@pytest.mark.parametrize("columns", [80, 120])
def test_the_costs_forecast_shows_money_and_counts(ctoops, columns):
    args = ("--sandbox", "--via", "openai", "usage", "costs", "--start", "mtd", "--forecast")
    for group in ((), ("--group-by", "project_id")):
        result = ctoops(*args, *group, env=on_terminal(columns))
        assert result.exit_code == 0, result.all
        table = section(result.stdout, "Forecast (90% interval, docs/forecast.md)")
        assert max(len(line) for line in table) <= columns
        cells = cells_of(table)
        for money in ("settled", "total", "low", "high"):
            assert cells[money] and all(MONEY.match(c) for c in cells[money]), (money, cells[money])
        assert all(COUNT.match(c) for c in cells["daysUsed"]) and all(DAY.match(c) for c in cells["horizon"])
        assert "currency" not in cells  # said in every money cell


@pytest.mark.parametrize("columns", [80, 120])
def test_the_token_forecast_shows_counts(ctoops, columns):
    result = ctoops(
        "--sandbox", "--via", "openai", "usage", "report", "--start", "mtd", "--forecast", env=on_terminal(columns)
    )
    assert result.exit_code == 0, result.all
    table = section(result.stdout, "Forecast of tokens (input + output; 90% interval, docs/forecast.md)")
    cells = cells_of(table)
    for name in ("settled", "total", "low", "high", "daysUsed"):
        assert cells[name] and all(COUNT.match(c) for c in cells[name]), (name, cells[name])
    assert int(cells["total"][0].replace(",", "")) > 1000  # tokens, not a rounded-away figure


def test_declared_kinds_win_over_the_values_type():
    """Money given as text (a JSON-ready record) is still money; tokens kept as exact
    Decimals are counts, not money without a currency."""
    rows = [
        {"scope": "total", "currency": "usd", "settled": "75.0429985", "total": Decimal("85.95"), "daysUsed": 28},
        {"scope": "proj_a", "currency": "usd", "settled": Decimal("0.004"), "total": None, "daysUsed": 3},
    ]
    kinds = {"settled": "money", "total": "money", "daysUsed": "count"}
    columns = infer_columns(rows, ["scope", "currency", "settled", "total", "daysUsed"], kinds)
    text = terminal_table(rows, columns, 80, color=False).text
    assert "75.04 USD" in text and "85.95 USD" in text and "<0.01 USD" in text and "75.0429985" not in text
    tokens = [{"settled": Decimal("114707981"), "total": Decimal("118559274")}]
    counted = infer_columns(tokens, ["settled", "total"], {"settled": "count", "total": "count"})
    shown = terminal_table(tokens, counted, 80, color=False).text
    assert "114,707,981" in shown and "118,559,274" in shown and ".00" not in shown


@pytest.mark.parametrize("columns", [80, 120])
def test_a_budget_verdict_wraps_to_the_terminal(ctoops, columns):
    args = ("--sandbox", "--via", "openai", "usage", "costs", "--start", "mtd", "--budget", "5000", "--forecast")
    piped = ctoops(*args)
    (one,) = [line for line in piped.stdout.splitlines() if line.startswith("budget ")]
    assert len(one) > 120  # the whole verdict on one line in a pipe or CI log
    result = ctoops(*args, env=on_terminal(columns))
    assert result.exit_code == 0, result.all
    tail = result.stdout.split("budget PASS", 1)[1]
    lines = ("budget PASS" + tail).rstrip("\n").splitlines()
    assert len(lines) > 1 and all(len(line) < columns for line in lines)
    assert all(line.startswith("    ") for line in lines[1:])  # a hanging indent
    assert " ".join(line.strip() for line in lines) == one  # nothing lost, cut only at spaces
    assert not any(re.search(r"\d$", line) for line in lines)  # an amount stays with its currency


def test_a_verdict_on_stderr_wraps_on_a_terminal_too(ctoops, tmp_path):
    out = str(tmp_path / "spend.csv")
    args = ("--sandbox", "--via", "openai", "usage", "costs", "--start", "mtd", "--budget", "10eur", "-o", out)
    result = ctoops(*args, env=on_terminal(80))
    assert result.exit_code == 1, result.all
    lines = result.stderr.split("ctoops: budget FAIL", 1)[1].split("Error:")[0].rstrip("\n").splitlines()
    assert len(lines) > 1 and all(len(line) < 80 for line in lines[1:])
    piped = ctoops(*args)
    assert any(line.startswith("ctoops: budget FAIL") and line.endswith("11-16)") for line in piped.stderr.splitlines())


def test_in_a_real_terminal(tmp_path):
    env = clean_env(HOME=str(tmp_path), NO_COLOR="1")
    screen = run_in_tty(
        ["--sandbox", "--via", "openai", "usage", "costs", "--start", "mtd", "--budget", "5000"], env=env, columns=120
    )
    assert screen.exit_code == 0, screen.output
    table = section(screen.output.replace("\r\n", "\n"), "Forecast (90% interval, docs/forecast.md)")
    cells = cells_of([line.rstrip() for line in table])
    assert all(MONEY.match(c) for c in cells["settled"] + cells["total"] + cells["high"]), cells
    at = next(i for i, line in enumerate(screen.lines) if line.startswith("budget "))
    verdict = [screen.lines[at], *(line for line in screen.lines[at + 1 :] if line.startswith("    "))]
    assert verdict[0].startswith("budget PASS") and len(verdict) > 1
    assert all(len(line) <= 120 for line in verdict)


# -- what is pulled, said once -------------------------------------------------------------------

PULL = ("--sandbox", "--via", "openai", "usage", "pull", "--start", "3d", "--group-by", "model")
SAID = "usage completions, 2026-11-15 to 2026-11-18 (end exclusive, UTC), 1d buckets, via openai (sandbox)"


@pytest.mark.parametrize("command", [PULL, ("--sandbox", "--via", "openai", "usage", "report", "--start", "3d")])
def test_the_range_is_said_once_on_a_terminal(ctoops, command):
    result = ctoops(*command, env=on_terminal(200))
    assert result.exit_code == 0, result.all
    assert "2026-11-15 to 2026-11-18 (end exclusive, UTC)" in result.stdout.splitlines()[0]  # the title
    assert "2026-11-15 to" not in result.stderr


def test_the_range_stays_on_stderr_when_stdout_is_piped(ctoops):
    result = ctoops(*PULL)
    assert result.exit_code == 0, result.all
    assert f"ctoops: {SAID}" in result.stderr.splitlines()  # for the person at the terminal
    assert result.stdout.startswith(SAID)  # and in the data stream's own title


@pytest.mark.parametrize("output", [("--format", "json"), ("--format", "csv"), ("-o", "out.csv")])
def test_the_range_is_on_stderr_when_no_title_says_it(ctoops, output, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    result = ctoops(*PULL, *output, env=on_terminal(200))
    assert result.exit_code == 0, result.all
    assert f"ctoops: {SAID}" in result.stderr.splitlines() and SAID not in result.stdout


def test_a_failed_pull_on_a_terminal_still_says_what_it_pulled(ctoops, server, monkeypatch):
    from fakeserver import Reply

    monkeypatch.setenv("OPENAI_BASE_URL", server.url + "/v1")
    monkeypatch.setenv("OPENAI_ADMIN_KEY", "sk-admin-terminalTest0123456789")
    server.route("GET", "/v1/organization/usage/completions", Reply(500, json={"error": {"message": "down"}}))
    args = ("--max-retries", "0", "--via", "openai", "usage", "pull", "--start", "3d")
    result = ctoops(*args, env=on_terminal(200))
    assert result.exit_code == 4, result.all
    lines = result.stderr.splitlines()
    assert (
        lines[0] == "ctoops: usage completions, 2026-11-15 to 2026-11-18 (end exclusive, UTC), 1d buckets, via openai"
    )
    assert lines[-1].startswith("Error:")


def test_the_range_once_in_a_real_terminal(tmp_path):
    env = clean_env(HOME=str(tmp_path), NO_COLOR="1")
    screen = run_in_tty([*PULL], env=env, columns=200)
    assert screen.exit_code == 0, screen.output
    assert screen.output.count("(end exclusive, UTC), 1d buckets, via openai (sandbox)") == 1, screen.output
    assert screen.output.count("ctoops: usage completions") == 0


def test_a_failed_forecast_history_on_a_terminal_still_says_what_it_pulled(ctoops, server, monkeypatch):
    import usage_api
    from fakeserver import Reply

    usage_api.admin_api(server, monkeypatch, "sk-admin-terminalTest0123456789", NOW)
    start = usage_api.ts("2026-11-10")

    def costs(seen):  # the range answers; the forecast's history (the 28 days before it) fails
        if int(seen.query["start_time"]) < start:
            return Reply(500, json={"error": {"message": "down"}})
        return Reply(body=usage_api.dumps(usage_api.page_for(seen, "costs", lambda *_: [usage_api.cost("1.5")])))

    server.route("GET", "/v1/organization/costs", costs)
    args = ("--max-retries", "0", "--via", "openai", "usage", "costs", "--start", "2026-11-10", "--forecast")
    result = ctoops(*args, env=on_terminal(200))
    assert result.exit_code == 4, result.all
    said = "ctoops: costs, 2026-11-10 to 2026-11-19 (end exclusive, UTC), 1d buckets, via openai"
    assert result.stderr.splitlines().count(said) == 1 and result.stdout == ""
