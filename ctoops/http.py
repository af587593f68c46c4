"""HTTP for every backend: the only module that imports httpx.

It owns timeouts, retries (exponential backoff with jitter; ``retry-after-ms``,
``Retry-After`` and the worker's body-only ``details.retryAfterSeconds`` honoured; quota and
billing 429s never retried; any single wait capped), the trace headers sent to the worker,
the redacted ``-v`` log line per attempt, and the translation of every transport or status
failure into a ctoops error with its exit code (``ctoops.errors``).
"""

from __future__ import annotations

import email.utils
import json
import os
import random
import re
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC
from decimal import Decimal
from typing import Any

import httpx

from ctoops import __version__
from ctoops.errors import (
    BadInput,
    CtoopsError,
    NotAuthenticated,
    OpenAIRejected,
    RateLimited,
    UpstreamError,
)
from ctoops.redact import redact

MAX_WAIT = 60.0  # the longest single wait ctoops accepts (the worker's windows are 60 s)
BACKOFF_INITIAL = 0.5
BACKOFF_MAX = 8.0
RETRY_STATUSES = frozenset({408, 409, 429})
# OpenAI 429s that no retry can fix (openai-api.md §6.3): quota and billing.
NO_RETRY_CODES = frozenset(
    {
        "insufficient_quota",
        "credit_balance_exhausted",
        "organization_spend_limit_exceeded",
        "project_spend_limit_exceeded",
        "organization_usage_limit_exceeded",
    }
)
SERVICES = {"opencto": "the OpenCTO worker", "openai": "OpenAI", "cloudflare": "Cloudflare"}
# a service's own error envelope, parsed by its adapter: (status, parsed body or None, "after N attempts")
# -> the error to raise, or None to fall back to the generic one
Describe = Callable[[int, Any, str], "CtoopsError | None"]

Handler = Callable[[str, str, dict[str, str], bytes], tuple[int, dict[str, str], bytes]]


@dataclass(frozen=True)
class Response:
    status: int
    data: Any  # the parsed JSON body; non-integer numbers as exact Decimals
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
    """JSON over HTTP to one service (``opencto`` or ``openai``), with retries.

    ``log`` receives one line per attempt (shown with ``-v``); ``notify`` receives the
    retry notices that are always shown. Both get text that is already redacted.
    """

    def __init__(
        self,
        base_url: str,
        *,
        service: str,
        token: str | None,
        timeout: float,
        max_retries: int,
        trace_id: str | None = None,
        log: Callable[[str], None] | None = None,
        notify: Callable[[str], None] | None = None,
        headers: Mapping[str, str] | None = None,
        transport: httpx.BaseTransport | None = None,
        sleep: Callable[[float], None] = time.sleep,
        max_wait: float = MAX_WAIT,
        auth_fix: str | None = None,
        describe: Describe | None = None,
    ) -> None:
        self.service = service
        self._describe = describe
        self.auth_fix = auth_fix or (
            "run `ctoops auth login` or set OPENCTO_TOKEN"
            if service == "opencto"
            else "check OPENAI_API_KEY or run `ctoops keys set --local`"
        )
        self.who = SERVICES[service]
        self.base_url = base_url.rstrip("/")
        self.max_retries = max_retries
        self.trace_id = trace_id
        self._log = log or (lambda line: None)
        self._notify = notify or (lambda line: None)
        self._sleep = sleep
        self._max_wait = max_wait
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
        attempts_allowed = self.max_retries + 1
        for attempt in range(1, attempts_allowed + 1):
            request = self._client.build_request(
                method, path, params=params, json=json_body, headers=self._trace_headers()
            )
            shown = redact(request.url.raw_path.decode("ascii"))
            t0 = time.monotonic()
            try:
                response = self._client.send(request)
                response.read()
            except httpx.TransportError as exc:
                ms = (time.monotonic() - t0) * 1000
                reason = _transport_reason(exc, self._timeout)
                self._log(f"{method} {shown} -> {reason} in {ms:.0f} ms ({self._ids(attempt, None)})")
                if attempt < attempts_allowed:
                    wait = _backoff(attempt)
                    self._notify(
                        f"{self.who} {reason}; retrying in {wait:.1f}s (retry {attempt} of {self.max_retries})"
                    )
                    self._sleep(wait)
                    continue
                raise UpstreamError(
                    f"{self.who} at {self.base_url} {reason} ({_attempts(attempt)}); "
                    f"{_transport_fix(exc, self.service)}"
                ) from None
            except httpx.HTTPError as exc:
                raise UpstreamError(f"{self.who} answered unreadably: {exc}") from None

            ms = (time.monotonic() - t0) * 1000
            request_id = response.headers.get("x-request-id")
            self._log(f"{method} {shown} -> {response.status_code} in {ms:.0f} ms ({self._ids(attempt, request_id)})")
            if response.is_success:
                return Response(response.status_code, self._parse_success(response), request_id)
            body = _try_json(response.content)
            retry, wait, why_not = self._retry_plan(response, body, attempt)
            if retry and attempt < attempts_allowed:
                self._notify(
                    f"{self.who} answered {_status_words(response.status_code, body)}; "
                    f"retrying in {wait:.1f}s (retry {attempt} of {self.max_retries})"
                )
                self._sleep(wait)
                continue
            raise self._error(response, body, attempt, why_not)
        raise AssertionError("unreachable")  # pragma: no cover

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
            parts.append(f"x-request-id {request_id}")
        return ", ".join(parts)

    def _parse_success(self, response: httpx.Response) -> Any:
        try:
            return loads(response.content)
        except (ValueError, UnicodeDecodeError) as exc:
            raise UpstreamError(
                f"{self.who} answered {response.status_code} but the body is not JSON "
                f"({_json_problem(exc, response.content)}; "
                f"content-type {response.headers.get('content-type') or 'none'}): "
                f"{_excerpt(response.content)!r}"
            ) from None

    # -- retry policy -------------------------------------------------------------------

    def _retry_plan(self, response: httpx.Response, body: Any, attempt: int) -> tuple[bool, float, str | None]:
        """(retry?, wait seconds, why not retried when it was retryable by status)."""
        status = response.status_code
        should = response.headers.get("x-should-retry", "").lower()
        if should == "false":
            return False, 0.0, "the server said not to retry (x-should-retry: false)"
        retryable = should == "true" or status in RETRY_STATUSES or status >= 500
        if not retryable:
            return False, 0.0, None
        oa_code, oa_type, _ = _openai_error(body)
        if status == 429 and (oa_code in NO_RETRY_CODES or oa_type == "insufficient_quota"):
            return False, 0.0, "a quota or billing limit, which no retry can fix"
        wait = _server_wait(response.headers, body)
        if wait is None:
            return True, _backoff(attempt), None
        if wait > self._max_wait:
            return False, wait, f"it asks to wait {wait:.0f}s, more than ctoops waits ({self._max_wait:.0f}s)"
        return True, wait + random.uniform(0, 0.25), None

    # -- errors -------------------------------------------------------------------------

    def _error(self, response: httpx.Response, body: Any, attempt: int, why_not: str | None) -> CtoopsError:
        status = response.status_code
        tried = _attempts(attempt)
        if why_not:
            tried = f"{tried}; not retried further: {why_not}"
        if self._describe is not None:
            described = self._describe(status, None if body is _NOT_JSON else body, tried)
            if described is not None:
                return described
        if body is _NOT_JSON:
            ctype = response.headers.get("content-type") or "no content type"
            text = (
                f"{self.who} answered {status} {response.reason_phrase} with {ctype}, not JSON "
                f"({tried}): {_excerpt(response.content)!r}"
            )
            if status == 429:
                return RateLimited(text, status=status)
            return UpstreamError(text, status=status)

        if isinstance(body, dict) and isinstance(body.get("error"), dict):
            return self._openai_error(status, body, tried)
        if isinstance(body, dict) and isinstance(body.get("error"), str):
            return self._worker_error(status, body, tried)
        excerpt = _excerpt(response.content)
        if status in (401, 403):
            return NotAuthenticated(f"{self.who} refused the credential ({status}): {excerpt!r}", status=status)
        if status == 429:
            return RateLimited(f"{self.who} answered 429 ({tried}): {excerpt!r}", status=status)
        if status == 400:
            return BadInput(f"{self.who} refused the request (400): {excerpt!r}", status=status)
        return UpstreamError(f"{self.who} answered {status} ({tried}): {excerpt!r}", status=status)

    def _openai_error(self, status: int, body: dict[str, Any], tried: str) -> CtoopsError:
        code, type_, message = _openai_error(body)
        label = code or type_ or "error"
        said = f"{status} {label}: {message}"
        if status in (401, 403) and self.service == "openai":
            return NotAuthenticated(
                f"OpenAI refused the key ({said}); {self.auth_fix}",
                status=status,
                code=code,
            )
        subject = "OpenAI" if self.service == "openai" else "OpenAI (through the worker)"
        if status == 429:
            text = f"{subject} answered {said} ({tried})"
        elif status in (401, 403):
            text = (
                f"OpenAI refused the worker's OpenAI key ({said}); save a valid key with "
                "`ctoops keys set` or fix the worker's OPENAI_API_KEY secret"
            )
        elif status >= 500:
            text = f"{subject} failed ({said}; {tried})"
        else:
            text = f"{subject} refused the request ({said})"
        return OpenAIRejected(text, status=status, code=code, type=type_, openai_message=message)

    def _worker_error(self, status: int, body: dict[str, Any], tried: str) -> CtoopsError:
        code = body.get("code")
        message = str(body.get("error"))
        details = body.get("details")
        label = f"{status} {code}" if code else str(status)
        if code == "OPENAI_ERROR":
            inner = details
            if isinstance(details, str):
                parsed = _try_json(details.encode("utf-8"))
                inner = parsed if parsed is not _NOT_JSON else details
            if isinstance(inner, dict) and isinstance(inner.get("error"), dict):
                return self._openai_error(status, inner, tried)
            return OpenAIRejected(
                f"OpenAI rejected the worker's request ({label}: {message}; {_excerpt(str(inner).encode())!r})",
                status=status,
                code=None,
                type=None,
                openai_message=str(inner),
            )
        extra = ""
        for key in ("detail", "raw"):
            if body.get(key):
                extra = f" ({key}: {_excerpt(json.dumps(body[key], default=str).encode())})"
        said = f"{label}: {message}{extra}"
        if status == 401:
            return NotAuthenticated(
                f"the OpenCTO worker refused the token ({said}): {self.auth_fix}",
                status=status,
                code=code,
            )
        if status == 403:
            return NotAuthenticated(f"the OpenCTO worker refused access ({said})", status=status, code=code)
        if status == 429:
            limit = ""
            if isinstance(details, dict) and details.get("bucket"):
                limit = f" on bucket {details['bucket']} ({details.get('limit')} per {details.get('windowSeconds')}s)"
            return RateLimited(
                f"the OpenCTO worker rate-limited ctoops{limit} ({said}; {tried})", status=status, code=code
            )
        if status == 400:
            return BadInput(f"the OpenCTO worker refused the request ({said})", status=status, code=code)
        if status == 404:
            return UpstreamError(
                f"the OpenCTO worker has no such route ({said}): is --api-url {self.base_url} the "
                "OpenCTO API worker, and is it recent enough?",
                status=status,
                code=code,
            )
        if code == "CONFIG_ERROR":
            return UpstreamError(
                f"the OpenCTO worker is not configured ({said}); runbook step 1: "
                "`wrangler secret put OPENAI_API_KEY` on the worker",
                status=status,
                code=code,
            )
        return UpstreamError(f"the OpenCTO worker answered {said} ({tried})", status=status, code=code)


# -- helpers ------------------------------------------------------------------------------

_NOT_JSON = object()


def _try_json(content: bytes) -> Any:
    try:
        return loads(content)
    except (ValueError, UnicodeDecodeError):
        return _NOT_JSON


def _openai_error(body: Any) -> tuple[str | None, str | None, str]:
    if isinstance(body, dict) and isinstance(body.get("error"), dict):
        err = body["error"]
        return err.get("code"), err.get("type"), str(err.get("message") or "")
    return None, None, ""


def _status_words(status: int, body: Any) -> str:
    if isinstance(body, dict):
        if isinstance(body.get("error"), str) and body.get("code"):
            return f"{status} {body['code']}"
        code, type_, _ = _openai_error(body)
        if code or type_:
            return f"{status} {code or type_}"
    return str(status)


def _server_wait(headers: Mapping[str, str], body: Any) -> float | None:
    """The delay the server asked for: retry-after-ms, Retry-After, or the worker's body."""
    value = headers.get("retry-after-ms")
    if value:
        try:
            return max(0.0, float(value) / 1000)
        except ValueError:
            pass
    value = headers.get("retry-after")
    if value:
        try:
            return max(0.0, float(value))
        except ValueError:
            pass
        try:
            when = email.utils.parsedate_to_datetime(value)
        except (TypeError, ValueError, IndexError):
            when = None
        if when is not None:
            if when.tzinfo is None:
                when = when.replace(tzinfo=UTC)
            return max(0.0, when.timestamp() - time.time())
    if isinstance(body, dict) and isinstance(body.get("details"), dict):
        seconds = body["details"].get("retryAfterSeconds")
        if isinstance(seconds, (int, float, Decimal)) and not isinstance(seconds, bool):
            return max(0.0, float(seconds))
    return None


def _backoff(attempt: int) -> float:
    """0.5 s, 1 s, 2 s ... capped at 8 s, each scaled down by up to 25% (openai-python's)."""
    delay = min(BACKOFF_INITIAL * 2 ** (attempt - 1), BACKOFF_MAX)
    return delay * (1 - 0.25 * random.random())


def _attempts(n: int) -> str:
    return "after 1 attempt" if n == 1 else f"after {n} attempts"


def _transport_reason(exc: httpx.TransportError, timeout: float) -> str:
    if isinstance(exc, httpx.ConnectTimeout):
        return f"did not accept a connection within {timeout:g}s"
    if isinstance(exc, httpx.TimeoutException):
        return f"did not answer within {timeout:g}s"
    text = str(exc) or type(exc).__name__
    if "refused" in text.lower():
        return "refused the connection"
    if isinstance(exc, httpx.RemoteProtocolError):
        return f"closed the connection before a whole answer arrived ({text})"
    return f"could not be reached ({text})"


def _transport_fix(exc: httpx.TransportError, service: str) -> str:
    if isinstance(exc, httpx.TimeoutException):
        return "raise --timeout, or check the service's status"
    setting = {"opencto": "--api-url / OPENCTO_API_BASE_URL", "cloudflare": "CLOUDFLARE_BASE_URL"}.get(
        service, "OPENAI_BASE_URL"
    )
    return f"check {setting} and the network"


def _json_problem(exc: Exception, content: bytes) -> str:
    if not content.strip():
        return "the body is empty"
    if isinstance(exc, json.JSONDecodeError) and content.lstrip()[:1] in (b"{", b"["):
        return f"{exc.msg} at byte {exc.pos} of {len(content)}: the JSON is cut short or corrupt"
    return str(exc)


def _excerpt(content: bytes, limit: int = 160) -> str:
    """A short, single-line, sanitized view of a body: an HTML page's title, else its text."""
    text = content.decode("utf-8", errors="replace")
    title = re.search(r"<title[^>]*>(.*?)</title>", text, re.IGNORECASE | re.DOTALL)
    if title:
        text = title.group(1)
    else:
        text = re.sub(r"<(script|style)\b.*?</\1>", " ", text, flags=re.IGNORECASE | re.DOTALL)
        text = re.sub(r"<[^>]+>", " ", text)
    text = re.sub(r"[\x00-\x1f\x7f]+", " ", text)
    text = re.sub(r"\s+", " ", text).strip()
    if len(text) > limit:
        text = text[: limit - 1] + "…"
    return redact(text)
