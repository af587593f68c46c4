"""Hostile input, one kind per test (issue 11): no fragment of a secret anywhere, bounded time
and memory against a misbehaving server, one clear line and the contract's exit code for bad
settings, no file lost or clobbered."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
from pathlib import Path

import pytest
from conftest import ROOT, use_keyring
from fakeserver import Reply

TOKEN = "Zx9Qw8Er7Ty6Ui5Op4Lk3Jh2Gf1Ds0"
KEY = "sk-proj-Hostile0Key1Abc2Def3Ghi4Jkl5"
ADMIN = "sk-admin-Hostile9Adm8Xyz7Wvu6Tsr5"
MODELS = {"object": "list", "data": [{"id": "gpt-4o", "object": "model", "created": 1715367049, "owned_by": "system"}]}


def fragments(secret: str, size: int = 5) -> set[str]:
    """Every run of ``size`` characters of the secret's body (after its public prefix)."""
    body = secret.split("-", 2)[-1] if secret.startswith("sk-") else secret
    return {body[i : i + size] for i in range(len(body) - size + 1)}


def assert_no_fragment(text: str, *secrets: str) -> None:
    for secret in secrets:
        shown = [f for f in fragments(secret) if f in text]
        assert not shown, f"fragments of {secret[:6]}… shown: {shown[:3]}"


# -- secrets ----------------------------------------------------------------------------------


def test_a_secret_straddling_the_excerpt_cut_shows_no_fragment(ctoops, worker, tmp_path):
    # a non-JSON 502 whose text puts the token across the excerpt's 160-character cut
    body = "upstream said: " + "x" * 130 + TOKEN + " and more"
    worker.route("GET", "/api/v1/cto/openai/models", Reply(502, body=body, content_type="text/plain"))
    worker.route("POST", "/api/v1/realtime/token", Reply(502, body=body, content_type="text/plain"))
    report, junit = tmp_path / "r.json", tmp_path / "j.xml"
    result = ctoops(
        "--max-retries", "0", "smoke", "--only", "models", "--report-json", str(report), "--junit", str(junit)
    )
    assert result.exit_code == 4
    assert_no_fragment(result.all + report.read_text() + junit.read_text(), TOKEN)


@pytest.mark.parametrize(
    ("secret", "text"),
    [
        ("sk-admin-ADMINTOKEN9x8y7z6w5v", "set OPENAI_ADMIN_KEY or run `ctoops keys set --local --admin`"),
        ("cfTOKEN_Ab12Cd34Ef56Gh78", "check CLOUDFLARE_API_TOKEN"),
        ("Zx9Qw8Er7Ty6Ui5Op4Lk3Jh2Gf1Ds0", "Token accepted at 2026-11-30T09:30:00Z"),
        ("sk-proj-Qz14256Xwvutsrqp9999abc", "amount 10.1425634 usd, 14256 requests"),
    ],
)
def test_fragments_shaped_like_words_names_or_numbers_are_not_masked(secret, text):
    # a piece of a secret that looks like ordinary text is not a secret; the secret and its
    # distinctive pieces still are
    from ctoops.redact import redact, register

    register(secret)
    assert redact(text) == text
    body = secret.split("-", 2)[-1] if secret.startswith("sk-") else secret
    cut = f"upstream said: ...{body[: len(body) // 2 + 3]}"  # a secret cut in two by an excerpt
    assert body[: len(body) // 2 + 3] not in redact(cut)
    assert secret not in redact(f"key={secret}")


def test_server_data_is_redacted_whatever_field_it_comes_in(ctoops, worker, monkeypatch):
    monkeypatch.setenv("OPENCTO_WORKSPACE", "acme")
    whole = "sk-proj-EchoedWhole0Key1Abc2Def3Ghi"
    worker.route(
        "GET",
        "/api/v1/llm/keys",
        Reply(json={"workspaceId": "acme", "keys": [{"provider": "openai", "workspaceId": "acme", "keyHint": whole}]}),
    )
    models = {"object": "list", "data": [{"id": whole, "object": "model", "created": 1, "owned_by": whole}]}
    worker.route("GET", "/api/v1/cto/openai/models", Reply(json=models))
    for args in (
        ["keys", "list"],
        ["keys", "list", "--format", "json"],
        ["models", "list"],
        ["models", "list", "--format", "csv"],
    ):
        result = ctoops(*args)
        assert result.exit_code == 0, result.stderr
        assert_no_fragment(result.all, whole)
    assert "****3Ghi" in ctoops("keys", "list").stdout  # the whole key is shown as its hint: **** + last 4


@pytest.mark.parametrize(
    ("setting", "env"),
    [("--api-url", "OPENCTO_API_BASE_URL"), (None, "OPENAI_BASE_URL")],
)
def test_credentials_in_a_url_are_masked_everywhere_and_warned_about(
    ctoops, server, monkeypatch, tmp_path, setting, env
):
    password = "Pa55word0Secret9Zz"
    url = server.url.replace("http://", f"http://ops:{password}@") + ("/v1" if env == "OPENAI_BASE_URL" else "")
    monkeypatch.setenv(env, url)
    monkeypatch.setenv("OPENCTO_TOKEN", TOKEN)
    monkeypatch.setenv("OPENAI_API_KEY", KEY)
    via = ("--via", "openai") if env == "OPENAI_BASE_URL" else ()
    report = tmp_path / "r.json"
    outputs = [
        ctoops("config", "show"),
        ctoops("-v", "--max-retries", "0", *via, "smoke", "--only", "models", "--report-json", str(report)),
    ]
    text = "".join(r.all for r in outputs) + report.read_text()
    assert "carries a credential" in text
    assert_no_fragment(text, password)


@pytest.mark.parametrize("env", ["OPENCTO_API_BASE_URL", "OPENAI_BASE_URL", "CLOUDFLARE_BASE_URL"])
@pytest.mark.parametrize("tail", ["?api_key=Qu3ryKey0Secret8", "/v1?region=eu", "#frag"])
def test_a_base_url_with_a_query_or_fragment_is_refused_masked(ctoops, server, monkeypatch, env, tail):
    # httpx would append each path to the query ('/v1?k=v/models'): a silent misroute, so exit 2
    monkeypatch.setenv(env, server.url + tail)
    monkeypatch.setenv("OPENCTO_TOKEN", TOKEN)
    uses = ["errors", "trend", "--source", "graphql"] if env.startswith("CLOUDFLARE") else ["models", "list"]
    for args in (["config", "show"], uses):
        result = ctoops(*args)
        assert result.exit_code == 2, result.all
        assert "has a query string or fragment" in result.stderr and result.stderr.count("\n") == 1
        assert_no_fragment(result.all, "Qu3ryKey0Secret8")
    assert server.requests == []


@pytest.mark.parametrize("where", ["flag", "AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL_S3"])
def test_a_password_in_an_s3_endpoint_is_masked(ctoops, monkeypatch, where):
    password = "Pw0Xq9Zk7Rt5Vb3Ny1"
    url = f"http://ops:{password}@127.0.0.1:1"  # nothing listens on port 1: refused at once
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "AKIAHARDENINGTEST000")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "hardening-test-secret-0000")
    flag = ["--endpoint-url", url] if where == "flag" else []
    if where != "flag":
        monkeypatch.setenv(where, url)
    result = ctoops("--max-retries", "0", "--timeout", "5", "errors", "trend", "s3://logs/p/", "--since", "1d", *flag)
    assert result.exit_code == 4, result.all
    assert "127.0.0.1:1" in result.stderr  # the endpoint is named, its password is not
    assert_no_fragment(result.all, password)


def test_an_s3_endpoint_with_a_query_string_is_refused(ctoops):
    result = ctoops("errors", "trend", "s3://logs/p/", "--endpoint-url", "https://r2.example/?token=Qu3ry0Tok9")
    assert result.exit_code == 2 and "has a query string or fragment" in result.stderr
    assert_no_fragment(result.all, "Qu3ry0Tok9")


@pytest.mark.parametrize("env", ["OPENCTO_API_BASE_URL", "OPENAI_BASE_URL", "CLOUDFLARE_BASE_URL"])
@pytest.mark.parametrize(
    ("url", "said"),
    [
        ("https://u:Br4ck3tPw0Secret@[::1", "not a valid URL (Invalid IPv6 URL)"),
        ("http://127.0.0.1:99999", "not a valid URL (Port out of range"),
        ("http://127.0.0.1:0", "has port 0"),
        ("http://127.0.0.1:8x", "not a valid URL (Port could not be cast"),
        ("http://:8080", "has no host"),
        ("https://api..example.com", "has a host no request can reach"),
        ("https://xn--.example.com", "has a host no request can reach"),
        ("http://300.1.1.1", "has a host no request can reach"),
        ("ftp://u:Br4ck3tPw0Secret@example.com", "is not an http(s) URL"),
    ],
)
def test_a_base_url_that_cannot_be_parsed_is_exit_2_in_one_line(ctoops, server, monkeypatch, env, url, said):
    # was 'internal error (InvalidURL: Invalid port)', exit 70, or a bad port tried and exit 4
    monkeypatch.setenv(env, url)
    monkeypatch.setenv("OPENCTO_TOKEN", TOKEN)
    monkeypatch.setenv("OPENAI_API_KEY", KEY)
    uses = ["errors", "trend", "--source", "graphql"] if env.startswith("CLOUDFLARE") else ["models", "list"]
    via = ["--via", "openai"] if env == "OPENAI_BASE_URL" else []
    for args in (["config", "show"], [*via, *uses]):
        result = ctoops(*args)
        assert result.exit_code == 2, result.all
        assert said in result.stderr and result.stderr.count("\n") == 1, result.stderr
        assert "internal error" not in result.all
        assert_no_fragment(result.all, "Br4ck3tPw0Secret")
    assert server.requests == []


@pytest.mark.parametrize(("env", "tail"), [("OPENCTO_API_BASE_URL", ""), ("OPENAI_BASE_URL", "/v1")])
def test_an_upper_case_scheme_is_accepted_and_lowered(ctoops, server, monkeypatch, env, tail):
    monkeypatch.setenv(env, server.url.replace("http://", "HTTP://") + tail)
    monkeypatch.setenv("OPENCTO_TOKEN", TOKEN)
    monkeypatch.setenv("OPENAI_API_KEY", KEY)
    server.route("GET", "/api/v1/cto/openai/models", Reply(json=MODELS))
    server.route("GET", "/v1/models", Reply(json=MODELS))
    via = ["--via", "openai"] if env == "OPENAI_BASE_URL" else []
    result = ctoops(*via, "models", "list")
    assert result.exit_code == 0, result.all
    assert "gpt-4o" in result.stdout and len(server.requests) == 1
    shown = ctoops("config", "show")
    assert server.url + tail in shown.stdout and "HTTP://" not in shown.stdout


def test_a_token_pasted_into_another_setting_is_masked_in_its_error(ctoops, monkeypatch):
    monkeypatch.setenv("OPENCTO_TOKEN", TOKEN)
    monkeypatch.setenv("CTOOPS_TIMEOUT", TOKEN)
    result = ctoops("config", "show")
    assert result.exit_code == 2 and "timeout" in result.stderr
    assert result.stderr.count("\n") == 1
    assert_no_fragment(result.all, TOKEN)


@pytest.mark.parametrize("bad", [TOKEN + "\n", TOKEN[:5] + "\x1b[2J" + TOKEN[5:], TOKEN[:5] + "\x7f" + TOKEN[5:]])
def test_a_credential_with_a_control_character_is_refused_unechoed(ctoops, worker, monkeypatch, bad):
    monkeypatch.setenv("OPENCTO_TOKEN", bad)
    result = ctoops("models", "list")
    assert result.exit_code == 2, result.stderr
    assert "OPENCTO_TOKEN contains" in result.stderr and worker.requests == []
    assert_no_fragment(result.all, TOKEN)


@pytest.mark.parametrize("args", [["keys", "set", "--local", "--stdin"], ["keys", "validate", "--stdin"]])
def test_a_pasted_key_with_a_nul_is_refused_unechoed(ctoops, args):
    # the environment and argv cannot hold a NUL; stdin and a keyring can
    result = ctoops(*args, input=KEY[:12] + "\x00" + KEY[12:])
    assert result.exit_code == 2 and "contains NUL" in result.stderr
    assert_no_fragment(result.all, KEY)


def test_a_traceback_is_redacted_too(ctoops, monkeypatch):
    monkeypatch.setenv("OPENAI_ADMIN_KEY", ADMIN)

    def boom(models, pattern):
        raise RuntimeError(f"boom with {ADMIN} inside")

    monkeypatch.setattr("ctoops.models.select_models", boom)
    for args in (["--traceback"], []):
        result = ctoops(*args, "--sandbox", "models", "list")
        assert result.exit_code == 70
        assert_no_fragment(result.all, ADMIN)
    assert "Traceback" in ctoops("--traceback", "--sandbox", "models", "list").stderr


def test_a_keyring_error_that_carries_the_secret_is_redacted(ctoops, monkeypatch):
    use_keyring(monkeypatch, "ctoops_test_keyring.LeakyKeyring")
    result = ctoops("keys", "set", "--local", "--stdin", "--no-verify", input=KEY)
    assert result.exit_code == 3 and "PasswordSetError" in result.stderr
    assert_no_fragment(result.all, KEY)


def test_a_credentials_file_others_can_read_is_not_used(ctoops, monkeypatch):
    use_keyring(monkeypatch, "keyring.backends.fail.Keyring")
    assert ctoops("keys", "set", "--local", "--stdin", "--no-verify", "--insecure-storage", input=KEY).exit_code == 0
    path = Path(os.environ["CTOOPS_CONFIG"]).parent / "credentials.json"
    path.chmod(0o644)
    result = ctoops("--via", "openai", "models", "list")
    assert result.exit_code == 3
    assert "readable by others (mode 0644)" in result.stderr and f"chmod 600 {path}" in result.stderr
    # saving again rewrites it private
    assert ctoops("keys", "set", "--local", "--stdin", "--no-verify", "--insecure-storage", input=KEY).exit_code == 0
    assert path.stat().st_mode & 0o777 == 0o600


def test_concurrent_insecure_storage_writers_lose_nothing(tmp_path):
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith(("OPENCTO_", "OPENAI_"))},
        "PYTHON_KEYRING_BACKEND": "keyring.backends.fail.Keyring",
        "PYTHONPATH": str(ROOT / "tests" / "support"),
    }
    config = Path(os.environ["CTOOPS_CONFIG"])
    config.parent.mkdir(parents=True, exist_ok=True)
    config.write_text("".join(f"[profiles.p{i}]\n" for i in range(6)))
    procs = [
        subprocess.Popen(
            [
                sys.executable,
                "-m",
                "ctoops",
                "--profile",
                f"p{i}",
                "keys",
                "set",
                "--local",
                "--stdin",
                "--no-verify",
                "--insecure-storage",
            ],
            stdin=subprocess.PIPE,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            env=env,
            text=True,
        )
        for i in range(6)
    ]
    for i, proc in enumerate(procs):
        _, err = proc.communicate(f"sk-proj-Concurrent{i}Key0123456789", timeout=60)
        assert proc.returncode == 0, err
    stored = json.loads((config.parent / "credentials.json").read_text())
    assert sorted(stored) == [f"openai-api-key:p{i}" for i in range(6)]


# -- bounded time and memory ------------------------------------------------------------------


def test_a_trickling_answer_fails_at_the_attempts_deadline(ctoops, worker):
    # 1 byte every 0.2 s: each read is quick, the whole body would take a minute
    worker.route("GET", "/api/v1/cto/openai/models", Reply(json=MODELS, trickle=0.2))
    result = ctoops("--timeout", "1", "--max-retries", "0", "models", "list")
    assert result.exit_code == 4
    assert "did not answer within 1s" in result.stderr


def test_an_endless_answer_is_cut_off(ctoops, worker):
    worker.route("GET", "/api/v1/cto/openai/models", Reply(endless=True))
    result = ctoops("--max-retries", "0", "models", "list")
    assert result.exit_code == 4 and "larger than 64 MiB" in result.stderr


@pytest.mark.parametrize("via", ["opencto", "openai"])
@pytest.mark.parametrize("status", [301, 302, 307, 308])
def test_a_redirect_is_never_followed_and_is_exit_4_on_both_paths(ctoops, worker, monkeypatch, via, status):
    # a redirect would carry the credential to the host it names: not followed, named, exit 4
    monkeypatch.setenv("OPENAI_BASE_URL", worker.url + "/v1")
    monkeypatch.setenv("OPENAI_API_KEY", KEY)
    away = Reply(status, body="", headers={"location": "https://elsewhere.example/steal?api_key=" + TOKEN})
    worker.route("GET", "/api/v1/cto/openai/models", away)
    worker.route("GET", "/v1/models", away)
    result = ctoops("--via", via, "models", "list")
    assert result.exit_code == 4, result.all
    assert f"answered {status} (a redirect to https://elsewhere.example/steal" in result.stderr
    assert "does not follow redirects" in result.stderr and result.stderr.count("\n") == 1
    assert_no_fragment(result.all, TOKEN, KEY)
    assert len(worker.requests) == 1  # not retried, not followed


@pytest.mark.parametrize("kind", ["fifo", "device"])
def test_a_config_path_that_is_not_a_file_is_refused_without_blocking(ctoops, monkeypatch, tmp_path, kind):
    if kind == "fifo":
        path = tmp_path / "config.fifo"
        os.mkfifo(path)
    else:
        path = Path("/dev/zero")
    monkeypatch.setenv("CTOOPS_CONFIG", str(path))
    result = ctoops("config", "show")
    assert result.exit_code == 2 and "not a regular file" in result.stderr


# -- settings and runbook rules ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("profile", "message"),
    [
        ("max_retries = inf", "not a whole number"),
        ("max_retries = true", "not a whole number"),
        ("max_retries = 3.0", "not a whole number"),
        ("timeout = nan", "more than 0 and at most 600"),
        ("timeout = true", "not a number of seconds"),
        ("workspace = { a = { b = 1 } }", "must be a single value"),
        ('workspace = "acme\\n"', "breaks the worker's rule"),
    ],
)
def test_config_values_of_the_wrong_type_exit_2(ctoops, profile, message):
    path = Path(os.environ["CTOOPS_CONFIG"])
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(f'default_profile = "x"\n[profiles.x]\n{profile}\n')
    result = ctoops("config", "show")
    assert result.exit_code == 2, result.stderr
    assert message in result.stderr and result.stderr.count("\n") == 1


def test_a_workspace_with_a_trailing_newline_is_refused_before_sending(ctoops, worker, monkeypatch):
    monkeypatch.setenv("OPENCTO_WORKSPACE", "acme\n")
    result = ctoops("keys", "list")
    assert result.exit_code == 2 and worker.requests == []


@pytest.mark.parametrize(
    ("step", "message"),
    [
        ('continue_on_failure = "false"', "`continue_on_failure` must be true or false"),
        ("always = 1", "`always` must be true or false"),
        ("[step.with]\nmax_429_rate = nan", "`max_429_rate`: nan is not a fraction"),
        ("[step.with]\nmax_5xx_rate = 2", "`max_5xx_rate`: 2 is not a fraction"),
        ("[step.with]\nmin_requests = 1.5", "`min_requests`: 1.5 is not a whole number"),
        ('[step.with]\nwindow = "2m"', "`window`"),
        ('[step.with]\nbuckets = ["realtime"]', "'realtime' is not one of"),
        ("[step.with]\nmax_latency_ms = -5", "`max_latency_ms`"),
    ],
)
def test_runbook_values_follow_the_options_rules(ctoops, tmp_path, step, message):
    book = tmp_path / "book.toml"
    book.write_text(f'[[step]]\nname = "rates"\nrun = "errors trend"\n{step}\n')
    result = ctoops("--sandbox", "runbook", "run", str(book))
    assert result.exit_code == 2, result.stdout + result.stderr
    assert message in result.stderr and str(book) in result.stderr and "(rates)" in result.stderr


@pytest.mark.parametrize(
    ("param", "message"), [("rates.max_429_rate=nan", "not a fraction"), ("rates.min_requests=0", "between 1")]
)
def test_param_overrides_follow_the_same_rules(ctoops, param, message):
    result = ctoops("--sandbox", "runbook", "run", "-p", param)
    assert result.exit_code == 2 and message in result.stderr


def test_an_unknown_sandbox_fault_is_named(ctoops, monkeypatch):
    monkeypatch.setenv("CTOOPS_SANDBOX_FAULTS", "realtime-empty,realtime-emtpy")
    result = ctoops("--sandbox", "realtime", "check")
    assert result.exit_code == 2 and "unknown fault 'realtime-emtpy'" in result.stderr


# -- files ------------------------------------------------------------------------------------


def test_an_output_that_is_an_input_is_refused(ctoops, tmp_path):
    book = tmp_path / "book.toml"
    book.write_text('[[step]]\nname = "m"\nrun = "models list"\n')
    before = book.read_text()
    same = ctoops("--sandbox", "runbook", "run", str(book), "--junit", str(book))
    assert same.exit_code == 2 and "also an input" in same.stderr and book.read_text() == before
    twice = ctoops("--sandbox", "smoke", "--junit", str(tmp_path / "x"), "--report-json", str(tmp_path / "x"))
    assert twice.exit_code == 2 and "asked for twice" in twice.stderr
    config = Path(os.environ["CTOOPS_CONFIG"])
    config.parent.mkdir(parents=True, exist_ok=True)
    config.write_text("")
    clobber = ctoops("--sandbox", "smoke", "--report-json", str(config))
    assert clobber.exit_code == 2 and config.read_text() == ""


@pytest.mark.parametrize("report", ["--junit", "--report-json", "--prom-file"])
def test_a_report_never_takes_a_file_a_step_reads_or_writes(ctoops, tmp_path, monkeypatch, report):
    # the tester's runs: a report on the log a step counts, or on the export a step writes
    monkeypatch.chdir(tmp_path)
    log = tmp_path / "mylog.json"
    log.write_text('{"x": 1}\n')
    read = ctoops("--sandbox", "runbook", "run", "-p", "rates.sources=mylog.json", report, "mylog.json")
    assert read.exit_code == 2 and "also an input of this run" in read.stderr, read.all
    assert log.read_text() == '{"x": 1}\n'
    book = tmp_path / "book.toml"
    book.write_text('[[step]]\nname = "rates"\nrun = "errors trend"\nwith = { sources = ["mylog.json"] }\n')
    named = ctoops("--sandbox", "runbook", "run", str(book), report, "mylog.json")
    assert named.exit_code == 2 and "also an input of this run" in named.stderr, named.all
    assert log.read_text() == '{"x": 1}\n'
    export = ctoops(
        "--sandbox", "--via", "openai", "runbook", "run", "finance", "-p", "costs.output=fin.csv", report, "fin.csv"
    )
    assert export.exit_code == 2 and "also a file this run writes (fin.csv)" in export.stderr, export.all
    assert not (tmp_path / "fin.csv").exists()  # refused before any step ran


def test_a_step_export_never_overwrites_a_log_a_step_reads(ctoops, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "mylog.json").write_text("{}\n")
    book = tmp_path / "book.toml"
    book.write_text(
        '[[step]]\nname = "rates"\nrun = "errors trend"\nwith = { sources = ["mylog.json"] }\n'
        '[[step]]\nname = "costs"\nrun = "usage costs"\nwith = { start = "7d", output = "mylog.json" }\n'
    )
    result = ctoops("--sandbox", "--via", "openai", "runbook", "run", str(book))
    assert result.exit_code == 2 and "both written and read by this run" in result.stderr, result.all
    assert (tmp_path / "mylog.json").read_text() == "{}\n"


def test_a_report_to_a_special_file_is_streamed_not_replaced(ctoops, tmp_path):
    fifo = tmp_path / "reports.fifo"
    os.mkfifo(fifo)
    got: list[bytes] = []
    reader = threading.Thread(target=lambda: got.append(fifo.read_bytes()))
    reader.start()
    result = ctoops("--sandbox", "smoke", "--only", "models", "--report-json", str(fifo))
    reader.join(10)
    assert result.exit_code == 0, result.stderr
    assert json.loads(got[0])["suite"] == "smoke"
    assert fifo.is_fifo()  # still the FIFO, not a regular file put in its place
    null = ctoops("--sandbox", "smoke", "--only", "models", "--report-json", "/dev/null")
    assert null.exit_code == 0 and Path("/dev/null").is_char_device()


@pytest.mark.skipif(not Path("/dev/full").exists(), reason="needs /dev/full (Linux) to fail a write")
@pytest.mark.parametrize("command", [("smoke",), ("runbook", "run", "openai-ops")])
def test_a_report_that_cannot_be_written_loses_no_result(ctoops, monkeypatch, tmp_path, command):
    # /dev/full fails every write with ENOSPC: the run's results are printed, the other
    # reports written, and the run fails naming the report (exit 2 when every check passed)
    report = tmp_path / "r.json"
    result = ctoops("--sandbox", *command, "--prom-file", "/dev/full", "--report-json", str(report))
    assert result.exit_code == 2, result.all
    assert "realtime_token" in result.stdout and "PASS" in result.stdout  # the results, not lost
    assert json.loads(report.read_text())["ok"] is True
    assert "every check passed, but reports not written: cannot write /dev/full" in result.stderr
    # a failing run keeps its own exit code and still names the report it could not write
    monkeypatch.setenv("CTOOPS_SANDBOX_FAULTS", "models-502")
    failing = ctoops("--sandbox", "--max-retries", "0", *command, "--prom-file", "/dev/full")
    assert failing.exit_code == 4, failing.all
    assert "models" in failing.stdout and "reports not written: cannot write /dev/full" in failing.stderr


def test_a_report_through_a_link_writes_its_target_and_says_so(ctoops, tmp_path):
    target = tmp_path / "real.json"
    target.write_text("{}")
    link = tmp_path / "latest.json"
    link.symlink_to(target)
    result = ctoops("--sandbox", "smoke", "--only", "models", "--report-json", str(link))
    assert result.exit_code == 0 and link.is_symlink()
    assert json.loads(target.read_text())["suite"] == "smoke"
    assert f"writing its target {target}" in result.stderr


def test_sigterm_during_a_write_leaves_no_temporary_file(tmp_path):
    script = f"""
import os, signal, time
from pathlib import Path
from ctoops.cli import _exit_on_sigterm
from ctoops.files import atomic_write_text, atomic_write
_exit_on_sigterm()
def slow(tmp):
    tmp.write_text("half")
    os.kill(os.getpid(), signal.SIGTERM)
    time.sleep(5)
atomic_write(Path({str(tmp_path / "out" / "out.json")!r}), slow)
"""
    (tmp_path / "out").mkdir()
    proc = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=30)
    assert proc.returncode == 128 + signal.SIGTERM, proc.stderr
    assert list((tmp_path / "out").iterdir()) == []


# -- huge upstream error messages -------------------------------------------------------------------

HUGE = "Incorrect API key provided. " + "Flood0" * 1_470_000  # 8.8 MB of message


def assert_short(result, *files: Path) -> None:
    assert len(result.stderr) < 2000 and len(result.stdout) < 5000, (len(result.stderr), len(result.stdout))
    assert "Flood0" * 60 not in result.all  # an excerpt, not the message (300 characters at most)
    for file in files:
        assert file.stat().st_size < 20000, (file.name, file.stat().st_size)


@pytest.mark.parametrize(
    ("via", "route", "reply", "code"),
    [
        ("openai", "/v1/models", Reply(401, json={"error": {"message": HUGE, "type": "invalid_request_error"}}), 3),
        ("opencto", "/api/v1/cto/openai/models", Reply(401, json={"error": HUGE, "code": "UNAUTHORIZED"}), 3),
        ("opencto", "/api/v1/cto/openai/models", Reply(400, json={"error": HUGE, "code": "NOPE"}), 2),
        (
            "opencto",
            "/api/v1/cto/openai/models",
            Reply(401, json={"error": {"message": HUGE, "type": "invalid_request_error", "code": "invalid_api_key"}}),
            1,
        ),
        (
            "opencto",
            "/api/v1/cto/openai/models",
            Reply(
                502,
                json={
                    "error": "OpenAI said",
                    "code": "OPENAI_ERROR",
                    "details": json.dumps({"error": {"message": HUGE, "type": "server_error"}}),
                },
            ),
            4,
        ),
    ],
    ids=["openai-401", "worker-401", "worker-400", "openai-through-worker-401", "worker-openai-error-text"],
)
def test_a_huge_error_message_is_shown_as_a_short_excerpt(
    ctoops, server, monkeypatch, tmp_path, via, route, reply, code
):
    monkeypatch.setenv("OPENCTO_API_BASE_URL", server.url)
    monkeypatch.setenv("OPENCTO_TOKEN", TOKEN)
    monkeypatch.setenv("OPENAI_BASE_URL", server.url + "/v1")
    monkeypatch.setenv("OPENAI_API_KEY", KEY)
    server.route("GET", route, reply)
    report, junit = tmp_path / "r.json", tmp_path / "j.xml"
    checked = ctoops(
        "--via",
        via,
        "--max-retries",
        "0",
        "smoke",
        "--only",
        "models",
        "--report-json",
        str(report),
        "--junit",
        str(junit),
    )
    assert checked.exit_code == code, checked.stderr[:500]
    assert_short(checked, report, junit)
    assert "Incorrect API key provided" in checked.stderr + report.read_text()
    listed = ctoops("--via", via, "--max-retries", "0", "models", "list")
    assert listed.exit_code == code and listed.stderr.count("\n") == 1
    assert_short(listed)


def test_a_huge_cloudflare_error_message_is_shown_as_a_short_excerpt(ctoops, server, monkeypatch):
    from cf_fake import FakeCloudflare, Scenario
    from cf_traffic import ACCOUNT, ZONE, events

    fake = FakeCloudflare(server, events(), Scenario())
    monkeypatch.setenv("CLOUDFLARE_API_TOKEN", "cf-test-token-0000000000000000")
    monkeypatch.setenv("CLOUDFLARE_ACCOUNT_ID", ACCOUNT)
    monkeypatch.setenv("CLOUDFLARE_ZONE_ID", ZONE)
    monkeypatch.setenv("CLOUDFLARE_BASE_URL", fake.base_url)
    answer = {"success": False, "errors": [{"code": 9109, "message": HUGE}] * 3, "messages": [], "result": None}
    for method, path in server.routes.copy():
        server.route(method, path, Reply(403, json=answer))
    result = ctoops("--max-retries", "0", "errors", "trend", "--source", "graphql")
    assert result.exit_code == 3, result.stderr[:500]
    assert "[code 9109] Incorrect API key provided" in result.stderr
    assert_short(result)


# -- terminal escapes in server strings ----------------------------------------------------------

HOSTILE_ID = "line1\nline2\u001b[31mRED\u009b2J\u007f"
SHOWN_ID = "line1\\nline2\\x1b[31mRED\\x9b2J\\x7f"  # as the table shows it: one line, no escape obeyed
HOSTILE_MODELS = {
    "object": "list",
    "data": [
        {"id": HOSTILE_ID, "object": "model", "created": 1715367049, "owned_by": "sys\ttem"},
        {"id": "gpt-4o", "object": "model", "created": 1715367049, "owned_by": "system"},
    ],
}


@pytest.mark.parametrize("no_color", ["", "1"])
def test_control_characters_from_a_server_are_escaped_in_a_piped_table(ctoops, server, monkeypatch, no_color):
    monkeypatch.setenv("OPENAI_BASE_URL", server.url + "/v1")
    monkeypatch.setenv("OPENAI_API_KEY", KEY)
    monkeypatch.setenv("NO_COLOR", no_color)
    server.route("GET", "/v1/models", Reply(json=HOSTILE_MODELS))
    result = ctoops("--via", "openai", "models", "list")
    assert result.exit_code == 0, result.stderr
    lines = result.stdout.splitlines()
    (row,) = [line for line in lines if "line1" in line]
    assert len(lines) == 3 and row.startswith(SHOWN_ID) and "sys\\ttem" in row
    assert not any(ch in result.stdout for ch in "\x1b\x9b\x7f\t")
    # JSON escapes them its own way; CSV keeps the value as sent (quoted)
    as_json = ctoops("--via", "openai", "models", "list", "--format", "json")
    assert HOSTILE_ID in {m["id"] for m in json.loads(as_json.stdout)} and "\x1b" not in as_json.stdout
    import csv
    import io

    as_csv = ctoops("--via", "openai", "models", "list", "--format", "csv")
    assert HOSTILE_ID in {m["id"] for m in csv.DictReader(io.StringIO(as_csv.stdout))}


@pytest.mark.parametrize("no_color", [None, "1"])
def test_control_characters_from_a_server_are_escaped_on_a_terminal(server, no_color):
    from terminal import clean_env, run_in_tty

    server.route("GET", "/v1/models", Reply(json=HOSTILE_MODELS))
    extra = {"OPENAI_BASE_URL": server.url + "/v1", "OPENAI_API_KEY": KEY}
    env = clean_env(**extra, **({"NO_COLOR": no_color} if no_color else {}))
    env.pop("NO_COLOR", None) if no_color is None else None
    screen = run_in_tty(["--via", "openai", "models", "list"], env=env, columns=120, deadline=30)
    assert screen.exit_code == 0, screen.output
    assert SHOWN_ID in screen.output and "\x1b[31mRED" not in screen.output and "\x9b" not in screen.output
    assert "line2" not in "".join(line for line in screen.lines if "line1" not in line)  # one row, one line
    if no_color:
        assert "\x1b" not in screen.output


def test_an_error_line_never_carries_a_servers_control_characters(ctoops, worker):
    limited = {
        "error": "Rate limit exceeded",
        "code": "QUOTA_EXCEEDED",
        "status": 429,
        "details": {"bucket": "models\n\u001b[2J\u001b]0;pwned\u0007", "limit": 30, "windowSeconds": 60},
    }
    worker.route("GET", "/api/v1/cto/openai/models", Reply(429, json=limited))
    result = ctoops("--max-retries", "0", "models", "list")
    assert result.exit_code == 5, result.stderr
    assert result.stderr.count("\n") == 1 and "\x1b" not in result.stderr and "\x07" not in result.stderr
    # the bucket is the server's text in a message: an excerpt, its control characters as spaces
    assert "on bucket models [2J ]0;pwned (30 per 60s)" in result.stderr
