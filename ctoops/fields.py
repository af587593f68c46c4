"""``--json FIELDS``, as gh has it: JSON with only the fields a script needs, no jq.

``--json model,input_tokens`` prints the records with those fields, in that order; a field
the command does not have exits 2 listing the ones it has (``--json`` with a bad name is
how a user finds them, as in gh). Field names are the ones ``--format json`` prints.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any


def parse_fields(given: str, available: Sequence[str]) -> list[str]:
    """The fields asked for, in order, each once. Raises BadInput (exit 2) for an empty list,
    an empty name (``id,,created``: ``ctoops.params.split_names``) or a field not in
    ``available``, listing the available ones."""
    from ctoops.errors import BadInput
    from ctoops.params import split_names

    try:
        wanted = list(dict.fromkeys(split_names(given)))
    except ValueError as exc:
        raise BadInput(f"--json: {exc}; the fields are: {', '.join(available)}") from None
    unknown = [f for f in wanted if f not in available]
    if unknown:
        raise BadInput(f"--json: unknown field {unknown[0]!r}; the fields are: {', '.join(available)}")
    return wanted


def select(data: Any, fields: Sequence[str]) -> Any:
    """``data`` (a list of records, or one record) with only ``fields``, in that order; a
    field a record lacks is null, so every record has the same keys."""
    if isinstance(data, dict):
        return {f: data.get(f) for f in fields}
    return [{f: row.get(f) for f in fields} for row in data]
