"""The Cloudflare v4 REST API over ``ctoops.http``: the one place its envelope is read.

Every v4 answer is ``{"success": bool, "errors": [{"code": int, "message": str}],
"messages": [...], "result": ...}`` (``../shared/reference/cloudflare-live-sources.md`` §2.4,
§1.1). ``success: false`` is a failure even on HTTP 200, and every failure is named with
Cloudflare's codes (``[code 10000] Authentication error``). Exit codes: 401/403 and
authentication codes are 3 (the token), 404 and "does not exist" codes are 2 (a setting
names something that is not there), 429 is 5, anything else 4.

GraphQL (``<base>/graphql``) answers ``{"data", "errors"}`` instead; ``ctoops.cloudflare.graphql``
reads that, but header and token problems there can still come back in the v4 envelope, so
:class:`CloudflareErrors` (this API's ``ErrorModel`` for ``ctoops.http``) reads both.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from ctoops.errors import BadInput, CtoopsError, NotAuthenticated, RateLimited, UpstreamError

if TYPE_CHECKING:
    from ctoops.http import HttpClient
    from ctoops.retry import ApiError as ApiError_

DEFAULT_BASE_URL = "https://api.cloudflare.com/client/v4"
# v4 codes that mean the token, not the request [3P: Cloudflare API error listings; 10000 and
# 9109 are the ones seen for a token lacking a permission, 6003/6111 for a malformed header]
AUTH_CODES = frozenset({1000, 1001, 6003, 6111, 9103, 9106, 9109, 10000, 10001})
# "does not exist on your account" (10007, a script name or account mismatch [3P]) and
# "could not route ... perhaps your object identifier is invalid" (7003)
MISSING_CODES = frozenset({7000, 7003, 10007})
TOKEN_FIX = "check CLOUDFLARE_API_TOKEN (or run `ctoops auth login --cloudflare`) and the token's permissions"


@dataclass(frozen=True)
class ApiError:
    """One entry of the envelope's ``errors``."""

    code: int | None
    message: str

    def __str__(self) -> str:
        return f"[code {self.code}] {self.message}" if self.code is not None else self.message


def errors_of(body: Any) -> list[ApiError]:
    """The envelope's ``errors`` (also tolerates GraphQL's ``errors``, which have no code): the
    first 20, each message a short redacted excerpt (``message_excerpt``)."""
    from ctoops.backends.envelope import message_excerpt

    found = body.get("errors") if isinstance(body, dict) else None
    out = []
    for item in found[:20] if isinstance(found, list) else []:  # ``named`` shows three
        if isinstance(item, dict):
            code = item.get("code")
            number = code if isinstance(code, int) and not isinstance(code, bool) and abs(code) < 10**12 else None
            out.append(ApiError(number, message_excerpt(item.get("message") or "")))
        else:
            out.append(ApiError(None, message_excerpt(item)))
    return out


def named(errors: list[ApiError]) -> str:
    return "; ".join(str(e) for e in errors[:3]) or "no error given"


class CloudflareErrors:
    """Cloudflare's failures for ``ctoops.http`` (its ``ErrorModel``): the v4 envelope, and
    GraphQL's ``{data, errors}`` when that comes back on a non-2xx status."""

    who = "Cloudflare"
    setting = "CLOUDFLARE_BASE_URL"

    def read_error(self, status: int, headers: Any, content: bytes) -> ApiError_:
        from ctoops.backends.envelope import NOT_JSON, message_excerpt, not_json, try_json
        from ctoops.retry import ApiError as Failed

        body = try_json(content)
        if body is NOT_JSON:
            return not_json(status, headers, content, "a proxy in front of Cloudflare's API")
        found = errors_of(body)
        graphql = isinstance(body, dict) and "data" in body and "success" not in body
        return Failed(
            status,
            "Cloudflare GraphQL" if graphql else "Cloudflare",
            _first_code(found),
            None,
            named(found) if found else message_excerpt(str(body)[:65536], 160),
            details={"graphql": graphql, "errors": body.get("errors") if isinstance(body, dict) else None},
        )

    def to_exception(self, error: ApiError_, tried: str) -> CtoopsError:
        from ctoops.backends.envelope import generic_exception

        if not error.is_json:
            return generic_exception(error, tried, self.who)
        if error.details.get("graphql"):
            from ctoops.cloudflare.graphql import error as graphql_error

            return graphql_error(list(error.details.get("errors") or []), error.status)
        return describe(error.status, error.code, error.message, tried)


def describe(status: int, code: str | None, message: str, tried: str, what: str = "Cloudflare") -> CtoopsError:
    """The ctoops error for a failed v4 answer (``status`` >= 400, or ``success: false``)."""
    said = f"{what} answered {status}: {message}"
    codes = {int(code)} if code and code.isdigit() else set()
    if status in (401, 403) or codes & AUTH_CODES:
        return NotAuthenticated(f"{said}; {TOKEN_FIX}", status=status, code=code)
    if status == 404 or codes & MISSING_CODES:
        return BadInput(said, status=status, code=code)
    if status == 429:
        return RateLimited(f"{said} ({tried})", status=status, code=code)
    if 400 <= status < 500:
        return BadInput(said, status=status, code=code)
    return UpstreamError(f"{said} ({tried})", status=status, code=code)


def envelope_error(status: int, body: dict[str, Any]) -> CtoopsError:
    """The error for a v4 envelope with ``success`` not true (on any status)."""
    found = errors_of(body)
    return describe(status, _first_code(found), named(found), "after 1 attempt")


def _first_code(errors: list[ApiError]) -> str | None:
    for e in errors:
        if e.code is not None:
            return str(e.code)
    return None


class CloudflareApi:
    """JSON calls to the v4 API: ``call`` returns ``result``, or raises the named error.

    ``http`` is a ``ctoops.http.HttpClient`` for the base URL, built with :class:`CloudflareErrors`
    (retries, ``Retry-After``, ``-v`` lines and transport errors are its business).
    """

    def __init__(self, http: HttpClient) -> None:
        self.http = http

    @property
    def base_url(self) -> str:
        return self.http.base_url

    def call(self, method: str, path: str, *, params: Any = None, json_body: Any = None) -> Any:
        """``result`` of ``method path``; ``success: false`` on a 2xx raises like a 4xx would."""
        response = self.http.request(method, path, params=params, json_body=json_body)
        body = response.data
        if not isinstance(body, dict) or "success" not in body:
            raise UpstreamError(
                f"Cloudflare answered {method} {path} with {type(body).__name__}, not the v4 envelope "
                "({success, errors, messages, result}): is CLOUDFLARE_BASE_URL the v4 API?"
            )
        if body.get("success") is not True:
            raise envelope_error(response.status, body)
        return body.get("result")

    def call_envelope(self, method: str, path: str, *, params: Any = None, json_body: Any = None) -> dict[str, Any]:
        """The whole envelope (for ``result_info`` paging), after the same checks as ``call``."""
        response = self.http.request(method, path, params=params, json_body=json_body)
        body = response.data
        if not isinstance(body, dict) or "success" not in body:
            raise UpstreamError(f"Cloudflare answered {method} {path} without the v4 envelope")
        if body.get("success") is not True:
            raise envelope_error(response.status, body)
        return body


def make_http(app: Any, base_url: str, token: str) -> HttpClient:
    """An ``HttpClient`` for Cloudflare with the run's timeout, retries and stderr channels
    (no trace headers: those are the worker's)."""
    client: HttpClient = app.http(CloudflareErrors(), base_url, token)
    return client
