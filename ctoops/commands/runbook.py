"""ctoops runbook: declarative runbooks (TOML), walked step by step."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import click

from ctoops.commands._options import (
    check_json_fields,
    format_option,
    pass_app,
    report_options,
    run_reported,
    session_options,
)

if TYPE_CHECKING:
    from ctoops.checks import CheckResult
    from ctoops.context import AppContext
    from ctoops.runbook import Step


@click.group()
def runbook() -> None:
    """Runbooks: the OpenAI operational runbook and your own, as TOML files."""


@runbook.command("list")
@format_option
@pass_app
def runbook_list(app: AppContext, fmt: str) -> None:
    """List the bundled runbooks and local ones (./runbooks, and runbooks/ beside the config file)."""
    from ctoops import runbook as core
    from ctoops.render import emit

    rows = []
    for name, path, where in core.available(app.settings.config_path.parent):
        book = core.load(path)
        rows.append({"name": name, "title": book.title, "steps": len(book.steps), "where": where, "path": str(path)})
    emit(rows, fmt, columns=["name", "title", "steps", "where", "path"])


@runbook.command("show")
@click.argument("runbook_name", metavar="[NAME|FILE]", required=False)
@pass_app
def runbook_show(app: AppContext, runbook_name: str | None) -> None:
    """Print a runbook's steps and instructions (default: openai-ops)."""
    from ctoops import runbook as core
    from ctoops.render import stdout_is_tty, wrapped

    book = core.load(core.find(runbook_name, app.settings.config_path.parent))
    tty = stdout_is_tty()

    def say(text: str, indent: int) -> None:
        # on a terminal, each paragraph wrapped to its width (the bundled runbooks are 96 wide)
        if tty:
            pad = " " * indent
            text = wrapped(text, pad, pad)
        else:
            text = " " * indent + text
        click.echo(text)

    say(f"{book.title}  ({book.name}, {book.path})", 0)
    if book.description:
        click.echo()
        _instructions(book.description, "", lambda text, indent: say(text, 0), tty)
    for step in book.steps:
        kind = "manual" if step.manual else f"runs `{step.run}`" + (", always" if step.always else "")
        click.echo()
        say(f"{step.title}  [{step.name}: {kind}]", 0)
        _instructions(step.instructions, "", lambda text, indent: say(text, 4), tty)
        for key, value in step.params.items():
            say(f"{key} = {value!r}", 4)


@runbook.command("run")
@click.argument("runbook_name", metavar="[NAME|FILE]", required=False)
@click.option(
    "-p",
    "--param",
    "params",
    multiple=True,
    metavar="STEP.KEY=VALUE",
    help="Override a step parameter for this run (repeatable), e.g. -p realtime.min_ttl=120.",
)
@report_options
@format_option
@pass_app
def runbook_run(
    app: AppContext,
    runbook_name: str | None,
    params: tuple[str, ...],
    junit: str | None,
    report_json: str | None,
    prom_file: str | None,
    fmt: str,
) -> None:
    """Walk a runbook step by step (default: openai-ops, the OpenAI operational runbook).

    Manual steps are shown, not run. A failed step stops the runbook unless the step says
    continue_on_failure. Exit codes as for `ctoops smoke`; reports likewise.

    \b
    Examples:
      ctoops --sandbox runbook run
      ctoops runbook run --junit runbook.xml
      ctoops runbook run ./runbooks/nightly.toml -p realtime.min_ttl=300
    """
    from ctoops import runbook as core
    from ctoops.checks import finish
    from ctoops.render import emit, emit_checks
    from ctoops.reports import REPORT_FIELDS, json_report

    check_json_fields(REPORT_FIELDS)  # before any step runs
    path = core.find(runbook_name, app.settings.config_path.parent)
    book = core.override(core.load(path), params)

    def run() -> list[Any]:
        s = app.settings
        from ctoops.commands._cloudflare import runbook_rates

        ctx = core.Context(
            backend=app.backend,
            workspace=s.workspace,
            via=s.via,
            sandbox=s.sandbox,
            session=lambda model, auth, roundtrip, timeout: session_options(app, model, auth, roundtrip, timeout),
            log=app.log,
            trace_id=app.trace_id,
            target=app.target,
            cloudflare=runbook_rates(app),
        )
        if fmt == "table":
            click.echo(f"{book.title}  [{book.name}]")
            click.echo(f"via {s.via}{' (sandbox)' if s.sandbox else ''}, workspace {s.workspace}, trace {app.trace_id}")
        return core.execute(book, ctx, on_step=_printer(len(book.steps)) if fmt == "table" else None)

    suite = f"runbook {book.name}"
    reads, writes = core.local_files(book)
    results, info, unwritten = run_reported(
        app,
        suite,
        run,
        junit=junit,
        report_json=report_json,
        prom_file=prom_file,
        inputs=(str(path), *reads),
        outputs=tuple(writes),
    )
    if fmt == "json":
        emit(json_report(results, info), "json")
    elif fmt == "csv":
        emit_checks(results, "csv")
    else:
        counts = {status: sum(r.status == status for r in results) for status in ("PASS", "FAIL", "SKIP")}
        click.echo(
            f"\n{counts['PASS']} passed, {counts['FAIL']} failed, {counts['SKIP']} skipped"
            f" in {info.finished_at - info.started_at:.1f}s"
        )
    finish(results, suite, unwritten=unwritten)


def _printer(total: int) -> Any:
    """The step-by-step text. On a terminal: marks in colour (``✓ PASS`` green, ``✗ FAIL``
    red, ``– SKIP`` yellow), each line wrapped at word boundaries to the terminal's width
    with a hanging indent, so no line runs over; piped: the plain lines, as before."""
    from ctoops.render import color_enabled, stdout_is_tty, symbols_enabled, wrapped

    tty, color, symbols = stdout_is_tty(), color_enabled(), symbols_enabled()

    def say(text: str, indent: int, status: str | None = None) -> None:
        from ctoops.summary import mark, mark_style

        if status is not None and tty:
            shown = mark(status, symbols=symbols)
            text = text.replace(status, shown.replace(" ", "\xa0"), 1)  # a mark is never split
        if tty:
            text = wrapped(text, " " * (indent + 4), " " * indent).replace("\xa0", " ")
        else:
            text = " " * indent + text
        if status is not None and color:
            shown = mark(status, symbols=symbols) if tty else status
            style = mark_style(shown)
            if style:
                text = text.replace(shown, click.style(shown, fg=style, bold=status == "FAIL" or None), 1)
        click.echo(text)

    def show(number: int, step: Step, results: list[CheckResult]) -> None:
        status = (
            "MANUAL"
            if step.manual
            else "FAIL"
            if any(not r.ok for r in results)
            else ("SKIP" if all(r.skipped for r in results) else "PASS")
        )
        click.echo()
        say(f"[{number}/{total}] {step.title}  {status}", 0, status if status != "MANUAL" else None)
        if step.manual:
            _instructions(step.instructions, "", say, tty)
            return
        for r in results:
            latency = "" if r.skipped else f"  {r.latency_ms:.0f} ms"
            say(f"{r.status}  {r.name}{latency}  {r.detail}", 6, r.status)
        if status == "FAIL" and step.instructions:
            _instructions(step.instructions, "> ", say, tty)

    return show


def _instructions(text: str, prefix: str, say: Any, tty: bool) -> None:
    """A step's instructions: as written when piped; on a terminal each paragraph (blank-line
    separated) as one text, wrapped to the terminal's width."""
    if not tty:
        for line in text.splitlines():
            say(f"{prefix}{line}", 6)
        return
    for paragraph in text.split("\n\n"):
        say(prefix + " ".join(paragraph.split()), 6)
