"""--sandbox covers the commands that touch no worker too (G's break report): keys --local,
auth logout and doctor logs read and write no keyring or credentials file, name no real
deployment, and say that what answered is the simulation."""

from __future__ import annotations

import json

import pytest

REAL = ("opencto.works", "api.openai.com", "cloudflare.com")


def _nothing_real(text: str) -> None:
    for real in REAL:
        assert real not in text, real


def test_keys_set_local_keeps_the_key_in_memory_only(ctoops, isolated):
    key = "sk-proj-Sandbox0Local1Key2Abc3Def4Gh9z"
    saved = ctoops("--sandbox", "keys", "set", "--local", "--stdin", "--format", "json", input=key)
    assert saved.exit_code == 0, saved.all
    record = json.loads(saved.stdout)
    assert record["keyHint"] == "****Gh9z" and record["location"].startswith("the sandbox (in memory")
    assert "the sandbox's simulated OpenAI accepted the key ****Gh9z" in saved.stderr
    assert not (isolated / "keyring.json").exists()  # the test keyring was never written
    assert not list(isolated.rglob("credentials.json"))
    _nothing_real(saved.all)


@pytest.mark.parametrize(("admin", "hint"), [((), "****sbx1"), (("--admin",), "****sbx2")])
def test_keys_validate_local_uses_the_simulated_key(ctoops, isolated, admin, hint):
    result = ctoops("--sandbox", "keys", "validate", "--local", *admin)
    assert result.exit_code == 0, result.all
    assert f"the sandbox's simulated OpenAI accepted the {'admin ' if admin else ''}key {hint}" in result.stdout
    assert not (isolated / "keyring.json").exists()
    _nothing_real(result.all)


def test_keys_list_and_delete_local_stay_in_the_sandbox(ctoops, isolated):
    listed = ctoops("--sandbox", "keys", "list", "--local", "--format", "json")
    assert listed.exit_code == 0, listed.all
    assert [(r["kind"], r["keyHint"]) for r in json.loads(listed.stdout)] == [
        ("api", "****sbx1"),
        ("admin", "****sbx2"),
    ]
    deleted = ctoops("--sandbox", "keys", "delete", "--local", "--yes")
    assert deleted.exit_code == 0 and "from the sandbox (in memory" in deleted.stdout
    assert not (isolated / "keyring.json").exists()


@pytest.mark.parametrize(
    "args", [["auth", "logout"], ["auth", "logout", "--cloudflare"], ["auth", "login", "--cloudflare"]]
)
def test_auth_under_the_sandbox_touches_nothing_and_names_no_real_url(ctoops, isolated, args):
    result = ctoops("--sandbox", *args, input="")
    assert result.exit_code == 0, result.all
    assert result.stderr.startswith("ctoops: sandbox: ")
    assert not (isolated / "keyring.json").exists()
    _nothing_real(result.all)


def test_doctor_logs_under_the_sandbox_shows_its_sample_and_probes_nothing(ctoops, monkeypatch):
    monkeypatch.setenv("CLOUDFLARE_API_TOKEN", "cf-Sandbox0Token1Never2Sent3")  # set, yet never used
    monkeypatch.setenv("CLOUDFLARE_BASE_URL", "http://127.0.0.1:9")  # a call would be refused, exit 4
    result = ctoops("--sandbox", "doctor", "logs", "--format", "json")
    assert result.exit_code == 0, result.all
    rows = {r["source"]: r for r in json.loads(result.stdout)}
    assert rows["sandbox sample"]["usable"] == "yes" and rows["files"]["usable"] == "yes"
    for source in ("observability", "graphql", "live"):
        assert rows[source]["usable"] == "not probed" and "not simulated" in rows[source]["detail"]
    _nothing_real(result.all)


@pytest.mark.parametrize("columns", [80, 120])
def test_doctor_logs_on_a_terminal_shows_every_word_in_blocks(columns):
    # rows of prose: a table cut "wrangler.toml [observab…" (and rich ate "[observability]")
    from terminal import clean_env, run_in_tty

    screen = run_in_tty(["--sandbox", "doctor", "logs"], env=clean_env(NO_COLOR="1"), columns=columns, deadline=60)
    assert screen.exit_code == 0, screen.output
    assert max(len(line) for line in screen.lines) <= columns
    text = " ".join(line.strip() for line in screen.lines)
    assert "wrangler.toml [observability] enabled = true on the worker" in text
    assert "…" not in screen.output
    assert [line.split()[1] for line in screen.lines if line.startswith("source ")][:3] == [
        "files",
        "sandbox",
        "observability",
    ]
    assert sum(line.startswith("source ") for line in screen.lines) == 5


@pytest.mark.parametrize(
    ("fault", "code", "said"),
    [
        ("rate-limited", 5, "realtime_token: OpenAI answered 429 rate_limit_exceeded"),
        ("models-502", 4, "models: OpenAI answered 502 Bad Gateway"),
    ],
)
def test_faults_play_via_openai_too(ctoops, monkeypatch, fault, code, said):
    # they were silently ignored via openai: all PASS, exit 0
    monkeypatch.setenv("CTOOPS_SANDBOX_FAULTS", fault)
    result = ctoops("--sandbox", "--via", "openai", "smoke")
    assert result.exit_code == code, result.all
    assert said in result.stderr


def test_a_worker_only_fault_says_it_does_not_play_via_openai(ctoops, monkeypatch):
    monkeypatch.setenv("CTOOPS_SANDBOX_FAULTS", "usage-date-param")
    result = ctoops("--sandbox", "--via", "openai", "smoke", "--only", "usage")
    assert result.exit_code == 0, result.all
    assert "usage-date-param plays only through the worker (--via opencto); not played here" in result.stderr


@pytest.mark.parametrize("command", [["runbook", "run"], ["smoke"], ["realtime", "check"], ["errors", "trend"]])
def test_an_unknown_fault_stops_every_command_before_any_step(ctoops, monkeypatch, command):
    monkeypatch.setenv("CTOOPS_SANDBOX_FAULTS", "bogus-fault")
    result = ctoops("--sandbox", *command)
    assert result.exit_code == 2, result.all
    assert "unknown fault 'bogus-fault'" in result.stderr
    assert "PASS" not in result.stdout and "rates" not in result.stdout


@pytest.mark.parametrize(
    "command",
    [["smoke"], ["runbook", "run"], ["realtime", "check"], ["realtime", "check", "--no-connect"]],
)
def test_a_wrong_json_field_is_refused_before_anything_runs(ctoops, command):
    # smoke used to run every check (a real mint on a deployment) and then exit 2
    result = ctoops("--sandbox", *command, "--json", "ok,nosuchfield")
    assert result.exit_code == 2, result.all
    assert "unknown field 'nosuchfield'" in result.stderr
    assert result.stdout == "" and "sandbox: answers come" not in result.stderr  # no request was made


def test_keys_delete_and_config_show_say_they_are_the_sandbox(ctoops):
    deleted = ctoops("--sandbox", "keys", "delete", "--yes")
    assert deleted.exit_code == 0 and "on the sandbox's simulated worker" in deleted.stdout, deleted.all
    shown = ctoops("--sandbox", "config", "show")
    assert shown.exit_code == 0 and "sandbox: a run answers from the simulation" in shown.stderr


@pytest.mark.parametrize(
    ("args", "said"),
    [
        (["realtime", "check", "--model", ""], "'' is not a model id"),
        (["realtime", "check", "--model", "gpt realtime"], "is not a model id"),
        (["smoke", "--model", "gpt-\x1b[31m"], "is not a model id"),
    ],
)
def test_a_model_id_that_is_no_model_id_is_exit_2(ctoops, args, said):
    result = ctoops("--sandbox", *args)
    assert result.exit_code == 2 and said in result.stderr, result.all


def test_a_negative_zero_threshold_reads_as_zero(ctoops):
    result = ctoops("--sandbox", "errors", "trend", "--max-429-rate", "-0.0")
    assert "-0.0" not in result.all and "> 0.0%" in result.all, result.all


def test_a_file_piped_as_a_secret_is_refused_unread(ctoops):
    result = ctoops("--sandbox", "keys", "set", "--local", "--stdin", "--no-verify", input="a" * 3_000_000)
    assert result.exit_code == 2 and "over 8192 characters" in result.stderr
    assert len(result.all) < 300


def test_realtime_check_on_a_terminal_shows_every_value_whole():
    # a field/value table at 80 columns cut the WebSocket URL and the session's detail
    from terminal import clean_env, run_in_tty

    screen = run_in_tty(["--sandbox", "realtime", "check"], env=clean_env(NO_COLOR="1"), columns=80, deadline=60)
    assert screen.exit_code == 0, screen.output
    assert max(len(line) for line in screen.lines) <= 80 and "…" not in screen.output
    text = " ".join(line.strip() for line in screen.lines)
    assert "closed before any response was created (no tokens used)" in text
    assert any(line.startswith("expiresAt") and "Z)" in line for line in screen.lines)  # also as UTC
