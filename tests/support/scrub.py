"""Scrubbing of secrets from cassettes, applied when recording (``vcr_config``) and checked
on every stored cassette (``tests/test_cassettes.py``)."""

from __future__ import annotations

import re
from collections.abc import Callable
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
    # an OpenCTO session token: base64url(JSON payload) "." base64url(HMAC) (opencto-worker-api.md)
    re.compile(r"eyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{16,}"),
    # a keyHint that is more than ****+4: a whole key the worker should not have echoed
    re.compile(r'\\?"keyHint\\?"\s*:\s*\\?"(?!\*{4}[^"\\]{0,4}\\?")(?!REDACTED)[^"\\]{9,}'),
]
# the secrets used when recording (conftest's RECORD_* settings); scrubbed wherever they
# appear, bare, in a title, inside an escaped string
RECORDING_SECRETS: set[str] = set()


# "field": "value", also inside a JSON string that holds JSON (\"field\": \"value\")
_SECRET_STRING = re.compile(
    r'(\\?)"(' + "|".join(sorted(SECRET_FIELDS)) + r')\1"(\s*:\s*)\1"((?:(?!\1")[^"\\]|\\[^"])+)\1"'
)
_KEY_HINT = re.compile(r'(\\?)"keyHint\1"(\s*:\s*)\1"((?:(?!\1")[^"\\])+)\1"')


def remember(*secrets: str) -> None:
    """Scrub these exact strings from everything recorded (the secrets a recording uses)."""
    RECORDING_SECRETS.update(s for s in secrets if s and len(s) >= 8)


def _text_of(body: Any) -> str:
    return body.decode("utf-8", "replace") if isinstance(body, bytes) else str(body)


def _like(body: Any, text: str) -> Any:
    return text.encode() if isinstance(body, bytes) else text


def scrub_secrets(text: str) -> str:
    """The recording secrets (``remember``), longest first, replaced by REDACTED."""
    for secret in sorted(RECORDING_SECRETS, key=len, reverse=True):
        text = text.replace(secret, REDACTED)
    return text


def scrub_body(body: Any) -> Any:
    """Secret JSON string fields become "REDACTED", by pattern on the text: the body is not
    re-serialised, so every other byte (numbers with more digits than a float holds, key
    order, spacing) stays exactly as recorded. vcrpy runs this on load as well as on save."""
    if body in (None, b"", ""):
        return body
    cleaned = _SECRET_STRING.sub(
        lambda m: f'{m.group(1)}"{m.group(2)}{m.group(1)}"{m.group(3)}{m.group(1)}"{REDACTED}{m.group(1)}"',
        scrub_secrets(_text_of(body)),
    )
    cleaned = _KEY_HINT.sub(
        lambda m: m.group(0) if _is_hint(m.group(3)) else m.group(0).replace(m.group(3), REDACTED), cleaned
    )
    for pattern in LEAK_PATTERNS[:4]:
        cleaned = pattern.sub(REDACTED, cleaned)
    return _like(body, cleaned)


def hooks(
    scrub: Callable[[Any], Any], drop: tuple[str, ...] = ("content-length",)
) -> tuple[Callable[[Any], Any], Callable[[dict[str, Any]], dict[str, Any]]]:
    """vcrpy's ``before_record_request`` and ``before_record_response`` for a body scrubber:
    bodies through ``scrub``, ``SECRET_HEADERS`` of a response set to REDACTED, the ``drop``
    headers (lower case) removed. One pair per API's cassettes (``cf_scrub.py`` has the other)."""

    def before_record_request(request: Any) -> Any:
        request.body = scrub(request.body)
        return request

    def before_record_response(response: dict[str, Any]) -> dict[str, Any]:
        response["body"]["string"] = scrub(response["body"]["string"])
        headers = response.get("headers", {})
        for name in list(headers):
            if name.lower() in SECRET_HEADERS:
                headers[name] = [REDACTED]
            elif name.lower() in drop:
                del headers[name]
        return response

    return before_record_request, before_record_response


before_record_request, before_record_response = hooks(scrub_body)


def _is_hint(value: str) -> bool:
    return value == REDACTED or (value.startswith("****") and len(value) <= 8)


def find_leaks(text: str) -> list[str]:
    """Every secret-shaped string, and every recording secret, left in ``text``."""
    found = [m.group(0) for pattern in LEAK_PATTERNS for m in pattern.finditer(text)]
    found += [secret for secret in RECORDING_SECRETS if secret in text]
    return found
