"""Shell completion: what each parameter completes to, and the scripts for bash, zsh and fish.

Click's own machinery does the work (``click.shell_completion``): the script a shell
sources runs ``ctoops`` with ``_CTOOPS_COMPLETE=<shell>_complete`` and the words typed so
far; Click parses them (without running anything) and asks the parameter being completed.
This module says what each parameter answers:

* a path (``-o``, ``--junit``, ``--report-json``, ``--prom-file``, trend sources): the
  shell's own file completion (Click's ``file`` item);
* a runbook (``runbook run|show [NAME|FILE]``): the names ``runbook list`` shows, and
  files once the word looks like a path;
* ``smoke --only/--skip``: the check names; ``usage pull|costs --group-by`` and ``errors
  trend --bucket``: the field or bucket names, after a comma too (``model,pro<Tab>``);
* ``usage --start/--end``: the relative date words; ``errors trend --since``: common spans;
* ``--profile``: the profiles in the config file.

Completers are attached by command path (``PARAMS``) when the lazy registry loads a
command, so the command modules stay free of completion code; ``tests/test_completion.py``
checks that every entry names a real parameter and that every parameter taking a file has
a completer. Everything here is light: no heavy library is imported on a Tab press.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import click
    from click.shell_completion import CompletionItem

Completer = Callable[["click.Context", "click.Parameter", str], list["CompletionItem"]]

SHELLS = ("bash", "zsh", "fish")
COMPLETE_VAR = "_CTOOPS_COMPLETE"  # Click's default for prog_name "ctoops"


def script(shell: str, cli: click.Command, prog_name: str = "ctoops") -> str:
    """The completion script for ``shell`` (one of ``SHELLS``), from Click's templates.

    Raises ``ValueError`` for a shell Click has no class for.
    """
    from click.shell_completion import get_completion_class

    cls = get_completion_class(shell)
    if cls is None:
        raise ValueError(f"no completion for {shell!r}")
    return cls(cli, {}, prog_name, COMPLETE_VAR).source()


# -- completers --------------------------------------------------------------------------------


def _items(values: Iterable[str], incomplete: str, help: dict[str, str] | None = None) -> list[CompletionItem]:
    from click.shell_completion import CompletionItem

    return [CompletionItem(v, help=(help or {}).get(v)) for v in values if v.startswith(incomplete)]


def _listed(names: Iterable[str], incomplete: str) -> list[CompletionItem]:
    """Names for a comma-separated value: completes the part after the last comma, offering
    only the names not already given (``model,pro`` -> ``model,project_id``)."""
    from click.shell_completion import CompletionItem

    head, _, last = incomplete.rpartition(",")
    given = set(head.split(",")) if head else set()
    prefix = f"{head}," if head else ""
    return [CompletionItem(prefix + n) for n in names if n.startswith(last) and n not in given]


def path(ctx: click.Context, param: click.Parameter, incomplete: str) -> list[CompletionItem]:
    """The shell's own file-name completion."""
    from click.shell_completion import CompletionItem

    return [CompletionItem(incomplete, type="file")]


def runbooks(ctx: click.Context, param: click.Parameter, incomplete: str) -> list[CompletionItem]:
    """Runbook names (local ones and the bundled ones), or files once the word has a ``/``
    or ``.`` in it, or no name matches: ``runbook run`` takes either."""
    from click.shell_completion import CompletionItem

    from ctoops.config import config_path
    from ctoops.runbook.book import available

    if "/" in incomplete or "." in incomplete or incomplete.startswith("~"):
        return path(ctx, param, incomplete)
    try:
        found = available(config_path().parent)
    except OSError:
        found = []
    names = sorted({name for name, _, _ in found})
    items = _items(names, incomplete)
    return items or [CompletionItem(incomplete, type="file")]


def checks(ctx: click.Context, param: click.Parameter, incomplete: str) -> list[CompletionItem]:
    """``smoke``'s check names."""
    from ctoops.checks.smoke import CHECKS

    return _items(CHECKS, incomplete)


def usage_groups(ctx: click.Context, param: click.Parameter, incomplete: str) -> list[CompletionItem]:
    """The group-by fields of the ``--kind`` given so far (completions by default)."""
    from ctoops.usage.shapes import KIND_GROUPS

    kind = ctx.params.get("kind") or "completions"
    return _listed(KIND_GROUPS.get(kind, ()), incomplete)


def costs_groups(ctx: click.Context, param: click.Parameter, incomplete: str) -> list[CompletionItem]:
    """The costs endpoint's group-by fields."""
    from ctoops.usage.shapes import COSTS_GROUPS

    return _listed(COSTS_GROUPS, incomplete)


def trend_buckets(ctx: click.Context, param: click.Parameter, incomplete: str) -> list[CompletionItem]:
    """The worker's rate-limit buckets."""
    from ctoops.trends.compute import BUCKETS

    return _listed(BUCKETS, incomplete)


START_WORDS = ("today", "yesterday", "mtd", "last-month", "7d", "30d")
SINCE_WORDS = ("15m", "1h", "6h", "24h", "7d")
END_WORDS = ("today", "yesterday", "tomorrow")


def start_dates(ctx: click.Context, param: click.Parameter, incomplete: str) -> list[CompletionItem]:
    """The relative words ``usage --start`` takes (an ISO date is typed, not completed)."""
    return _items(START_WORDS, incomplete)


def end_dates(ctx: click.Context, param: click.Parameter, incomplete: str) -> list[CompletionItem]:
    """The relative words ``usage --end`` takes."""
    return _items(END_WORDS, incomplete)


def since_times(ctx: click.Context, param: click.Parameter, incomplete: str) -> list[CompletionItem]:
    """Common ``errors trend --since`` spans (Nm/Nh/Nd ago; ISO times are typed)."""
    return _items(SINCE_WORDS, incomplete)


def profiles(ctx: click.Context, param: click.Parameter, incomplete: str) -> list[CompletionItem]:
    """The profiles in the config file (none when it cannot be read: completion never fails)."""
    from ctoops.config import config_path, load_file
    from ctoops.errors import CtoopsError

    try:
        names = sorted(load_file(config_path()).get("profiles", {}))
    except (CtoopsError, OSError):
        names = []
    return _items(names, incomplete)


REPORTS: dict[str, Completer] = {"junit": path, "report_json": path, "prom_file": path}
USAGE_RANGE: dict[str, Completer] = {"start": start_dates, "end": end_dates}

# command path (as typed after ``ctoops``) -> parameter name -> completer
PARAMS: dict[tuple[str, ...], dict[str, Completer]] = {
    ("usage", "pull"): {**USAGE_RANGE, "group_by": usage_groups, "output": path},
    ("usage", "costs"): {**USAGE_RANGE, "group_by": costs_groups, "output": path},
    ("usage", "report"): {**USAGE_RANGE},
    ("errors", "trend"): {"sources": path, "buckets": trend_buckets, "since": since_times},
    ("smoke",): {**REPORTS, "only": checks, "skip": checks},
    ("runbook", "run"): {**REPORTS, "runbook_name": runbooks},
    ("runbook", "show"): {"runbook_name": runbooks},
}


def quiet(completer: Completer) -> Completer:
    """``completer``, answering nothing rather than failing: a Tab press never prints an
    error into the user's command line. (The tests call the completers through the shell
    protocol and check what they answer, so a broken one still fails there.)"""

    def run(ctx: click.Context, param: click.Parameter, incomplete: str) -> list[CompletionItem]:
        try:
            return completer(ctx, param, incomplete)
        except Exception:
            return []

    run.__wrapped__ = completer  # type: ignore[attr-defined]
    return run


def attach(name: str, command: click.Command) -> None:
    """Give the parameters of ``command`` (a top-level command or group, and its
    subcommands) the completers ``PARAMS`` names for them. Idempotent."""
    import click

    def walk(path: tuple[str, ...], cmd: click.Command) -> None:
        wanted = PARAMS.get(path, {})
        for param in cmd.params:
            if param.name in wanted:
                # Click's own hook, as set by Parameter(shell_complete=...)
                param._custom_shell_complete = quiet(wanted[param.name])
        if isinstance(cmd, click.Group):
            for sub_name, sub in cmd.commands.items():
                walk((*path, sub_name), sub)

    walk((name,), command)


def detect_shell() -> str | None:
    """The user's login shell from ``$SHELL`` when it is one of ``SHELLS``, else None."""
    name = os.path.basename(os.environ.get("SHELL", ""))
    return name if name in SHELLS else None
