"""ctoops realtime: runbook step 3, the realtime path."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import click

from ctoops.commands._options import (
    check_json_fields,
    connect_options,
    format_option,
    pass_app,
    realtime_options,
    session_options,
)

if TYPE_CHECKING:
    from ctoops.checks import CheckResult
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
    "connect",
    "detail",
]
# with the connect stage: the session's figures (ms from the monotonic clock; tokens as
# response.done's usage names them, null when not measured, never 0 for "unknown")
SESSION_FIELDS = [
    "auth",
    "websocketUrl",
    "mintMs",
    "upgradeMs",
    "sessionCreatedMs",
    "sessionUpdatedMs",
    "firstDeltaMs",
    "responseDoneMs",
    "totalMs",
    "input_tokens",
    "output_tokens",
    "total_tokens",
    "sessionId",
    "sessionModel",
    "subprotocol",
    "stage",
    "closeCode",
    "closeReason",
    "sessionDetail",
]


@click.group()
def realtime() -> None:
    """Validate the realtime path (runbook step 3)."""


@realtime.command("check")
@realtime_options
@click.option(
    "--connect/--no-connect",
    default=True,
    show_default=True,
    help="Open a Realtime WebSocket session with the minted secret, as the dashboard does.",
)
@click.option(
    "--roundtrip",
    is_flag=True,
    help="Also one tiny text exchange; spends tokens (tens of text tokens, reported).",
)
@connect_options
@format_option
@pass_app
def realtime_check(
    app: AppContext,
    model: str,
    min_ttl: float,
    connect: bool,
    roundtrip: bool,
    auth: str,
    connect_timeout: float,
    fmt: str,
) -> None:
    """Mint a realtime client secret, judge it, and open a Realtime session with it.

    Mint: via the worker, POST /api/v1/realtime/token for --workspace; via OpenAI
    (--via openai), POST /realtime/client_secrets. The secret must be non-empty and valid
    at least --min-ttl.

    Connect (on by default): open the WebSocket the dashboard opens, at OPENAI_BASE_URL
    turned into ws(s)://.../realtime?model=M, with the secret in the subprotocol
    `openai-insecure-api-key.<secret>` (or, with --auth header, `Authorization: Bearer`);
    wait for session.created (its model must be M), send a text-only session.update, wait
    for session.updated, and close before any response is created.

    \b
    Cost: nothing without --roundtrip: no response is created, so no tokens are
          used. --roundtrip sends one word and asks for a one-word text answer
          (max 16 output tokens); the tokens response.done reports are shown.
    Shown: mint, upgrade, session.created, session.updated, first delta and total
           times in ms; session id and model; the secret only as ****abcd.

    \b
    Exit 1: no secret, an empty one, or one expiring sooner than --min-ttl; OpenAI
            rejected the worker's key (OPENAI_ERROR); the upgrade refused (HTTP
            4xx), an error event (invalid_api_key, session_expired,
            beta_api_shape_disabled, ...), a close before session.created, a model
            mismatch. The message names the stage and the cause.
    Exit 4: OpenAI unreachable, a stage timed out (--connect-timeout), a 5xx or
            a server_error, a dropped connection.
    Exit 5: rate limited (429 after honouring retryAfterSeconds, a 429 upgrade,
            rate_limit_exceeded or insufficient_quota).
    """
    from ctoops.checks import finish, run_checks
    from ctoops.checks.realtime import SharedMint, session_check
    from ctoops.checks.realtime import realtime_check as build
    from ctoops.errors import BadInput
    from ctoops.render import emit, stdout_is_tty

    if roundtrip and not connect:
        raise BadInput("--roundtrip needs the connect stage: drop --no-connect")
    check_json_fields(FIELDS + (SESSION_FIELDS if connect else []))  # before the mint
    s = app.settings
    backend = app.backend()
    mint = SharedMint(lambda: backend.mint_realtime_secret(model, s.workspace))
    checks = [("realtime_token", build(backend, model=model, min_ttl=min_ttl, workspace=s.workspace, mint=mint))]
    if connect:
        options = session_options(app, model, auth, roundtrip, connect_timeout)
        checks.append(("realtime_session", session_check(mint, options, mint_reported=True, log=app.log)))
    # one after the other: the mint is realtime_token's (its retries and waits are named so)
    results = run_checks(checks, concurrency=1)
    record = _record(app, model, results, auth if connect else None)
    if fmt == "table" and stdout_is_tty():
        # one block, every value whole (a field/value table cut the URL and the session's detail)
        shown = {k: _as_text(k, v) for k, v in record.items()}
        emit(shown, "table", columns=list(shown), blocks=True)
    elif fmt == "table":
        emit([{"field": k, "value": v} for k, v in record.items()], "table", columns=["field", "value"])
    else:
        emit(record, fmt, columns=FIELDS + (SESSION_FIELDS if connect else []) + ["errorCode"])
    finish(results, "realtime check")


def _as_text(field: str, value: Any) -> str:
    """A record value as a person reads it: unix seconds also as UTC, null as empty."""
    from ctoops.dates import iso_second

    if value is None:
        return ""
    if field == "expiresAt" and isinstance(value, (int, float)):
        return f"{value} ({iso_second(value)})"
    if isinstance(value, bool):
        return "yes" if value else "no"
    return str(value)


def _record(app: AppContext, model: str, results: list[CheckResult], auth: str | None) -> dict[str, Any]:
    """One flat record: the mint's fields (the contract's), then the session's when it ran."""
    s = app.settings
    token = results[0]
    record: dict[str, Any] = {
        "ok": all(r.ok and not r.skipped for r in results),
        "secretHint": token.data.get("secretHint"),
        "expiresAt": token.data.get("expiresAt"),
        "ttlSeconds": token.data.get("ttlSeconds"),
        "latencyMs": round(token.latency_ms, 1),
        "waitedMs": round(token.waited_ms, 1),
        "model": token.data.get("model", model),
        "traceId": app.trace_id,
        "via": s.via,
        "sandbox": s.sandbox,
        "connect": auth is not None,
        "detail": token.detail,
    }
    if auth is not None:
        session = results[1]
        record.update({k: session.data.get(k) for k in SESSION_FIELDS if k != "sessionDetail"})
        record["auth"] = auth
        record["sessionDetail"] = ("skipped: " if session.skipped else "") + session.detail
        if record["secretHint"] is None:
            record["secretHint"] = session.data.get("secretHint")
    if token.data.get("modelAsked"):  # the secret names another model: noted, not failed
        record["modelAsked"] = token.data["modelAsked"]
    code = next((r.data["errorCode"] for r in results if not r.ok and r.data.get("errorCode")), None)
    if code:
        record["errorCode"] = code
    return record
