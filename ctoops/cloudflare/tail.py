"""The live tail without wrangler: create a tail, read its WebSocket, survive, delete it.

Protocol (``../shared/reference/cloudflare-live-sources.md`` §1, wrangler 4.125's
``tail/createTail.ts`` and ``tail/index.ts``):

* ``POST /accounts/{account}/workers/scripts/{script}/tails`` with ``{"filters": []}`` answers
  ``result {id, url, expires_at}``; ``DELETE .../tails/{id}`` removes it (best effort);
* the WebSocket at ``url`` (no auth: the id in the URL is the capability) with subprotocol
  ``trace-v1``; the first client message is ``{"debug": false}``; every server message is one
  JSON event, the object ``wrangler tail --format json`` prints;
* the client pings every 10 s and treats a missing pong as a dead connection
  (websockets' keepalive: ``ping_interval``/``ping_timeout``);
* the backend does not close the socket at ``expires_at``: delivery just stops (workers-sdk
  #14427), so ctoops recreates the tail ``renew_before`` seconds ahead of it;
* any close or failure: delete the tail, wait 1, 2, 4, 8, 16 s, create a new one; give up
  after 5 failed attempts in a row (exit 4).

Every stretch with no working connection is a :class:`Gap` (UTC ms), so the counts above it
can say which windows were not fully seen. The ``websockets`` library is imported when a tail
starts, never at ``--help``.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from ctoops.cloudflare.span import parse_time
from ctoops.cloudflare.target import Target
from ctoops.errors import CtoopsError, NotAuthenticated, UpstreamError

BACKOFF_S = (1, 2, 4, 8, 16)  # wrangler's RECONNECT_BACKOFF_MS, in seconds
TRACE_PROTOCOL = "trace-v1"


@dataclass(frozen=True)
class TailInfo:
    """A created tail: its id, WebSocket URL and expiry (UTC ms)."""

    id: str
    url: str
    expires_at_ms: int | None


@dataclass
class Gap:
    """A stretch with no working tail connection, ``[start_ms, end_ms)``; open while ``end_ms`` is None."""

    start_ms: int
    end_ms: int | None
    why: str


@dataclass
class Coverage:
    """What the tail saw of time: its gaps, reconnects and the state now (thread-safe reads)."""

    gaps: list[Gap] = field(default_factory=list)
    reconnects: int = 0
    renewals: int = 0
    state: str = "starting"
    tails_deleted: int = 0
    delete_failures: list[str] = field(default_factory=list)


class TailApi:
    """The tail's REST calls through the v4 client (same token and ``CLOUDFLARE_BASE_URL``)."""

    def __init__(self, target: Target) -> None:
        self.target = target

    def _path(self) -> str:
        return f"/accounts/{self.target.account_id()}/workers/scripts/{self.target.script()}/tails"

    def create(self) -> TailInfo:
        result = self.target.api.call("POST", self._path(), json_body={"filters": []})
        if not isinstance(result, dict) or not result.get("id") or not result.get("url"):
            raise UpstreamError(f"Cloudflare answered the tail creation without id and url: {str(result)[:160]!r}")
        expires = result.get("expires_at")
        try:
            expires_ms = parse_time(str(expires)) if expires else None
        except ValueError:
            expires_ms = None
        return TailInfo(str(result["id"]), str(result["url"]), expires_ms)

    def delete(self, tail_id: str) -> None:
        self.target.api.call("DELETE", f"{self._path()}/{tail_id}")


def ws_connect(url: str, *, ping_interval: float, ping_timeout: float, open_timeout: float) -> Any:
    """A websockets (sync) client connection to a tail."""
    from websockets.sync.client import connect

    from ctoops import __version__

    return connect(
        url,
        subprotocols=[TRACE_PROTOCOL],  # type: ignore[list-item]
        user_agent_header=f"ctoops/{__version__}",
        open_timeout=open_timeout,
        ping_interval=ping_interval,
        ping_timeout=ping_timeout,
        close_timeout=5,
        max_size=8 << 20,  # an event with a long log can be large; a tail event is capped at 128 KB upstream
        proxy=None,
    )


def _wait(seconds: float) -> None:
    """Backoff waits go through ``ctoops.http.sleep``, the one wait tests replace."""
    from ctoops import http

    http.sleep(seconds)


class TailStream:
    """Reads one Worker's tail until ``stop`` is set, reconnecting as wrangler does.

    ``on_message`` gets every server message (text). Seams for tests: ``connect`` (as
    :func:`ws_connect`), ``clock`` (unix s), ``sleep``, and the timings in seconds.
    """

    def __init__(
        self,
        api: TailApi,
        *,
        notify: Callable[[str], None],
        connect: Callable[..., Any] = ws_connect,
        clock: Callable[[], float] = time.time,
        sleep: Callable[[float], None] | None = None,
        ping_interval: float = 10.0,
        ping_timeout: float = 10.0,
        open_timeout: float = 10.0,
        renew_before: float = 300.0,
        recv_timeout: float = 0.5,
        backoff: tuple[float, ...] = BACKOFF_S,
    ) -> None:
        self.api = api
        self.notify = notify
        self.connect = connect
        self.clock = clock
        self.sleep = sleep or _wait
        self.ping_interval, self.ping_timeout, self.open_timeout = ping_interval, ping_timeout, open_timeout
        self.renew_before = renew_before
        self.recv_timeout = recv_timeout
        self.backoff = backoff
        self.coverage = Coverage()
        self._lock = threading.Lock()

    def _now_ms(self) -> int:
        return int(self.clock() * 1000)

    def _lost(self, why: str) -> None:
        with self._lock:
            open_gap = self.coverage.gaps and self.coverage.gaps[-1].end_ms is None
            if not open_gap:
                self.coverage.gaps.append(Gap(self._now_ms(), None, why))
            self.coverage.state = f"disconnected ({why})"

    def _found(self) -> None:
        with self._lock:
            if self.coverage.gaps and self.coverage.gaps[-1].end_ms is None:
                self.coverage.gaps[-1].end_ms = self._now_ms()
            self.coverage.state = "connected"

    def gaps(self) -> list[Gap]:
        """A copy of the gaps so far (an open one ends now)."""
        with self._lock:
            now = self._now_ms()
            return [Gap(g.start_ms, g.end_ms if g.end_ms is not None else now, g.why) for g in self.coverage.gaps]

    def run(self, on_message: Callable[[str], None], stop: threading.Event) -> None:
        """Read until ``stop``; raises after ``len(backoff)`` failed attempts in a row, or on a
        credential error (exit 3)."""
        failures = 0
        started = False
        while not stop.is_set():
            why = self._session(on_message, stop, first=not started)
            started = True
            if stop.is_set() or why is None:
                break
            if why == "renewal":
                self.coverage.renewals += 1
                continue
            failures += 1
            if failures > len(self.backoff):
                raise UpstreamError(
                    f"the Cloudflare tail failed {failures} times in a row (last: {why}); giving up as wrangler does"
                )
            wait = self.backoff[failures - 1]
            self.notify(
                f"tail connection lost ({why}); reconnecting (attempt {failures} of {len(self.backoff)}) in {wait:g}s"
            )
            self.sleep(wait)
        with self._lock:
            self.coverage.state = "stopped"

    def _session(self, on_message: Callable[[str], None], stop: threading.Event, *, first: bool) -> str | None:
        """One tail from creation to deletion; returns why it ended (None: stopped)."""
        try:
            tail = self.api.create()
        except NotAuthenticated:
            raise
        except CtoopsError as exc:
            if first:
                raise
            self._lost("creating a tail failed")
            return f"creating a tail failed: {exc.format_message()}"
        try:
            return self._read(tail, on_message, stop)
        finally:
            try:
                self.api.delete(tail.id)
                self.coverage.tails_deleted += 1
            except CtoopsError as exc:
                self.coverage.delete_failures.append(f"{tail.id}: {exc.format_message()}")

    def _renew_at(self, tail: TailInfo) -> int | None:
        """When to replace ``tail`` (UTC ms): ``renew_before`` ahead of its expiry, but never
        sooner than a minute after it was made; None when its expiry is already past (a wrong
        clock here), so a skewed clock cannot make ctoops recreate tails in a loop."""
        if tail.expires_at_ms is None:
            return None
        now = self._now_ms()
        if tail.expires_at_ms <= now:
            self.notify(
                f"the tail's expires_at ({tail.expires_at_ms}) is already past by this machine's clock: "
                "not renewing it ahead of time; check the clock"
            )
            return None
        return max(tail.expires_at_ms - int(self.renew_before * 1000), now + 60_000)

    def _read(self, tail: TailInfo, on_message: Callable[[str], None], stop: threading.Event) -> str | None:
        from websockets.exceptions import ConnectionClosed, InvalidHandshake

        try:
            ws = self.connect(
                tail.url,
                ping_interval=self.ping_interval,
                ping_timeout=self.ping_timeout,
                open_timeout=self.open_timeout,
            )
        except (OSError, InvalidHandshake, TimeoutError) as exc:
            self._lost("connecting failed")
            return f"connecting to the tail failed: {type(exc).__name__}: {exc}"
        try:
            with ws:  # websockets >= 17.1 wants its connection used as a context manager
                ws.send(json.dumps({"debug": False}))
                self._found()
                renew_at = self._renew_at(tail)
                while not stop.is_set():
                    if renew_at is not None and self._now_ms() >= renew_at:
                        self._lost("renewing the tail before it expires")
                        return "renewal"
                    try:
                        message = ws.recv(timeout=self.recv_timeout)
                    except TimeoutError:
                        continue
                    on_message(message if isinstance(message, str) else message.decode("utf-8", "replace"))
                return None
        except ConnectionClosed as exc:
            code = exc.rcvd.code if exc.rcvd is not None else None
            why = f"closed by Cloudflare with code {code}" if code is not None else "the connection dropped"
            if code is None and "keepalive" in str(exc):
                why = "no pong within the ping timeout (a silent connection)"
            self._lost(why)
            return why
