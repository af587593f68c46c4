"""The embedded sandbox backend (placeholder until it lands)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from ctoops.errors import Unsupported

if TYPE_CHECKING:
    from ctoops.context import AppContext
    from ctoops.http import HttpClient


def client(app: AppContext, service: str) -> HttpClient:
    raise Unsupported("the sandbox is not available yet in this version of ctoops")
