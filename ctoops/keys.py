"""Credentials core: the rules a key must meet, and the checks that prove a token or a key works.

Nothing here prints or prompts; the commands do. Secrets only leave this module masked.
"""

from __future__ import annotations

import re
import time
from typing import TYPE_CHECKING

from ctoops.checks import Check, Outcome
from ctoops.errors import BadInput, CheckFailed, NotAuthenticated
from ctoops.redact import mask

if TYPE_CHECKING:
    from ctoops.backends.base import Backend

MIN_KEY_LENGTH = 8  # the worker's rule: "apiKey is required and must be at least 8 characters"
PROVIDER = "openai"


def clean_secret(raw: str, what: str = "key") -> str:
    """The secret without surrounding whitespace; exit 2 with the rule when it breaks one."""
    lines = [line for line in raw.splitlines() if line.strip()]
    if not lines:
        raise BadInput(f"no {what} was given (the input was empty)")
    if len(lines) > 1:
        raise BadInput(f"expected the {what} on one line, got {len(lines)} lines")
    secret = lines[0].strip()
    if re.search(r"\s", secret):
        raise BadInput(f"the {what} contains whitespace; paste only the {what}")
    return secret


def check_api_key(key: str) -> str:
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


# -- checks ----------------------------------------------------------------------------------


def openai_key_check(backend: Backend, hint: str, source: str, admin: bool) -> Check:
    """A cheap authenticated call with the key: GET /models, or for an admin key a one-day
    costs page. A key OpenAI rejects is a failed check (exit 1) naming OpenAI's code."""

    def check() -> Outcome:
        try:
            if admin:
                from ctoops.backends.base import UsageRequest
                from ctoops.dates import DAY, day_start

                day = day_start(time.time()) - DAY
                backend.costs_page(UsageRequest("costs", day, day + DAY, "1d", limit=1))
                return Outcome(f"OpenAI accepted the admin key {hint} from {source} (costs API)")
            models = backend.list_models()
        except NotAuthenticated as exc:
            raise CheckFailed(
                f"OpenAI rejected the {'admin ' if admin else ''}key {hint} from {source} "
                f"({exc.status} {exc.code or 'error'}): {exc.format_message()}",
                status=exc.status,
                code=exc.code,
            ) from None
        return Outcome(f"OpenAI accepted the key {hint} from {source}: {len(models)} models", {"models": len(models)})

    return check


def worker_key_check(backend: Backend, workspace: str) -> Check:
    def check() -> Outcome:
        keys = [k for k in backend.list_keys(workspace) if k.provider == PROVIDER]
        if not keys:
            raise CheckFailed(
                f"no OpenAI key is saved for workspace {workspace!r} on the worker (it falls back to "
                f"its own OPENAI_API_KEY): run `ctoops --workspace {workspace} keys set`"
            )
        key = keys[0]
        when = f", updated {key.updated_at}" if key.updated_at else ""
        return Outcome(
            f"key {key.key_hint} saved for workspace {workspace!r}{when}",
            {"keyHint": key.key_hint, "workspaceId": workspace},
        )

    return check


def health_check(backend: Backend) -> Check:
    def check() -> Outcome:
        body = backend.health()
        status = body.get("status")
        if status != "healthy":
            raise CheckFailed(f"the worker reports status {status!r}")
        return Outcome(f"healthy at {body.get('timestamp', 'an unknown time')}")

    return check


def token_check(backend: Backend, workspace: str, hint: str, source: str) -> Check:
    """The token is accepted when an authenticated route answers anything but 401.

    A 403 means the token is good but the workspace is not the user's: the check passes and
    says so, since the token is what is being proved."""

    def check() -> Outcome:
        try:
            backend.list_keys(workspace)
        except NotAuthenticated as exc:
            if exc.status == 403:
                return Outcome(
                    f"token {hint} from {source} accepted, but workspace {workspace!r} is not yours (403)",
                    {"workspaceForbidden": True},
                )
            raise NotAuthenticated(
                f"the worker rejected the token {hint} from {source}: {exc.format_message()}",
                status=exc.status,
                code=exc.code,
            ) from None
        return Outcome(f"token {hint} from {source} accepted")

    return check
