"""The parameters each runbook operation takes, and their rules: the same types as the CLI's
options (``ctoops.params``), so ``[step.with]`` and ``-p`` accept what the command would."""

from __future__ import annotations

from typing import Any

import click

from ctoops.errors import BadInput
from ctoops.params import Flag, Fraction, Milliseconds, Names, ParamType, Seconds, Text, WholeNumber
from ctoops.usage.budget import AmountText

WINDOWS = ("1m", "5m", "15m", "1h", "1d")
ROUTE_GROUPS = ("realtime_token", "cto_openai_proxy")
SMOKE_CHECKS = ("realtime_token", "realtime_session", "models", "usage", "workspace_key")
_TTL = click.FloatRange(min=0)
_AUTH = click.Choice(["subprotocol", "header"])  # how realtime_session sends the secret
_CONNECT_TIMEOUT = Seconds(120)  # per stage of the WebSocket session

# operation -> parameter -> rule; every step also takes max_latency_ms
PARAMETERS: dict[str, dict[str, ParamType]] = {
    "smoke": {
        "only": Names(SMOKE_CHECKS),
        "skip": Names(SMOKE_CHECKS),
        "model": Text(),
        "min_ttl": _TTL,
        "auth": _AUTH,
        "connect_timeout": _CONNECT_TIMEOUT,
    },
    "realtime check": {
        "model": Text(),
        "min_ttl": _TTL,
        "connect": Flag(),
        "roundtrip": Flag(),
        "auth": _AUTH,
        "connect_timeout": _CONNECT_TIMEOUT,
    },
    "models list": {"match": Text()},
    "keys validate": {},
    "usage check": {},
    "usage costs": {  # `ctoops usage costs`'s options (ctoops.checks.costs)
        "start": Text(),
        "end": Text(),
        "bucket": click.Choice(["1d", "1mo"]),
        "group_by": Names(["project_id", "line_item"]),
        "forecast": Flag(),
        "budget": AmountText(),
        "budget_by": Names(),
        "fail_on_forecast": Flag(),
        "concurrency": WholeNumber(1, 16),
        "output": Text(),
        "csv_dialect": click.Choice(["default", "excel-eu"]),
    },
    "errors trend": {
        "sources": Names(),
        # with no sources and a Cloudflare token: which Cloudflare source counts (auto: observability, else graphql)
        "source": click.Choice(("auto", "observability", "graphql")),
        "window": click.Choice(WINDOWS),
        "since": Text(),
        "until": Text(),
        "buckets": Names(ROUTE_GROUPS),
        "max_429_rate": Fraction(),
        "max_5xx_rate": Fraction(),
        "min_requests": WholeNumber(1, 10**9),
    },
}
COMMON: dict[str, ParamType] = {"max_latency_ms": Milliseconds()}
OPERATIONS = tuple(PARAMETERS)


def check_params(operation: str, params: dict[str, Any], where: str) -> dict[str, Any]:
    """``params`` converted by ``operation``'s rules; BadInput (exit 2) naming ``where`` and
    the key for an unknown parameter or a value that breaks its rule."""
    from ctoops.runbook.book import convert

    rules = {**PARAMETERS[operation], **COMMON}
    out = {}
    for key, value in params.items():
        if key not in rules:
            raise BadInput(f"{where}: {operation!r} takes no parameter {key!r} (it takes: {', '.join(sorted(rules))})")
        out[key] = convert(rules[key], value, where, key)
    if operation == "usage costs":
        from ctoops.checks.costs import check_params as costs_rules

        costs_rules(out, where)
    if operation == "errors trend":
        from ctoops.dates import parse_instant

        for key in ("since", "until"):
            if out.get(key):
                parse_instant(out[key], key)
    return out
