"""Runbook files: finding, loading and checking them, and ``-p STEP.KEY=VALUE`` overrides.

A runbook::

    name = "openai-ops"
    title = "..."

    [[step]]
    name = "realtime"                 # unique; used in --param and in reports
    title = "3. Validate the realtime path"
    run = "realtime check"            # an operation, named after its ctoops command
    continue_on_failure = false       # default: a failed step stops the runbook
    always = false                    # true: run even after an earlier step stopped it (monitoring)
    instructions = "..."              # shown with the step (what it means, what to do)
    [step.with]                       # the operation's parameters and thresholds
    min_ttl = 60
    max_latency_ms = 3000             # any step: fail a check slower than this (waits excluded)

    [[step]]
    name = "worker-secret"
    manual = true                     # not run: its instructions are shown
    instructions = "wrangler secret put OPENAI_API_KEY"

Every key and parameter is checked when the file is loaded, by the same rules as the CLI's
options (``ctoops.params``): a bad one is exit 2 naming the file, the step and the key.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import click

from ctoops.errors import BadInput
from ctoops.params import ParamType

DEFAULT = "openai-ops"
FLAGS = ("manual", "continue_on_failure", "always")
TEXTS = ("name", "title", "run", "instructions")
STEP_KEYS = {*FLAGS, *TEXTS, "with"}


@dataclass(frozen=True)
class Step:
    """One step: an operation to run (``run``) with ``params``, or a ``manual`` one to show."""

    name: str
    title: str
    run: str | None
    manual: bool
    continue_on_failure: bool
    instructions: str
    params: dict[str, Any] = field(default_factory=dict)
    always: bool = False


@dataclass(frozen=True)
class Runbook:
    """A loaded runbook; ``path`` is the file it came from."""

    name: str
    title: str
    description: str
    steps: tuple[Step, ...]
    path: str


def bundled() -> list[Path]:
    """The runbooks shipped with ctoops (``runbooks/*.toml`` in the repository, installed as
    the package ``ctoops.runbooks``). Where that package is a folder (any normal or editable
    install) it is listed directly: ``importlib.resources``, which also reads packages inside
    archives, costs about 7 ms to import, paid on every Tab press that completes a runbook."""
    import importlib.util
    import os

    spec = importlib.util.find_spec("ctoops.runbooks")
    folders = list(spec.submodule_search_locations or []) if spec is not None else []
    if folders and all(os.path.isdir(folder) for folder in folders):
        return sorted(path for folder in folders for path in Path(folder).glob("*.toml"))
    from importlib.resources import files

    found = files("ctoops.runbooks")
    return sorted(Path(str(p)) for p in found.iterdir() if p.name.endswith(".toml"))


def local_dirs(config_dir: Path) -> list[Path]:
    """Where local runbooks live: ./runbooks, then the config dir's runbooks/."""
    return [Path.cwd() / "runbooks", config_dir / "runbooks"]


def available(config_dir: Path) -> list[tuple[str, Path, str]]:
    """(name, path, where) for every runbook, local ones first; a local one shadows a
    bundled one of the same name."""
    found: list[tuple[str, Path, str]] = []
    seen: set[str] = set()
    shipped = {p.resolve(): p for p in bundled()}
    for folder in local_dirs(config_dir):
        for path in sorted(folder.glob("*.toml")) if folder.is_dir() else []:
            if path.stem not in seen and path.resolve() not in shipped:  # a source checkout's own
                found.append((path.stem, path, "local"))
                seen.add(path.stem)
    for path in shipped.values():
        found.append((path.stem, path, "bundled" if path.stem not in seen else "bundled (shadowed)"))
    return found


def find(name_or_path: str | None, config_dir: Path) -> Path:
    """The file for a runbook name or path (default: openai-ops); exit 2 when there is none."""
    given = name_or_path or DEFAULT
    path = Path(given)
    if path.suffix == ".toml" or "/" in given:
        if not path.is_file():
            raise BadInput(f"no runbook file {given}")
        return path
    for name, candidate, where in available(config_dir):
        if name == given and where != "bundled (shadowed)":
            return candidate
    names = ", ".join(sorted({n for n, _, _ in available(config_dir)}))
    raise BadInput(f"no runbook named {given!r} (known: {names}); `ctoops runbook list` shows them")


def load(path: Path) -> Runbook:
    """The runbook in ``path``, every step and parameter checked (exit 2 naming file, step, key)."""
    import tomllib  # here: a Tab press lists runbooks by file name and parses none

    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise BadInput(f"no runbook file {path}") from None
    except (tomllib.TOMLDecodeError, UnicodeDecodeError, RecursionError) as exc:
        raise BadInput(f"runbook {path} is not valid TOML: {exc}") from None
    except OSError as exc:
        raise BadInput(f"cannot read runbook {path}: {exc.strerror}") from None
    steps_data = data.get("step")
    if not isinstance(steps_data, list) or not steps_data:
        raise BadInput(f"runbook {path} has no [[step]] tables")
    steps = []
    names: set[str] = set()
    for i, raw in enumerate(steps_data, 1):
        where = f"runbook {path}, step {i}"
        step = _step(raw, where)
        if step.name in names:
            raise BadInput(f"{where}: every step needs a unique `name` ({step.name!r} is used twice)")
        names.add(step.name)
        steps.append(step)
    return Runbook(
        name=str(data.get("name") or path.stem),
        title=str(data.get("title") or path.stem),
        description=str(data.get("description") or "").strip(),
        steps=tuple(steps),
        path=str(path),
    )


def _step(raw: Any, where: str) -> Step:
    from ctoops.runbook.schema import OPERATIONS, check_params

    if not isinstance(raw, dict):
        raise BadInput(f"{where}: a step must be a table")
    if isinstance(raw.get("name"), str) and raw["name"]:
        where = f"{where} ({raw['name']})"
    unknown = set(raw) - STEP_KEYS
    if unknown:
        raise BadInput(f"{where}: unknown key {sorted(unknown)[0]!r} (known: {', '.join(sorted(STEP_KEYS))})")
    for key in TEXTS:
        if key in raw and not isinstance(raw[key], str):
            raise BadInput(f"{where}: `{key}` must be text, not {raw[key]!r}")
    for key in FLAGS:
        if key in raw and not isinstance(raw[key], bool):
            raise BadInput(f"{where}: `{key}` must be true or false (unquoted), not {raw[key]!r}")
    name = raw.get("name")
    if not name:
        raise BadInput(f"{where}: every step needs a unique `name`")
    manual = raw.get("manual", False)
    run = raw.get("run")
    if manual == (run is not None):
        raise BadInput(f'{where}: give either `run = "<operation>"` or `manual = true`')
    if run is not None and run not in OPERATIONS:
        raise BadInput(f"{where}: unknown operation {run!r} (known: {', '.join(OPERATIONS)})")
    params = raw.get("with", {})
    if not isinstance(params, dict):
        raise BadInput(f"{where}: `with` must be a table")
    return Step(
        name=name,
        title=raw.get("title") or name,
        run=run,
        manual=manual,
        continue_on_failure=raw.get("continue_on_failure", False),
        instructions=(raw.get("instructions") or "").strip(),
        params=check_params(run, params, where) if run else {},
        always=raw.get("always", False),
    )


def override(runbook: Runbook, assignments: Sequence[str]) -> Runbook:
    """Apply ``STEP.KEY=VALUE`` overrides (VALUE read as TOML when it parses, else text),
    each checked by the step's parameter rules (exit 2)."""
    from ctoops.runbook.schema import check_params

    steps = {s.name: s for s in runbook.steps}
    for assignment in assignments:
        target, sep, text = assignment.partition("=")
        step_name, dot, key = target.partition(".")
        if not sep or not dot or not key:
            raise BadInput(f"--param {assignment!r}: expected STEP.KEY=VALUE")
        if step_name not in steps:
            raise BadInput(f"--param {assignment!r}: no step {step_name!r} (steps: {', '.join(steps)})")
        step = steps[step_name]
        if step.run is None:
            raise BadInput(f"--param {assignment!r}: step {step_name!r} is manual and takes no parameters")
        import tomllib

        try:
            value = tomllib.loads(f"v = {text}")["v"]
        except tomllib.TOMLDecodeError:
            value = text
        params = check_params(step.run, {**step.params, key: value}, f"--param {assignment!r}")
        steps[step_name] = replace(step, params=params)
    return replace(runbook, steps=tuple(steps[s.name] for s in runbook.steps))


def convert(kind: ParamType, value: Any, where: str, key: str) -> Any:
    """``value`` by the rule ``kind``; BadInput naming ``where`` and ``key`` when it breaks it."""
    try:
        return kind.convert(value, None, None)
    except click.BadParameter as exc:
        raise BadInput(f"{where}: `{key}`: {exc.message}") from None


def local_files(book: Runbook) -> tuple[list[str], list[str]]:
    """The local files a run of ``book`` reads (``errors trend`` sources; not ``-`` or a
    ``scheme://`` URL) and writes (``usage costs`` output), as given: the paths no report
    may take (``check_report_paths``)."""
    reads: list[str] = []
    writes: list[str] = []
    for step in book.steps:
        if step.run == "errors trend":
            reads += [str(n) for n in step.params.get("sources") or [] if n != "-" and "://" not in str(n)]
        elif step.run == "usage costs" and step.params.get("output"):
            writes.append(str(step.params["output"]))
    return reads, writes
