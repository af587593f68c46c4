"""Masking of secrets: the one place that decides how a secret may be shown.

A secret is shown as ``****`` plus its last four characters, never whole. ``redact`` masks,
in any text about to be printed, logged or written to a report:

* every secret this process has seen (``register``), in the forms it takes inside other
  text: as is, JSON-escaped, Python-``repr``-escaped and URL-encoded;
* any fragment of five or more characters of such a secret (after its well-known prefix
  ``sk-``, ``sk-proj-``, ``ek_`` ...), so a secret cut in two by an excerpt, or half-masked
  by a server (OpenAI echoes ``sk-VKMIs***...wjh3``), shows nothing of itself; except pieces
  shaped like words, capitalised names or numbers (``Token``, ``ADMIN``, ``14256``), which
  would rewrite ordinary text and data;
* anything shaped like one (OpenAI keys, realtime client secrets, bearer tokens).

Callers redact first and cut afterwards (``backends.envelope.excerpt``), so no cut can split
a secret before it is recognised. ``mask_url`` masks credentials carried in a URL.
"""

from __future__ import annotations

import re
import threading

FRAGMENT = 5  # characters: a run this long of a known secret is masked wherever it appears
_PREFIXES = ("sk-proj-", "sk-admin-", "sk-svcacct-", "sk-live-", "sk-", "ek_")
_lock = threading.Lock()
_known: set[str] = set()  # every form of every registered secret
_grams: dict[str, None] = {}  # FRAGMENT-long pieces of registered secrets (ordered set)
# pieces shaped like ordinary text, never masked as fragments (a whole secret still is):
# words (`proxy`, `Token`), names in capitals (`ADMIN`, `OPENAI_API`), and numbers, dates and
# times ("14256", "10.14", "09:30"), which data is full of: masking those rewrote amounts
# ("10.****34") and hid the setting a fix names ("OPENAI_****_KEY")
_WORDLIKE = re.compile(r"[a-z._/:-]+|[A-Z][a-z._/:-]+|[A-Z_./:-]+|[0-9.,:+/_-]+")
_seen: dict[str, str] = {}  # short texts already redacted, cleared when a secret is registered

# Shapes of secrets we know: OpenAI keys (sk-, sk-proj-, sk-admin-, sk-svcacct-), realtime
# client secrets (ek_), bearer tokens in headers or messages.
_PATTERNS = [
    re.compile(r"\bsk-[A-Za-z0-9_-]{12,}"),
    re.compile(r"\bek_[A-Za-z0-9_-]{12,}"),
    re.compile(r"(?i)(?<=bearer )[A-Za-z0-9._~+/=-]{8,}"),
]
# query parameters whose values are credentials (AWS presigned URLs, API keys, tokens)
_SECRET_PARAM = re.compile(r"(?i)(key|token|secret|password|passwd|signature|sig|credential|auth)")


def mask(secret: str | None) -> str:
    """``****`` + the last 4 characters; short or empty secrets show nothing of themselves."""
    if not secret:
        return "(none)"
    if len(secret) < 8:
        return "****"
    return "****" + secret[-4:]


def register(secret: str | None) -> None:
    """Remember a secret so that ``redact`` masks it, and its fragments, wherever they appear."""
    if not secret or len(secret) < 4:
        return
    import json  # here and below, not at the top: ``ctoops --help`` imports this module
    from urllib.parse import quote

    forms = {secret, json.dumps(secret)[1:-1], repr(secret)[1:-1], quote(secret, safe="")}
    body = secret
    for prefix in _PREFIXES:
        if body.startswith(prefix):
            body = body[len(prefix) :]
            break
    grams = [body[i : i + FRAGMENT] for i in range(len(body) - FRAGMENT + 1)] if len(secret) >= 8 else []
    # a piece shaped like a word, a name in capitals or a number would mask ordinary text and
    # data; a random secret's pieces almost all mix letters with digits or cases, so a cut
    # fragment of one still shows several matching pieces
    grams = [g for g in grams if not _WORDLIKE.fullmatch(g)]
    with _lock:
        _known.update(f for f in forms if len(f) >= 4)
        for gram in grams:
            _grams.setdefault(gram)
        _seen.clear()


def redact(text: str) -> str:
    """``text`` with every known secret, fragment of one, and secret-shaped token masked.

    Short texts are remembered until the next ``register``: table cells repeat (model ids,
    project ids), and a million-row output redacts each distinct value once."""
    if not text:
        return text
    if len(text) <= 256:
        done = _seen.get(text)
        if done is None:
            done = _redact(text)
            if len(_seen) < 65536:
                _seen[text] = done
        return done
    return _redact(text)


def _redact(text: str) -> str:
    with _lock:
        known = sorted(_known, key=len, reverse=True)
        grams = set(_grams)
    for secret in known:
        if secret in text:
            text = text.replace(secret, mask(secret))
    if grams and len(text) >= FRAGMENT:
        text = _mask_fragments(text, grams)
    for pattern in _PATTERNS:
        text = pattern.sub(lambda m: mask(m.group(0)), text)
    return text


def _mask_fragments(text: str, grams: set[str]) -> str:
    """Every run of text covered by known secret pieces becomes ``****``."""
    covered = bytearray(len(text))
    found = False
    for i in range(len(text) - FRAGMENT + 1):
        if text[i : i + FRAGMENT] in grams:
            covered[i : i + FRAGMENT] = b"\x01" * FRAGMENT
            found = True
    if not found:
        return text
    out = []
    i = 0
    while i < len(text):
        if covered[i]:
            j = i
            while j < len(text) and covered[j]:
                j += 1
            out.append("****")
            i = j
        else:
            out.append(text[i])
            i += 1
    return "".join(out)


def mask_url(url: str) -> str:
    """``url`` with a password in its userinfo and credential-like query values masked.

    ``https://user:pw@host/p?api_key=abc&x=1`` -> ``https://user:****@host/p?api_key=****&x=1``.
    """
    from urllib.parse import urlsplit, urlunsplit

    try:
        parts = urlsplit(url)
    except ValueError:
        return redact(url)
    netloc = parts.netloc
    if "@" in netloc:
        userinfo, host = netloc.rsplit("@", 1)
        user = userinfo.split(":", 1)[0]
        netloc = f"{user}:****@{host}" if ":" in userinfo else f"****@{host}"
    query = parts.query
    if query:
        pairs = []
        for piece in query.split("&"):
            name, sep, value = piece.partition("=")
            pairs.append(f"{name}=****" if sep and value and _SECRET_PARAM.search(name) else piece)
        query = "&".join(pairs)
    return redact(urlunsplit((parts.scheme, netloc, parts.path, query, parts.fragment)))


def url_secrets(url: str) -> list[str]:
    """The credentials a URL carries (userinfo, credential-like query values), to register."""
    from urllib.parse import urlsplit

    try:
        netloc, query = urlsplit(url)[1::2]
    except ValueError:  # 'https://[::1' or a bad port: split as RFC 3986 appendix B does
        match = re.match(r"^(?:[^:/?#]+:)?(?://([^/?#]*))?[^?#]*(?:\?([^#]*))?", url)
        netloc, query = (match.group(1) or "", match.group(2) or "") if match else ("", "")
    found = []
    if "@" in netloc:
        userinfo = netloc.rsplit("@", 1)[0]
        found.append(userinfo.split(":", 1)[1] if ":" in userinfo else userinfo)
    for piece in query.split("&"):
        name, sep, value = piece.partition("=")
        if sep and value and _SECRET_PARAM.search(name):
            found.append(value)
    return [f for f in found if f]


def forget() -> None:
    """Forget every registered secret. One process is one run, so ctoops never needs this;
    the test suite does, between tests that run in one process."""
    with _lock:
        _known.clear()
        _grams.clear()
        _seen.clear()
