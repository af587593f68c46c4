"""The rules a pasted key or token must meet before ctoops uses or sends it.

Nothing here prints or prompts; the commands do. Secrets only leave this module masked. The
checks that prove a key or token works are in ``ctoops.checks.credentials``.
"""

from __future__ import annotations

import re

from ctoops.errors import BadInput
from ctoops.redact import mask

MIN_KEY_LENGTH = 8  # the worker's rule: "apiKey is required and must be at least 8 characters"
PROVIDER = "openai"


def clean_secret(raw: str, what: str = "key") -> str:
    """The secret without surrounding whitespace; exit 2 with the rule when it breaks one
    (empty, several lines, inner whitespace, over 8192 characters, not printable ASCII)."""
    if len(raw.strip()) > 8192:
        raise BadInput(f"the {what} is over 8192 characters: not a {what} (a file piped by mistake?)")
    lines = [line for line in raw.splitlines() if line.strip()]
    if not lines:
        raise BadInput(f"no {what} was given (the input was empty)")
    if len(lines) > 1:
        raise BadInput(f"expected the {what} on one line, got {len(lines)} lines")
    secret = lines[0].strip()
    if re.search(r"\s", secret):
        raise BadInput(f"the {what} contains whitespace; paste only the {what}")
    return check_printable(secret, f"the {what}")


def check_printable(secret: str, where: str) -> str:
    """Exit 2 (never echoing it) when a credential holds a control or non-ASCII character:
    no header may carry it, and a library's ``repr`` of it would escape masking."""
    bad = re.search(r"[^\x21-\x7e]", secret)
    if bad:
        char = bad.group(0)
        name = {"\x00": "NUL", "\n": "a newline", "\r": "a carriage return", "\t": "a tab", " ": "a space"}.get(
            char, f"U+{ord(char):04X}"
        )
        raise BadInput(f"{where} contains {name}, which no credential holds; paste only the credential")
    return secret


def check_api_key(key: str) -> str:
    """The worker's rule for a saved key: at least 8 characters (exit 2 otherwise)."""
    if len(key) < MIN_KEY_LENGTH:
        raise BadInput(
            f"the key is {len(key)} characters; the worker requires at least {MIN_KEY_LENGTH} "
            "(apiKey must be at least 8 characters)"
        )
    return key


def key_warnings(key: str, admin: bool) -> list[str]:
    """Soft hints (the key is still used): OpenAI keys start with sk-, admin keys sk-admin-."""
    if admin and not key.startswith("sk-admin-"):
        return [f"{mask(key)} does not look like an OpenAI admin key (sk-admin-…); usage and costs need one"]
    if not key.startswith("sk-"):
        return [f"{mask(key)} does not look like an OpenAI key (sk-…)"]
    return []
