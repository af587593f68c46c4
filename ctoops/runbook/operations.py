"""Runbook operations: each turns a step's checked parameters into the checks it runs.

An operation is named after its ctoops command and builds the same checks that command runs
(``ctoops.checks``), so a runbook step and the command agree on every verdict and message.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from ctoops.checks import Check
from ctoops.errors import BadInput

if TYPE_CHECKING:
    from ctoops.backends.base import Backend
    from ctoops.checks.realtime import SessionOptions

# how realtime_session connects, from (model, auth, roundtrip, connect_timeout seconds)
SessionFactory = Callable[[str, str, bool, float], "SessionOptions"]


@dataclass(frozen=True)
class Context:
    """What operations need from the run: the backend (built on first use), the workspace,
    how the Realtime WebSocket is reached (``session``), where ``-v`` lines go (``log``)."""

    backend: Callable[[], Backend]
    workspace: str
    via: str
    sandbox: bool = False
    trace_id: str = ""  # the run's, for what a step writes (a workbook's About sheet)
    target: str = ""
    session: SessionFactory | None = None
    log: Callable[[str], None] | None = None
    # Cloudflare counts for step 5 when a Cloudflare token is configured (commands/runbook.py):
    # (source, since_ms, until_ms, window, buckets) -> trend rows
    cloudflare: Callable[[str, int | None, int | None, str, tuple[str, ...] | None], list[dict[str, Any]]] | None = None

    def session_options(self, model: str, params: dict[str, Any], roundtrip: bool = False) -> SessionOptions:
        """``realtime_session``'s settings from a step's ``auth`` and ``connect_timeout``."""
        if self.session is None:
            raise BadInput("this run cannot open a Realtime WebSocket session (no connector given)")
        from ctoops.realtime_probe import DEFAULT_STAGE_TIMEOUT

        auth = params.get("auth", "subprotocol")
        return self.session(model, auth, roundtrip, params.get("connect_timeout", DEFAULT_STAGE_TIMEOUT))


Operation = Callable[[Context, dict[str, Any]], list[tuple[str, Check]]]


def smoke(ctx: Context, params: dict[str, Any]) -> list[tuple[str, Check]]:
    from ctoops.checks import smoke as plan
    from ctoops.checks.realtime import DEFAULT_MIN_TTL, DEFAULT_MODEL

    names = plan.select(params.get("only", ()), params.get("skip", ()), workspace_explicit=False, via=ctx.via)
    model = params.get("model", DEFAULT_MODEL)
    return plan.plan(
        ctx.backend(),
        names,
        workspace=ctx.workspace,
        model=model,
        min_ttl=params.get("min_ttl", DEFAULT_MIN_TTL),
        session=lambda: ctx.session_options(model, params),
        log=ctx.log,
    )


def realtime(ctx: Context, params: dict[str, Any]) -> list[tuple[str, Check]]:
    """Step 3: mint and judge the secret (``realtime_token``) and, unless ``connect`` is
    false, open a session with it (``realtime_session``); one mint, both run concurrently."""
    from ctoops.checks.realtime import DEFAULT_MIN_TTL, DEFAULT_MODEL, SharedMint, realtime_check, session_check

    backend = ctx.backend()
    model = params.get("model", DEFAULT_MODEL)
    mint = SharedMint(lambda: backend.mint_realtime_secret(model, ctx.workspace))
    token = realtime_check(
        backend, model=model, min_ttl=params.get("min_ttl", DEFAULT_MIN_TTL), workspace=ctx.workspace, mint=mint
    )
    roundtrip = bool(params.get("roundtrip", False))
    if not params.get("connect", True):
        if roundtrip:
            raise BadInput("roundtrip = true needs connect = true")
        return [("realtime_token", token)]
    options = ctx.session_options(model, params, roundtrip)
    return [
        ("realtime_token", token),
        ("realtime_session", session_check(mint, options, mint_reported=True, log=ctx.log)),
    ]


def models(ctx: Context, params: dict[str, Any]) -> list[tuple[str, Check]]:
    from ctoops.checks.proxies import models_check

    return [("models", models_check(ctx.backend(), params.get("match")))]


def keys_validate(ctx: Context, params: dict[str, Any]) -> list[tuple[str, Check]]:
    """Step 2: the workspace's key is listed (what OpenAI thinks of it cannot be proved
    through the worker), and the models proxy answers (OpenAI accepts the key the worker
    uses: its OPENAI_API_KEY on current workers)."""
    from ctoops.checks.credentials import worker_key_check
    from ctoops.checks.proxies import models_check

    if ctx.via != "opencto":
        raise BadInput("`keys validate` in a runbook checks the worker's key: it needs --via opencto")
    backend = ctx.backend()
    return [("workspace_key", worker_key_check(backend, ctx.workspace)), ("models_proxy", models_check(backend))]


def usage(ctx: Context, params: dict[str, Any]) -> list[tuple[str, Check]]:
    from ctoops.checks.proxies import usage_check

    return [("usage", usage_check(ctx.backend()))]


def usage_costs(ctx: Context, params: dict[str, Any]) -> list[tuple[str, Check]]:
    """Costs for a range, with forecasts and a budget gate (the command's parameters)."""
    from ctoops.checks.costs import costs_check

    check = costs_check(
        ctx.backend(), params, via=ctx.via, sandbox=ctx.sandbox, trace_id=ctx.trace_id, target=ctx.target
    )
    return [("costs", check)]


def errors_trend(ctx: Context, params: dict[str, Any]) -> list[tuple[str, Check]]:
    """Step 5: 429/5xx rates from the given log sources (the sandbox reads its sample), else
    from Cloudflare when a Cloudflare token is configured (Workers Observability, else GraphQL,
    over ``since``, default the last hour); skipped, not passed, when there is no source or
    nothing to judge."""
    from ctoops.checks import Skip
    from ctoops.checks.rates import Thresholds, rates_check

    sources: list[Any] = list(params.get("sources", ()))
    thresholds = Thresholds(params.get("max_429_rate"), params.get("max_5xx_rate"), params.get("min_requests", 10))

    def rows() -> list[dict[str, Any]]:
        from ctoops import trends
        from ctoops.checks.clock import now
        from ctoops.dates import parse_instant

        paths = sources
        since, until = params.get("since"), params.get("until")
        window = params.get("window", "5m")
        since_ms = parse_instant(since, "since", now=now()) if since else None
        until_ms = parse_instant(until, "until", now=now()) if until else None
        if not paths and not ctx.sandbox and ctx.cloudflare is not None:
            buckets = tuple(params.get("buckets") or ()) or None
            return ctx.cloudflare(params.get("source", "auto"), since_ms, until_ms, window, buckets)
        if not paths and ctx.sandbox:
            from ctoops.sandbox.tail import sample_tail_log

            paths = [("sandbox sample", sample_tail_log())]
        if not paths:
            raise Skip(
                "no log source given: run with -p rates.sources=PATH (a wrangler tail capture or a Logpush folder), "
                "or set CLOUDFLARE_API_TOKEN to count from Cloudflare"
            )
        trend = trends.analyze(
            paths,
            window=window,
            buckets=params.get("buckets") or None,
            since_ms=since_ms,
            until_ms=until_ms,
        )
        return trend.rows

    return [("rates", rates_check(rows, thresholds))]


OPERATIONS: dict[str, Operation] = {
    "smoke": smoke,
    "realtime check": realtime,
    "models list": models,
    "keys validate": keys_validate,
    "usage check": usage,
    "usage costs": usage_costs,
    "errors trend": errors_trend,
}
