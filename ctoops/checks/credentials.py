"""The credentials family: an OpenAI key (with OpenAI itself), the workspace's key on the
worker, the OpenCTO token, and the worker's health.

What each proves, and no more (opencto-worker-api.md, "Which key the worker uses"): the
current worker calls OpenAI with its own ``OPENAI_API_KEY`` and never a workspace's saved key,
so through the worker ctoops can prove only that a key is *listed*. Whether OpenAI accepts a
key is proved only by calling OpenAI with it (``openai_key_check``).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from ctoops.checks import Check, Outcome, clock
from ctoops.dates import DAY, day_start
from ctoops.errors import CheckFailed, NotAuthenticated

if TYPE_CHECKING:
    from ctoops.backends.base import Backend

PROVIDER = "openai"
UNPROVABLE = (
    "not proved: that OpenAI accepts it. The worker never sends a workspace key to OpenAI (it "
    "uses its own OPENAI_API_KEY), so no call through the worker can test it; "
    '`printf %s "$KEY" | ctoops keys validate --stdin` asks OpenAI directly'
)


def openai_key_check(backend: Backend, hint: str, source: str, admin: bool) -> Check:
    """A cheap authenticated OpenAI call with the key: ``GET /models``, or for an admin key a
    one-day costs page. A key OpenAI rejects (401/403) is a failed check (exit 1) naming
    OpenAI's code; a quota 429 stays exit 5, an outage exit 4."""

    who = "the sandbox's simulated OpenAI" if backend.sandbox else "OpenAI"

    def check() -> Outcome:
        try:
            if admin:
                from ctoops.backends.base import UsageRequest

                day = day_start(clock.now()) - DAY
                backend.costs_page(UsageRequest("costs", day, day + DAY, "1d", limit=1))
                return Outcome(f"{who} accepted the admin key {hint} from {source} (costs API)")
            models = backend.list_models()
        except NotAuthenticated as exc:
            raise CheckFailed(
                f"{who} rejected the {'admin ' if admin else ''}key {hint} from {source} "
                f"({exc.status} {exc.code or 'error'}): {exc.format_message()}",
                status=exc.status,
                code=exc.code,
            ) from None
        return Outcome(f"{who} accepted the key {hint} from {source}: {len(models)} models", {"models": len(models)})

    return check


def worker_key_check(backend: Backend, workspace: str) -> Check:
    """The workspace's OpenAI key is listed on the worker: passes with its hint and says what
    it cannot prove; fails (exit 1) when none is saved."""

    def check() -> Outcome:
        keys = [k for k in backend.list_keys(workspace) if k.provider == PROVIDER]
        if not keys:
            raise CheckFailed(
                f"no OpenAI key is saved for workspace {workspace!r} on the worker: run "
                f"`ctoops --workspace {workspace} keys set` (the current worker does not use it for "
                "OpenAI calls either way; it uses its own OPENAI_API_KEY)"
            )
        key = keys[0]
        when = f", updated {key.updated_at}" if key.updated_at else ""
        return Outcome(
            f"listed, hint {key.key_hint} for workspace {workspace!r}{when}; {UNPROVABLE}",
            {"keyHint": key.key_hint, "workspaceId": workspace, "provedByOpenAI": False},
        )

    return check


def health_check(backend: Backend) -> Check:
    """``/api/v1/health`` says ``healthy``. That proves only that the script runs: it checks
    neither D1 nor the OpenAI key (opencto-worker-api.md)."""

    def check() -> Outcome:
        from ctoops.backends.envelope import message_excerpt

        body = backend.health()
        status = body.get("status")
        if status != "healthy":  # the worker's text, cut as a message is
            raise CheckFailed(f"the worker reports status {message_excerpt(repr(status), 80)}")
        when = message_excerpt(body["timestamp"], 80) if body.get("timestamp") is not None else "an unknown time"
        return Outcome(f"healthy at {when} (proves the script runs, no more)")

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
