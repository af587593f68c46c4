"""Model listing: choosing and ordering what a backend returned."""

from __future__ import annotations

import fnmatch

from ctoops.backends.base import Model


def select_models(models: list[Model], pattern: str | None) -> list[Model]:
    """Models whose id matches ``pattern`` (a glob when it has * ? or [, else a substring;
    case-insensitive), sorted by id."""
    if pattern:
        needle = pattern.lower()
        if any(ch in needle for ch in "*?["):
            models = [m for m in models if fnmatch.fnmatchcase(m.id.lower(), needle)]
        else:
            models = [m for m in models if needle in m.id.lower()]
    return sorted(models, key=lambda m: m.id)
