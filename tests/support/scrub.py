"""Scrubbing of secrets from cassettes, applied when recording (``vcr_config``) and checked
on every stored cassette (``tests/test_cassettes.py``)."""

from __future__ import annotations

import json
import re
from typing import Any

REDACTED = "REDACTED"
# headers that carry or reveal credentials or the account, in requests and responses
SECRET_HEADERS = [
    "authorization",
    "x-api-key",
    "api-key",
    "cookie",
    "set-cookie",
    "cf-access-authenticated-user-email",
    "cf-access-jwt-assertion",
    "openai-organization",
    "openai-project",
]
# JSON body fields that hold secrets, at any depth
SECRET_FIELDS = {"apiKey", "api_key", "clientSecret", "client_secret", "value", "token", "key", "secret"}
# what a leak looks like once written down
LEAK_PATTERNS = [
    re.compile(r"sk-(?:proj-|admin-|svcacct-|live-)?[A-Za-z0-9_-]{16,}"),
    re.compile(r"ek_[A-Za-z0-9]{16,}"),
    re.compile(r"(?i)bearer\s+(?!REDACTED)[A-Za-z0-9._-]{8,}"),
]


def scrub_json(data: Any, parent: str | None = None) -> Any:
    if isinstance(data, dict):
        out = {}
        for k, v in data.items():
            if k in SECRET_FIELDS and isinstance(v, str) and v and not (k == "value" and parent == "amount"):
                out[k] = REDACTED
            else:
                out[k] = scrub_json(v, k)
        return out
    if isinstance(data, list):
        return [scrub_json(v, parent) for v in data]
    return data


def scrub_body(body: Any) -> Any:
    if body in (None, b"", ""):
        return body
    text = body.decode("utf-8", "replace") if isinstance(body, bytes) else body
    try:
        cleaned = json.dumps(scrub_json(json.loads(text)))
    except ValueError:
        cleaned = text
    for pattern in LEAK_PATTERNS:
        cleaned = pattern.sub(REDACTED, cleaned)
    return cleaned.encode() if isinstance(body, bytes) else cleaned


def before_record_request(request: Any) -> Any:
    request.body = scrub_body(request.body)
    return request


def before_record_response(response: dict[str, Any]) -> dict[str, Any]:
    response["body"]["string"] = scrub_body(response["body"]["string"])
    headers = response.get("headers", {})
    for name in list(headers):
        if name.lower() in SECRET_HEADERS:
            headers[name] = [REDACTED]
        elif name.lower() == "content-length":
            del headers[name]
    return response


def find_leaks(text: str) -> list[str]:
    found = []
    for pattern in LEAK_PATTERNS:
        found += pattern.findall(text)
    return found
