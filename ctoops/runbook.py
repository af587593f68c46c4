"""Declarative runbooks: TOML files of steps that ``ctoops runbook run`` walks in order.

A runbook::

    name = "openai-ops"
    title = "..."

    [[step]]
    name = "realtime"                 # unique; used in --param and in reports
    title = "3. Validate the realtime path"
    run = "realtime check"            # an operation, named after its ctoops command
    continue_on_failure = false       # default: a failed step stops the runbook
    instructions = "..."              # shown with the step (what it means, what to do)
    [step.with]                       # the operation's parameters and thresholds
    min_ttl = 60
    max_latency_ms = 3000             # any step: fail a check slower than this

    [[step]]
    name = "worker-secret"
    manual = true                     # not run: its instructions are shown
    instructions = "wrangler secret put OPENAI_API_KEY"

Operations: ``smoke`` (only, skip, model, min_ttl), ``realtime check`` (model, min_ttl),
``models list`` (match), ``keys validate`` (the worker's key for the workspace, and its
models proxy), ``usage check``, ``errors trend`` (sources, window, since, buckets,
max_429_rate, max_5xx_rate, min_requests; skipped when no source is given, except in the
sandbox, which reads its sample).
"""

from __future__ import annotations

import time
import tomllib
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ctoops.checks import Check, CheckResult, Outcome, run_checks, skipped
from ctoops.dates import iso_second as _iso
from ctoops.errors import BadInput, CheckFailed

if TYPE_CHECKING:
    from ctoops.backends.base import Backend

DEFAULT = "openai-ops"
STEP_KEYS = {"name", "title", "run", "manual", "continue_on_failure", "instructions", "with"}


@dataclass(frozen=True)
class Step:
    name: str
    title: str
    run: str | None
    manual: bool
    continue_on_failure: bool
    instructions: str
    params: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Runbook:
    name: str
    title: str
    description: str
    steps: tuple[Step, ...]
    path: str


@dataclass(frozen=True)
class Context:
    """What operations need from the run: the backend (built on first use), the workspace."""

    backend: Callable[[], Backend]
    workspace: str
    via: str
    sandbox: bool = False


# -- finding and loading ------------------------------------------------------------------------


def bundled() -> list[Path]:
    from importlib.resources import files

    folder = files("ctoops.runbooks")
    return sorted(Path(str(p)) for p in folder.iterdir() if p.name.endswith(".toml"))


def local_dirs(config_dir: Path) -> list[Path]:
    """Where local runbooks live: ./runbooks, then the config dir's runbooks/."""
    return [Path.cwd() / "runbooks", config_dir / "runbooks"]


def available(config_dir: Path) -> list[tuple[str, Path, str]]:
    """(name, path, where) for every runbook, local ones first; a local one shadows a
    bundled one of the same name."""
    found: list[tuple[str, Path, str]] = []
    seen: set[str] = set()
    shipped = {p.resolve(): p for p in bundled()}
    for folder in local_dirs(config_dir):
        for path in sorted(folder.glob("*.toml")) if folder.is_dir() else []:
            if path.stem not in seen and path.resolve() not in shipped:  # a source checkout's own
                found.append((path.stem, path, "local"))
                seen.add(path.stem)
    for path in shipped.values():
        found.append((path.stem, path, "bundled" if path.stem not in seen else "bundled (shadowed)"))
    return found


def find(name_or_path: str | None, config_dir: Path) -> Path:
    given = name_or_path or DEFAULT
    path = Path(given)
    if path.suffix == ".toml" or "/" in given:
        if not path.is_file():
            raise BadInput(f"no runbook file {given}")
        return path
    for name, candidate, where in available(config_dir):
        if name == given and where != "bundled (shadowed)":
            return candidate
    names = ", ".join(sorted({n for n, _, _ in available(config_dir)}))
    raise BadInput(f"no runbook named {given!r} (known: {names}); `ctoops runbook list` shows them")


def load(path: Path) -> Runbook:
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise BadInput(f"no runbook file {path}") from None
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise BadInput(f"runbook {path} is not valid TOML: {exc}") from None
    steps_data = data.get("step")
    if not isinstance(steps_data, list) or not steps_data:
        raise BadInput(f"runbook {path} has no [[step]] tables")
    steps = []
    names: set[str] = set()
    for i, raw in enumerate(steps_data, 1):
        where = f"runbook {path}, step {i}"
        if not isinstance(raw, dict):
            raise BadInput(f"{where}: a step must be a table")
        unknown = set(raw) - STEP_KEYS
        if unknown:
            raise BadInput(f"{where}: unknown key {sorted(unknown)[0]!r} (known: {', '.join(sorted(STEP_KEYS))})")
        name = raw.get("name")
        if not isinstance(name, str) or not name or name in names:
            raise BadInput(f"{where}: every step needs a unique `name`")
        names.add(name)
        manual = bool(raw.get("manual", False))
        run = raw.get("run")
        if manual == (run is not None):
            raise BadInput(f'{where} ({name}): give either `run = "<operation>"` or `manual = true`')
        if run is not None and run not in OPERATIONS:
            raise BadInput(f"{where} ({name}): unknown operation {run!r} (known: {', '.join(OPERATIONS)})")
        params = raw.get("with", {})
        if not isinstance(params, dict):
            raise BadInput(f"{where} ({name}): `with` must be a table")
        step = Step(
            name=name,
            title=str(raw.get("title") or name),
            run=run,
            manual=manual,
            continue_on_failure=bool(raw.get("continue_on_failure", False)),
            instructions=str(raw.get("instructions") or "").strip(),
            params=params,
        )
        _check_params(step, where)
        steps.append(step)
    return Runbook(
        name=str(data.get("name") or path.stem),
        title=str(data.get("title") or path.stem),
        description=str(data.get("description") or "").strip(),
        steps=tuple(steps),
        path=str(path),
    )


def override(runbook: Runbook, assignments: Sequence[str]) -> Runbook:
    """Apply ``STEP.KEY=VALUE`` overrides (VALUE read as TOML when it parses, else text)."""
    steps = {s.name: s for s in runbook.steps}
    for assignment in assignments:
        target, sep, text = assignment.partition("=")
        step_name, dot, key = target.partition(".")
        if not sep or not dot or not key:
            raise BadInput(f"--param {assignment!r}: expected STEP.KEY=VALUE")
        if step_name not in steps:
            raise BadInput(f"--param {assignment!r}: no step {step_name!r} (steps: {', '.join(steps)})")
        try:
            value = tomllib.loads(f"v = {text}")["v"]
        except tomllib.TOMLDecodeError:
            value = text
        step = replace(steps[step_name], params={**steps[step_name].params, key: value})
        _check_params(step, f"--param {assignment!r}")
        steps[step_name] = step
    return replace(runbook, steps=tuple(steps[s.name] for s in runbook.steps))


# -- running ------------------------------------------------------------------------------------


def execute(
    runbook: Runbook, ctx: Context, on_step: Callable[[int, Step, list[CheckResult]], None] | None = None
) -> list[CheckResult]:
    """Walk the steps in order; a failed step stops the rest unless it may continue."""
    results: list[CheckResult] = []
    stopped: str | None = None
    for number, step in enumerate(runbook.steps, 1):
        if step.manual:
            step_results = [skipped(step.name, "manual step: " + (step.instructions.splitlines() or [""])[0])]
        elif stopped:
            step_results = [skipped(step.name, f"not run: step {stopped!r} failed")]
        else:
            step_results = _run_step(step, ctx)
            if not all(r.ok for r in step_results) and not step.continue_on_failure:
                stopped = step.name
        results += step_results
        if on_step:
            on_step(number, step, step_results)
    return results


def _run_step(step: Step, ctx: Context) -> list[CheckResult]:
    params = dict(step.params)
    max_latency = params.pop("max_latency_ms", None)
    try:
        checks = OPERATIONS[step.run or ""](ctx, params)
    except BadInput as exc:
        return [CheckResult(step.name, False, exc.format_message(), 0.0, int(exc.exit_code), time.time())]
    named = [(step.name if len(checks) == 1 else f"{step.name}/{n}", c) for n, c in checks]
    results = run_checks(named)
    if max_latency is not None:
        results = [_latency_threshold(r, float(max_latency)) for r in results]
    return results


def _latency_threshold(result: CheckResult, limit_ms: float) -> CheckResult:
    if result.ok and not result.skipped and result.latency_ms > limit_ms:
        return replace(
            result,
            ok=False,
            exit_code=1,
            detail=f"{result.detail}; took {result.latency_ms:.0f} ms, over max_latency_ms {limit_ms:g}",
        )
    return result


# -- operations: (context, params) -> [(check name, check)]; they pop the params they use ---------


def _op_smoke(ctx: Context, params: dict[str, Any]) -> list[tuple[str, Check]]:
    from ctoops import smoke

    only = _names(params.pop("only", []))
    skip = _names(params.pop("skip", []))
    names = smoke.select(only, skip, workspace_explicit=False, via=ctx.via)
    return smoke.plan(
        ctx.backend(),
        names,
        workspace=ctx.workspace,
        model=str(params.pop("model", smoke.DEFAULT_MODEL)),
        min_ttl=float(params.pop("min_ttl", smoke.DEFAULT_MIN_TTL)),
    )


def _op_realtime(ctx: Context, params: dict[str, Any]) -> list[tuple[str, Check]]:
    from ctoops import smoke

    return [
        (
            "realtime_token",
            smoke.realtime_check(
                ctx.backend(),
                model=str(params.pop("model", smoke.DEFAULT_MODEL)),
                min_ttl=float(params.pop("min_ttl", smoke.DEFAULT_MIN_TTL)),
                workspace=ctx.workspace,
            ),
        )
    ]


def _op_models(ctx: Context, params: dict[str, Any]) -> list[tuple[str, Check]]:
    from ctoops.models import select_models

    pattern = params.pop("match", None)
    backend = ctx.backend()

    def check() -> Outcome:
        chosen = select_models(backend.list_models(), pattern)
        if not chosen:
            raise CheckFailed(f"no model matches {pattern!r}" if pattern else "the model list is empty")
        return Outcome(f"{len(chosen)} models" + (f" match {pattern!r}" if pattern else ""), {"models": len(chosen)})

    return [("models", check)]


def _op_keys_validate(ctx: Context, params: dict[str, Any]) -> list[tuple[str, Check]]:
    from ctoops.keys import worker_key_check
    from ctoops.smoke import models_check

    if ctx.via != "opencto":
        raise BadInput("`keys validate` in a runbook checks the worker's key: it needs --via opencto")
    backend = ctx.backend()
    return [
        ("workspace_key", worker_key_check(backend, ctx.workspace)),
        ("models_proxy", models_check(backend)),
    ]


def _op_usage(ctx: Context, params: dict[str, Any]) -> list[tuple[str, Check]]:
    from ctoops.smoke import usage_check

    return [("usage", usage_check(ctx.backend()))]


def _op_errors(ctx: Context, params: dict[str, Any]) -> list[tuple[str, Check]]:
    from ctoops.checks import Skip

    sources = params.pop("sources", [])
    sources = [sources] if isinstance(sources, str) else list(sources)
    window = str(params.pop("window", "5m"))
    since = params.pop("since", None)
    buckets = _names(params.pop("buckets", [])) or None
    from ctoops.trends.verdict import fraction

    max_429 = fraction(params.pop("max_429_rate", None), "rates.max_429_rate")
    max_5xx = fraction(params.pop("max_5xx_rate", None), "rates.max_5xx_rate")
    min_requests = int(params.pop("min_requests", 10))

    def check() -> Outcome:
        from ctoops import trends
        from ctoops.dates import parse_instant
        from ctoops.trends.verdict import breaches, summary

        paths: list[Any] = list(sources)
        if not paths and ctx.sandbox:
            from ctoops.backends.sandbox import sample_tail_log

            paths = [("sandbox sample", sample_tail_log())]
        if not paths:
            raise Skip(
                "no log source given: run with -p rates.sources=PATH (a wrangler tail capture or a Logpush folder)"
            )
        since_ms = parse_instant(str(since), "since") if since else None
        trend = trends.analyze(paths, window=window, buckets=buckets, since_ms=since_ms)
        judgement = breaches(trend.rows, max_429, max_5xx, min_requests)
        parts = [
            f"{s['bucket']} 429 {s['rate_429']:.1%} 5xx {s['rate_5xx']:.1%} of {s['requests']}"
            for s in summary(trend.rows, min_requests)
        ]
        if judgement.not_judged:
            parts.append(judgement.note())
        if trend.stats.malformed:
            parts.append(f"{trend.stats.malformed} log records skipped (first at {trend.stats.locations[0]})")
        detail = "; ".join(parts)
        if judgement.breaches:
            worst = max(judgement.breaches, key=lambda b: b.rate)
            raise CheckFailed(
                f"{len(judgement.breaches)} window(s) over threshold, worst {worst.bucket} {worst.what} "
                f"{worst.rate:.1%} > {worst.limit:.1%} in the window from {_iso(worst.window_start)}; {detail}"
            )
        if not judgement.judged and (max_429 is not None or max_5xx is not None):
            raise Skip(f"not judged: no window has {min_requests} requests; {detail}")
        return Outcome(detail, {"windows": len(trend.rows), "not_judged": judgement.not_judged})

    return [("rates", check)]


def _names(value: Any) -> tuple[str, ...]:
    if isinstance(value, str):
        return tuple(v.strip() for v in value.split(",") if v.strip())
    if isinstance(value, list):
        return tuple(str(v) for v in value)
    raise BadInput(f"expected a list of check names, got {value!r}")


Operation = Callable[[Context, dict[str, Any]], list[tuple[str, Check]]]
OPERATIONS: dict[str, Operation] = {
    "smoke": _op_smoke,
    "realtime check": _op_realtime,
    "models list": _op_models,
    "keys validate": _op_keys_validate,
    "usage check": _op_usage,
    "errors trend": _op_errors,
}
# The parameters each operation reads; every step also takes max_latency_ms.
PARAMETERS: dict[str, set[str]] = {
    "smoke": {"only", "skip", "model", "min_ttl"},
    "realtime check": {"model", "min_ttl"},
    "models list": {"match"},
    "keys validate": set(),
    "usage check": set(),
    "errors trend": {"sources", "window", "since", "buckets", "max_429_rate", "max_5xx_rate", "min_requests"},
}
COMMON_PARAMETERS = {"max_latency_ms"}


def _check_params(step: Step, where: str) -> None:
    if step.run is None:
        return
    allowed = PARAMETERS[step.run] | COMMON_PARAMETERS
    unknown = sorted(set(step.params) - allowed)
    if unknown:
        raise BadInput(
            f"{where} ({step.name}): {step.run!r} takes no parameter {unknown[0]!r} "
            f"(it takes: {', '.join(sorted(allowed))})"
        )
