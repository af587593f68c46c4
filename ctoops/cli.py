"""The root command: global options, the error boundary, and the command groups.

Only click is imported here; every heavy library is imported by the command that uses it,
so ``ctoops --help`` costs about what ``import click`` costs.
"""

from __future__ import annotations

import os
import sys
from typing import Any

import click

from ctoops import __version__
from ctoops.errors import ExitCode, InternalError

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
}


class CtoopsGroup(click.Group):
    """Loads command modules on demand and turns any unexpected exception into exit 70."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return list(COMMANDS)

    def get_command(self, ctx: click.Context, name: str) -> click.Command | None:
        if name not in COMMANDS:
            return None
        import importlib

        module, attr, _ = COMMANDS[name]
        command: click.Command = getattr(importlib.import_module(module), attr)
        return command

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        with formatter.section("Commands"):
            formatter.write_dl([(name, short) for name, (_, _, short) in COMMANDS.items()])

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except (click.exceptions.ClickException, click.exceptions.Exit, click.exceptions.Abort):
            raise
        except BrokenPipeError:
            raise  # the reader left (`| head`); click exits quietly
        except Exception as exc:
            if getattr(ctx.obj, "show_traceback", False) or _debug_env():
                import traceback

                traceback.print_exc()
                hint = "the traceback is above"
            else:
                hint = "rerun with --traceback (or CTOOPS_DEBUG=1) to see where"
            raise InternalError(
                f"internal error ({type(exc).__name__}: {exc}). This is a bug in ctoops: {hint}, "
                "and report it to the ctoops maintainers with that output"
            ) from exc


def _debug_env() -> bool:
    return os.environ.get("CTOOPS_DEBUG", "") not in ("", "0")


def _source(ctx: click.Context, name: str, value: Any, flag: str, env: str | None) -> tuple[Any, str | None]:
    source = ctx.get_parameter_source(name)
    if source is click.core.ParameterSource.COMMANDLINE:
        return value, f"flag {flag}"
    if source is click.core.ParameterSource.ENVIRONMENT:
        return value, f"env {env}"
    return None, None


@click.group(
    cls=CtoopsGroup,
    context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100},
    epilog="Exit codes: 0 ok, 1 a check failed, 2 bad input, 3 not authenticated, "
    "4 upstream unavailable, 5 rate limited, 70 internal error. Docs: docs/cli.md",
)
@click.option(
    "--api-url",
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
    metavar="ID",
    envvar="OPENCTO_WORKSPACE",
    show_envvar=True,
    help="Workspace id.  [default: default]",
)
@click.option(
    "--via",
    type=click.Choice(["opencto", "openai"]),
    envvar="CTOOPS_VIA",
    show_envvar=True,
    help="Backend: the OpenCTO worker, or OpenAI directly.  [default: opencto]",
)
@click.option(
    "--profile",
    metavar="NAME",
    envvar="CTOOPS_PROFILE",
    show_envvar=True,
    help="Profile in the config file (`ctoops config path`).",
)
@click.option(
    "--sandbox",
    is_flag=True,
    envvar="CTOOPS_SANDBOX",
    show_envvar=True,
    help="Answer from the built-in simulation: no network, no credentials.",
)
@click.option(
    "--timeout",
    type=float,
    metavar="SECONDS",
    envvar="CTOOPS_TIMEOUT",
    show_envvar=True,
    help="Connect/read timeout per request.  [default: 30]",
)
@click.option(
    "--max-retries",
    type=int,
    metavar="N",
    envvar="CTOOPS_MAX_RETRIES",
    show_envvar=True,
    help="Retries on connection errors, timeouts, 408/409/429/5xx.  [default: 3]",
)
@click.option("-v", "--verbose", is_flag=True, help="One stderr line per HTTP attempt (secrets redacted).")
@click.option(
    "--traceback",
    "show_traceback",
    is_flag=True,
    help="Show the traceback of an internal error (or set CTOOPS_DEBUG=1).",
)
@click.version_option(__version__, "--version", prog_name="ctoops", message="%(prog)s %(version)s")
@click.pass_context
def cli(
    ctx: click.Context,
    api_url: str | None,
    token: str | None,
    workspace: str | None,
    via: str | None,
    profile: str | None,
    sandbox: bool,
    timeout: float | None,
    max_retries: int | None,
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

    given = {
        "api_url": _source(ctx, "api_url", api_url, "--api-url", "OPENCTO_API_BASE_URL"),
        "workspace": _source(ctx, "workspace", workspace, "--workspace", "OPENCTO_WORKSPACE"),
        "via": _source(ctx, "via", via, "--via", "CTOOPS_VIA"),
        "sandbox": _source(ctx, "sandbox", sandbox, "--sandbox", "CTOOPS_SANDBOX"),
        "timeout": _source(ctx, "timeout", timeout, "--timeout", "CTOOPS_TIMEOUT"),
        "max_retries": _source(ctx, "max_retries", max_retries, "--max-retries", "CTOOPS_MAX_RETRIES"),
    }
    app = AppContext(
        given=given,
        profile_given=_source(ctx, "profile", profile, "--profile", "CTOOPS_PROFILE"),
        token_flag=token,
        verbose=verbose,
        show_traceback=show_traceback,
    )
    ctx.obj = app
    ctx.call_on_close(app.close)
    if token:
        app.notify(
            "warning: --token on the command line is visible to other local users and in shell "
            "history; prefer OPENCTO_TOKEN or `ctoops auth login`"
        )


def main() -> None:
    """Console-script entry point."""
    try:
        cli.main(prog_name="ctoops")
    except KeyboardInterrupt:
        click.echo("Aborted.", err=True)
        sys.exit(130)
    except BrokenPipeError:
        # the reader went away (`ctoops ... | head`): not an error worth a traceback
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        sys.exit(ExitCode.OK)
