"""Declarative runbooks: TOML files of steps that ``ctoops runbook run`` walks in order.

``book`` finds, loads and checks the files (and ``-p`` overrides); ``schema`` holds each
operation's parameters and their rules; ``operations`` turns a step into checks; ``run``
walks the steps. Operations: ``smoke``, ``realtime check``, ``models list``, ``keys
validate``, ``usage check``, ``usage costs``, ``errors trend`` (see ``schema.PARAMETERS``).
"""

from __future__ import annotations

from ctoops.runbook.book import DEFAULT, Runbook, Step, available, bundled, find, load, local_files, override
from ctoops.runbook.operations import OPERATIONS, Context
from ctoops.runbook.run import execute

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
