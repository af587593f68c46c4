"""The realtime probe: connect with a minted client secret exactly as the OpenCTO dashboard
does, and prove that a session opens, accepts a text-only configuration and, on request,
answers one tiny text exchange.

Protocol (GA Realtime API over WebSocket; ``../shared/reference/openai-realtime.md``, read
from openai-python ``types/realtime`` and ``types/beta/realtime``):

1. Upgrade ``GET <ws base>/realtime?model=<model>`` with subprotocols ``realtime`` and
   ``openai-insecure-api-key.<secret>`` (the browser's way, openai-node
   ``src/realtime/websocket.ts``) or ``Authorization: Bearer <secret>`` (a server's way).
2. The server's first event is ``session.created`` (``session.id``, ``session.model``).
3. Client ``session.update`` with ``session.type="realtime"``, ``output_modalities=["text"]``;
   the server answers ``session.updated``.
4. Only with ``roundtrip``: ``conversation.item.create`` (one ``input_text``) and
   ``response.create``; the server streams ``response.output_text.delta`` (beta:
   ``response.text.delta``) and always ends with ``response.done`` (``status``, ``usage``).
5. Close with code 1000. Without ``roundtrip`` no response is ever created, so no token is
   spent; with it, the tokens ``response.done`` reports (tens of text tokens).

Any ``error`` event before the stage's goal fails the probe (most errors leave the session
open, the fatal ones are followed by a close, whose code is reported too). Every failure is a
ctoops error naming the stage and the cause, with the contract's exit code: 1 the path does
not work (refused upgrade, error event, close, model mismatch), 4 unreachable/timed out/
malformed or an OpenAI server error, 5 rate limited or out of quota. Its ``data`` holds the
stage and the timings measured so far.

Timings are milliseconds on the monotonic clock (spans as in the reference's section 7.1):
``upgrade`` connect start -> handshake done; ``session.created`` handshake done -> event;
``session.updated`` update sent -> event; ``first delta`` and ``response.done`` response.create
sent -> event; ``total`` ``started`` (the caller's mint start, else the probe's start) -> close
done.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import Any, Literal

from ctoops import realtime_protocol as protocol
from ctoops.errors import CheckFailed, CtoopsError, UpstreamError
from ctoops.realtime_ws import Closed, Connection, Connector, HandshakeFailed, UpgradeRefused
from ctoops.redact import mask, redact, register

Auth = Literal["subprotocol", "header"]
AUTHS: tuple[Auth, ...] = ("subprotocol", "header")
DEFAULT_STAGE_TIMEOUT = 10.0  # seconds; the dashboard's CONNECT_TIMEOUT_MS, far under the secret's 600 s TTL


@dataclass(frozen=True)
class StageTimeouts:
    """Seconds each stage may take (``close``: the closing handshake)."""

    upgrade: float = DEFAULT_STAGE_TIMEOUT
    session_created: float = DEFAULT_STAGE_TIMEOUT
    session_updated: float = DEFAULT_STAGE_TIMEOUT
    response: float = DEFAULT_STAGE_TIMEOUT  # to the first delta, then again to response.done
    close: float = 5.0

    @classmethod
    def each(cls, seconds: float) -> StageTimeouts:
        """The same budget for every stage (``--connect-timeout``)."""
        return cls(seconds, seconds, seconds, seconds, min(seconds, 5.0))


@dataclass(frozen=True)
class ProbeResult:
    """What a probe proved. Times in ms; ``usage`` is ``response.done``'s ``usage`` object
    (``input_tokens``, ``output_tokens``, ``total_tokens``, ...) or None when it sent none."""

    url: str
    auth: Auth
    subprotocol: str | None  # as the server chose it, masked if it carries the secret
    session_id: str
    model: str  # as session.created reported it
    upgrade_ms: float
    session_created_ms: float
    session_updated_ms: float
    total_ms: float
    roundtrip: bool = False
    first_delta_ms: float | None = None
    response_done_ms: float | None = None
    response_status: str | None = None
    deltas: int = 0
    usage: dict[str, Any] | None = None
    session_shape: str = "ga"  # "beta" when session.created had the flat beta session

    def as_record(self) -> dict[str, Any]:
        """Flat, JSON-ready, camelCase like every ctoops report; token counts are OpenAI's
        ``usage`` field names; absent figures are None, never 0."""
        usage = self.usage or {}
        return {
            "websocketUrl": self.url,
            "auth": self.auth,
            "subprotocol": self.subprotocol,
            "sessionId": self.session_id,
            "sessionModel": self.model,
            "upgradeMs": _r(self.upgrade_ms),
            "sessionCreatedMs": _r(self.session_created_ms),
            "sessionUpdatedMs": _r(self.session_updated_ms),
            "firstDeltaMs": _r(self.first_delta_ms),
            "responseDoneMs": _r(self.response_done_ms),
            "totalMs": _r(self.total_ms),
            "roundtrip": self.roundtrip,
            "responseStatus": self.response_status,
            "input_tokens": usage.get("input_tokens"),
            "output_tokens": usage.get("output_tokens"),
            "total_tokens": usage.get("total_tokens"),
        }


def probe(
    url: str,
    secret: str,
    model: str,
    *,
    connect: Connector,
    auth: Auth = "subprotocol",
    roundtrip: bool = False,
    timeouts: StageTimeouts | None = None,
    log: Callable[[str], None] | None = None,
    started: float | None = None,
) -> ProbeResult:
    """Run the probe against ``url`` (from ``websocket_url``) with ``secret`` for ``model``.

    ``connect`` is the seam (``ctoops.realtime_ws.websockets_connector`` for real sockets);
    ``log`` receives redacted ``-v`` lines; ``started`` is a ``time.monotonic()`` instant the
    total is measured from. Raises ``CheckFailed`` (1), ``UpstreamError`` (4) or
    ``RateLimited`` (5), each with ``data["stage"]`` and the timings so far."""
    register(secret)
    run = _Probe(url, secret, model, connect, auth, roundtrip, timeouts or StageTimeouts(), log, started)
    return run.run()


@dataclass
class _Probe:
    url: str
    secret: str
    model: str
    connect: Connector
    auth: Auth
    roundtrip: bool
    timeouts: StageTimeouts
    log_fn: Callable[[str], None] | None
    started: float | None
    timings: dict[str, float] = field(default_factory=dict)
    stage: str = "upgrade"

    def log(self, line: str) -> None:
        if self.log_fn is not None:
            self.log_fn(redact(line))

    def run(self) -> ProbeResult:
        t0 = time.monotonic()
        started = self.started if self.started is not None else t0
        subprotocols, headers = self._credentials()
        shown = f"{self.auth} auth, secret {mask(self.secret)}"
        try:
            with self.connect(
                self.url,
                subprotocols=subprotocols,
                headers=headers,
                open_timeout=self.timeouts.upgrade,
                close_timeout=self.timeouts.close,
            ) as ws:
                t_open = time.monotonic()
                self.timings["upgradeMs"] = _ms(t0, t_open)
                chosen = ws.subprotocol
                self.log(f"WS {self.url} ({shown}) -> 101 in {self.timings['upgradeMs']:.0f} ms, subprotocol {chosen}")
                self._judge_subprotocol(chosen)
                result = self._converse(ws, t_open, redact(chosen) if chosen else None)
                self.stage = "close"
                ws.close()
        except UpgradeRefused as exc:
            raise self._refused(exc, t0, shown) from None
        except HandshakeFailed as exc:
            raise self._fail(UpstreamError, f"the WebSocket handshake failed: {exc}") from None
        except TimeoutError:
            raise self._timeout() from None
        except Closed as exc:
            raise self._closed(exc) from None
        except OSError as exc:
            raise self._fail(UpstreamError, f"cannot reach {self.url}: {_os_reason(exc)}") from None
        total = _ms(started, time.monotonic())
        self.log(f"WS closed (1000) at {total:.0f} ms")
        return replace(result, total_ms=total)

    def _credentials(self) -> tuple[list[str], dict[str, str]]:
        if self.auth == "header":
            return [], {"Authorization": f"Bearer {self.secret}"}
        if not protocol.is_subprotocol_token(self.secret):
            raise self._fail(
                CheckFailed,
                f"the client secret {mask(self.secret)} holds characters a WebSocket subprotocol cannot carry "
                "(RFC 7230 token); a browser refuses it before connecting",
            )
        return ["realtime", f"openai-insecure-api-key.{self.secret}"], {}

    def _judge_subprotocol(self, chosen: str | None) -> None:
        if self.auth == "subprotocol" and not chosen:
            raise self._fail(
                CheckFailed,
                "the server accepted the upgrade without choosing a subprotocol; browsers fail such a "
                "connection (WHATWG Fetch: subprotocols were offered, none came back)",
            )

    # -- the conversation ------------------------------------------------------------------

    def _converse(self, ws: Connection, t_open: float, chosen: str | None) -> ProbeResult:
        self.stage = "session.created"
        created = self._wait(ws, "session.created", self.timeouts.session_created)
        t_created = time.monotonic()
        self.timings["sessionCreatedMs"] = _ms(t_open, t_created)
        session = created.get("session")
        if not isinstance(session, dict) or not isinstance(session.get("id"), str):
            raise self._fail(UpstreamError, "session.created carries no session.id: not the documented shape")
        reported = session.get("model")
        if not isinstance(reported, str) or not reported:
            raise self._fail(UpstreamError, "session.created carries no session.model: not the documented shape")
        shape = "ga" if session.get("type") == "realtime" else "beta"
        # the server's text, shown in the detail, the table and the reports: one line, cut
        session_id, shown_model = protocol.said(session["id"]), protocol.said(reported)
        self.log(
            f"WS <- session.created in {self.timings['sessionCreatedMs']:.0f} ms "
            f"({session_id}, {shown_model}, {shape} shape)"
        )
        if not protocol.same_model(self.model, reported):
            raise self._fail(
                CheckFailed,
                f"model mismatch: asked for {self.model!r}, session.created reports {shown_model!r}",
                sessionId=session_id,
                sessionModel=shown_model,
            )

        self.stage = "session.updated"
        t_update = time.monotonic()
        self._send(ws, protocol.session_update())
        self._wait(ws, "session.updated", self.timeouts.session_updated)
        self.timings["sessionUpdatedMs"] = _ms(t_update, time.monotonic())
        self.log(f"WS <- session.updated in {self.timings['sessionUpdatedMs']:.0f} ms")

        result = ProbeResult(
            url=self.url,
            auth=self.auth,
            subprotocol=chosen,
            session_id=session_id,
            model=reported,  # the model asked for, or its dated snapshot (same_model)
            upgrade_ms=self.timings["upgradeMs"],
            session_created_ms=self.timings["sessionCreatedMs"],
            session_updated_ms=self.timings["sessionUpdatedMs"],
            total_ms=0.0,
            session_shape=shape,
        )
        if not self.roundtrip:
            return result
        return self._roundtrip(ws, result)

    def _roundtrip(self, ws: Connection, result: ProbeResult) -> ProbeResult:
        self._send(ws, protocol.conversation_item())
        t_create = time.monotonic()
        self._send(ws, protocol.response_create())
        self.stage = "first delta"
        deadline = t_create + self.timeouts.response
        deltas = 0
        first: float | None = None
        while True:
            event = self._next(ws, deadline)
            kind = event.get("type")
            if kind in protocol.TEXT_DELTAS:
                deltas += 1
                if first is None:
                    first = _ms(t_create, time.monotonic())
                    self.timings["firstDeltaMs"] = first
                    self.log(f"WS <- {kind} (first) in {first:.0f} ms")
                    self.stage = "response.done"
                    deadline = time.monotonic() + self.timeouts.response
            elif kind == "response.done":
                break
        done_ms = _ms(t_create, time.monotonic())
        self.timings["responseDoneMs"] = done_ms
        response = protocol.obj(event.get("response"))
        status = response.get("status")
        usage = response.get("usage") if isinstance(response.get("usage"), dict) else None
        self.log(f"WS <- response.done in {done_ms:.0f} ms: {status}, usage {_usage_words(usage)}")
        if status not in ("completed", "incomplete"):
            raise self._fail(*protocol.response_failed(response))
        if first is None:
            raise self._fail(
                CheckFailed, f"response.done ({status}) came without any text delta: no text reached the client"
            )
        return replace(
            result,
            roundtrip=True,
            first_delta_ms=first,
            response_done_ms=done_ms,
            response_status=status,
            deltas=deltas,
            usage=usage,
        )

    # -- frames ---------------------------------------------------------------------------

    def _send(self, ws: Connection, event: dict[str, Any]) -> None:
        ws.send(json.dumps(event))
        self.log(f"WS -> {event['type']}")

    def _wait(self, ws: Connection, wanted: str, budget: float) -> dict[str, Any]:
        deadline = time.monotonic() + budget
        while True:
            event = self._next(ws, deadline)
            if event.get("type") == wanted:
                return event

    def _next(self, ws: Connection, deadline: float) -> dict[str, Any]:
        """The next event that is not an error; an ``error`` event fails the stage."""
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise TimeoutError
        raw = ws.recv(timeout=remaining)
        try:
            event = json.loads(raw)
        except ValueError:
            event = None
        if not isinstance(event, dict) or not isinstance(event.get("type"), str):
            raise self._fail(UpstreamError, f"a frame that is not a JSON event ({_describe(raw)})")
        if event["type"] == "error":
            raise self._error_event(ws, event)
        return event

    # -- verdicts -------------------------------------------------------------------------

    def _fail(self, cls: type[CtoopsError], cause: str, **data: Any) -> CtoopsError:
        status, code = data.pop("status", None), data.pop("code", None)
        return cls(
            f"realtime {self.stage}: {cause}",
            status=status,
            code=code,
            data={"stage": self.stage, "websocketUrl": self.url, **self.timings, **data},
        )

    def _refused(self, exc: UpgradeRefused, t0: float, shown: str) -> CtoopsError:
        self.timings["upgradeMs"] = _ms(t0, time.monotonic())
        self.log(f"WS {self.url} ({shown}) -> HTTP {exc.status} in {self.timings['upgradeMs']:.0f} ms")
        cls, cause = protocol.upgrade_refused(exc.status, exc.reason, exc.body, exc.location)
        return self._fail(cls, cause, status=exc.status)

    def _error_event(self, ws: Connection, event: dict[str, Any]) -> CtoopsError:
        err = protocol.obj(event.get("error"))
        cls, cause = protocol.error_event(err)
        self.log(f"WS <- {cause}")
        etype = err.get("type")
        data: dict[str, Any] = {"errorType": protocol.said(etype, 80) if etype is not None else None}
        then = self._close_after_error(ws)
        if then is not None:
            cause += f"; then {then}"
            data.update(closeCode=then.code, closeReason=then.reason)
        code = err.get("code")
        return self._fail(cls, cause, code=protocol.said(code, 80) if isinstance(code, str) else None, **data)

    def _close_after_error(self, ws: Connection) -> Closed | None:
        """A fatal error is followed by a close: wait briefly for it, to report its code."""
        deadline = time.monotonic() + min(self.timeouts.close, 1.0)
        while (remaining := deadline - time.monotonic()) > 0:
            try:
                ws.recv(timeout=remaining)
            except Closed as closed:
                return closed
            except TimeoutError:
                return None
        return None

    def _closed(self, exc: Closed) -> CtoopsError:
        self.log(f"WS closed by the server: {exc}")
        what = "the server closed the connection" if exc.frame_received else "the connection dropped"
        cause = f"{what} before {self.stage}: {exc}"
        return self._fail(protocol.closed(exc.code), cause, closeCode=exc.code, closeReason=exc.reason)

    def _timeout(self) -> CtoopsError:
        budget = {
            "upgrade": self.timeouts.upgrade,
            "session.created": self.timeouts.session_created,
            "session.updated": self.timeouts.session_updated,
            "close": self.timeouts.close,
        }.get(self.stage, self.timeouts.response)
        self.log(f"WS timed out waiting for {self.stage} ({budget:g}s)")
        return self._fail(UpstreamError, f"timed out after {budget:g}s (--connect-timeout)")


# -- small helpers ------------------------------------------------------------------------


def _ms(start: float, end: float) -> float:
    return (end - start) * 1000


def _r(value: float | None) -> float | None:
    return None if value is None else round(value, 1)


def _usage_words(usage: dict[str, Any] | None) -> str:
    if usage is None:
        return "not reported"
    return f"{usage.get('input_tokens')} in / {usage.get('output_tokens')} out"


def _describe(raw: str | bytes) -> str:
    if isinstance(raw, bytes):
        return f"binary frame of {len(raw)} bytes"
    return f"text frame of {len(raw)} characters"


def _os_reason(exc: OSError) -> str:
    return redact(exc.strerror or str(exc) or type(exc).__name__)
