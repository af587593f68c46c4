"""ctoops realtime: runbook step 3, the realtime path."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import click

from ctoops.commands._options import format_option, pass_app, realtime_options

if TYPE_CHECKING:
    from ctoops.context import AppContext

FIELDS = [
    "ok",
    "secretHint",
    "expiresAt",
    "ttlSeconds",
    "latencyMs",
    "waitedMs",
    "model",
    "traceId",
    "via",
    "sandbox",
    "detail",
]


@click.group()
def realtime() -> None:
    """Validate the realtime path (runbook step 3)."""


@realtime.command("check")
@realtime_options
@format_option
@pass_app
def realtime_check(app: AppContext, model: str, min_ttl: float, fmt: str) -> None:
    """Mint a realtime client secret and check it is non-empty and valid long enough.

    Via the worker: POST /api/v1/realtime/token for --workspace. Via OpenAI: POST
    /realtime/client_secrets (the GA `value` and the older `client_secret.value` shapes are
    both read). The secret is only ever shown as a hint (****abcd).

    \b
    Exit 1: no secret, an empty one, or one expiring sooner than --min-ttl; OpenAI
            rejected the worker's key (OPENAI_ERROR, with OpenAI's code).
    Exit 5: still rate limited after honouring the worker's retryAfterSeconds.
    """
    from ctoops.checks import finish, run_check
    from ctoops.checks.realtime import realtime_check as build
    from ctoops.render import emit

    s = app.settings
    check = build(app.backend(), model=model, min_ttl=min_ttl, workspace=s.workspace)
    result = run_check("realtime_token", check)
    record: dict[str, Any] = {
        "ok": result.ok,
        "secretHint": result.data.get("secretHint"),
        "expiresAt": result.data.get("expiresAt"),
        "ttlSeconds": result.data.get("ttlSeconds"),
        "latencyMs": round(result.latency_ms, 1),
        "waitedMs": round(result.waited_ms, 1),
        "model": result.data.get("model", model),
        "traceId": app.trace_id,
        "via": s.via,
        "sandbox": s.sandbox,
        "detail": result.detail,
    }
    if result.data.get("errorCode"):
        record["errorCode"] = result.data["errorCode"]
    if fmt == "table":
        emit([{"field": k, "value": v} for k, v in record.items()], "table", columns=["field", "value"])
    else:
        emit(record, fmt, columns=FIELDS)
    finish([result], "realtime check")
