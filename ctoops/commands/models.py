"""ctoops models: the models OpenAI offers, through the worker's proxy or directly."""

from __future__ import annotations

from typing import TYPE_CHECKING

import click

from ctoops.commands._options import format_option, pass_app

if TYPE_CHECKING:
    from ctoops.context import AppContext


@click.group()
def models() -> None:
    """List the models OpenAI offers (runbook step 4, the ops path)."""


@models.command("list")
@click.option("--match", metavar="PATTERN", help="Only ids containing PATTERN, or matching it as a glob (gpt-4o*).")
@format_option
@pass_app
def models_list(app: AppContext, match: str | None, fmt: str) -> None:
    """List models: id, created (unix seconds), owned_by, and any other fields OpenAI sent.

    \b
    Examples:
      ctoops models list --match realtime
      ctoops --via openai models list --format json
    """
    from ctoops.models import select_models
    from ctoops.render import emit

    chosen = select_models(app.backend().list_models(), match)
    rows = [m.as_record() for m in chosen]
    if fmt == "table":
        rows = [
            {
                "id": r["id"],
                "created": _day(r["created"]),
                "owned_by": r["owned_by"],
            }
            for r in rows
        ]
        emit(rows, fmt, columns=["id", "created", "owned_by"])
        if not rows:
            app.notify("no model matched" if match else "the model list is empty")
        return
    emit(rows, fmt)


def _day(created: int | None) -> str:
    from ctoops.dates import iso_day

    if created is None:
        return ""
    try:
        return iso_day(created)
    except (OverflowError, ValueError, OSError):  # not a date a calendar holds: shown as sent
        return str(created)
