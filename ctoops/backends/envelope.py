"""What every adapter's error reading shares: bodies that are not JSON, safe excerpts, and the
ctoops errors for answers no API envelope explains.

The envelopes themselves are read by their adapters: the worker's (``{error, code, status,
details}``, and ``OPENAI_ERROR`` wrapping OpenAI's body as a string) in ``opencto.py``,
OpenAI's (``{"error": {message, type, param, code}}``) in ``openai.py``.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from typing import Any

from ctoops.errors import BadInput, CtoopsError, NotAuthenticated, RateLimited, UpstreamError
from ctoops.redact import redact
from ctoops.retry import ApiError

NOT_JSON = object()  # what ``try_json`` returns for a body that is not JSON


def try_json(content: bytes | str) -> Any:
    """The parsed body (exact Decimals for non-integers), or ``NOT_JSON``."""
    from ctoops.http import loads

    try:
        return loads(content.encode("utf-8") if isinstance(content, str) else content)
    except (ValueError, UnicodeDecodeError, RecursionError):
        return NOT_JSON


def excerpt(content: bytes | str, limit: int = 160) -> str:
    """A short, single-line, redacted view of a body: an HTML page's title, else its text.

    Redacted first, then cut, so a cut never leaves part of a secret unrecognised.
    """
    text = content.decode("utf-8", errors="replace") if isinstance(content, bytes) else content
    text = text[:65536]
    title = re.search(r"<title[^>]*>(.*?)</title>", text, re.IGNORECASE | re.DOTALL)
    if title:
        text = title.group(1)
    else:
        text = re.sub(r"<(script|style)\b.*?</\1>", " ", text, flags=re.IGNORECASE | re.DOTALL)
        text = re.sub(r"<[^>]+>", " ", text)
    return _one_line(text, limit)


MESSAGE_LIMIT = 300  # characters of an upstream error message shown (OpenAI's run to ~250)


def message_excerpt(text: Any, limit: int = MESSAGE_LIMIT) -> str:
    """An upstream error message (OpenAI's ``error.message``, the worker's ``error``, a
    Cloudflare ``errors[].message``) as it may be shown: one line, control characters as
    spaces, redacted, then cut to ``limit`` characters (an 8 MB message stays a line)."""
    return _one_line(text if isinstance(text, str) else str(text), limit)


def _one_line(text: str, limit: int) -> str:
    """``text`` (its first 64 KiB) on one line, C0/DEL/C1 controls as spaces, redacted, cut."""
    text = re.sub(r"[\x00-\x1f\x7f-\x9f]+", " ", text[:65536])
    text = redact(re.sub(r"\s+", " ", text).strip())
    if len(text) > limit:
        text = text[: limit - 1] + "…"
    return text


def not_json(status: int, headers: Mapping[str, str], content: bytes, origin: str) -> ApiError:
    """A failure whose body is not JSON: an HTML error page from a proxy or CDN, or text."""
    ctype = message_excerpt(headers.get("content-type") or "no content type", 80)  # a header is the server's text
    return ApiError(
        status,
        origin,
        message=excerpt(content),
        is_json=False,
        details={"contentType": ctype},
    )


def generic_exception(error: ApiError, tried: str, who: str) -> CtoopsError:
    """The ctoops error for a failure no envelope explained (not JSON, or an unknown shape)."""
    status = error.status
    if not error.is_json:
        reason = _reason(status)
        text = (
            f"{who} answered {status}{reason} with {error.details.get('contentType')}, not JSON "
            f"({tried}): {error.message!r}"
        )
        if status == 429:
            return RateLimited(text, status=status)
        return UpstreamError(text, status=status)
    said = f"{error.message!r}"
    if status in (401, 403):
        return NotAuthenticated(f"{who} refused the credential ({status}): {said}", status=status)
    if status == 429:
        return RateLimited(f"{who} answered 429 ({tried}): {said}", status=status)
    if status == 400:
        return BadInput(f"{who} refused the request (400): {said}", status=status)
    return UpstreamError(f"{who} answered {status} ({tried}): {said}", status=status)


def unknown_shape(status: int, body: Any, origin: str) -> ApiError:
    """JSON that is no known error envelope: kept as a short, redacted excerpt."""
    text = json.dumps(body, default=str, ensure_ascii=False) if body is not NOT_JSON else ""
    return ApiError(status, origin, message=excerpt(text))


def _reason(status: int) -> str:
    from http import HTTPStatus

    try:
        return f" {HTTPStatus(status).phrase}"
    except ValueError:
        return ""
