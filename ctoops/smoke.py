"""The validation checks of runbook steps 3 and 4, and the plan ``ctoops smoke`` runs.

* ``realtime_token``: mint a realtime client secret; it must be non-empty and valid for at
  least ``min_ttl`` seconds.
* ``models``: the models list answers (through the worker's proxy, or OpenAI's /models).
* ``usage``: usage for yesterday (UTC) answers in a documented shape.
* ``workspace_key``: the workspace's OpenAI key is listed on the worker; only when the
  workspace was chosen explicitly (flag, env or profile), or asked for with ``--only``.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING

from ctoops.backends.base import UsageRequest
from ctoops.checks import Check, Outcome
from ctoops.dates import DAY
from ctoops.dates import iso_second as _iso
from ctoops.errors import BadInput, CheckFailed, OpenAIRejected
from ctoops.redact import mask

if TYPE_CHECKING:
    from ctoops.backends.base import Backend

DEFAULT_MODEL = "gpt-realtime-1.5"  # the worker's default
DEFAULT_MIN_TTL = 60
CHECKS = ("realtime_token", "models", "usage", "workspace_key")


def now() -> float:
    """The wall clock the checks judge expiry and "yesterday" by (tests pin it to a recording's)."""
    return time.time()


def realtime_check(backend: Backend, *, model: str, min_ttl: float, workspace: str | None) -> Check:
    def check() -> Outcome:
        secret = backend.mint_realtime_secret(model, workspace)
        ttl = None if secret.expires_at is None else int(round(secret.expires_at - now()))
        data = {
            "model": secret.model or model,
            "secretHint": mask(secret.value) if secret.value else None,
            "expiresAt": secret.expires_at,
            "ttlSeconds": ttl,
        }
        if secret.value is None:
            raise CheckFailed("the answer holds no client secret (no clientSecret/value field)", data=data)
        if not secret.value.strip():
            raise CheckFailed("the client secret is empty", data=data)
        if secret.expires_at is None:
            raise CheckFailed(f"the client secret {mask(secret.value)} comes without an expiry", data=data)
        assert ttl is not None
        if ttl <= 0:
            raise CheckFailed(
                f"the client secret {mask(secret.value)} already expired {-ttl}s ago "
                f"(expiresAt {_iso(secret.expires_at)}; is this machine's clock right?)",
                data=data,
            )
        if ttl < min_ttl:
            raise CheckFailed(
                f"the client secret {mask(secret.value)} expires in {ttl}s, sooner than --min-ttl "
                f"{min_ttl:g}s (expiresAt {_iso(secret.expires_at)})",
                data=data,
            )
        return Outcome(
            f"client secret {mask(secret.value)} for {data['model']}, valid {ttl}s (until {_iso(secret.expires_at)})",
            data,
        )

    return check


def models_check(backend: Backend) -> Check:
    def check() -> Outcome:
        models = backend.list_models()
        if not models:
            raise CheckFailed("the model list is empty")
        return Outcome(f"{len(models)} models listed", {"models": len(models)})

    return check


def usage_check(backend: Backend) -> Check:
    """Usage for yesterday (UTC): the answer must be a documented shape."""

    def check() -> Outcome:
        from ctoops.usage import DATE_PARAM_MEANING, is_date_param_error, parse_usage

        end = int(now()) // DAY * DAY
        start = end - DAY
        try:
            body = backend.usage_page(UsageRequest("completions", start, end, "1d", (), limit=1))
        except OpenAIRejected as exc:
            if is_date_param_error(exc.openai_message):
                raise CheckFailed(
                    f"{exc.format_message()}: {DATE_PARAM_MEANING}", status=exc.status, code=exc.code
                ) from None
            raise
        page = parse_usage(body, "completions", (), "the usage answer")
        requests = sum(page.rows.column("num_model_requests"))
        shape = "organization usage page" if page.shape == "page" else "legacy /v1/usage list"
        return Outcome(
            f"usage for {_iso(start)[:10]}: {shape}, {requests} requests",
            {"usageShape": page.shape, "requests": requests},
        )

    return check


def select(only: Sequence[str], skip: Sequence[str], workspace_explicit: bool, via: str) -> list[str]:
    """The checks to run, in order. Unknown names and an empty selection exit 2."""
    unknown = [c for c in (*only, *skip) if c not in CHECKS]
    if unknown:
        raise BadInput(f"unknown check {unknown[0]!r}: the checks are {', '.join(CHECKS)}")
    if only:
        chosen = [c for c in CHECKS if c in only]
    else:
        chosen = [c for c in CHECKS if c != "workspace_key" or (workspace_explicit and via == "opencto")]
    chosen = [c for c in chosen if c not in skip]
    if not chosen:
        raise BadInput("nothing to check: --only/--skip left no check to run")
    return chosen


def plan(
    backend: Backend,
    names: Sequence[str],
    *,
    workspace: str,
    model: str = DEFAULT_MODEL,
    min_ttl: float = DEFAULT_MIN_TTL,
) -> list[tuple[str, Check]]:
    from ctoops.keys import worker_key_check

    builders: dict[str, Callable[[], Check]] = {
        "realtime_token": lambda: realtime_check(backend, model=model, min_ttl=min_ttl, workspace=workspace),
        "models": lambda: models_check(backend),
        "usage": lambda: usage_check(backend),
        "workspace_key": lambda: worker_key_check(backend, workspace),
    }
    return [(name, builders[name]()) for name in names]
