"""What the Realtime API's WebSocket protocol says, for the probe: the client events it sends,
the names it reads, and what each failing answer means (a cause, and the ctoops error class
that carries the contract's exit code). Pure functions, no I/O.

Sources (``../shared/reference/openai-realtime.md``): GA client events from openai-python
``types/realtime`` (sections 5.1, 5.5), the ``error`` event (5.3), ``response.done`` (5.2),
close codes from RFC 6455 7.4.1 and openai-python's ``_RECOVERABLE_CLOSE_CODES`` (1001 1005
1006 1011 1012 1013 1015: the SDK expects a server to go away with these).
"""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import parse_qsl, quote, urlencode, urlsplit, urlunsplit

from ctoops.errors import CheckFailed, CtoopsError, RateLimited, UpstreamError

# client event ids, echoed by OpenAI in ``error.event_id`` when that event fails
SESSION_UPDATE_ID = "ctoops-session-update"
ITEM_ID = "ctoops-item"
RESPONSE_ID = "ctoops-response"
INSTRUCTIONS = "You are a health check. Reply with exactly one word."
PROMPT = "ping"
MAX_OUTPUT_TOKENS = 16
TEXT_DELTAS = ("response.output_text.delta", "response.text.delta")  # GA, beta

# RFC 7230 token characters: what a WebSocket subprotocol may hold (websockets' _token_re)
_TOKEN = re.compile(r"[-!#$%&'*+.^_`|~0-9a-zA-Z]+")
_SNAPSHOT = re.compile(r"-\d{4}-\d{2}-\d{2}")
_UNAVAILABLE_CLOSES = {1001, 1005, 1006, 1011, 1012, 1013, 1014, 1015}
_RATE_CODES = {"rate_limit_exceeded", "insufficient_quota"}

Verdict = tuple[type[CtoopsError], str]  # the error class (its exit code) and the cause


# -- the URL and the client events ---------------------------------------------------------


def websocket_url(base_url: str, model: str) -> str:
    """The Realtime WebSocket URL for an OpenAI base URL, derived as openai-python derives it
    (``resources/realtime/realtime.py`` ``_prepare_url``): scheme ``http`` -> ``ws``, any other
    -> ``wss``; path + ``/realtime``; the base URL's own query kept, ``model`` set (encoded as
    ``encodeURIComponent`` does in the dashboard). ``https://api.openai.com/v1`` gives
    ``wss://api.openai.com/v1/realtime?model=<model>``."""
    parts = urlsplit(base_url.strip())
    scheme = "ws" if parts.scheme == "http" else "wss"
    path = parts.path.rstrip("/") + "/realtime"
    query = dict(parse_qsl(parts.query, keep_blank_values=True))
    query["model"] = model
    return urlunsplit((scheme, parts.netloc, path, urlencode(query, safe="", quote_via=quote), ""))


def session_update() -> dict[str, Any]:
    """The GA ``session.update``: text output only, a one-word instruction, a small cap."""
    return {
        "type": "session.update",
        "event_id": SESSION_UPDATE_ID,
        "session": {
            "type": "realtime",
            "output_modalities": ["text"],
            "instructions": INSTRUCTIONS,
            "max_output_tokens": MAX_OUTPUT_TOKENS,
        },
    }


def conversation_item() -> dict[str, Any]:
    """One user message with one ``input_text``."""
    return {
        "type": "conversation.item.create",
        "event_id": ITEM_ID,
        "item": {"type": "message", "role": "user", "content": [{"type": "input_text", "text": PROMPT}]},
    }


def response_create() -> dict[str, Any]:
    """A text-only response of at most ``MAX_OUTPUT_TOKENS`` tokens."""
    return {
        "type": "response.create",
        "event_id": RESPONSE_ID,
        "response": {"output_modalities": ["text"], "max_output_tokens": MAX_OUTPUT_TOKENS},
    }


# -- reading answers ----------------------------------------------------------------------


def is_subprotocol_token(value: str) -> bool:
    """Whether ``value`` can be sent in ``Sec-WebSocket-Protocol`` (RFC 7230 ``token``)."""
    return bool(_TOKEN.fullmatch(value))


def same_model(asked: str, reported: str) -> bool:
    """True when ``reported`` is ``asked`` or its dated snapshot (``gpt-realtime`` ->
    ``gpt-realtime-2025-08-28``): OpenAI reports aliases resolved to a snapshot."""
    if reported == asked:
        return True
    return reported.startswith(asked) and bool(_SNAPSHOT.fullmatch(reported[len(asked) :]))


def upgrade_refused(status: int, reason: str, body: bytes, location: str | None) -> Verdict:
    """An HTTP answer other than 101: 429 rate limited (5); 5xx, or a 2xx that is no upgrade at
    all (4); a redirect, never followed, or any other 4xx (1)."""
    cause = f"upgrade refused: HTTP {status} {said(reason, 80)}".rstrip()
    if location is not None or 300 <= status < 400:
        from ctoops.redact import mask_url

        to = said(mask_url(location)) if location else "(no Location)"
        cause += f" to {to}; browsers never follow a WebSocket redirect"
    elif excerpt := _excerpt(body):
        cause += f" ({excerpt})"
    if status == 429:
        return RateLimited, cause
    if status >= 500 or status < 300:
        return UpstreamError, cause
    return CheckFailed, cause


def error_event(error: dict[str, Any]) -> Verdict:
    """An ``error`` event's ``error`` object: ``rate_limit_exceeded``/``insufficient_quota``
    (5), type ``server_error`` (4), anything else (1)."""
    etype, code, message = error.get("type"), error.get("code"), error.get("message")
    cause = f"error event {said(etype, 80) if etype else '(no type)'}" + (f"/{said(code, 80)}" if code else "")
    if message:
        cause += f": {said(message)}"
    if error.get("event_id"):
        cause += f" (in reply to {said(error['event_id'], 80)})"
    return _by_code(code, etype), cause


def closed(code: int) -> type[CtoopsError]:
    """A close before the stage's goal: a server going away or a dropped connection (4), a
    refusal (1)."""
    return UpstreamError if code in _UNAVAILABLE_CLOSES else CheckFailed


def response_failed(response: dict[str, Any]) -> Verdict:
    """``response.done`` whose ``status`` is not ``completed``/``incomplete``, with its
    ``status_details`` (reason, error type and code)."""
    details = obj(response.get("status_details"))
    err = obj(details.get("error"))
    reason, code, etype = details.get("reason"), err.get("code"), err.get("type")
    status = response.get("status")
    cause = f"response.done with status {repr(said(status, 80)) if isinstance(status, str) else said(status, 80)}"
    if reason or code or etype:
        cause += " (" + ", ".join(said(x, 80) for x in (reason, etype, code) if x) + ")"
    return _by_code(code, etype), cause


def said(value: Any, limit: int = 300) -> str:
    """Text the server sent, as a message may show it: one line, redacted, at most ``limit``
    characters (``ctoops.backends.envelope.message_excerpt``; an error event's message may be
    as long as a frame)."""
    from ctoops.backends.envelope import message_excerpt

    return message_excerpt(value, limit)


def obj(value: Any) -> dict[str, Any]:
    """``value`` when it is a JSON object, else an empty one."""
    return value if isinstance(value, dict) else {}


def _by_code(code: Any, etype: Any) -> type[CtoopsError]:
    if code in _RATE_CODES:
        return RateLimited
    if etype == "server_error":
        return UpstreamError
    return CheckFailed


def _excerpt(body: bytes) -> str:
    from ctoops.backends.envelope import excerpt

    return excerpt(body) if body else ""
