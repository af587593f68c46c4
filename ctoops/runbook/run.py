"""Walking a runbook: steps in order, a failed step stopping the rest unless it may continue,
monitoring steps (``always``) run whatever happened before them."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace

from ctoops.checks import CheckResult, run_checks, skipped
from ctoops.errors import BadInput
from ctoops.runbook.book import Runbook, Step
from ctoops.runbook.operations import OPERATIONS, Context


def execute(
    runbook: Runbook, ctx: Context, on_step: Callable[[int, Step, list[CheckResult]], None] | None = None
) -> list[CheckResult]:
    """Every step's results, in order; ``on_step(number, step, results)`` after each."""
    results: list[CheckResult] = []
    stopped: str | None = None
    for number, step in enumerate(runbook.steps, 1):
        if step.manual:
            step_results = [skipped(step.name, "manual step: " + (step.instructions.splitlines() or [""])[0])]
        elif stopped and not step.always:
            step_results = [skipped(step.name, f"not run: step {stopped!r} failed")]
        else:
            step_results = run_step(step, ctx)
            if not all(r.ok for r in step_results) and not step.continue_on_failure and not stopped:
                stopped = step.name
        results += step_results
        if on_step:
            on_step(number, step, step_results)
    return results


def run_step(step: Step, ctx: Context) -> list[CheckResult]:
    """The step's checks, run concurrently; ``max_latency_ms`` judged on request time only."""
    from ctoops.checks.clock import now

    params = dict(step.params)
    max_latency = params.pop("max_latency_ms", None)
    try:
        checks = OPERATIONS[step.run or ""](ctx, params)
    except BadInput as exc:
        return [CheckResult(step.name, False, exc.format_message(), 0.0, int(exc.exit_code), now())]
    named = [(step.name if len(checks) == 1 else f"{step.name}/{n}", c) for n, c in checks]
    results = run_checks(named)
    if max_latency is not None:
        results = [latency_threshold(r, float(max_latency)) for r in results]
    return results


def latency_threshold(result: CheckResult, limit_ms: float) -> CheckResult:
    """Fail a passed check slower than ``limit_ms``; the time it waited because a server
    asked (``waited_ms``) is not held against it, and is named."""
    waited = f" (plus {result.waited_ms:.0f} ms waiting as the server asked, not counted)" if result.waited_ms else ""
    if result.ok and not result.skipped and result.latency_ms > limit_ms:
        return replace(
            result,
            ok=False,
            exit_code=1,
            detail=f"{result.detail}; took {result.latency_ms:.0f} ms{waited}, over max_latency_ms {limit_ms:g}",
        )
    if waited and result.ok and not result.skipped:
        return replace(result, detail=f"{result.detail}; {result.latency_ms:.0f} ms{waited}")
    return result
