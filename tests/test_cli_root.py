"""The root command: help, version, exit codes for usage errors and internal errors."""

from __future__ import annotations

import subprocess
import sys

import ctoops
from ctoops.errors import ExitCode


def test_help_lists_commands_and_exit_codes(ctoops):
    result = ctoops("--help")
    assert result.exit_code == 0
    assert "models" in result.stdout and "config" in result.stdout
    assert "70 internal error" in result.stdout


def test_version(ctoops):
    result = ctoops("--version")
    assert result.stdout.splitlines()[0] == f"ctoops {ctoops_version()}"
    assert max(len(line) for line in result.stdout.splitlines()) < 80  # an 80-column terminal
    for library in ("click", "httpx", "pandas", "pyarrow", "rich", "plotext", "keyring"):
        assert f"{library} " in result.stdout


def ctoops_version() -> str:
    return ctoops.__version__


def test_the_lazy_command_list_matches_each_commands_own_help():
    import click

    from ctoops.cli import COMMANDS, cli

    ctx = click.Context(cli)
    for name, (_, _, short) in COMMANDS.items():
        assert cli.get_command(ctx, name).get_short_help_str(limit=200) == short, name


def test_unknown_option_is_exit_2(ctoops):
    result = ctoops("--no-such-thing")
    assert result.exit_code == 2 and "No such option" in result.stderr


def test_every_command_has_help(ctoops):
    import click

    from ctoops.cli import cli

    ctx = click.Context(cli)
    for name in cli.list_commands(ctx):
        command = cli.get_command(ctx, name)
        assert command.help, name
        sub = ctoops(name, "--help")
        assert sub.exit_code == 0, name
        if isinstance(command, click.Group):
            for sub_name in command.list_commands(ctx):
                assert command.get_command(ctx, sub_name).help, f"{name} {sub_name}"


def test_an_unexpected_exception_is_exit_70_in_one_line(ctoops, monkeypatch):
    import ctoops.commands.config as config_cmd

    def broken():
        raise ZeroDivisionError("division by zero")

    monkeypatch.setattr(config_cmd, "_env_trace", broken)
    result = ctoops("config", "show")
    assert result.exit_code == ExitCode.INTERNAL == 70
    assert result.stderr.count("\n") == 1
    assert "internal error (ZeroDivisionError: division by zero)" in result.stderr
    assert "--traceback" in result.stderr and "Traceback" not in result.stderr

    shown = ctoops("--traceback", "config", "show")
    assert shown.exit_code == 70 and "Traceback (most recent call last)" in shown.stderr


def test_python_dash_m_and_the_console_script_run():
    result = subprocess.run([sys.executable, "-m", "ctoops", "--version"], capture_output=True, text=True)
    assert result.returncode == 0 and result.stdout.startswith("ctoops ")


HEAVY = {"pandas", "pyarrow", "numpy", "plotext", "httpx", "keyring", "rich", "websockets", "boto3", "botocore"}


def loaded_after(*argv: str, own: bool = False) -> set[str]:
    """The top-level modules loaded once ``ctoops ARGV`` has run; with ``own``, the full names
    of those ctoops imported itself, not those the interpreter had loaded before (an editable
    install's import hook loads pathlib, and with it urllib, at startup)."""
    names = "set(sys.modules) - before" if own else "{m.split('.')[0] for m in sys.modules}"
    code = (
        "import sys, atexit\n"
        "before = set(sys.modules)\n"
        f"atexit.register(lambda: print(' '.join(sorted({names})), file=sys.stderr))\n"
        f"sys.argv = ['ctoops', *{list(argv)!r}]\n"
        "from ctoops.cli import main\n"
        "main()\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    return set(result.stderr.split())


def test_help_imports_no_heavy_library():
    assert loaded_after("--help") & HEAVY == set()
    assert loaded_after("models", "list", "--help") & HEAVY == set()
    assert loaded_after("errors", "trend", "--help") & HEAVY == set()
    assert loaded_after("realtime", "check", "--help") & HEAVY == set()


def test_help_skips_what_only_a_run_needs():
    """Startup budget (benchmarks/startup.py): ``--help`` parses no URL (the shipped defaults
    are taken as they are) and installs no SIGTERM handler (it is installed when the root
    command runs, which a subcommand's ``--help`` passes through), so urllib.parse, ipaddress
    and signal stay unloaded."""
    assert loaded_after("--help", own=True) & {"urllib.parse", "ipaddress", "signal"} == set()
    for argv in (["keys", "--help"], ["errors", "trend", "--help"]):
        assert loaded_after(*argv, own=True) & {"urllib.parse", "ipaddress"} == set(), argv


def test_the_shipped_default_urls_pass_the_full_url_check_unchanged():
    from ctoops.cli import cli
    from ctoops.params import UrlType

    shipped = {p.name: p for p in cli.params if isinstance(p.type, UrlType) and p.type.shipped}
    assert set(shipped) == {"api_url", "openai_base_url"}
    for name, param in shipped.items():
        assert isinstance(param.type, UrlType) and param.type.shipped == {param.default}, name
        assert UrlType().convert(param.default, None, None) == param.default, name
