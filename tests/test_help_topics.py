"""``ctoops help`` topics, ``--version``, and suggestions for a mistyped command."""

from __future__ import annotations

import re
import tomllib
from fnmatch import fnmatch

import pytest
from conftest import ROOT

from ctoops.errors import ExitCode
from ctoops.topics import TOPICS


def test_help_alone_lists_every_topic(ctoops):
    result = ctoops("help")
    assert result.exit_code == 0
    for name, line in TOPICS.items():
        assert re.search(rf"^  {re.escape(name)} +{re.escape(line)}$", result.stdout, re.M), name


@pytest.mark.parametrize("name", list(TOPICS))
def test_each_topic_prints(ctoops, name):
    result = ctoops("help", name)
    assert result.exit_code == 0 and len(result.stdout.splitlines()) > 10 and result.stderr == ""


def test_the_topics_folder_holds_exactly_the_listed_topics():
    folder = ROOT / "ctoops" / "topics"
    assert {p.stem for p in folder.glob("*.txt")} == set(TOPICS)


def test_the_topics_ship_in_the_wheel():
    """pyproject's package data carries every topic file (a pip user has no repository)."""
    setuptools = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]
    assert "ctoops.topics" in setuptools["packages"]
    patterns = setuptools["package-data"]["ctoops.topics"]
    for name in TOPICS:
        assert any(fnmatch(f"{name}.txt", p) for p in patterns), name


def test_exit_codes_topic_names_every_exit_code(ctoops):
    text = ctoops("help", "exit-codes").stdout
    codes = {int(m) for m in re.findall(r"^  (\d+) ", text, re.M)}
    assert {int(c) for c in ExitCode} | {130, 143} == codes


NOT_VARIABLES = {"OPENAI_ERROR"}  # the worker's error code, not an environment variable


def source_env_names() -> set[str]:
    """Every environment variable ctoops' code reads or declares."""
    names: set[str] = set()
    for path in (ROOT / "ctoops").rglob("*.py"):
        text = path.read_text()
        names |= set(re.findall(r"environ(?:\.get)?\(?\[?\"([A-Z][A-Z0-9_]+)\"", text))
        names |= set(re.findall(r"envvar=\"([A-Z][A-Z0-9_]+)\"", text))
        # names handed around in tuples before they are looked up (``pick(("CLOUDFLARE_ZONE_ID",), ...)``)
        names |= set(re.findall(r"\"((?:CTOOPS|OPENCTO|OPENAI|CLOUDFLARE|CF)_[A-Z0-9_]+)\"", text)) - NOT_VARIABLES
    from ctoops.cli import SECRET_ENV

    names |= {n for n in SECRET_ENV if n.startswith(("OPENCTO_", "OPENAI_"))}
    return names


def test_environment_topic_documents_every_variable_ctoops_reads(ctoops):
    text = ctoops("help", "environment").stdout
    documented = set(re.findall(r"^\s+([A-Z_][A-Z0-9_]+)", text, re.M))
    missing = source_env_names() - documented
    assert missing == set()
    assert {"OPENCTO_TOKEN", "OPENAI_ADMIN_KEY", "NO_COLOR"} <= documented


def test_formats_topic_covers_every_format_and_report(ctoops):
    text = ctoops("help", "formats").stdout
    for word in ("table", "json", "csv", ".parquet", "--junit", "--report-json", "--prom-file", "NO_COLOR"):
        assert word in text, word


def test_help_for_a_command_is_its_help(ctoops):
    assert ctoops("help", "usage", "pull").stdout == ctoops("usage", "pull", "--help").stdout
    assert ctoops("help", "smoke").stdout == ctoops("smoke", "--help").stdout


def test_an_unknown_topic_is_exit_2_with_a_suggestion(ctoops):
    result = ctoops("help", "exitcodes")
    assert result.exit_code == 2 and "Did you mean 'exit-codes'?" in result.stderr
    assert ctoops("help", "usage", "pul").exit_code == 2


def test_root_help_points_to_the_topics(ctoops):
    assert "ctoops help exit-codes" in ctoops("--help").stdout


def test_version_names_python_and_the_key_libraries(ctoops):
    from importlib.metadata import version

    import ctoops as package

    lines = ctoops("--version").stdout.splitlines()
    assert lines[0] == f"ctoops {package.__version__}"
    assert lines[1].startswith("python 3.")
    for library in ("click", "httpx", "pandas", "pyarrow", "rich", "plotext", "keyring"):
        assert f"{library} {version(library)}" in "\n".join(lines[2:])  # wrapped under 80 columns


def test_the_report_keeps_the_versions_it_always_recorded():
    from ctoops.reports import versions

    assert list(versions()) == ["ctoops", "python", "httpx", "click", "platform"]


@pytest.mark.parametrize(
    ("typed", "hint"),
    [
        ("smok", "Did you mean 'smoke'?"),
        ("runbok", "Did you mean 'runbook'?"),
        ("trend", "Did you mean 'errors trend'?"),
        ("login", "Did you mean 'auth login'?"),
        ("validate", "Did you mean 'keys validate'?"),
    ],
)
def test_a_mistyped_command_gets_a_suggestion(ctoops, typed, hint):
    result = ctoops(typed)
    assert result.exit_code == ExitCode.BAD_INPUT
    assert f"No such command '{typed}'. {hint}" in result.stderr


def test_a_command_with_nothing_close_gets_no_guess(ctoops):
    result = ctoops("xyzzy")
    assert result.exit_code == 2 and "No such command 'xyzzy'." in result.stderr and "mean" not in result.stderr


def test_version_and_topics_import_no_heavy_library():
    from test_cli_root import HEAVY, loaded_after

    assert loaded_after("--version") & HEAVY == set()
    assert loaded_after("help", "exit-codes") & HEAVY == set()


@pytest.mark.parametrize("name", list(TOPICS))
def test_each_topic_reads_on_an_80_column_terminal(name):
    from ctoops.topics import read

    assert max(len(line) for line in read(name).splitlines()) < 80
