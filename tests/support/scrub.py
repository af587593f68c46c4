"""Scrubbing of secrets from cassettes, applied when recording (``vcr_config``) and checked
on every stored cassette (``tests/test_cassettes.py``)."""

from __future__ import annotations

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


_SECRET_STRING = re.compile(r'"(' + "|".join(sorted(SECRET_FIELDS)) + r')"(\s*:\s*)"((?:[^"\\]|\\.)+)"')


def scrub_body(body: Any) -> Any:
    """Secret JSON string fields become "REDACTED", by pattern on the text: the body is not
    re-serialised, so every other byte (numbers with more digits than a float holds, key
    order, spacing) stays exactly as recorded. vcrpy runs this on load as well as on save."""
    if body in (None, b"", ""):
        return body
    text = body.decode("utf-8", "replace") if isinstance(body, bytes) else body
    cleaned = _SECRET_STRING.sub(lambda m: f'"{m.group(1)}"{m.group(2)}"{REDACTED}"', text)
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
