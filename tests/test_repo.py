"""The repository keeps its promises: the README's commands are the ones CI runs."""

from __future__ import annotations

import re

from conftest import ROOT


def readme_commands() -> list[str]:
    text = (ROOT / "README.md").read_text()
    return re.findall(r"```sh\n(.+?)\n```", text)


def test_readme_opens_with_the_main_job_and_the_test_command():
    first, second = readme_commands()[:2]
    assert "pip install ." in first and "ctoops" in first.split("&&")[-1]
    assert "pip install -e '.[test]'" in second and "pytest" in second


def test_ci_runs_the_readme_test_command():
    ci = (ROOT / ".ci" / "run").read_text()
    assert readme_commands()[1] in ci.splitlines()


def test_every_package_ships_in_the_wheel():
    import tomllib

    listed = set(tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]["packages"])
    found = {".".join(p.parent.relative_to(ROOT).parts) for p in (ROOT / "ctoops").rglob("__init__.py")}
    assert found <= listed, f"packages missing from pyproject.toml: {sorted(found - listed)}"
    assert "ctoops.runbooks" in listed  # the top-level runbooks/ folder, shipped as package data


def test_ci_checks_types_and_lint_after_the_tests():
    ci = (ROOT / ".ci" / "run").read_text()
    assert "set -euo pipefail" in ci  # any failing step fails CI
    after = ci.split(readme_commands()[1], 1)[1]
    for step in (".venv/bin/mypy", ".venv/bin/ruff check .", ".venv/bin/ruff format --check ."):
        assert step in after.splitlines(), step
