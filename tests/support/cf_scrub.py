"""Scrubbing for Cloudflare cassettes: the token header (``filter_headers``) and anything
shaped like a secret (``scrub.LEAK_PATTERNS``), but not the ``key``/``value`` fields that
``scrub.py`` blanks for OpenAI: in the telemetry API they are field names and counts
(``{"key": "$workers.event.request.path", "value": "/api/v1/realtime/token"}``)."""

from __future__ import annotations

from typing import Any

from scrub import LEAK_PATTERNS, REDACTED, SECRET_HEADERS


def scrub_text(body: Any) -> Any:
    if body in (None, b"", ""):
        return body
    text = body.decode("utf-8", "replace") if isinstance(body, bytes) else body
    for pattern in LEAK_PATTERNS:
        text = pattern.sub(REDACTED, text)
    return text.encode() if isinstance(body, bytes) else text


def before_record_request(request: Any) -> Any:
    request.body = scrub_text(request.body)
    return request


def before_record_response(response: dict[str, Any]) -> dict[str, Any]:
    response["body"]["string"] = scrub_text(response["body"]["string"])
    headers = response.get("headers", {})
    for name in list(headers):
        if name.lower() in SECRET_HEADERS:
            headers[name] = [REDACTED]
        elif name.lower() in ("content-length", "date", "server"):
            del headers[name]
    return response
