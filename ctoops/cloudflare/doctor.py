"""Which log sources can see this deployment now: the core of ``ctoops doctor logs``.

Each Cloudflare source is probed with one cheap, read-only call, and reported as a
:class:`Finding` (usable or not, what it would show, what would enable it):

* ``observability``: ``GET .../workers/scripts/{script}/script-settings`` (``observability
  {enabled, head_sampling_rate}``, cloudflare-python ``ScriptSetting`` [V]; the field may be
  absent [3P]), then ``telemetry/keys`` over the 7 days kept (the proof: events exist);
* ``graphql``: the zone (looked up from the host when not set) and its ``settings`` node
  (``enabled``, ``notOlderThan``, ``maxDuration``);
* ``live``: ``GET .../tails`` (listing the script's tails needs the tail permission; nothing is
  created);
* ``files`` is always usable; Logpush is reported from ``script-settings.logpush``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from ctoops.cloudflare.target import Target
from ctoops.errors import CtoopsError


@dataclass(frozen=True)
class Finding:
    """One source: ``usable`` is True, False, or None (not probed: no credentials)."""

    source: str
    usable: bool | None
    shows: str
    needs: str
    detail: str = ""

    def row(self) -> dict[str, Any]:
        state = {True: "yes", False: "no", None: "not probed"}[self.usable]
        return {"source": self.source, "usable": state, "shows": self.shows, "needs": self.needs, "detail": self.detail}


FILES = Finding(
    "files",
    True,
    "wrangler tail --format json captures, Logpush workers_trace_events NDJSON (files, folders, .gz, stdin)",
    "nothing: `ctoops errors trend FILE...`",
)
NEEDS = {
    "observability": "wrangler.toml [observability] enabled = true on the worker; a token with Workers Observability "
    "Read (CLOUDFLARE_API_TOKEN)",
    "graphql": "the worker on a route of a zone (not only *.workers.dev); a token with Analytics Read on the zone "
    "(CLOUDFLARE_ZONE_ID or Zone Read to look it up)",
    "live": "a token with Workers Tail Read on the account (CLOUDFLARE_ACCOUNT_ID)",
}
SHOWS = {
    "observability": "server-side counts per path, method, status and outcome, the last 7 days",
    "graphql": "the zone edge's counts per minute, path and status (also WAF 429s and 1101 pages)",
    "live": "every event as it happens (`--source live`), no history; sampled under heavy load",
}


def probe(target: Target, *, now_ms: Callable[[], int]) -> list[Finding]:
    """A finding per source (never raises for one source failing: that is its finding)."""
    findings = [FILES]
    settings = _script_settings(target)
    findings.append(_observability(target, settings, now_ms))
    findings.append(_graphql(target, now_ms))
    findings.append(_live(target))
    logpush = settings.get("logpush") if isinstance(settings, dict) else None
    findings.append(
        Finding(
            "logpush",
            None if logpush is None else bool(logpush),
            "months of archived events in R2/S3, read as files",
            "logpush = true on the worker and a Logpush job (Workers Paid)",
            "not reported by script-settings" if logpush is None else f"script-settings logpush = {bool(logpush)}",
        )
    )
    return findings


def unconfigured() -> list[Finding]:
    """The findings when no Cloudflare token is set: only files, the rest say what they need."""
    token = "CLOUDFLARE_API_TOKEN (or CF_API_TOKEN, or `ctoops auth login --cloudflare`), then: "
    return [FILES] + [Finding(s, None, SHOWS[s], token + NEEDS[s], "no Cloudflare token") for s in SHOWS]


def sandbox() -> list[Finding]:
    """The findings under ``--sandbox``: files, the built-in log sample, and the Cloudflare
    sources marked not simulated (the sandbox answers no Cloudflare API, so none is probed)."""
    sample = Finding(
        "sandbox sample",
        True,
        "ctoops' built-in sample of wrangler tail output (simulated traffic, not real logs)",
        "nothing: `ctoops --sandbox errors trend`",
    )
    return [FILES, sample] + [
        Finding(s, None, SHOWS[s], NEEDS[s], "not simulated: the sandbox answers no Cloudflare API") for s in SHOWS
    ]


def _why(exc: CtoopsError) -> str:
    return exc.format_message()


def _script_settings(target: Target) -> Any:
    try:
        return target.api.call(
            "GET", f"/accounts/{target.account_id()}/workers/scripts/{target.script()}/script-settings"
        )
    except CtoopsError as exc:
        return exc


def _observability(target: Target, settings: Any, now_ms: Callable[[], int]) -> Finding:
    from ctoops.cloudflare.observability import Observability
    from ctoops.cloudflare.span import Span

    name = "observability"
    notes = []
    if isinstance(settings, dict) and isinstance(settings.get("observability"), dict):
        obs = settings["observability"]
        rate = obs.get("head_sampling_rate")
        notes.append(f"script-settings: enabled = {obs.get('enabled')}, head_sampling_rate = {rate}")
        if obs.get("enabled") is False:
            return Finding(name, False, SHOWS[name], NEEDS[name], notes[0])
    elif isinstance(settings, CtoopsError):
        notes.append(f"script-settings unreadable: {_why(settings)}")
    try:
        now = now_ms()
        seen = Observability(target, now_ms=now_ms)._has_keys(Span(now - 7 * 86_400_000, now), target.script())
    except CtoopsError as exc:
        return Finding(name, False, SHOWS[name], NEEDS[name], "; ".join([*notes, _why(exc)]))
    notes.append("events of the script in the last 7 days" if seen else "no event of the script in the last 7 days")
    return Finding(name, seen, SHOWS[name], NEEDS[name], "; ".join(notes))


def _graphql(target: Target, now_ms: Callable[[], int]) -> Finding:
    import time

    from ctoops.cloudflare.graphql import BUDGET, Budget, GraphQL

    name = "graphql"
    try:
        budget = Budget(*BUDGET, clock=time.monotonic, sleep=lambda s: None, notify=lambda line: None)
        limits = GraphQL(target, now_ms=now_ms, budget=budget).limits()
    except CtoopsError as exc:
        return Finding(name, False, SHOWS[name], NEEDS[name], _why(exc))
    detail = (
        f"zone {target.zone_id()}: enabled = {limits.enabled}, history {limits.not_older_than // 86400} days, "
        f"at most {limits.max_duration // 3600} h per query"
    )
    return Finding(name, limits.enabled, SHOWS[name], NEEDS[name], detail)


def _live(target: Target) -> Finding:
    name = "live"
    try:
        tails = target.api.call("GET", f"/accounts/{target.account_id()}/workers/scripts/{target.script()}/tails")
    except CtoopsError as exc:
        return Finding(name, False, SHOWS[name], NEEDS[name], _why(exc))
    count = len(tails) if isinstance(tails, list) else 0
    return Finding(name, True, SHOWS[name], NEEDS[name], f"{count} tail(s) open now (at most 10 viewers per worker)")
