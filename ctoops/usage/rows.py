"""Rows kept by column: what the page parsers hand to the Arrow frame."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any


class Rows:
    """Rows kept by column (name -> list), every column the same length.

    A million usage rows as dicts cost about a gigabyte and seconds to take apart again;
    as columns they go straight into Arrow arrays (``ctoops.usage.frame``). A value the API
    did not send is ``None`` (never 0).
    """

    __slots__ = ("columns", "length")

    def __init__(self, names: Sequence[str]) -> None:
        self.columns: dict[str, list[Any]] = {name: [] for name in names}
        self.length = 0

    @property
    def names(self) -> list[str]:
        return list(self.columns)

    def __len__(self) -> int:
        return self.length

    def append(self, values: Sequence[Any]) -> None:
        """One row, its values in column order."""
        for column, value in zip(self.columns.values(), values, strict=True):
            column.append(value)
        self.length += 1

    def extend(self, other: Rows) -> None:
        for name, column in self.columns.items():
            column.extend(other.columns[name])
        self.length += other.length

    def column(self, name: str) -> list[Any]:
        return self.columns[name]

    def keep(self, flags: Sequence[bool]) -> Rows:
        """The rows whose flag is true, in order."""
        kept = Rows(self.names)
        for name, column in self.columns.items():
            kept.columns[name] = [v for v, keep in zip(column, flags, strict=True) if keep]
        kept.length = sum(flags)
        return kept

    def records(self) -> list[dict[str, Any]]:
        """As dicts: for small data and tests."""
        names = self.names
        return [dict(zip(names, values, strict=True)) for values in zip(*self.columns.values(), strict=True)]
