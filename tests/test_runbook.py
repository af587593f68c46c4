"""Runbooks: the bundled OpenAI ops runbook in the sandbox, local runbooks, step semantics,
parameters and thresholds, and bad runbook files."""

from __future__ import annotations

import json
import os
import time
from pathlib import Path

import pytest
from fakeserver import Reply
from junitparser import JUnitXml

# the connect stage (realtime_session) reaches a loopback Realtime server, not OpenAI
pytestmark = pytest.mark.usefixtures("realtime_ws")

SECRET = "ek_runbookSecretValue0123456789abcd"


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


def test_the_default_runbook_runs_in_the_sandbox(ctoops, tmp_path):
    junit = tmp_path / "runbook.xml"
    result = ctoops("--sandbox", "runbook", "run", "--junit", str(junit))
    assert result.exit_code == 0, result.stderr
    assert "[1/5] 1. Set OPENAI_API_KEY in the worker  MANUAL" in result.stdout
    assert "wrangler secret put OPENAI_API_KEY" in result.stdout
    assert "[3/5] 3. Validate the realtime path  PASS" in result.stdout
    assert "[5/5] 5. Monitor 429 and 5xx rates on realtime_token and cto_openai_proxy  PASS" in result.stdout
    assert "7 passed, 0 failed, 1 skipped" in result.stdout  # step 3: realtime_token and realtime_session
    suite = next(iter(JUnitXml.fromfile(str(junit))))
    assert suite.tests == 8 and suite.skipped == 1 and suite.failures == 0
    assert SECRET not in result.all


def test_json_report_of_a_runbook(ctoops):
    result = ctoops("--sandbox", "runbook", "run", "--format", "json")
    report = json.loads(result.stdout)
    assert report["suite"] == "runbook openai-ops" and report["ok"] is True
    statuses = {c["check"]: c["status"] for c in report["checks"]}
    assert statuses["worker-secret"] == "skip" and statuses["realtime/realtime_token"] == "pass"
    assert statuses["realtime/realtime_session"] == "pass"
    assert statuses["ops-path/usage"] == "pass" and statuses["workspace-key/workspace_key"] == "pass"


def test_a_failed_step_stops_the_rest_unless_it_may_continue(ctoops, monkeypatch):
    monkeypatch.setenv("CTOOPS_SANDBOX_FAULTS", "realtime-empty")
    result = ctoops("--sandbox", "runbook", "run", "--format", "json")
    assert result.exit_code == 1
    statuses = {c["check"]: c["status"] for c in json.loads(result.stdout)["checks"]}
    assert statuses["realtime/realtime_token"] == "fail"
    assert statuses["realtime/realtime_session"] == "skip"  # no secret to connect with; counted once, as the mint's
    assert statuses["ops-path"] == "skip"  # not run after a step that may not continue

    monkeypatch.setenv("CTOOPS_SANDBOX_FAULTS", "usage-date-param")
    result = ctoops("--sandbox", "runbook", "run", "--format", "json")
    statuses = {c["check"]: c["status"] for c in json.loads(result.stdout)["checks"]}
    assert statuses["ops-path/usage"] == "fail" and statuses["ops-path/models"] == "pass"
    assert result.exit_code == 1


def test_params_override_thresholds(ctoops):
    strict = ctoops("--sandbox", "runbook", "run", "-p", "realtime.min_ttl=700")
    assert strict.exit_code == 1 and "sooner than --min-ttl 700s" in strict.stdout
    assert ctoops("--sandbox", "runbook", "run", "-p", "realtime.min_ttl=30").exit_code == 0
    bad = ctoops("--sandbox", "runbook", "run", "-p", "realtime.min_tl=3")
    assert bad.exit_code == 2 and "takes no parameter 'min_tl'" in bad.stderr
    nowhere = ctoops("--sandbox", "runbook", "run", "-p", "nosuch.x=1")
    assert nowhere.exit_code == 2 and "no step 'nosuch'" in nowhere.stderr


def test_max_latency_ms_fails_a_slow_check(ctoops, server, monkeypatch, tmp_path):
    monkeypatch.setenv("OPENCTO_API_BASE_URL", server.url)
    monkeypatch.setenv("OPENCTO_TOKEN", "token-for-runbook-latency-01")
    server.route(
        "POST",
        "/api/v1/realtime/token",
        Reply(json={"clientSecret": SECRET, "expiresAt": int(time.time()) + 600}, delay=0.4),
    )
    book = write(
        tmp_path / "slow.toml",
        """
name = "slow"
[[step]]
name = "realtime"
run = "realtime check"
[step.with]
max_latency_ms = 150
""",
    )
    result = ctoops("runbook", "run", str(book))
    assert result.exit_code == 1
    assert "over max_latency_ms 150" in result.stdout
    fast = ctoops("runbook", "run", str(book), "-p", "realtime.max_latency_ms=5000")
    assert fast.exit_code == 0, fast.stderr


def test_local_runbooks_are_listed_and_shadow_bundled_ones(ctoops, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    write(
        tmp_path / "runbooks" / "nightly.toml",
        """
name = "nightly"
title = "Nightly checks"
[[step]]
name = "models"
run = "models list"
[step.with]
match = "gpt-4o"
""",
    )
    config_dir = Path(os.environ["CTOOPS_CONFIG"]).parent
    write(
        config_dir / "runbooks" / "openai-ops.toml",
        """
title = "My own ops runbook"
[[step]]
name = "only"
run = "smoke"
[step.with]
only = ["models"]
""",
    )
    listed = json.loads(ctoops("runbook", "list", "--format", "json").stdout)
    where = {(r["name"], r["where"]) for r in listed}
    assert ("nightly", "local") in where and ("openai-ops", "local") in where
    assert ("openai-ops", "bundled (shadowed)") in where
    ran = ctoops("--sandbox", "runbook", "run", "nightly")
    assert ran.exit_code == 0 and "2 models match 'gpt-4o'" in ran.stdout
    own = ctoops("--sandbox", "runbook", "run")
    assert own.exit_code == 0 and "My own ops runbook" in own.stdout


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("[[step\n", "not valid TOML"),
        ('title = "x"\n', "no [[step]] tables"),
        ('[[step]]\nrun = "smoke"\n', "unique `name`"),
        ('[[step]]\nname = "a"\nrun = "smoke"\n[[step]]\nname = "a"\nrun = "smoke"\n', "unique `name`"),
        ('[[step]]\nname = "a"\nrun = "deploy everything"\n', "unknown operation 'deploy everything'"),
        ('[[step]]\nname = "a"\n', "either `run"),
        ('[[step]]\nname = "a"\nrun = "smoke"\nmanual = true\n', "either `run"),
        ('[[step]]\nname = "a"\nrun = "smoke"\ncolour = "red"\n', "unknown key 'colour'"),
        ('[[step]]\nname = "a"\nrun = "smoke"\n[step.with]\nonly = ["models"]\nspeed = 9\n', "no parameter 'speed'"),
    ],
)
def test_bad_runbooks_exit_2_naming_the_file(ctoops, tmp_path, text, message):
    book = write(tmp_path / "bad.toml", text)
    result = ctoops("--sandbox", "runbook", "run", str(book))
    assert result.exit_code == 2, result.stderr
    assert message in result.stderr and str(book) in result.stderr


def test_unknown_runbook_name_lists_the_known(ctoops):
    result = ctoops("runbook", "run", "nope")
    assert result.exit_code == 2 and "openai-ops" in result.stderr


def test_show_prints_steps_and_instructions(ctoops):
    result = ctoops("runbook", "show")
    assert result.exit_code == 0
    assert "5. Monitor 429 and 5xx rates" in result.stdout
    assert "[realtime: runs `realtime check`]" in result.stdout and "min_ttl = 60" in result.stdout


def test_runbook_show_on_an_80_column_terminal_wraps_each_paragraph():
    # the bundled runbooks are written 96 wide: shown as written, every line wrapped by the terminal
    from terminal import clean_env, run_in_tty

    screen = run_in_tty(["runbook", "show"], env=clean_env(), columns=80, deadline=60)
    assert screen.exit_code == 0, screen.output
    assert max(len(line) for line in screen.lines) <= 80
    text = " ".join(line.strip() for line in screen.lines)
    assert "`wrangler secret put OPENAI_API_KEY` (once per environment)" in text
