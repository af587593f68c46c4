"""Every JSON ctoops writes escapes DEL and the C1 controls (U+007F-U+009F) as ``\\u007f``...:
JSON allows them raw, so ``json.dumps(ensure_ascii=False)`` wrote a server's U+009B (CSI,
which some terminals obey like ``ESC [``) and U+0085 as they came, to the terminal a person
reads ``--format json`` on. One serialiser (``render.json_text``) writes stdout, the reports
and the ``.json`` export; what it writes parses back to the same value."""

from __future__ import annotations

import json
import time

import pytest
import usage_api
from fakeserver import Reply
from realtime_server import RealtimeServer, close_without_event

from ctoops.render import dumps, json_text

KEY = "sk-proj-JsonControls0Key1Abc2Def3"
ADMIN = "sk-admin-JsonControls9Adm8Xyz7Wvu"
SECRET = "ek_json0Controls1Value2abcdefWXYZ"
HOSTILE = "gpt\u009b2J\u0085next\u007fdel\u0080\u009f-é—ok"  # C1 CSI, NEL, DEL, both ends of C1; then plain UTF-8
RAW = [chr(c) for c in range(0x7F, 0xA0)]


def assert_escaped(text: str) -> None:
    assert not any(ch in text for ch in RAW), [hex(ord(ch)) for ch in text if ch in RAW]
    assert "\\u009b" in text and "\\u007f" in text and "é—ok" in text  # other text stays as it is


@pytest.mark.parametrize(
    "value",
    [HOSTILE, {HOSTILE: [HOSTILE, 1, None]}, ["\u007f", "\u009f", "\u00a0", "\u0080\n\t"], "plain", {"a": "é"}],
)
def test_json_text_parses_back_to_the_same_value(value):
    for text in (json_text(value), json_text(value, indent=2), dumps(value)):
        assert json.loads(text) == value
        assert not any(ch in text for ch in RAW)


def test_models_list_json_escapes_c1(ctoops, server, monkeypatch):
    monkeypatch.setenv("OPENAI_BASE_URL", server.url + "/v1")
    monkeypatch.setenv("OPENAI_API_KEY", KEY)
    models = {"object": "list", "data": [{"id": HOSTILE, "object": "model", "created": 1, "owned_by": HOSTILE}]}
    server.route("GET", "/v1/models", Reply(json=models))
    for args in (("--format", "json"), ("--json", "id,owned_by")):
        result = ctoops("--via", "openai", "models", "list", *args)
        assert result.exit_code == 0, result.stderr
        assert_escaped(result.stdout)
        (model,) = json.loads(result.stdout)
        assert model["id"] == HOSTILE and model["owned_by"] == HOSTILE


def test_usage_json_on_stdout_and_in_the_export_escapes_c1(ctoops, server, monkeypatch, tmp_path):
    usage_api.admin_api(server, monkeypatch, ADMIN, usage_api.ts("2026-11-20"))
    usage_api.serve(server, lambda kind, day, groups: [usage_api.usage(10, 2, model=HOSTILE)])
    args = ("--via", "openai", "usage", "pull", "--start", "2026-11-01", "--end", "2026-11-03", "--group-by", "model")
    shown = ctoops(*args, "--format", "json")
    assert shown.exit_code == 0, shown.stderr
    out = tmp_path / "usage.json"
    written = ctoops(*args, "-o", str(out))
    assert written.exit_code == 0, written.stderr
    for text in (shown.stdout, out.read_text(encoding="utf-8")):
        assert_escaped(text)
        rows = json.loads(text)
        assert [r["model"] for r in rows] == [HOSTILE, HOSTILE]


def test_a_json_report_escapes_c1(ctoops, worker, monkeypatch, tmp_path):
    ws = RealtimeServer(secret=SECRET)
    monkeypatch.setenv("OPENAI_BASE_URL", ws.base_url)
    try:
        reason = "bye\u009b2J\u007f"  # a close reason is the server's text, kept as sent
        ws.scenario = close_without_event(1008, reason)
        worker.route(
            "POST", "/api/v1/realtime/token", Reply(json={"clientSecret": SECRET, "expiresAt": int(time.time()) + 600})
        )
        report = tmp_path / "r.json"
        result = ctoops("smoke", "--only", "realtime_session", "--report-json", str(report), "--format", "json")
    finally:
        ws.close()
    assert result.exit_code == 1, result.stderr
    for text in (result.stdout, report.read_text(encoding="utf-8")):
        assert not any(ch in text for ch in RAW)
        assert "\\u009b" in text
        (check,) = json.loads(text)["checks"]
        assert check["closeReason"] == reason
