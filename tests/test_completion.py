"""Shell completion: the scripts, and completions driven through Click's machinery as a shell
drives it (``_CTOOPS_COMPLETE=bash_complete`` with ``COMP_WORDS``/``COMP_CWORD``), and once
through real bash with the script sourced."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import click
import pytest

from ctoops.cli import COMMANDS, cli
from ctoops.completion import PARAMS


def complete(words: str, cwd: Path | None = None, env: dict[str, str] | None = None) -> list[tuple[str, str]]:
    """What ctoops answers a bash Tab press after ``words`` (a trailing space: a new word),
    as ``(type, value)`` pairs. Runs the installed CLI in a subprocess, as the script does."""
    typed = words.split()
    cword = len(typed) if words.endswith(" ") else len(typed) - 1
    run_env = {
        **os.environ,
        **(env or {}),
        "COMP_WORDS": words,
        "COMP_CWORD": str(cword),
        "_CTOOPS_COMPLETE": "bash_complete",
    }
    result = subprocess.run(
        [sys.executable, "-m", "ctoops"], env=run_env, capture_output=True, text=True, cwd=cwd, check=False
    )
    assert result.returncode == 0, result.stderr
    assert result.stderr == ""
    pairs = []
    for line in filter(None, result.stdout.splitlines()):
        kind, _, value = line.partition(",")
        pairs.append((kind, value))
    return pairs


def test_a_path_option_completes_file_names_in_the_shell(tmp_path):
    assert complete("ctoops smoke --junit ") == [("file", "")]
    assert complete("ctoops usage pull --start 7d -o rep") == [("file", "rep")]
    assert complete("ctoops errors trend ./logs/") == [("file", "./logs/")]


def test_a_runbook_name_completes_from_the_bundled_and_local_runbooks(tmp_path):
    (tmp_path / "runbooks").mkdir()
    (tmp_path / "runbooks" / "nightly-checks.toml").write_text('name = "nightly-checks"\n')
    from ctoops.runbook import bundled

    shipped = [("plain", p.stem) for p in bundled()]
    assert ("plain", "openai-ops") in shipped
    assert complete("ctoops runbook run ", cwd=tmp_path) == sorted([("plain", "nightly-checks"), *shipped])
    assert complete("ctoops runbook show open", cwd=tmp_path) == [("plain", "openai-ops")]
    # a word that looks like a path is completed as one
    assert complete("ctoops runbook run ./run", cwd=tmp_path) == [("file", "./run")]


def test_checks_groups_and_buckets_complete_by_name():
    from ctoops.checks.smoke import CHECKS

    assert [v for _, v in complete("ctoops smoke --only ")] == list(CHECKS)
    assert {"realtime_token", "models", "usage", "workspace_key"} <= set(CHECKS)
    assert complete("ctoops smoke --skip wor") == [("plain", "workspace_key")]
    assert complete("ctoops usage pull --group-by model,pro") == [("plain", "model,project_id")]
    # the fields follow --kind; one already given is not offered again
    images = [v for _, v in complete("ctoops usage pull --kind images --group-by model,")]
    assert "model,size" in images and "model,model" not in images
    assert [v for _, v in complete("ctoops usage costs --group-by ")] == ["project_id", "line_item"]
    assert complete("ctoops errors trend --bucket real") == [("plain", "realtime_token")]
    assert ("plain", "last-month") in complete("ctoops usage report --start ")


def test_commands_and_profiles_complete(isolated):
    config = isolated / "config" / "config.toml"
    config.parent.mkdir()
    config.write_text('[profiles.staging]\nworkspace = "acme"\n[profiles.prod]\nworkspace = "acme"\n')
    assert complete("ctoops sm") == [("plain", "smoke")]
    assert complete("ctoops --profile ") == [("plain", "prod"), ("plain", "staging")]


def test_a_broken_config_file_does_not_break_completion(isolated):
    config = isolated / "config" / "config.toml"
    config.parent.mkdir()
    config.write_text("this is [not toml")
    assert complete("ctoops --profile ") == []
    assert complete("ctoops runbook run open") == [("plain", "openai-ops")]


@pytest.mark.skipif(shutil.which("bash") is None, reason="bash is not installed")
def test_the_bash_script_completes_a_runbook_name_in_bash(ctoops, tmp_path):
    script = ctoops("completion", "bash")
    assert script.exit_code == 0 and "_CTOOPS_COMPLETE=bash_complete" in script.stdout
    (tmp_path / "ctoops.bash").write_text(script.stdout)
    # the console script as the shell finds it on PATH
    bindir = tmp_path / "bin"
    bindir.mkdir()
    (bindir / "ctoops").write_text(f'#!/bin/sh\nexec "{sys.executable}" -m ctoops "$@"\n')
    (bindir / "ctoops").chmod(0o755)
    program = (
        f"source {tmp_path / 'ctoops.bash'}\n"
        "COMP_WORDS=(ctoops runbook run op); COMP_CWORD=3\n"
        "_ctoops_completion ctoops\n"
        'printf "%s\\n" "${COMPREPLY[@]}"\n'
        "complete -p ctoops\n"
    )
    env = {**os.environ, "PATH": f"{bindir}:{os.environ['PATH']}"}
    result = subprocess.run(["bash", "--norc", "-c", program], env=env, capture_output=True, text=True, check=False)
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines() == ["openai-ops", "complete -o nosort -F _ctoops_completion ctoops"]


@pytest.mark.parametrize("shell", ["bash", "zsh", "fish"])
def test_each_shell_gets_its_script(ctoops, shell):
    result = ctoops("completion", shell)
    assert result.exit_code == 0
    assert f"_CTOOPS_COMPLETE={shell}_complete" in result.stdout
    assert "_ctoops_completion" in result.stdout


def test_the_bash_script_is_valid_bash(ctoops, tmp_path):
    if shutil.which("bash") is None:
        pytest.skip("bash is not installed")
    path = tmp_path / "ctoops.bash"
    path.write_text(ctoops("completion", "bash").stdout)
    assert subprocess.run(["bash", "-n", str(path)], capture_output=True, check=False).returncode == 0


def test_the_shell_defaults_to_the_login_shell(ctoops):
    assert "compdef _ctoops_completion ctoops" in ctoops("completion", env={"SHELL": "/usr/bin/zsh"}).stdout
    result = ctoops("completion", env={"SHELL": "/bin/tcsh"})
    assert result.exit_code == 2 and "name the shell" in result.stderr and result.stdout == ""
    assert ctoops("completion", "powershell").exit_code == 2


def all_commands() -> dict[tuple[str, ...], click.Command]:
    ctx = click.Context(cli)
    found: dict[tuple[str, ...], click.Command] = {}

    def walk(path: tuple[str, ...], command: click.Command) -> None:
        found[path] = command
        if isinstance(command, click.Group):
            for name in command.list_commands(ctx):
                sub = command.get_command(ctx, name)
                assert sub is not None
                walk((*path, name), sub)

    for name in COMMANDS:
        command = cli.get_command(ctx, name)
        assert command is not None
        walk((name,), command)
    return found


def test_every_completer_names_a_real_parameter():
    commands = all_commands()
    for path, wanted in PARAMS.items():
        assert path in commands, path
        names = {p.name for p in commands[path].params}
        assert set(wanted) <= names, (path, set(wanted) - names)


def test_every_parameter_that_takes_a_path_completes_one():
    """A new ``-o FILE`` or ``SOURCE`` without a completer fails here, not in a user's shell."""
    missed = []
    for path, command in all_commands().items():
        for param in command.params:
            metavar = (getattr(param, "metavar", None) or "").upper()
            takes_path = any(word in metavar for word in ("FILE", "SOURCE", "PATH", "DIR"))
            has_completer = param._custom_shell_complete is not None or isinstance(param.type, click.Path)
            if takes_path and not has_completer:
                missed.append((path, param.name))
    assert missed == []


def test_completion_imports_no_heavy_library():
    code = (
        "import os, sys, atexit\n"
        "os.environ.update(COMP_WORDS='ctoops usage pull --group-by ', COMP_CWORD='4', _CTOOPS_COMPLETE='bash_complete')\n"
        "atexit.register(lambda: print(' '.join(sorted({m.split('.')[0] for m in sys.modules})), file=sys.stderr))\n"
        "from ctoops.cli import main\n"
        "main()\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=False)
    assert "plain,model" in result.stdout
    heavy = {"pandas", "pyarrow", "numpy", "plotext", "httpx", "keyring", "rich"}
    assert set(result.stderr.split()) & heavy == set()


@pytest.mark.parametrize("cword", ["x", "", "-1x"])
def test_a_malformed_completion_request_completes_nothing_quietly(cword):
    # COMP_CWORD=x was 'internal error (ValueError ...)', exit 70, in the middle of a Tab press
    env = {**os.environ, "COMP_WORDS": "ctoops usage", "COMP_CWORD": cword, "_CTOOPS_COMPLETE": "bash_complete"}
    done = subprocess.run([sys.executable, "-m", "ctoops"], env=env, capture_output=True, text=True, timeout=60)
    assert done.returncode in (0, 1), done.stderr
    assert done.stdout == "" and "internal error" not in done.stderr and "Traceback" not in done.stderr


def test_completing_a_runbook_name_lists_files_and_parses_none():
    """A Tab press after ``runbook run`` lists the runbook files by name: it imports neither
    the TOML parser, nor importlib.resources (7 ms), nor the runbook operations and runner."""
    code = (
        "import os, sys, atexit\n"
        "before = set(sys.modules)\n"
        "os.environ.update(COMP_WORDS='ctoops runbook run ', COMP_CWORD='3', _CTOOPS_COMPLETE='bash_complete')\n"
        "atexit.register(lambda: print(' '.join(sorted(set(sys.modules) - before)), file=sys.stderr))\n"
        "from ctoops.cli import main\n"
        "main()\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=False)
    assert {"plain,finance", "plain,openai-ops"} <= set(result.stdout.split()), result.stdout
    loaded = set(result.stderr.split())
    assert "ctoops.runbook.book" in loaded
    assert loaded & {"tomllib", "importlib.resources", "ctoops.runbook.operations", "ctoops.runbook.run"} == set()
