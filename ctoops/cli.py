"""The root command: global options, the error boundary, and the command groups.

Only click is imported here; every heavy library is imported by the command that uses it,
so ``ctoops --help`` costs about what ``import click`` costs.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable
from typing import Any

import click

from ctoops import completion
from ctoops.config import (
    DEFAULT_API_URL,
    DEFAULT_OPENAI_BASE_URL,
    Flag,
    Seconds,
    Setting,
    UrlType,
    WholeNumber,
    WorkspaceType,
)
from ctoops.errors import CtoopsError, ExitCode, InternalError, Terminated

INTERRUPTED = 130  # Ctrl-C: 128 + SIGINT, as shells report it

# name -> (module, attribute, short help). Modules are imported only when the command runs
# or its own help is shown; root --help reads the short help from here (tests/test_cli_root.py
# checks it matches each command's docstring).
COMMANDS: dict[str, tuple[str, str, str]] = {
    "auth": (
        "ctoops.commands.auth",
        "auth",
        "Sign in to the OpenCTO worker: store, check and remove the session token.",
    ),
    "keys": (
        "ctoops.commands.keys",
        "keys",
        "OpenAI keys: per workspace on the worker (BYOK), or local in the OS keyring.",
    ),
    "realtime": ("ctoops.commands.realtime", "realtime", "Validate the realtime path (runbook step 3)."),
    "models": ("ctoops.commands.models", "models", "List the models OpenAI offers (runbook step 4, the ops path)."),
    "usage": (
        "ctoops.commands.usage",
        "usage",
        "Usage and costs for a date range: summaries, forecasts, budget gates, exact exports.",
    ),
    "errors": (
        "ctoops.commands.trend",
        "errors",
        "429 and 5xx rates from the worker's logs, per window and rate-limit bucket.",
    ),
    "smoke": ("ctoops.commands.smoke", "smoke", "Run the runbook's validation checks concurrently (steps 3 and 4)."),
    "runbook": (
        "ctoops.commands.runbook",
        "runbook",
        "Runbooks: the OpenAI operational runbook and your own, as TOML files.",
    ),
    "config": ("ctoops.commands.config", "config", "Show the resolved settings and the config file's path."),
    "doctor": (
        "ctoops.commands.doctor",
        "doctor",
        "Diagnose the log sources: which work for this deployment now, and how to enable the rest.",
    ),
    "completion": (
        "ctoops.commands.completion",
        "completion",
        "Print the shell completion script for bash, zsh or fish.",
    ),
    "help": (
        "ctoops.commands.help",
        "help_command",
        "Help topics (exit codes, environment, formats), or a command's help.",
    ),
}


class ReaderGone(Exception):
    """stdout's reader went away (``ctoops ... | head``): the run ends quietly with exit 0."""


class Interrupted(BaseException):
    """Ctrl-C in a command, carried past Click's main, which would first print a blank line
    (meant to close a terminal's ``^C`` echo, and a stray line in a CI log)."""


class CtoopsGroup(click.Group):
    """Loads command modules on demand, feeds the config file's profile to Click as the
    root's ``default_map``, and turns any unexpected exception into exit 70."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return list(COMMANDS)

    def get_command(self, ctx: click.Context, name: str) -> click.Command | None:
        if name not in COMMANDS:
            return None
        import importlib

        from ctoops.completion import attach

        module, attr, _ = COMMANDS[name]
        command: click.Command = getattr(importlib.import_module(module), attr)
        attach(name, command)
        return command

    def resolve_command(
        self, ctx: click.Context, args: list[str]
    ) -> tuple[str | None, click.Command | None, list[str]]:
        """Click's, with suggestions for a mistyped command: close names (``smok`` ->
        ``smoke``), or the group a subcommand lives in (``trend`` -> ``errors trend``)."""
        name = args[0] if args else ""
        if name in COMMANDS or ctx.resilient_parsing or name.startswith("-"):
            return super().resolve_command(ctx, args)
        raise suggest(ctx, name)

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        with formatter.section("Commands"):
            formatter.write_dl([(name, short) for name, (_, _, short) in COMMANDS.items()])

    def make_context(
        self, info_name: str | None, args: list[str], parent: click.Context | None = None, **extra: Any
    ) -> click.Context:
        """Read ``--profile`` (and ``--token``, to register it) in a first, forgiving pass;
        load that profile from the config file as the defaults Click falls back to after
        flags and environment; then parse for real. A broken config file is reported when a
        command first needs a setting, so ``--help`` and ``config path`` still work."""
        from ctoops import config
        from ctoops.redact import register

        first = super().make_context(info_name, list(args), parent, resilient_parsing=True)
        register(first.params.get("token"))
        meta: dict[str, Any] = {}
        try:
            path = config.config_file()
            data = config.load_file(path)
            source = config.describe_source(first, "profile", "--profile", "CTOOPS_PROFILE")
            name, where = config.choose_profile(data, first.params.get("profile"), source, path)
            meta["ctoops.profile"] = (name, path, where)
            if name is not None:
                profile = {**data["profiles"][name], config.PROFILE_META: (name, path)}
                extra["default_map"] = {**profile, **(extra.get("default_map") or {})}
        except CtoopsError as exc:
            meta["ctoops.config_error"] = exc
        ctx = super().make_context(info_name, args, parent, **extra)
        ctx.meta.update(meta)
        return ctx

    def main(
        self,
        args: Any = None,
        prog_name: str | None = None,
        complete_var: str | None = None,
        standalone_mode: bool = True,
        **extra: Any,
    ) -> Any:
        """Click's main, with ctoops' endings: every error one redacted line and its exit
        code; Ctrl-C exit 130 with one line; a closed stdout (``| head``) ends quietly."""
        if not standalone_mode:
            return super().main(args, prog_name, complete_var, False, **extra)
        from ctoops.redact import redact

        register_env_secrets()
        try:
            code = super().main(args, prog_name, complete_var, False, **extra)
        except click.exceptions.Abort as exc:
            # Click's main turned Ctrl-C or end of input into Abort (``from``, after echoing a
            # newline); a prompt did (its ``__context__``, the cursor maybe still on its line)
            cause = exc.__cause__ or exc.__context__
            start = "" if exc.__cause__ is not None else "\n"
            if isinstance(cause, EOFError):
                click.echo(f"{start}ctoops: no input; nothing was changed", err=True)
                sys.exit(ExitCode.BAD_INPUT)
            click.echo(f"{start}ctoops: interrupted", err=True)
            sys.exit(INTERRUPTED)
        except (KeyboardInterrupt, Interrupted):
            # a terminal echoed ^C with the cursor after it: the line starts below; a log
            # file (CI) gets the one line alone
            start = "\n" if _stderr_is_tty() else ""
            click.echo(f"{start}ctoops: interrupted", err=True)
            sys.exit(INTERRUPTED)
        except Terminated as exc:  # no ^C echo to end, unlike Ctrl-C: no leading newline
            name = "SIGHUP" if exc.code == 129 else "SIGTERM"
            click.echo(f"ctoops: terminated ({name})", err=True)
            sys.exit(exc.code)
        except click.ClickException as exc:
            from ctoops.render import printable  # here: --help need not import render

            # one line, whatever a server put in it: a newline or ESC is shown escaped, not obeyed
            setattr(exc, "message", printable(redact(exc.message)))  # noqa: B010 - Final in click's stubs only
            exc.show()
            sys.exit(exc.exit_code)
        except (BrokenPipeError, ReaderGone):
            _quiet_stdout()
            sys.exit(ExitCode.OK)
        except Exception as exc:  # a bug outside any command (option parsing, context setup)
            from ctoops.render import printable

            error = internal_error(exc, "--traceback" in (args or sys.argv))
            setattr(error, "message", printable(error.message))  # noqa: B010 - as above
            error.show()
            sys.exit(error.exit_code)
        sys.exit(code if isinstance(code, int) and not isinstance(code, bool) else 0)

    def _main_shell_completion(self, ctx_args: Any, prog_name: str, complete_var: str | None = None) -> None:
        """Click's completion hook (a Tab press), which never fails out loud: a malformed
        request (``COMP_CWORD=x``) completes nothing, exit 1 as Click's own refusals do,
        rather than an internal error in the shell."""
        try:
            super()._main_shell_completion(ctx_args, prog_name, complete_var)
        except (ValueError, LookupError):
            sys.exit(1)

    def invoke(self, ctx: click.Context) -> Any:
        """Run the command line's command, SIGTERM ending it like Ctrl-C (see
        ``_exit_on_sigterm``: installed here, when a command runs, so ``--help``, which Click
        answers while parsing, does not import ``signal``)."""
        restore = _exit_on_sigterm() if ctx.parent is None else (lambda: None)
        if ctx.parent is None:
            from ctoops.pool import new_run

            new_run()
        try:
            return super().invoke(ctx)
        except (click.exceptions.ClickException, click.exceptions.Exit, click.exceptions.Abort):
            raise
        except KeyboardInterrupt:
            raise Interrupted() from None  # main() ends it with one line and exit 130
        except BrokenPipeError as exc:
            # not an OSError any more: Click's main would turn EPIPE into exit 1
            raise ReaderGone() from exc
        except Exception as exc:
            raise internal_error(exc, getattr(ctx.obj, "show_traceback", False)) from exc
        finally:
            restore()


def suggest(ctx: click.Context, name: str) -> click.exceptions.NoSuchCommand:
    """The usage error (exit 2) for an unknown top-level command, with what was probably
    meant: a subcommand of that name (``login`` -> ``auth login``), else close names. Only
    this error path imports the command modules (each imports nothing heavy at load)."""
    from difflib import get_close_matches

    nested = []
    for group in COMMANDS:
        command = CtoopsGroup.get_command(cli, ctx, group)
        if isinstance(command, click.Group) and name in command.list_commands(ctx):
            nested.append(f"{group} {name}")
    message = f"No such command {name!r}."
    if nested:
        return click.exceptions.NoSuchCommand(
            name, message=f"{message} Did you mean {' or '.join(repr(n) for n in nested)}?", ctx=ctx
        )
    return click.exceptions.NoSuchCommand(name, message, possibilities=get_close_matches(name, list(COMMANDS)), ctx=ctx)


def internal_error(exc: BaseException, show_traceback: bool) -> InternalError:
    """Exit 70 for a bug: one redacted line, and the (redacted) traceback when asked for."""
    from ctoops.redact import redact

    if show_traceback or _debug_env():
        import traceback

        click.echo(redact("".join(traceback.format_exception(exc))), err=True, nl=False)
        hint = "the traceback is above"
    else:
        hint = "rerun with --traceback (or CTOOPS_DEBUG=1) to see where"
    return InternalError(
        f"internal error ({type(exc).__name__}: {exc}). This is a bug in ctoops: {hint}, "
        "and report it to the ctoops maintainers with that output"
    )


def _exit_on_sigterm() -> Callable[[], None]:
    """SIGTERM (exit 143) and SIGHUP (the terminal closed, the SSH session lost: exit 129)
    end the run like an exception: every ``finally`` runs, so a file being written
    atomically, or the chunk files of ``errors trend``, leave nothing behind. A SIGHUP that
    was ignored when ctoops started (``nohup``) stays ignored. Returns what restores the
    previous handlers."""
    import signal
    import threading

    if threading.current_thread() is not threading.main_thread():
        return lambda: None

    def stop(signum: int, frame: Any) -> None:
        from ctoops.errors import Terminated

        raise Terminated(128 + signum)

    previous = {signal.SIGTERM: signal.signal(signal.SIGTERM, stop)}
    if signal.getsignal(signal.SIGHUP) is not signal.SIG_IGN:
        previous[signal.SIGHUP] = signal.signal(signal.SIGHUP, stop)

    def restore() -> None:
        for signum, handler in previous.items():
            signal.signal(signum, handler)

    return restore


def _stderr_is_tty() -> bool:
    try:
        return sys.stderr.isatty()
    except (AttributeError, ValueError):  # closed or replaced
        return False


def _quiet_stdout() -> None:
    """The reader went away (``ctoops ... | head``): point stdout at /dev/null so the
    interpreter's final flush does not complain, and end without a word."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError):
        pass


def _debug_env() -> bool:
    return os.environ.get("CTOOPS_DEBUG", "") not in ("", "0")


SECRET_ENV = (
    "OPENCTO_TOKEN",
    "OPENAI_API_KEY",
    "OPENAI_ADMIN_KEY",
    "CLOUDFLARE_API_TOKEN",
    "CF_API_TOKEN",
    "AWS_SECRET_ACCESS_KEY",
    "AWS_SESSION_TOKEN",
)


def register_env_secrets() -> None:
    """Before anything can print: every secret the environment holds is known to the redactor,
    so a token pasted into another setting is masked in that setting's error too."""
    from ctoops.redact import register

    for name in SECRET_ENV:
        register(os.environ.get(name))


@click.group(
    cls=CtoopsGroup,
    context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100},
    epilog="Exit codes: 0 ok, 1 a check failed, 2 bad input, 3 not authenticated, "
    "4 upstream unavailable, 5 rate limited, 70 internal error, 130 interrupted, 143 terminated. "
    "More: ctoops help exit-codes | environment | formats",
)
@click.option(
    "--api-url",
    cls=Setting,
    type=UrlType(shipped=(DEFAULT_API_URL,)),
    default=DEFAULT_API_URL,
    metavar="URL",
    envvar="OPENCTO_API_BASE_URL",
    show_envvar=True,
    help="OpenCTO API worker base URL.  [default: https://api.opencto.works]",
)
@click.option(
    "--token",
    metavar="TOKEN",
    help="OpenCTO token (visible to other local users: prefer OPENCTO_TOKEN or "
    "`ctoops auth login`).  [env var: OPENCTO_TOKEN; else the keyring]",
)
@click.option(
    "--workspace",
    cls=Setting,
    type=WorkspaceType(),
    default="default",
    metavar="ID",
    envvar="OPENCTO_WORKSPACE",
    show_envvar=True,
    help="Workspace id.  [default: default]",
)
@click.option(
    "--via",
    cls=Setting,
    type=click.Choice(["opencto", "openai"]),
    default="opencto",
    envvar="CTOOPS_VIA",
    show_envvar=True,
    help="Backend: the OpenCTO worker, or OpenAI directly.  [default: opencto]",
)
@click.option(
    "--profile",
    metavar="NAME",
    envvar="CTOOPS_PROFILE",
    show_envvar=True,
    shell_complete=completion.quiet(completion.profiles),
    help="Profile in the config file (`ctoops config path`).",
)
@click.option(
    "--sandbox",
    cls=Setting,
    type=Flag(),
    is_flag=True,
    flag_value=True,
    default=False,
    envvar="CTOOPS_SANDBOX",
    show_envvar=True,
    help="Answer from the built-in simulation: no network, no credentials.",
)
@click.option(
    "--timeout",
    cls=Setting,
    type=Seconds(600),
    default=30.0,
    metavar="SECONDS",
    envvar="CTOOPS_TIMEOUT",
    show_envvar=True,
    help="Time allowed per network operation, and per attempt in total.  [default: 30]",
)
@click.option(
    "--max-retries",
    cls=Setting,
    type=WholeNumber(0, 10),
    default=3,
    metavar="N",
    envvar="CTOOPS_MAX_RETRIES",
    show_envvar=True,
    help="Retries on connection errors, timeouts, 408/409/429/5xx.  [default: 3]",
)
@click.option(
    "--openai-base-url",
    cls=Setting,
    type=UrlType(shipped=(DEFAULT_OPENAI_BASE_URL,)),
    default=DEFAULT_OPENAI_BASE_URL,
    envvar="OPENAI_BASE_URL",
    hidden=True,
    help="OpenAI's base URL (the official SDK's OPENAI_BASE_URL).",
)
@click.option("-v", "--verbose", is_flag=True, help="One stderr line per HTTP attempt (secrets redacted).")
@click.option(
    "--traceback",
    "show_traceback",
    is_flag=True,
    help="Show the traceback of an internal error (or set CTOOPS_DEBUG=1).",
)
@click.option(
    "--version",
    is_flag=True,
    expose_value=False,
    is_eager=True,
    callback=lambda ctx, param, value: show_version(ctx, value),
    help="Show the versions of ctoops, Python and the key libraries, and exit.",
)
@click.pass_context
def cli(
    ctx: click.Context,
    api_url: str,
    token: str | None,
    workspace: str,
    via: str,
    profile: str | None,
    sandbox: bool,
    timeout: float,
    max_retries: int,
    openai_base_url: str,
    verbose: bool,
    show_traceback: bool,
) -> None:
    """ctoops: run the OpenAI operational runbook of an OpenCTO deployment.

    \b
    Start here (no credentials needed):
      ctoops --sandbox runbook run
    Against your deployment:
      ctoops auth login && ctoops smoke --junit smoke.xml
    """
    from ctoops.context import AppContext

    ctx.obj = app = AppContext(ctx, token_flag=token, verbose=verbose, show_traceback=show_traceback)
    ctx.call_on_close(app.close)
    if token:
        app.notify(
            "warning: --token on the command line is visible to other local users and in shell "
            "history; prefer OPENCTO_TOKEN or `ctoops auth login`"
        )


def show_version(ctx: click.Context, value: bool) -> None:
    """``--version``: ``ctoops X.Y.Z`` on the first line, then Python and the key libraries
    (read from the installed metadata, not by importing them)."""
    if not value or ctx.resilient_parsing:
        return
    from ctoops.versions import version_text

    click.echo(version_text())
    ctx.exit()


def main() -> None:
    """Console-script entry point (``CtoopsGroup.main`` handles errors, Ctrl-C and pipes).

    When the run is over but threads are left (after Ctrl-C, requests in flight on worker
    threads, ``ctoops.pool``; the log reader still blocked on stdin after a live ``errors
    trend -``; a keyring call that never returned), the process ends at once with the run's
    exit code: the interpreter's normal exit would join the workers (sitting out their
    timeouts), or abort ("could not acquire lock for <stdin> at interpreter shutdown") when a
    daemon thread holds stdin. Every ``finally`` on the main thread has run by then
    (temporary files are gone); stdout and stderr are flushed first."""
    try:
        cli.main(prog_name="ctoops")
    except SystemExit as exc:
        code = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
        if code == INTERRUPTED or _threads_left():
            for stream in (sys.stdout, sys.stderr):
                try:
                    stream.flush()
                except (OSError, ValueError):
                    pass
            os._exit(code)
        raise


def _threads_left() -> bool:
    import threading

    return any(t is not threading.main_thread() and t.is_alive() for t in threading.enumerate())
