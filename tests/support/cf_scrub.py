"""Scrubbing for Cloudflare cassettes: the token header (``filter_headers``) and anything
shaped like a secret (``scrub.LEAK_PATTERNS``), but not the ``key``/``value`` fields that
``scrub.py`` blanks for OpenAI: in the telemetry API they are field names and counts
(``{"key": "$workers.event.request.path", "value": "/api/v1/realtime/token"}``)."""

from __future__ import annotations

from typing import Any

from scrub import LEAK_PATTERNS, REDACTED, hooks, scrub_secrets


def scrub_text(body: Any) -> Any:
    """The recording secrets and anything shaped like a secret, replaced by REDACTED."""
    if body in (None, b"", ""):
        return body
    text = scrub_secrets(body.decode("utf-8", "replace") if isinstance(body, bytes) else body)
    for pattern in LEAK_PATTERNS:
        text = pattern.sub(REDACTED, text)
    return text.encode() if isinstance(body, bytes) else text


before_record_request, before_record_response = hooks(scrub_text, drop=("content-length", "date", "server"))
