"""The WebSocket seam of the realtime probe, and the one implementation that opens real sockets.

The probe (``ctoops.realtime_probe``) never touches a WebSocket library. It asks a
``Connector`` for a ``Connection`` (a context manager) and speaks JSON text frames through it;
failures reach it as the transport-neutral exceptions below. ``websockets_connector`` is the
real connector, on the ``websockets`` sync client (imported only when it connects, so
``ctoops --help`` stays light); the sandbox plugs in its own, with no socket at all.

Facts about ``websockets`` used here (read in its source, ``src/websockets/sync/client.py``,
``exceptions.py``, ``headers.py``, versions 15 to 17):

* ``connect()`` used as a context manager works in every one of these versions without the
  deprecation warning 17.1 added for a bare ``connect()``; it raises ``InvalidStatus`` (the
  HTTP answer in ``.response``) when the upgrade is refused, other ``InvalidHandshake``
  subclasses for a malformed one, ``TimeoutError`` past ``open_timeout`` (which spans TCP, TLS
  and the HTTP upgrade), ``OSError`` for the network.
* It follows HTTP redirects and, across origins, strips ``Authorization`` but not the
  subprotocols, which carry the secret in the browser's auth mode. Browsers never follow a
  WebSocket redirect, so neither does ctoops: a 3xx is reported as a refused upgrade.
* It accepts a handshake answer without ``Sec-WebSocket-Protocol`` even when subprotocols were
  offered (RFC 6455 allows it); browsers do not (WHATWG Fetch fails such a connection). The
  probe judges that itself from ``Connection.subprotocol``.
* Its messages can echo what was sent: ``ValueError("invalid subprotocol: <value>")`` names
  the subprotocol (the secret), and its debug log prints the request headers. Nothing from
  it reaches the user unredacted: the logger given to it redacts every record.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator, Mapping, Sequence
from contextlib import AbstractContextManager, ExitStack, contextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol

from ctoops.redact import redact

if TYPE_CHECKING:
    from websockets.sync.client import ClientConnection

MAX_MESSAGE_BYTES = 16 * 2**20  # session.created can be long; audio deltas are far larger than text


# -- the seam -------------------------------------------------------------------------------


class Connection(Protocol):
    """An open WebSocket. ``recv`` returns one text frame (``str``; ``bytes`` for a binary
    frame), raises ``TimeoutError`` when nothing arrived within ``timeout`` seconds and
    ``Closed`` once the connection is closed. ``close`` sends close code 1000 and waits for
    the other side (idempotent). ``subprotocol`` is the one the server chose, or None."""

    @property
    def subprotocol(self) -> str | None: ...

    def send(self, text: str) -> None: ...

    def recv(self, timeout: float) -> str | bytes: ...

    def close(self) -> None: ...


class Connector(Protocol):
    """Opens a ``Connection`` to ``url`` (ws:// or wss://) within ``open_timeout`` seconds.

    Raises ``UpgradeRefused`` (an HTTP answer other than 101), ``HandshakeFailed`` (a 101 that
    breaks the protocol), ``TimeoutError``, ``OSError`` (DNS, TCP, TLS)."""

    def __call__(
        self,
        url: str,
        *,
        subprotocols: Sequence[str],
        headers: Mapping[str, str],
        open_timeout: float,
        close_timeout: float,
    ) -> AbstractContextManager[Connection]: ...


class UpgradeRefused(Exception):
    """The server answered the upgrade request with an HTTP status other than 101."""

    def __init__(self, status: int, reason: str, body: bytes = b"", location: str | None = None) -> None:
        super().__init__(f"HTTP {status} {reason}".strip())
        self.status = status
        self.reason = reason
        self.body = body
        self.location = location  # a redirect's target, never followed


class HandshakeFailed(Exception):
    """A 101 answer that breaks the WebSocket protocol (bad accept key, a subprotocol that was
    not offered, ...). The message is already redacted."""


@dataclass
class Closed(Exception):
    """The connection is closed. ``code``/``reason`` are from the server's close frame; code
    1006 (abnormal closure, RFC 6455 7.1.5) when none came, as on a dropped TCP connection."""

    code: int
    reason: str
    frame_received: bool

    def __str__(self) -> str:
        return f"close {self.code}" + (f" {self.reason!r}" if self.reason else "")


# -- websockets ---------------------------------------------------------------------------


class _RedactingFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        record.msg = redact(record.getMessage())
        record.args = None
        return True


_LOGGER = logging.getLogger("ctoops.realtime.websockets")
_LOGGER.addFilter(_RedactingFilter())


def websockets_connector(user_agent: str) -> Connector:
    """The real connector: ``websockets.sync.client.connect`` with ctoops' settings (proxies
    from the environment as websockets reads them, permessage-deflate as browsers offer it,
    ``MAX_MESSAGE_BYTES``, no redirects, a redacting logger)."""

    def connect(
        url: str,
        *,
        subprotocols: Sequence[str],
        headers: Mapping[str, str],
        open_timeout: float,
        close_timeout: float,
    ) -> AbstractContextManager[Connection]:
        return _open(url, subprotocols, headers, open_timeout, close_timeout, user_agent)

    return connect


@contextmanager
def _open(
    url: str,
    subprotocols: Sequence[str],
    headers: Mapping[str, str],
    open_timeout: float,
    close_timeout: float,
    user_agent: str,
) -> Iterator[Connection]:
    from websockets.exceptions import InvalidHandshake, InvalidStatus, InvalidURI
    from websockets.sync.client import connect
    from websockets.typing import Subprotocol

    with ExitStack() as stack:
        try:
            ws = stack.enter_context(
                connect(
                    url,
                    subprotocols=[Subprotocol(p) for p in subprotocols] or None,
                    additional_headers=dict(headers),
                    user_agent_header=user_agent,
                    open_timeout=open_timeout,
                    close_timeout=close_timeout,
                    max_size=MAX_MESSAGE_BYTES,
                    create_connection=_connection_class(),
                    logger=_LOGGER,
                )
            )
        except _Redirected as exc:
            raise UpgradeRefused(exc.status, exc.reason, exc.body, exc.location) from None
        except InvalidStatus as exc:
            response = exc.response
            raise UpgradeRefused(response.status_code, response.reason_phrase, bytes(response.body or b"")) from None
        except InvalidURI as exc:
            raise HandshakeFailed(redact(f"not a WebSocket URL: {exc}")) from None
        except InvalidHandshake as exc:
            raise HandshakeFailed(redact(f"{type(exc).__name__}: {exc}")) from None
        except ValueError as exc:  # websockets validates subprotocols and headers before connecting
            raise HandshakeFailed(redact(f"refused before connecting: {exc}")) from None
        connection = _WebsocketsConnection(ws)
        try:
            yield connection
        finally:
            connection.close()


class _WebsocketsConnection:
    def __init__(self, ws: ClientConnection) -> None:
        self._ws = ws
        self._closed = False  # a second close() still costs websockets ~50 us: skip it

    @property
    def subprotocol(self) -> str | None:
        return self._ws.subprotocol

    def send(self, text: str) -> None:
        from websockets.exceptions import ConnectionClosed

        try:
            self._ws.send(text)
        except ConnectionClosed as exc:
            raise _closed(exc) from None

    def recv(self, timeout: float) -> str | bytes:
        from websockets.exceptions import ConnectionClosed

        try:
            return self._ws.recv(timeout=timeout)
        except ConnectionClosed as exc:
            raise _closed(exc) from None

    def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        try:
            self._ws.close()
        except OSError:
            pass  # the peer vanished while closing: nothing left to tell it


def _closed(exc: object) -> Closed:
    rcvd = getattr(exc, "rcvd", None)
    if rcvd is None:
        return Closed(1006, "", False)
    return Closed(int(rcvd.code), str(rcvd.reason), True)


class _Redirected(Exception):
    """Not an ``InvalidStatus``, so websockets' redirect logic passes it through untouched."""

    def __init__(self, status: int, reason: str, body: bytes, location: str | None) -> None:
        super().__init__(f"HTTP {status}")
        self.status, self.reason, self.body, self.location = status, reason, body, location


_CONNECTION_CLASS: type[ClientConnection] | None = None


def _connection_class() -> type[ClientConnection]:
    """A ``ClientConnection`` whose handshake turns a 3xx into ``_Redirected`` (built on first
    use, so that importing this module does not import websockets)."""
    global _CONNECTION_CLASS
    if _CONNECTION_CLASS is None:
        from websockets.exceptions import InvalidStatus
        from websockets.sync.client import ClientConnection

        class NoRedirects(ClientConnection):
            def handshake(self, *args: object, **kwargs: object) -> None:
                try:
                    super().handshake(*args, **kwargs)  # type: ignore[arg-type]
                except InvalidStatus as exc:
                    r = exc.response
                    if 300 <= r.status_code < 400:
                        location = r.headers.get("Location")
                        raise _Redirected(r.status_code, r.reason_phrase, bytes(r.body or b""), location) from None
                    raise

        _CONNECTION_CLASS = NoRedirects
    return _CONNECTION_CLASS
