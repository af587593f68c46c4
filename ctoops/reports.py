"""Reports for CI and on-call: JUnit XML, a JSON report, a Prometheus textfile.

All three hold what the checks report, and checks only ever report secrets masked. Files
are written atomically (``files.atomic_write_text``): a scraper or a CI step never reads a
half-written report.
"""

from __future__ import annotations

import platform
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ctoops import __version__
from ctoops.checks import CheckResult, exit_code, passed
from ctoops.dates import iso_ms as _iso
from ctoops.versions import versions


@dataclass(frozen=True)
class RunInfo:
    """What every report says about the run; times in unix seconds."""

    suite: str  # "smoke", or "runbook <name>"
    trace_id: str
    via: str
    sandbox: bool
    target: str  # the worker's or OpenAI's base URL
    workspace: str
    started_at: float
    finished_at: float


# the fields of ``json_report``, in order: what ``--json FIELDS`` may name before a run
REPORT_FIELDS = (
    "suite",
    "ok",
    "exitCode",
    "traceId",
    "via",
    "sandbox",
    "target",
    "workspace",
    "startedAt",
    "finishedAt",
    "durationMs",
    "versions",
    "checks",
)


def json_report(results: Sequence[CheckResult], info: RunInfo) -> dict[str, Any]:
    """The run as one JSON object with ``REPORT_FIELDS`` (times ISO 8601 UTC, ms)."""
    return {
        "suite": info.suite,
        "ok": passed(results),
        "exitCode": exit_code(results),
        "traceId": info.trace_id,
        "via": info.via,
        "sandbox": info.sandbox,
        "target": info.target,
        "workspace": info.workspace,
        "startedAt": _iso(info.started_at),
        "finishedAt": _iso(info.finished_at),
        "durationMs": round((info.finished_at - info.started_at) * 1000, 1),
        "versions": versions(),
        "checks": [r.as_record() for r in results],
    }


def junit_xml(results: Sequence[CheckResult], info: RunInfo) -> str:
    """One <testsuite>, one <testcase> per check; a failed check (exit 1) is a <failure>, one
    that could not run properly (auth, upstream, rate limit, bug) an <error>."""
    import xml.etree.ElementTree as ET

    failures = sum(1 for r in results if not r.ok and r.exit_code == 1)
    errors = sum(1 for r in results if not r.ok and r.exit_code != 1)
    skips = sum(1 for r in results if r.skipped)
    root = ET.Element(
        "testsuites",
        name="ctoops",
        tests=str(len(results)),
        failures=str(failures),
        errors=str(errors),
        time=f"{info.finished_at - info.started_at:.3f}",
    )
    suite = ET.SubElement(
        root,
        "testsuite",
        name=f"ctoops {info.suite}",
        tests=str(len(results)),
        failures=str(failures),
        errors=str(errors),
        skipped=str(skips),
        time=f"{info.finished_at - info.started_at:.3f}",
        timestamp=_iso(info.started_at),
        hostname=platform.node() or "unknown",
    )
    properties = ET.SubElement(suite, "properties")
    for name, value in (
        ("traceId", info.trace_id),
        ("via", info.via),
        ("sandbox", str(info.sandbox).lower()),
        ("target", info.target),
        ("workspace", info.workspace),
        ("ctoops", __version__),
    ):
        ET.SubElement(properties, "property", name=name, value=value)
    for r in results:
        case = ET.SubElement(
            suite,
            "testcase",
            classname=f"ctoops.{info.suite.split()[0]}",
            name=r.name,
            time=f"{r.latency_ms / 1000:.3f}",
        )
        if r.skipped:
            ET.SubElement(case, "skipped", message=r.detail)
        elif not r.ok:
            tag = "failure" if r.exit_code == 1 else "error"
            element = ET.SubElement(case, tag, message=r.detail, type=f"exit {r.exit_code}")
            element.text = r.detail
        else:
            ET.SubElement(case, "system-out").text = r.detail
    ET.indent(root)
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(root, encoding="unicode") + "\n"


def prometheus(results: Sequence[CheckResult], info: RunInfo) -> str:
    """node_exporter textfile-collector format; every series carries ``suite``, ``sandbox``
    and ``target`` labels, so a sandbox run never passes for a real deployment's."""

    def label(value: str) -> str:
        return value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")

    suite = f'suite="{label(info.suite)}"'
    where = f'sandbox="{str(info.sandbox).lower()}",target="{label(info.target)}"'
    run = f"{suite},{where}"
    lines = [
        "# HELP ctoops_check_success Whether the ctoops check passed (1) or failed (0) on its last run.",
        "# TYPE ctoops_check_success gauge",
    ]
    ran = [r for r in results if not r.skipped]
    lines += [f'ctoops_check_success{{{suite},check="{label(r.name)}",{where}}} {int(r.ok)}' for r in ran]
    lines += [
        "# HELP ctoops_check_latency_seconds How long the ctoops check took on its last run "
        "(server-requested waits excluded).",
        "# TYPE ctoops_check_latency_seconds gauge",
    ]
    lines += [
        f'ctoops_check_latency_seconds{{{suite},check="{label(r.name)}",{where}}} {r.latency_ms / 1000:.6f}'
        for r in ran
    ]
    ok = int(passed(results))
    lines += [
        "# HELP ctoops_run_success Whether every check of the last ctoops run passed.",
        "# TYPE ctoops_run_success gauge",
        f"ctoops_run_success{{{run}}} {ok}",
        "# HELP ctoops_last_run_timestamp_seconds When the last ctoops run finished (unix seconds).",
        "# TYPE ctoops_last_run_timestamp_seconds gauge",
        f"ctoops_last_run_timestamp_seconds{{{run}}} {info.finished_at:.3f}",
    ]
    return "\n".join(lines) + "\n"


def write_reports(
    results: Sequence[CheckResult],
    info: RunInfo,
    *,
    junit: str | None = None,
    report_json: str | None = None,
    prom_file: str | None = None,
) -> list[str]:
    """Write each report asked for, atomically. A report that cannot be written does not stop
    the others: returns one message per report not written ("cannot write PATH: reason"),
    empty when all were."""
    from ctoops.errors import CtoopsError
    from ctoops.files import atomic_write_text
    from ctoops.render import dumps

    unwritten: list[str] = []
    jobs: list[tuple[str | None, Callable[[], str], int | None]] = [
        (junit, lambda: junit_xml(results, info), None),
        (report_json, lambda: dumps(json_report(results, info)) + "\n", None),
        (prom_file, lambda: prometheus(results, info), 0o644),
    ]
    for path, text, mode in jobs:
        if not path:
            continue
        try:
            atomic_write_text(Path(path), text(), mode=mode)
        except CtoopsError as exc:
            unwritten.append(exc.format_message())
    return unwritten


def check_report_paths(
    *paths: str | None,
    inputs: Sequence[str | Path] = (),
    outputs: Sequence[str | Path] = (),
    notify: Callable[[str], None] | None = None,
) -> list[Path | None]:
    """Before any check runs: each report's folder exists and is writable, no report is an
    input of the run (``inputs``: the runbook, the config file, the logs a step reads),
    another report, or a file the run writes itself (``outputs``: a step's export) (exit 2).
    Returns the files to write (a link's target), None where no report was asked for."""
    from ctoops.errors import BadInput
    from ctoops.files import check_writable, same_file

    for written in outputs:
        for read in inputs:
            if same_file(Path(written), Path(read)):
                raise BadInput(f"{written} is both written and read by this run; writing it would destroy it")
    given = [p for p in paths if p]
    for i, one in enumerate(given):
        for other in given[i + 1 :]:
            if same_file(Path(one), Path(other)):
                raise BadInput(f"report {one} is asked for twice (two reports cannot share a file)")
        for written in outputs:
            if same_file(Path(one), Path(written)):
                raise BadInput(f"report {one} is also a file this run writes ({written}); choose another path")
    return [check_writable(p, "report", inputs=inputs, notify=notify) if p else None for p in paths]
