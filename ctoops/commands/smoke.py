"""ctoops smoke: runbook steps 3 and 4 at once, for CI."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import click

from ctoops.commands._options import (
    check_json_fields,
    connect_options,
    format_option,
    pass_app,
    realtime_options,
    report_options,
    run_reported,
    session_options,
)

if TYPE_CHECKING:
    from ctoops.context import AppContext


@click.command()
@click.option("--only", multiple=True, metavar="CHECK", help="Run only this check (repeatable).")
@click.option("--skip", multiple=True, metavar="CHECK", help="Skip this check (repeatable).")
@realtime_options
@connect_options
@report_options
@format_option
@pass_app
def smoke(
    app: AppContext,
    only: tuple[str, ...],
    skip: tuple[str, ...],
    model: str,
    min_ttl: float,
    auth: str,
    connect_timeout: float,
    junit: str | None,
    report_json: str | None,
    prom_file: str | None,
    fmt: str,
) -> None:
    """Run the runbook's validation checks concurrently (steps 3 and 4).

    \b
    Checks:
      realtime_token  a realtime client secret is minted, non-empty, valid >= --min-ttl
      realtime_session  that secret opens a Realtime WebSocket session as the
                      dashboard does (to session.updated; no response, no tokens)
      models          the models list answers (the worker's proxy, or OpenAI)
      usage           yesterday's usage answers in a documented shape
      workspace_key   the workspace's key is on the worker (when --workspace,
                      OPENCTO_WORKSPACE or the profile chose one; via opencto)
    Exit 0 only when every check run passed; otherwise the code the failures share
    (4 when the worker is down), else 1. Reports are written whatever the outcome.

    \b
    Example (CI):
      ctoops smoke --junit smoke.xml --report-json smoke.json --prom-file /var/lib/node_exporter/ctoops.prom
    """
    from ctoops.checks import finish, run_checks
    from ctoops.checks import smoke as core
    from ctoops.render import emit, emit_checks
    from ctoops.reports import REPORT_FIELDS, json_report

    check_json_fields(REPORT_FIELDS)  # before the checks spend a mint

    def run() -> list[Any]:
        s = app.settings
        names = core.select(only, skip, s.workspace_explicit, s.via)
        plan = core.plan(
            app.backend(),
            names,
            workspace=s.workspace,
            model=model,
            min_ttl=min_ttl,
            session=lambda: session_options(app, model, auth, False, connect_timeout),
            log=app.log,
        )
        return run_checks(plan)

    results, info, unwritten = run_reported(
        app, "smoke", run, junit=junit, report_json=report_json, prom_file=prom_file
    )
    if fmt == "json":
        emit(json_report(results, info), "json")
    else:
        header = {"smoke": f"via {info.via}, {info.target}", "workspace": info.workspace, "traceId": app.trace_id}
        emit_checks(results, fmt, header=header if fmt == "table" else None)
    finish(results, "smoke", unwritten=unwritten)
