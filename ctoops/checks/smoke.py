"""Which checks ``ctoops smoke`` runs (runbook steps 3 and 4, concurrently), and how each is built.

* ``realtime_token``: mint a realtime client secret; non-empty, valid >= ``min_ttl`` seconds.
* ``realtime_session``: connect with that secret as the dashboard does, up to
  ``session.updated`` (no response created, no tokens); one mint serves both checks.
* ``models``: the models list answers (through the worker's proxy, or OpenAI's /models).
* ``usage``: usage for yesterday (UTC) answers in a documented shape.
* ``workspace_key``: the workspace's OpenAI key is listed on the worker; only when the
  workspace was chosen explicitly (flag, env or profile), or asked for with ``--only``.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING

from ctoops.checks import Check
from ctoops.checks.realtime import DEFAULT_MIN_TTL, DEFAULT_MODEL
from ctoops.errors import BadInput

if TYPE_CHECKING:
    from ctoops.backends.base import Backend
    from ctoops.checks.realtime import SessionOptions

CHECKS = ("realtime_token", "realtime_session", "models", "usage", "workspace_key")


def select(only: Sequence[str], skip: Sequence[str], workspace_explicit: bool, via: str) -> list[str]:
    """The checks to run, in order. Unknown names and an empty selection exit 2."""
    unknown = [c for c in (*only, *skip) if c not in CHECKS]
    if unknown:
        raise BadInput(f"unknown check {unknown[0]!r}: the checks are {', '.join(CHECKS)}")
    if only:
        chosen = [c for c in CHECKS if c in only]
    else:
        chosen = [c for c in CHECKS if c != "workspace_key" or (workspace_explicit and via == "opencto")]
    chosen = [c for c in chosen if c not in skip]
    if not chosen:
        raise BadInput("nothing to check: --only/--skip left no check to run")
    return chosen


def plan(
    backend: Backend,
    names: Sequence[str],
    *,
    workspace: str,
    model: str = DEFAULT_MODEL,
    min_ttl: float = DEFAULT_MIN_TTL,
    session: Callable[[], SessionOptions],
    log: Callable[[str], None] | None = None,
) -> list[tuple[str, Check]]:
    """(name, check) for each selected name, in the order given. ``session`` gives how
    ``realtime_session`` connects (called only when that check is selected); ``log`` takes
    its ``-v`` lines."""
    from ctoops.checks.credentials import worker_key_check
    from ctoops.checks.proxies import models_check, usage_check
    from ctoops.checks.realtime import SharedMint, realtime_check, session_check

    mint = SharedMint(lambda: backend.mint_realtime_secret(model, workspace))

    def connect() -> Check:
        return session_check(mint, session(), mint_reported="realtime_token" in names, log=log)

    builders: dict[str, Callable[[], Check]] = {
        "realtime_token": lambda: realtime_check(backend, model=model, min_ttl=min_ttl, workspace=workspace, mint=mint),
        "realtime_session": connect,
        "models": lambda: models_check(backend),
        "usage": lambda: usage_check(backend),
        "workspace_key": lambda: worker_key_check(backend, workspace),
    }
    return [(name, builders[name]()) for name in names]
