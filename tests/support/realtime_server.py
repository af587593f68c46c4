"""A real WebSocket server on 127.0.0.1 that speaks OpenAI's Realtime events as
../shared/reference/openai-realtime.md documents them (GA names by default, the beta names
with ``names="beta"``), on ``websockets``' threading server.

Events are written here from the reference, not imported from ctoops, so the probe is
checked against the documented protocol rather than against itself:

* auth: subprotocols ``realtime`` + ``openai-insecure-api-key.<secret>`` or
  ``Authorization: Bearer <secret>``; a wrong secret gets an ``error`` event
  (``invalid_request_error``/``invalid_api_key``) then close 3000
  ``invalid_request_error.invalid_api_key``, as observed in the reference's section 3.3.
* first event ``session.created`` (section 4.1), ``session.update`` -> ``session.updated``
  (4.2), ``conversation.item.create`` -> ``conversation.item.added``/``.done`` (GA) or
  ``conversation.item.created`` (beta), ``response.create`` -> ``response.created``,
  ``rate_limits.updated``, output item and content part events, text deltas,
  ``response.output_text.done`` (beta ``response.text.*``), ``response.done`` with ``usage``
  (5.2).

Each test picks a scenario by setting attributes before connecting; everything the client
sent (the upgrade request and every event) is recorded. Nothing sleeps on a timer: a stalled
stage waits on ``release``, which the fixture sets at teardown.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs, urlsplit

from websockets.datastructures import Headers
from websockets.http11 import Request, Response
from websockets.sync.server import ServerConnection, serve

Scenario = Callable[["RealtimeServer", ServerConnection], None]

USAGE = {
    "total_tokens": 41,
    "input_tokens": 38,
    "output_tokens": 3,
    "input_token_details": {"text_tokens": 38, "audio_tokens": 0, "image_tokens": 0, "cached_tokens": 0},
    "output_token_details": {"text_tokens": 3, "audio_tokens": 0},
}


@dataclass
class Upgrade:
    path: str
    query: dict[str, str]
    headers: dict[str, str]
    subprotocols: list[str]


@dataclass
class RealtimeServer:
    secret: str | None  # the client secret it accepts; None: any non-empty one
    names: str = "ga"  # "ga" or "beta": which event names and session shape to speak
    model: str | None = None  # what session.created reports; None: the model asked in the URL
    scenario: Scenario | None = None  # None: a working session
    refuse: tuple[int, str] | None = None  # answer the upgrade with this HTTP status and body
    redirect_to: str | None = None  # answer the upgrade with a 302 to this URL
    upgrade_wait: float | None = None  # hold the upgrade up to this many seconds (until release)
    choose_subprotocol: str | None = "realtime"  # what the server picks when offered any
    deltas: tuple[str, ...] = ("Po", "ng")
    response_status: str = "completed"
    usage: dict[str, Any] | None = field(default_factory=lambda: dict(USAGE))
    upgrades: list[Upgrade] = field(default_factory=list)
    events: list[dict[str, Any]] = field(default_factory=list)
    release: threading.Event = field(default_factory=threading.Event)

    def __post_init__(self) -> None:
        self._server = serve(
            self._handle,
            "127.0.0.1",
            0,
            process_request=self._process_request,
            select_subprotocol=self._select_subprotocol,
            ping_interval=None,
            compression=None,
        )
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()

    @property
    def base_url(self) -> str:
        """What OPENAI_BASE_URL is set to: http://, so openai-python's rule gives ws://."""
        return f"http://127.0.0.1:{self._server.socket.getsockname()[1]}/v1"

    @property
    def ws_url(self) -> str:
        return f"ws://127.0.0.1:{self._server.socket.getsockname()[1]}/v1"

    def kinds(self) -> list[str]:
        return [e.get("type", "?") for e in self.events]

    def close(self) -> None:
        self.release.set()
        self._server.shutdown()
        self._thread.join(timeout=5)

    # -- upgrade -----------------------------------------------------------------------------

    def _process_request(self, connection: ServerConnection, request: Request) -> Response | None:
        parts = urlsplit(request.path)
        offered = [p.strip() for v in request.headers.get_all("Sec-WebSocket-Protocol") for p in v.split(",")]
        self.upgrades.append(
            Upgrade(
                parts.path,
                {k: v[0] for k, v in parse_qs(parts.query).items()},
                {k.lower(): v for k, v in request.headers.raw_items()},
                offered,
            )
        )
        if self.upgrade_wait is not None:
            self.release.wait(self.upgrade_wait)
        if self.redirect_to is not None:
            return Response(302, "Found", Headers([("Location", self.redirect_to), ("Content-Length", "0")]), b"")
        if self.refuse is not None:
            status, body = self.refuse
            response = connection.respond(status, body)
            return response
        return None

    def _select_subprotocol(self, connection: ServerConnection, offered: Any) -> Any:
        if self.choose_subprotocol is None:
            return None
        if self.choose_subprotocol == "secret":
            return f"openai-insecure-api-key.{self.secret}"
        return self.choose_subprotocol if self.choose_subprotocol in offered else None

    # -- session -----------------------------------------------------------------------------

    def _handle(self, connection: ServerConnection) -> None:
        if not self._authorized():
            self.send(
                connection, error_event("invalid_request_error", "invalid_api_key", "Incorrect API key provided.")
            )
            connection.close(3000, "invalid_request_error.invalid_api_key")
            return
        if self.scenario is not None:
            self.scenario(self, connection)
            return
        self.session(connection)

    def _authorized(self) -> bool:
        upgrade = self.upgrades[-1]
        offered = [
            p.removeprefix("openai-insecure-api-key.")
            for p in upgrade.subprotocols
            if p.startswith("openai-insecure-api-key.")
        ]
        auth = upgrade.headers.get("authorization", "")
        sent = offered + ([auth.removeprefix("Bearer ")] if auth.startswith("Bearer ") else [])
        if self.secret is None:
            return any(sent)
        return self.secret in sent

    def asked_model(self) -> str:
        return self.upgrades[-1].query.get("model", "")

    def session_object(self) -> dict[str, Any]:
        model = self.model or self.asked_model()
        if self.names == "beta":  # types/beta/realtime/session.py: flat fields, no `type`
            return {
                "id": "sess_C9x1y2z3",
                "object": "realtime.session",
                "model": model,
                "modalities": ["audio", "text"],
                "instructions": "server default",
                "voice": "alloy",
                "input_audio_format": "pcm16",
                "output_audio_format": "pcm16",
            }
        return {
            "type": "realtime",
            "object": "realtime.session",
            "id": "sess_C9x1y2z3",
            "model": model,
            "output_modalities": ["audio"],
            "instructions": "server default",
            "audio": {"input": {"format": {"type": "audio/pcm", "rate": 24000}}, "output": {"voice": "marin"}},
        }

    def send(self, connection: ServerConnection, event: dict[str, Any]) -> None:
        connection.send(json.dumps(event))

    def receive(self, connection: ServerConnection) -> dict[str, Any] | None:
        from websockets.exceptions import ConnectionClosed

        try:
            event = json.loads(connection.recv())
        except ConnectionClosed:
            return None
        self.events.append(event)
        return event

    def session(self, connection: ServerConnection, *, created: bool = True) -> None:
        """A working session: session.created, then answer each client event until the client closes."""
        if created:
            self.send(connection, {"type": "session.created", "event_id": "event_1", "session": self.session_object()})
        while (event := self.receive(connection)) is not None:
            kind = event.get("type")
            if kind == "session.update":
                session = {**self.session_object(), **event.get("session", {})}
                self.send(connection, {"type": "session.updated", "event_id": "event_2", "session": session})
            elif kind == "conversation.item.create":
                item = {**event["item"], "id": "item_C9d3", "object": "realtime.item", "status": "completed"}
                if self.names == "beta":
                    self.send(connection, {"type": "conversation.item.created", "previous_item_id": None, "item": item})
                else:
                    self.send(connection, {"type": "conversation.item.added", "previous_item_id": None, "item": item})
                    self.send(connection, {"type": "conversation.item.done", "previous_item_id": None, "item": item})
            elif kind == "response.create":
                self.respond(connection)

    def respond(self, connection: ServerConnection) -> None:
        text_kind = "response.text" if self.names == "beta" else "response.output_text"
        ids = {"response_id": "resp_C9b2", "item_id": "item_C9d4", "output_index": 0, "content_index": 0}
        response = {"object": "realtime.response", "id": "resp_C9b2", "status": "in_progress", "output": []}
        self.send(connection, {"type": "response.created", "event_id": "event_3", "response": response})
        self.send(
            connection,
            {
                "type": "rate_limits.updated",
                "event_id": "event_4",
                "rate_limits": [
                    {"name": "requests", "limit": 5000, "remaining": 4999, "reset_seconds": 0.012},
                    {"name": "tokens", "limit": 40000, "remaining": 39960, "reset_seconds": 0.06},
                ],
            },
        )
        item = {"id": "item_C9d4", "object": "realtime.item", "type": "message", "role": "assistant"}
        self.send(
            connection,
            {
                "type": "response.output_item.added",
                "response_id": "resp_C9b2",
                "output_index": 0,
                "item": {**item, "status": "in_progress", "content": []},
            },
        )
        self.send(connection, {"type": "response.content_part.added", **ids, "part": {"type": "text", "text": ""}})
        for delta in self.deltas:
            self.send(connection, {"type": f"{text_kind}.delta", **ids, "delta": delta})
        text = "".join(self.deltas)
        self.send(connection, {"type": f"{text_kind}.done", **ids, "text": text})
        self.send(connection, {"type": "response.content_part.done", **ids, "part": {"type": "text", "text": text}})
        done_item = {**item, "status": "completed", "content": [{"type": "output_text", "text": text}]}
        self.send(
            connection,
            {"type": "response.output_item.done", "response_id": "resp_C9b2", "output_index": 0, "item": done_item},
        )
        final: dict[str, Any] = {
            **response,
            "status": self.response_status,
            "status_details": None,
            "output_modalities": ["text"],
            "max_output_tokens": 16,
            "output": [done_item],
        }
        if self.usage is not None:
            final["usage"] = self.usage
        self.send(connection, {"type": "response.done", "event_id": "event_9", "response": final})


def error_event(type_: str, code: str | None, message: str, event_id: str | None = None) -> dict[str, Any]:
    """``{type:"error", event_id, error:{type, code, message, param, event_id}}`` (section 5.3)."""
    return {
        "type": "error",
        "event_id": "event_C9ee01",
        "error": {"type": type_, "code": code, "message": message, "param": None, "event_id": event_id},
    }


# -- scenarios --------------------------------------------------------------------------------


def error_then_close(type_: str, code: str, message: str, close_code: int, reason: str) -> Scenario:
    """An ``error`` event, then a close (the shape of invalid_api_key, session_expired,
    beta_api_shape_disabled in the reference's section 3.3)."""

    def scenario(server: RealtimeServer, connection: ServerConnection) -> None:
        server.send(connection, error_event(type_, code, message))
        connection.close(close_code, reason)

    return scenario


def close_without_event(close_code: int, reason: str) -> Scenario:
    def scenario(server: RealtimeServer, connection: ServerConnection) -> None:
        connection.close(close_code, reason)

    return scenario


def silent(server: RealtimeServer, connection: ServerConnection) -> None:
    """Upgrade accepted, then nothing: session.created never comes."""
    server.release.wait()


def error_on_update(type_: str, code: str, message: str) -> Scenario:
    """session.created, then an error in reply to session.update (the session stays open)."""

    def scenario(server: RealtimeServer, connection: ServerConnection) -> None:
        server.send(connection, {"type": "session.created", "event_id": "event_1", "session": server.session_object()})
        while (event := server.receive(connection)) is not None:
            if event.get("type") == "session.update":
                server.send(connection, error_event(type_, code, message, event.get("event_id")))

    return scenario


def not_json(server: RealtimeServer, connection: ServerConnection) -> None:
    connection.send("<html>Bad gateway</html>")
    server.release.wait()


def drop(server: RealtimeServer, connection: ServerConnection) -> None:
    """The TCP connection ends with no close frame (a proxy or load balancer cutting it)."""
    import socket

    connection.socket.shutdown(socket.SHUT_RDWR)
