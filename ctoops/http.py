"""HTTP for every backend: the only module that imports httpx.

It owns the attempt loop, timeouts (per operation, and a total deadline per attempt:
``ctoops.deadline``), a cap on what one answer may weigh, the trace headers sent to the
worker, the redacted ``-v`` line per attempt, retry notices, and the translation of transport
failures into ctoops errors. It does not read error bodies: the backend adapter's
``ErrorModel`` parses its API's envelope once into an ``ApiError`` and turns it into a ctoops
error; whether to try again is ``ctoops.retry.decide``, a pure function.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, Protocol

import httpx

from ctoops import __version__, activity, retry
from ctoops.errors import CtoopsError, UpstreamError
from ctoops.redact import mask_url, redact

MAX_BODY = 64 << 20  # bytes: far above any real answer (a usage page is a few MB at most)

Handler = Callable[[str, str, dict[str, str], bytes], tuple[int, dict[str, str], bytes]]


def sleep(seconds: float) -> None:
    """The one place ctoops waits between attempts; tests replace it (``conftest.py``)."""
    time.sleep(seconds)


class ErrorModel(Protocol):
    """What a backend adapter knows about its API's failures.

    ``who``: the service in messages ("the OpenCTO worker", "OpenAI"); ``setting``: the
    setting that names its address, for transport failures ("--api-url / OPENCTO_API_BASE_URL").
    """

    who: str
    setting: str

    def read_error(self, status: int, headers: Mapping[str, str], content: bytes) -> retry.ApiError:
        """The failed answer's meaning, from its status, headers and body."""
        ...

    def to_exception(self, error: retry.ApiError, tried: str) -> CtoopsError:
        """The ctoops error (with its exit code) for a failure that will not be retried."""
        ...


@dataclass(frozen=True)
class Response:
    """A successful answer: ``data`` is the parsed JSON body (non-integer numbers as exact
    Decimals); ``request_id`` is OpenAI's ``x-request-id`` when one came back."""

    status: int
    data: Any
    request_id: str | None


def loads(content: bytes) -> Any:
    """JSON with every non-integer number kept as an exact ``Decimal`` (money stays exact)."""
    return json.loads(content, parse_float=Decimal)


class FunctionTransport(httpx.BaseTransport):
    """Serves requests in-process from ``handler(method, path_with_query, headers, body)``.

    This is how the sandbox answers without sockets; the backends above it cannot tell.
    """

    def __init__(self, handler: Handler) -> None:
        self._handler = handler

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        target = request.url.raw_path.decode("ascii")
        status, headers, body = self._handler(request.method, target, dict(request.headers), request.read())
        return httpx.Response(status, headers=headers, content=body, request=request)


class HttpClient:
    """JSON over HTTP to one service, with retries.

    ``timeout`` (s) bounds each network operation and, in total, each attempt. ``log``
    receives one line per attempt (shown with ``-v``); ``notify`` the retry notices that are
    always shown. Both get text that is already redacted. ``sleep`` defaults to this module's
    ``sleep``, looked up at each wait.
    """

    def __init__(
        self,
        base_url: str,
        *,
        errors: ErrorModel,
        token: str | None,
        timeout: float,
        max_retries: int,
        trace_id: str | None = None,
        log: Callable[[str], None] | None = None,
        notify: Callable[[str], None] | None = None,
        headers: Mapping[str, str] | None = None,
        transport: httpx.BaseTransport | None = None,
        sleep: Callable[[float], None] | None = None,
        max_wait: float = retry.MAX_WAIT,
        max_body: int = MAX_BODY,
    ) -> None:
        self.errors = errors
        self.who = errors.who
        self.base_url = base_url.rstrip("/")
        self.max_retries = max_retries
        self.trace_id = trace_id
        self._log = log or (lambda line: None)
        self._notify = notify or (lambda line: None)
        self._sleep = sleep
        self._max_wait = max_wait
        self._max_body = max_body
        self._timeout = timeout
        base_headers = {"user-agent": f"ctoops/{__version__}", "accept": "application/json"}
        if token:
            base_headers["authorization"] = f"Bearer {token}"
        base_headers.update(headers or {})
        self._client = httpx.Client(
            base_url=self.base_url,
            headers=base_headers,
            timeout=httpx.Timeout(timeout),
            transport=transport,
            follow_redirects=False,
        )
        if transport is None:
            from ctoops import deadline

            deadline.install(self._client)

    def close(self) -> None:
        self._client.close()

    def __enter__(self) -> HttpClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- requests ---------------------------------------------------------------------

    def get(self, path: str, params: Mapping[str, Any] | None = None) -> Response:
        return self.request("GET", path, params=params)

    def request(
        self,
        method: str,
        path: str,
        *,
        params: Mapping[str, Any] | list[tuple[str, Any]] | None = None,
        json_body: Any = None,
    ) -> Response:
        """Send until a success, a final failure, or the retries run out; errors as ctoops errors."""
        allowed = self.max_retries + 1
        for attempt in range(1, allowed + 1):
            request = self._client.build_request(
                method, path, params=params, json=json_body, headers=self._trace_headers()
            )
            shown = redact(request.url.raw_path.decode("ascii"))
            t0 = time.monotonic()
            try:
                status, headers, content = self._attempt(request)
            except httpx.TransportError as exc:
                ms = (time.monotonic() - t0) * 1000
                reason = _transport_reason(exc, self._timeout)
                self._log(f"{method} {shown} -> {reason} in {ms:.0f} ms ({self._ids(attempt, None)})")
                if attempt < allowed:
                    self._wait(retry.backoff(attempt), f"{self.who} {reason}", attempt)
                    continue
                fix = "raise --timeout, or check the service's status"
                if not isinstance(exc, httpx.TimeoutException):
                    fix = f"check {self.errors.setting} and the network"
                raise UpstreamError(
                    f"{self.who} at {mask_url(self.base_url)} {reason} ({_attempts(attempt)}); {fix}"
                ) from None
            ms = (time.monotonic() - t0) * 1000
            request_id = headers.get("x-request-id")
            self._log(f"{method} {shown} -> {status} in {ms:.0f} ms ({self._ids(attempt, request_id)})")
            if 200 <= status < 300:
                return Response(status, self._parse_success(status, headers, content), request_id)
            if 300 <= status < 400:
                raise self._redirected(status, headers)
            error = self.errors.read_error(status, headers, content)
            decision = retry.decide(status, headers, error, attempt, max_wait=self._max_wait)
            if decision.retry and attempt < allowed:
                self._wait(decision.wait, f"{error.origin} answered {error.label}", attempt)
                continue
            tried = _attempts(attempt)
            if decision.reason:
                tried = f"{tried}; not retried: {decision.reason}"
            raise self.errors.to_exception(error, tried)
        raise AssertionError("unreachable")  # pragma: no cover

    def _attempt(self, request: httpx.Request) -> tuple[int, httpx.Headers, bytes]:
        """One exchange within the total deadline, the body read up to ``max_body`` bytes."""
        from ctoops import deadline

        with deadline.within(self._timeout):
            response = self._client.send(request, stream=True)
            try:
                parts: list[bytes] = []
                size = 0
                for part in response.iter_bytes():
                    size += len(part)
                    if size > self._max_body:
                        raise UpstreamError(
                            f"{self.who} sent an answer larger than {self._max_body >> 20} MiB "
                            f"(status {response.status_code}); ctoops stopped reading it"
                        )
                    parts.append(part)
            except httpx.DecodingError as exc:
                raise UpstreamError(f"{self.who} sent a body that cannot be decoded ({exc})") from None
            finally:
                response.close()
        return response.status_code, response.headers, b"".join(parts)

    def _redirected(self, status: int, headers: Mapping[str, str]) -> UpstreamError:
        """A 3xx is never followed (it would carry the credential to wherever it points): exit 4,
        naming where it pointed, the URL masked."""
        from ctoops.backends.envelope import message_excerpt

        location = headers.get("location")
        where = f" to {message_excerpt(mask_url(location))}" if location else " with no location"
        return UpstreamError(
            f"{self.who} at {mask_url(self.base_url)} answered {status} (a redirect{where}); ctoops does "
            f"not follow redirects, so the credential stays with the host you set: check {self.errors.setting}",
            status=status,
        )

    def _wait(self, seconds: float, why: str, attempt: int) -> None:
        act = activity.current()
        who = f"{act.name}: " if act else ""
        self._notify(f"{who}{why}; retrying in {seconds:.1f}s (retry {attempt} of {self.max_retries})")
        if act:
            act.waited_s += seconds
        (self._sleep or sleep)(seconds)

    def _trace_headers(self) -> dict[str, str]:
        if not self.trace_id:
            return {}
        span = os.urandom(8).hex()
        return {"x-opencto-trace-id": self.trace_id, "traceparent": f"00-{self.trace_id}-{span}-01"}

    def _ids(self, attempt: int, request_id: str | None) -> str:
        parts = [f"attempt {attempt}/{self.max_retries + 1}"]
        if self.trace_id:
            parts.append(f"trace {self.trace_id}")
        if request_id:
            from ctoops.backends.envelope import message_excerpt

            parts.append(f"x-request-id {message_excerpt(request_id, 80)}")  # redacted, one line, cut
        return ", ".join(parts)

    def _parse_success(self, status: int, headers: Mapping[str, str], content: bytes) -> Any:
        try:
            return loads(content)
        except (ValueError, UnicodeDecodeError, RecursionError) as exc:
            from ctoops.backends.envelope import excerpt, message_excerpt

            ctype = message_excerpt(headers.get("content-type") or "none", 80)
            raise UpstreamError(
                f"{self.who} answered {status} but the body is not JSON "
                f"({_json_problem(exc, content)}; content-type {ctype}): {excerpt(content)!r}"
            ) from None


def _attempts(n: int) -> str:
    return "after 1 attempt" if n == 1 else f"after {n} attempts"


def _transport_reason(exc: httpx.TransportError, timeout: float) -> str:
    if isinstance(exc, httpx.ConnectTimeout):
        return f"did not accept a connection within {timeout:g}s"
    if isinstance(exc, httpx.TimeoutException):
        return f"did not answer within {timeout:g}s"
    text = redact(str(exc) or type(exc).__name__)
    if "refused" in text.lower():
        return "refused the connection"
    if isinstance(exc, httpx.RemoteProtocolError):
        return f"closed the connection before a whole answer arrived ({text})"
    return f"could not be reached ({text})"


def _json_problem(exc: Exception, content: bytes) -> str:
    if not content.strip():
        return "the body is empty"
    if isinstance(exc, RecursionError):
        return "nested too deeply to read"
    if isinstance(exc, json.JSONDecodeError) and content.lstrip()[:1] in (b"{", b"["):
        return f"{exc.msg} at byte {exc.pos} of {len(content)}: the JSON is cut short or corrupt"
    return redact(str(exc))[:120]
