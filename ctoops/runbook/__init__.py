"""Declarative runbooks: TOML files of steps that ``ctoops runbook run`` walks in order.

``book`` finds, loads and checks the files (and ``-p`` overrides); ``schema`` holds each
operation's parameters and their rules; ``operations`` turns a step into checks; ``run``
walks the steps. Operations: ``smoke``, ``realtime check``, ``models list``, ``keys
validate``, ``usage check``, ``usage costs``, ``errors trend`` (see ``schema.PARAMETERS``).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from ctoops.runbook.book import DEFAULT, Runbook, Step, available, bundled, find, load, local_files, override
    from ctoops.runbook.operations import OPERATIONS, Context
    from ctoops.runbook.run import execute

# each name from the module that defines it, imported when first asked for (PEP 562): a Tab
# press that lists runbooks imports ``book`` alone, not the operations and the runner
_HOMES = {
    **dict.fromkeys(
        ("DEFAULT", "Runbook", "Step", "available", "bundled", "find", "load", "local_files", "override"), "book"
    ),
    **dict.fromkeys(("OPERATIONS", "Context"), "operations"),
    "execute": "run",
}


def __getattr__(name: str) -> Any:
    home = _HOMES.get(name)
    if home is None:
        raise AttributeError(f"module 'ctoops.runbook' has no attribute {name!r}")
    from importlib import import_module

    return getattr(import_module(f"ctoops.runbook.{home}"), name)


__all__ = [
    "DEFAULT",
    "OPERATIONS",
    "Context",
    "Runbook",
    "Step",
    "available",
    "bundled",
    "execute",
    "find",
    "load",
    "local_files",
    "override",
]
