"""The sandbox's Realtime WebSocket: a ``Connector`` that plays a session in-process, no socket.

It speaks the same GA events as OpenAI (``../shared/reference/openai-realtime.md`` sections
4 and 5): ``session.created`` for the model in the URL, ``session.updated`` for a
``session.update``, and for ``response.create`` a short text answer ("Pong", two deltas)
ending in ``response.done`` with a ``usage`` object. It accepts the secret only as the
browser or a server sends it (subprotocol ``openai-insecure-api-key.<secret>`` or
``Authorization: Bearer <secret>``) and only when it looks like a client secret (``ek_``).

Its faults (``FAULTS``, part of the sandbox's fault table) are each a failure the probe must
name. ``realtime-silent`` is reported as a timeout at once: the sandbox never waits.
"""

from __future__ import annotations

import json
from collections import deque
from collections.abc import Iterator, Mapping, Sequence
from contextlib import AbstractContextManager, contextmanager
from typing import Any
from urllib.parse import parse_qs, urlsplit

from ctoops.realtime_ws import Closed, Connection, Connector, UpgradeRefused

FAULTS = {
    "realtime-upgrade-403": "the Realtime WebSocket upgrade is refused with HTTP 403",
    "realtime-invalid-key": "the Realtime session sends an error event (invalid_api_key), then close 3000",
    "realtime-beta-disabled": "the Realtime session sends an error event (beta_api_shape_disabled), then close 4000",
    "realtime-closed": "the Realtime session closes (1008) before session.created, with no event",
    "realtime-silent": "the Realtime session never sends session.created (a timeout)",
    "realtime-model-mismatch": "session.created reports another model than the one asked for",
}
OTHER_MODEL = "gpt-4o-realtime-preview-2025-06-03"
USAGE = {
    "total_tokens": 31,
    "input_tokens": 29,
    "output_tokens": 2,
    "input_token_details": {"text_tokens": 29, "audio_tokens": 0, "image_tokens": 0, "cached_tokens": 0},
    "output_token_details": {"text_tokens": 2, "audio_tokens": 0},
}


def sandbox_connector(faults: frozenset[str] = frozenset()) -> Connector:
    """A connector whose sessions the sandbox plays, with the run's ``faults``."""

    def connect(
        url: str,
        *,
        subprotocols: Sequence[str],
        headers: Mapping[str, str],
        open_timeout: float,
        close_timeout: float,
    ) -> AbstractContextManager[Connection]:
        return _session(url, subprotocols, headers, faults)

    return connect


@contextmanager
def _session(
    url: str, subprotocols: Sequence[str], headers: Mapping[str, str], faults: frozenset[str]
) -> Iterator[Connection]:
    if "realtime-upgrade-403" in faults:
        raise UpgradeRefused(403, "Forbidden", b'{"error":{"message":"Realtime is not available for this project."}}')
    connection = _SandboxConnection(url, subprotocols, headers, faults)
    try:
        yield connection
    finally:
        connection.close()


class _SandboxConnection:
    def __init__(
        self, url: str, subprotocols: Sequence[str], headers: Mapping[str, str], faults: frozenset[str]
    ) -> None:
        self.subprotocol = "realtime" if "realtime" in subprotocols else None
        self._model = (parse_qs(urlsplit(url).query).get("model") or ["gpt-realtime"])[0]
        self._faults = faults
        self._outbox: deque[dict[str, Any] | Closed] = deque()
        self._closed: Closed | None = None
        secret = _secret(subprotocols, headers)
        if secret is None or not secret.startswith("ek_") or "realtime-invalid-key" in faults:
            self._outbox.append(_error("invalid_request_error", "invalid_api_key", "Incorrect API key provided."))
            self._outbox.append(Closed(3000, "invalid_request_error.invalid_api_key", True))
        elif "realtime-beta-disabled" in faults:
            message = "The Realtime Beta API is no longer supported. Please use /v1/realtime for the GA API."
            self._outbox.append(_error("invalid_request_error", "beta_api_shape_disabled", message))
            self._outbox.append(Closed(4000, "invalid_request_error.beta_api_shape_disabled", True))
        elif "realtime-closed" in faults:
            self._outbox.append(Closed(1008, "policy violation", True))
        elif "realtime-silent" not in faults:
            model = OTHER_MODEL if "realtime-model-mismatch" in faults else self._model
            self._outbox.append(
                {"type": "session.created", "event_id": "event_sbx1", "session": _session_object(model)}
            )

    def send(self, text: str) -> None:
        if self._closed is not None:
            raise self._closed
        event = json.loads(text)
        kind = event.get("type")
        if kind == "session.update":
            session = {**_session_object(self._model), **(event.get("session") or {})}
            self._outbox.append({"type": "session.updated", "event_id": "event_sbx2", "session": session})
        elif kind == "conversation.item.create":
            item = {**event.get("item", {}), "id": "item_sbx1", "object": "realtime.item", "status": "completed"}
            self._outbox.append({"type": "conversation.item.added", "previous_item_id": None, "item": item})
            self._outbox.append({"type": "conversation.item.done", "previous_item_id": None, "item": item})
        elif kind == "response.create":
            self._outbox.extend(_response())

    def recv(self, timeout: float) -> str:
        if self._closed is not None:
            raise self._closed
        if not self._outbox:
            raise TimeoutError  # a silent server: reported at once, the sandbox never waits
        event = self._outbox.popleft()
        if isinstance(event, Closed):
            self._closed = event
            raise event
        return json.dumps(event)

    def close(self) -> None:
        if self._closed is None:
            self._closed = Closed(1000, "", True)


def _secret(subprotocols: Sequence[str], headers: Mapping[str, str]) -> str | None:
    for protocol in subprotocols:
        if protocol.startswith("openai-insecure-api-key."):
            return protocol.removeprefix("openai-insecure-api-key.")
    auth = {k.lower(): v for k, v in headers.items()}.get("authorization", "")
    return auth.removeprefix("Bearer ") if auth.startswith("Bearer ") else None


def _session_object(model: str) -> dict[str, Any]:
    return {
        "type": "realtime",
        "object": "realtime.session",
        "id": "sess_sandbox",
        "model": model,
        "output_modalities": ["audio"],
        "instructions": "You are a helpful assistant.",
        "max_output_tokens": "inf",
        "audio": {"input": {"format": {"type": "audio/pcm", "rate": 24000}}, "output": {"voice": "marin"}},
    }


def _error(type_: str, code: str, message: str) -> dict[str, Any]:
    return {"type": "error", "event_id": "event_sbxe", "error": {"type": type_, "code": code, "message": message}}


def _response() -> list[dict[str, Any]]:
    ids = {"response_id": "resp_sbx1", "item_id": "item_sbx2", "output_index": 0, "content_index": 0}
    base = {"object": "realtime.response", "id": "resp_sbx1", "output_modalities": ["text"]}
    item = {"id": "item_sbx2", "object": "realtime.item", "type": "message", "role": "assistant"}
    done_item = {**item, "status": "completed", "content": [{"type": "output_text", "text": "Pong"}]}
    return [
        {"type": "response.created", "response": {**base, "status": "in_progress", "output": []}},
        {"type": "response.output_item.added", "response_id": "resp_sbx1", "output_index": 0, "item": item},
        {"type": "response.content_part.added", **ids, "part": {"type": "text", "text": ""}},
        {"type": "response.output_text.delta", **ids, "delta": "Po"},
        {"type": "response.output_text.delta", **ids, "delta": "ng"},
        {"type": "response.output_text.done", **ids, "text": "Pong"},
        {"type": "response.content_part.done", **ids, "part": {"type": "text", "text": "Pong"}},
        {"type": "response.output_item.done", "response_id": "resp_sbx1", "output_index": 0, "item": done_item},
        {
            "type": "response.done",
            "response": {**base, "status": "completed", "status_details": None, "output": [done_item], "usage": USAGE},
        },
    ]
