"""Options and helpers shared by the command modules."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, TypeVar

import click

F = TypeVar("F", bound=Callable[..., Any])

# ctx.obj is the AppContext the root command built (ctoops.context); click.pass_obj hands it
# over without importing that module at --help time.
pass_app = click.pass_obj


JSON_FIELDS = "ctoops.json_fields"
MAX_SECRET = 8192  # characters: far above any key or token (OpenAI keys are under 200)


def format_option(fn: F) -> F:
    """``--format table|json|csv``: data on stdout in that form (table by default); and gh's
    ``--json FIELDS``: JSON with only those fields (``ctoops.fields``; an unknown one exits 2
    listing the fields there are)."""

    def remember(ctx: click.Context, param: click.Parameter, value: str | None) -> str | None:
        if value is not None:
            from ctoops.params import split_names

            try:  # an empty name (``id,,created``) is exit 2 now, before any request
                split_names(value)
            except ValueError as exc:
                raise click.BadParameter(str(exc), ctx, param) from None
            ctx.meta[JSON_FIELDS] = value
        return value

    def resolve(ctx: click.Context, param: click.Parameter, value: str) -> str:
        if ctx.meta.get(JSON_FIELDS) is None:
            return value
        if value != "json" and ctx.get_parameter_source("fmt") is not click.core.ParameterSource.DEFAULT:
            raise click.BadParameter(f"--json prints JSON; it does not go with --format {value}", ctx, param)
        return "json"

    fn = click.option(
        "--format",
        "fmt",
        type=click.Choice(["table", "json", "csv"]),
        default="table",
        show_default=True,
        callback=resolve,
        help="Output format on stdout.",
    )(fn)
    return click.option(
        "--json",
        "json_fields",
        metavar="FIELDS",
        is_eager=True,
        expose_value=False,
        callback=remember,
        help="JSON with only these comma-separated fields (gh's --json); a wrong name lists them.",
    )(fn)


def check_json_fields(available: Sequence[str]) -> None:
    """Before a command with side effects runs (a mint, a pull): a ``--json FIELDS`` naming a
    field it will not print is exit 2 now, not after the run."""
    ctx = click.get_current_context(silent=True)
    given = ctx.meta.get(JSON_FIELDS) if ctx is not None else None
    if given is not None:
        from ctoops.fields import parse_fields

        parse_fields(given, available)


def read_secret(prompt: str, from_stdin: bool, flag: str = "--stdin") -> str:
    """A secret from standard input (``from_stdin``) or a hidden prompt; never from argv.

    With no terminal to prompt on, exit 2 and point to ``flag``.
    """
    import sys

    from ctoops.errors import BadInput

    if from_stdin:
        # bounded: a file piped by mistake is refused by clean_secret, not read whole
        return sys.stdin.read(MAX_SECRET + 2)
    if not sys.stdin.isatty():
        raise BadInput(f"no terminal to prompt on for the {prompt}: pipe it in with {flag}")
    value: str = click.prompt(prompt, hide_input=True, err=True)
    return value


def confirm(action: str, yes: bool) -> None:
    """Go on when ``--yes`` was given or the user agrees at a terminal to ``action`` ("delete
    the key"); else exit 2 with no terminal to ask on, 1 when the user says no."""
    import sys

    from ctoops.errors import BadInput, CtoopsError

    if yes:
        return
    if not sys.stdin.isatty():
        raise BadInput(f"refusing to {action} without confirmation: pass --yes (no terminal to ask on)")
    if not click.confirm(f"{action[0].upper()}{action[1:]}?", default=False, err=True):
        raise CtoopsError("cancelled; nothing was changed")


def realtime_options(fn: F) -> F:
    """``--model`` and ``--min-ttl`` for minting and judging a realtime client secret."""
    fn = click.option(
        "--min-ttl",
        type=click.FloatRange(min=0),
        default=60,
        show_default=True,
        metavar="SECONDS",
        help="The client secret must stay valid at least this long.",
    )(fn)
    fn = click.option(
        "--model",
        default="gpt-realtime-1.5",
        show_default=True,
        callback=_model_id,
        help="Realtime model (the worker's default).",
    )(fn)
    return fn


def _model_id(ctx: click.Context, param: click.Parameter, value: str) -> str:
    """A model id as OpenAI spells them: not empty, no spaces or control characters (exit 2)."""
    if not value or any(c.isspace() or ord(c) < 32 or ord(c) == 127 for c in value):
        raise click.BadParameter(f"{value!r} is not a model id (e.g. gpt-realtime-1.5)")
    return value


def connect_options(fn: F) -> F:
    """``--auth`` and ``--connect-timeout`` for the Realtime WebSocket session."""
    from ctoops.params import Seconds
    from ctoops.realtime_probe import DEFAULT_STAGE_TIMEOUT

    fn = click.option(
        "--connect-timeout",
        type=Seconds(120),
        default=DEFAULT_STAGE_TIMEOUT,
        show_default=True,
        metavar="SECONDS",
        help="Time allowed for each stage of the WebSocket session (upgrade, session.created, ...).",
    )(fn)
    fn = click.option(
        "--auth",
        type=click.Choice(["subprotocol", "header"]),
        default="subprotocol",
        show_default=True,
        help="How the client secret is sent: the browser's subprotocol, or a server's Authorization header.",
    )(fn)
    return fn


def realtime_connection(app: Any) -> tuple[str, Any]:
    """(OpenAI base URL, connector) for the Realtime WebSocket: OPENAI_BASE_URL and real
    sockets, or under ``--sandbox`` the sandbox's OpenAI URL and its in-process session (with
    the run's faults)."""
    s = app.settings
    if s.sandbox:
        from ctoops import sandbox
        from ctoops.sandbox.realtime import sandbox_connector

        return sandbox.OPENAI_URL, sandbox_connector(sandbox.run(app).faults)
    from ctoops import __version__
    from ctoops.realtime_ws import websockets_connector

    return s.openai_base_url, websockets_connector(f"ctoops/{__version__}")


def session_options(app: Any, model: str, auth: str, roundtrip: bool, connect_timeout: float) -> Any:
    """The ``realtime_session`` settings for this run (``ctoops.checks.realtime.SessionOptions``)."""
    from ctoops.checks.realtime import SessionOptions
    from ctoops.realtime_probe import AUTHS, StageTimeouts

    base_url, connector = realtime_connection(app)
    chosen = next(a for a in AUTHS if a == auth)  # click.Choice allowed only these
    return SessionOptions(base_url, model, connector, chosen, roundtrip, StageTimeouts.each(connect_timeout))


def report_options(fn: F) -> F:
    """``--junit``, ``--report-json``, ``--prom-file``: CI reports, written atomically."""
    fn = click.option("--prom-file", metavar="FILE", help="Write a Prometheus textfile-collector file (.prom).")(fn)
    fn = click.option("--report-json", metavar="FILE", help="Write a JSON report.")(fn)
    fn = click.option("--junit", metavar="FILE", help="Write JUnit XML, one testcase per check.")(fn)
    return fn


def run_info(app: Any, suite: str, started: float, finished: float) -> Any:
    """What reports say about the run: trace id, backend, target, workspace, times."""
    from ctoops.errors import CtoopsError
    from ctoops.reports import RunInfo

    try:
        s = app.settings
        return RunInfo(suite, app.trace_id, s.via, s.sandbox, app.target, s.workspace, started, finished)
    except CtoopsError:  # settings that cannot be resolved: the report still says the run failed
        return RunInfo(suite, app.trace_id, "unknown", False, "unknown", "unknown", started, finished)


def run_reported(
    app: Any,
    suite: str,
    run: Callable[[], list[Any]],
    *,
    junit: str | None,
    report_json: str | None,
    prom_file: str | None,
    inputs: tuple[str, ...] = (),
    outputs: tuple[str, ...] = (),
) -> tuple[list[Any], Any, list[str]]:
    """``run()`` the checks and write the reports whatever the outcome: when the run stops
    before any check (no token, a bad setting), the reports say so with that error as a
    failed ``setup`` check, so a stale ``.prom`` never keeps saying the last run passed.
    ``inputs`` (the runbook file, the logs a step reads) and the config file are never
    overwritten by a report, nor are ``outputs`` (a step's export).
    Returns (results, RunInfo, reports not written): a report that cannot be written (a full
    disk, a folder gone) loses no result, the caller prints them and then fails (``finish``).
    Re-raises the setup error after writing."""
    from ctoops.checks import CheckResult
    from ctoops.checks.clock import now
    from ctoops.config import config_path
    from ctoops.errors import CtoopsError
    from ctoops.reports import check_report_paths, write_reports

    junit, report_json, prom_file = (
        str(p) if p else None
        for p in check_report_paths(
            junit, report_json, prom_file, inputs=(*inputs, str(config_path())), outputs=outputs, notify=app.notify
        )
    )
    started = now()
    try:
        results = run()
    except CtoopsError as exc:
        failed = CheckResult("setup", False, exc.format_message(), 0.0, int(exc.exit_code), started)
        info = run_info(app, suite, started, now())
        for problem in write_reports([failed], info, junit=junit, report_json=report_json, prom_file=prom_file):
            app.notify(problem)
        raise
    info = run_info(app, suite, started, now())
    unwritten = write_reports(results, info, junit=junit, report_json=report_json, prom_file=prom_file)
    return results, info, unwritten
