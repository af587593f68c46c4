"""Options and helpers shared by the command modules."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

import click

F = TypeVar("F", bound=Callable[..., Any])

# ctx.obj is the AppContext the root command built (ctoops.context); click.pass_obj hands it
# over without importing that module at --help time.
pass_app = click.pass_obj


def format_option(fn: F) -> F:
    """``--format table|json|csv``: data on stdout in that form (table by default)."""
    return click.option(
        "--format",
        "fmt",
        type=click.Choice(["table", "json", "csv"]),
        default="table",
        show_default=True,
        help="Output format on stdout.",
    )(fn)
