"""Every cassette is scrubbed, says where its shapes come from, and is used by a test."""

from __future__ import annotations

import ast
import json
from pathlib import Path

import pytest
import yaml
from conftest import CASSETTES, ROOT
from scrub import before_record_request, before_record_response, find_leaks

ALL = sorted(CASSETTES.rglob("*.yaml"))


def test_there_are_cassettes():
    assert len(ALL) >= 4


@pytest.mark.parametrize("path", ALL, ids=lambda p: str(p.relative_to(CASSETTES)))
def test_cassette_holds_no_secret(path: Path):
    text = path.read_text()
    assert find_leaks(text) == [], f"unscrubbed secret in {path}"
    data = yaml.safe_load(text)
    for interaction in data["interactions"]:
        for side in ("request", "response"):
            headers = {k.lower(): v for k, v in (interaction[side].get("headers") or {}).items()}
            for name in ("authorization", "cookie", "set-cookie", "openai-organization", "x-api-key"):
                assert headers.get(name, ["REDACTED"]) == ["REDACTED"], f"{name} in {path}"
        body = interaction["request"].get("body") or ""
        if body:
            request_json = json.loads(body)
            for field in ("apiKey", "api_key"):
                assert request_json.get(field, "REDACTED") == "REDACTED"


@pytest.mark.parametrize("path", ALL, ids=lambda p: str(p.relative_to(CASSETTES)))
def test_cassette_says_where_its_shapes_come_from(path: Path):
    first = path.read_text().splitlines()[0]
    assert first.startswith("# ") and ("shared/reference" in path.read_text().split("interactions:")[0])


@pytest.mark.parametrize("path", ALL, ids=lambda p: str(p.relative_to(CASSETTES)))
def test_cassette_belongs_to_a_test(path: Path):
    module = ROOT / "tests" / f"{path.parent.name}.py"
    assert module.exists(), f"{path} has no test module {module.name}"
    names = {node.name for node in ast.walk(ast.parse(module.read_text())) if isinstance(node, ast.FunctionDef)}
    assert path.stem in names, f"{path.name} is not replayed by any test in {module.name}"


def test_the_scrubbers_remove_secrets_from_bodies_and_headers():
    class Request:
        body = json.dumps({"apiKey": "sk-proj-abcdefghijklmnopqrstuvwxyz012345", "workspaceId": "acme"}).encode()

    scrubbed = before_record_request(Request())
    assert json.loads(scrubbed.body) == {"apiKey": "REDACTED", "workspaceId": "acme"}

    response = {
        "body": {
            "string": json.dumps({"clientSecret": "ek_68af296e8e408191a1120ab6383263c2", "expiresAt": 1}).encode()
        },
        "headers": {
            "Set-Cookie": ["session=abc"],
            "openai-organization": ["acme-org"],
            "content-length": ["80"],
        },
    }
    out = before_record_response(response)
    assert json.loads(out["body"]["string"]) == {"clientSecret": "REDACTED", "expiresAt": 1}
    assert out["headers"]["Set-Cookie"] == ["REDACTED"] and out["headers"]["openai-organization"] == ["REDACTED"]
    assert "content-length" not in out["headers"]

    ga = {
        "body": {
            "string": json.dumps(
                {
                    "value": "ek_abcdefghijklmnopqrstuv",
                    "expires_at": 5,
                    "amount": {"value": 0.06, "currency": "usd"},
                }
            ).encode()
        },
        "headers": {},
    }
    cleaned = json.loads(before_record_response(ga)["body"]["string"])
    assert cleaned["value"] == "REDACTED" and cleaned["amount"]["value"] == 0.06


def test_a_leak_is_found():
    assert find_leaks("Authorization: Bearer abcdefghijklmnop") != []
    assert find_leaks('"clientSecret": "ek_68af296e8e408191a1120ab6383263c2"') != []
    assert find_leaks("key sk-admin-abcdefghijklmnopqrstu") != []
    assert find_leaks("Bearer REDACTED") == []


def test_scrubbing_keeps_every_other_byte_exactly():
    body = b'{"amount": {"value": 0.11101860000000000999, "currency": "usd"}, "value": "ek_abcdefghijklmnopqrstuv"}'
    out = before_record_response({"body": {"string": body}, "headers": {}})["body"]["string"]
    assert out == b'{"amount": {"value": 0.11101860000000000999, "currency": "usd"}, "value": "REDACTED"}'


TOKEN = "eyJzdWIiOiJ1c2VyLTQyIiwiZXhwIjoxNzk2MDAwMDAwfQ.Zm9vYmFyYmF6cXV4MTIzNDU2Nzg5MA"


@pytest.mark.parametrize(
    ("name", "body", "secret"),
    [
        ("a bare session token", '{"note": "token ' + TOKEN + ' here"}', TOKEN),
        (
            "a secret inside an escaped JSON string",
            json.dumps({"error": "OpenAI rejected the request", "details": json.dumps({"clientSecret": "ek_x"})}),
            "ek_x",
        ),
        ("a keyHint that is a whole key", '{"keyHint": "zz-whole-key-0123456789abcd"}', "zz-whole-key-0123456789abcd"),
        (
            "a recording secret in an HTML title",
            "<html><title>rs-Recording0Secret99</title></html>",
            "rs-Recording0Secret99",
        ),
    ],
)
def test_the_scrubber_and_the_leak_scan_catch_each_variant(name, body, secret):
    import scrub

    scrub.remember("rs-Recording0Secret99")
    try:
        assert find_leaks(body) or secret == "ek_x", name  # the scan sees it unscrubbed (but a 4-char stub)
        out = before_record_response({"body": {"string": body.encode()}, "headers": {}})["body"]["string"].decode()
        assert secret not in out, name
        assert find_leaks(out) == [], name
    finally:
        scrub.RECORDING_SECRETS.discard("rs-Recording0Secret99")


def test_a_real_key_hint_is_kept():
    body = b'{"keyHint": "****9xQz"}'
    assert before_record_response({"body": {"string": body}, "headers": {}})["body"]["string"] == body
    assert find_leaks(body.decode()) == []


def test_cloudflare_cassettes_lose_the_recording_secrets_too():
    """The Cloudflare scrubber keeps telemetry's ``key``/``value`` fields (field names and
    counts there) but, like the OpenAI one, removes the secrets a recording used (a Cloudflare
    API token matches none of the secret shapes) and the secret headers."""
    import cf_scrub
    import scrub

    secret = "cfRecordingToken0123456789abcdefABCDEF"
    scrub.remember(secret)
    try:
        body = json.dumps({"key": "$workers.event.request.path", "value": "/api", "echo": secret}).encode()
        response = {"body": {"string": body}, "headers": {"Set-Cookie": ["a=b"], "Date": ["x"], "X-Ok": ["1"]}}
        out = cf_scrub.before_record_response(response)
        assert json.loads(out["body"]["string"]) == {
            "key": "$workers.event.request.path",
            "value": "/api",
            "echo": "REDACTED",
        }
        assert out["headers"] == {"Set-Cookie": ["REDACTED"], "X-Ok": ["1"]}
    finally:
        scrub.RECORDING_SECRETS.discard(secret)
