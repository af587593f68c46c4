"""Masking of secrets: the one place that decides how a secret may be shown.

A secret is shown as ``****`` plus its last four characters, never whole. ``redact`` masks
every secret this process has seen (``register``) and anything that looks like one (OpenAI
keys, realtime client secrets, bearer tokens) in a text that is about to be printed, logged
or written to a report.
"""

from __future__ import annotations

import re
import threading

_known: set[str] = set()
_lock = threading.Lock()

# Shapes of secrets we know: OpenAI keys (sk-, sk-proj-, sk-admin-, sk-svcacct-), realtime
# client secrets (ek_), bearer tokens in headers or messages.
_PATTERNS = [
    re.compile(r"\bsk-[A-Za-z0-9_-]{12,}"),
    re.compile(r"\bek_[A-Za-z0-9_-]{12,}"),
    re.compile(r"(?i)(?<=bearer )[A-Za-z0-9._~+/=-]{8,}"),
]


def mask(secret: str | None) -> str:
    """``****`` + the last 4 characters; short or empty secrets show nothing of themselves."""
    if not secret:
        return "(none)"
    if len(secret) < 8:
        return "****"
    return "****" + secret[-4:]


def register(secret: str | None) -> None:
    """Remember a secret so that ``redact`` masks it wherever it appears."""
    if secret and len(secret) >= 4:
        with _lock:
            _known.add(secret)


def redact(text: str) -> str:
    if not text:
        return text
    with _lock:
        known = sorted(_known, key=len, reverse=True)
    for secret in known:
        if secret in text:
            text = text.replace(secret, mask(secret))
    for pattern in _PATTERNS:
        text = pattern.sub(lambda m: mask(m.group(0)), text)
    return text
