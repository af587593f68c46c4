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


@dataclass(frozen=True)
class Context:
    """What operations need from the run: the backend (built on first use), the workspace."""

    backend: Callable[[], Backend]
    workspace: str
    via: str
    sandbox: bool = False


Operation = Callable[[Context, dict[str, Any]], list[tuple[str, Check]]]


def smoke(ctx: Context, params: dict[str, Any]) -> list[tuple[str, Check]]:
    from ctoops.checks import smoke as plan
    from ctoops.checks.realtime import DEFAULT_MIN_TTL, DEFAULT_MODEL

    names = plan.select(params.get("only", ()), params.get("skip", ()), workspace_explicit=False, via=ctx.via)
    return plan.plan(
        ctx.backend(),
        names,
        workspace=ctx.workspace,
        model=params.get("model", DEFAULT_MODEL),
        min_ttl=params.get("min_ttl", DEFAULT_MIN_TTL),
    )


def realtime(ctx: Context, params: dict[str, Any]) -> list[tuple[str, Check]]:
    from ctoops.checks.realtime import DEFAULT_MIN_TTL, DEFAULT_MODEL, realtime_check

    check = realtime_check(
        ctx.backend(),
        model=params.get("model", DEFAULT_MODEL),
        min_ttl=params.get("min_ttl", DEFAULT_MIN_TTL),
        workspace=ctx.workspace,
    )
    return [("realtime_token", check)]


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


def errors_trend(ctx: Context, params: dict[str, Any]) -> list[tuple[str, Check]]:
    """Step 5: 429/5xx rates from the given log sources (the sandbox reads its sample);
    skipped, not passed, when there is no source or nothing to judge."""
    from ctoops.checks import Skip
    from ctoops.checks.rates import Thresholds, rates_check

    sources: list[Any] = list(params.get("sources", ()))
    thresholds = Thresholds(params.get("max_429_rate"), params.get("max_5xx_rate"), params.get("min_requests", 10))

    def rows() -> list[dict[str, Any]]:
        from ctoops import trends
        from ctoops.dates import parse_instant

        paths = sources
        if not paths and ctx.sandbox:
            from ctoops.sandbox.tail import sample_tail_log

            paths = [("sandbox sample", sample_tail_log())]
        if not paths:
            raise Skip(
                "no log source given: run with -p rates.sources=PATH (a wrangler tail capture or a Logpush folder)"
            )
        since, until = params.get("since"), params.get("until")
        trend = trends.analyze(
            paths,
            window=params.get("window", "5m"),
            buckets=params.get("buckets") or None,
            since_ms=parse_instant(since, "since") if since else None,
            until_ms=parse_instant(until, "until") if until else None,
        )
        return trend.rows

    return [("rates", rates_check(rows, thresholds))]


OPERATIONS: dict[str, Operation] = {
    "smoke": smoke,
    "realtime check": realtime,
    "models list": models,
    "keys validate": keys_validate,
    "usage check": usage,
    "errors trend": errors_trend,
}
