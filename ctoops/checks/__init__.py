"""Checks: named pass/fail probes with a latency and a detail, run one by one or concurrently.

A check is a function that returns an ``Outcome`` (a detail and data for reports) when it
passes and raises a ctoops error when it fails; ``run_check`` turns either into a
``CheckResult``. The families live beside this runner: ``realtime`` (mint a client secret),
``proxies`` (models, usage), ``credentials`` (OpenAI key, worker key, token, health), ``rates``
(the 429/5xx verdict), and ``smoke`` (which of them `ctoops smoke` runs). Every check reads
the time from ``clock.now``.

Latency is the check's own time: waits a server asked for (``Retry-After``, the worker's
``retryAfterSeconds``) and backoff are reported apart, as ``waitedMs``. The exit code of a
set of checks is 0 when all passed; when some failed, the code they share (all 4 when the
worker is down), else 1 (``finish`` raises it with one line per distinct cause).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from ctoops.errors import CtoopsError, ExitCode
from ctoops.redact import redact


@dataclass(frozen=True)
class Outcome:
    """What a passing check returns: a one-line detail and any extra fields for reports."""

    detail: str
    data: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class CheckResult:
    """One check's result: ``latency_ms`` excludes ``waited_ms`` (server-requested waits and
    backoff); ``exit_code`` is the contract's code for a failure (0 when it passed)."""

    name: str
    ok: bool
    detail: str
    latency_ms: float
    exit_code: int = 0
    started_at: float = 0.0  # unix seconds
    data: dict[str, Any] = field(default_factory=dict)
    skipped: bool = False  # not run (a manual step, or after a failed step); never fails a run
    waited_ms: float = 0.0

    @property
    def status(self) -> str:
        return "SKIP" if self.skipped else "PASS" if self.ok else "FAIL"

    def as_record(self) -> dict[str, Any]:
        return {
            "check": self.name,
            "ok": None if self.skipped else self.ok,  # a check not run is neither (null)
            "status": self.status.lower(),
            "latencyMs": round(self.latency_ms, 1),
            "waitedMs": round(self.waited_ms, 1),
            "detail": self.detail,
            "exitCode": self.exit_code,
            "startedAt": round(self.started_at, 3),
            **self.data,
        }


Check = Callable[[], Outcome]


class Skip(Exception):
    """Raised by a check that cannot run here (no input given): reported as skipped, not failed."""


def run_check(name: str, check: Check) -> CheckResult:
    """Run one check as ``name`` (retry notices name it); never raises for its failure."""
    from ctoops.activity import acting_for
    from ctoops.checks.clock import now

    started = now()
    t0 = time.monotonic()
    with acting_for(name) as act:
        try:
            outcome = check()
        except Skip as skip:
            return CheckResult(name, True, redact(str(skip)), _ms(t0, act.waited_s), 0, started, skipped=True)
        except CtoopsError as exc:
            return CheckResult(
                name,
                False,
                exc.format_message(),
                _ms(t0, act.waited_s),
                int(exc.exit_code),
                started,
                _error_data(exc),
                waited_ms=act.waited_s * 1000,
            )
        except Exception as exc:  # a bug in a check must not hide the other checks' results
            return CheckResult(
                name,
                False,
                redact(f"internal error ({type(exc).__name__}: {exc}); a bug in ctoops"),
                _ms(t0, act.waited_s),
                int(ExitCode.INTERNAL),
                started,
                waited_ms=act.waited_s * 1000,
            )
    data = {k: _clean(v) for k, v in outcome.data.items()}
    return CheckResult(
        name, True, redact(outcome.detail), _ms(t0, act.waited_s), 0, started, data, waited_ms=act.waited_s * 1000
    )


def run_checks(checks: Sequence[tuple[str, Check]], *, concurrency: int = 8) -> list[CheckResult]:
    """Run independent checks at once (bounded); results in the order given."""
    if not checks:
        return []
    if len(checks) == 1 or concurrency <= 1:
        return [run_check(name, fn) for name, fn in checks]
    from ctoops.pool import thread_pool

    with thread_pool(min(concurrency, len(checks)), "check") as pool:
        futures = [pool.submit(run_check, name, fn) for name, fn in checks]
        return [f.result() for f in futures]


def skipped(name: str, why: str) -> CheckResult:
    """A check that was not run, and why (never fails a run)."""
    from ctoops.checks.clock import now

    return CheckResult(name, True, redact(why), 0.0, 0, now(), skipped=True)


def passed(results: Sequence[CheckResult]) -> bool:
    """Every check passed, and at least one ran."""
    return any(not r.skipped for r in results) and all(r.ok for r in results)


def exit_code(results: Sequence[CheckResult]) -> int:
    """0 when all passed; else the code every failure shares; else 1 (70 if one was a bug).
    Nothing run at all (only skips, or nothing) is a failure: 1."""
    if not any(not r.skipped for r in results):
        return int(ExitCode.CHECK_FAILED)
    failed = {r.exit_code for r in results if not r.ok}
    if not failed:
        return int(ExitCode.OK)
    if len(failed) == 1:
        return failed.pop()
    if ExitCode.INTERNAL in failed:
        return int(ExitCode.INTERNAL)
    return int(ExitCode.CHECK_FAILED)


def finish(results: Sequence[CheckResult], what: str, *, unwritten: Sequence[str] = ()) -> None:
    """Raise the run's exit code when any check failed: one line naming each distinct cause
    once (``what``: "smoke", "runbook openai-ops", ...). ``unwritten``: the reports that could
    not be written ("cannot write PATH: reason"); with every check passed they are exit 2 (a
    CI job must not read a stale report as this run's), else named after the failures, whose
    exit code stands. Returns when every check passed and every report was written."""
    from ctoops.errors import ExitCode, with_exit_code

    code = exit_code(results)
    lost = f"reports not written: {'; '.join(unwritten)}" if unwritten else ""
    if code == 0:
        if lost:
            raise with_exit_code(f"{what}: every check passed, but {lost}", ExitCode.BAD_INPUT)
        return
    failed = [r for r in results if not r.ok]
    if not failed:
        raise with_exit_code(f"{what}: no check ran" + (f"; {lost}" if lost else ""), code)
    causes: dict[str, list[str]] = {}
    for r in failed:
        causes.setdefault(r.detail, []).append(r.name)
    parts = [f"{', '.join(names)}: {detail}" for detail, names in causes.items()]
    if lost:
        parts.append(lost)
    raise with_exit_code(f"{what}: {len(failed)} of {len(results)} checks failed: " + "; ".join(parts), code)


def _ms(t0: float, waited_s: float = 0.0) -> float:
    return max(0.0, (time.monotonic() - t0 - waited_s) * 1000)


def _clean(value: Any) -> Any:
    """Report data passes the redactor, whatever its origin (a server may echo a secret)."""
    if isinstance(value, str):
        return redact(value)
    if isinstance(value, dict):
        return {k: _clean(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_clean(v) for v in value]
    return value


def _error_data(exc: CtoopsError) -> dict[str, Any]:
    data: dict[str, Any] = {k: _clean(v) for k, v in exc.data.items()}
    if exc.status is not None:
        data["httpStatus"] = exc.status
    if exc.code:
        data["errorCode"] = exc.code
    return data
