"""The field cases (``tests/fixtures/cases/``, copied from ``../shared/cases/``; their README gives
each right answer), served as that README says: each ``routes*.json`` route answers its
responses in order and repeats the last; ``__NOW_PLUS_600__`` stands for "now + 600 s" in
unix seconds."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

from fakeserver import FakeServer, Reply

CASES = Path(__file__).resolve().parents[1] / "fixtures" / "cases"


def case_file(case: str, name: str) -> Path:
    """A file of a case (``tests/fixtures/cases/<case>/<name>``)."""
    return CASES / case / name


def _now_plus(value: Any, now: int) -> Any:
    if value == "__NOW_PLUS_600__":
        return now + 600
    if isinstance(value, dict):
        return {k: _now_plus(v, now) for k, v in value.items()}
    if isinstance(value, list):
        return [_now_plus(v, now) for v in value]
    return value


def serve(server: FakeServer, case: str, name: str = "routes.json") -> None:
    """Route every answer of ``case/name`` on ``server`` (a route without a method answers
    every method)."""
    data = json.loads(case_file(case, name).read_text())
    now = int(time.time())
    for route in data["routes"]:
        replies = [Reply(r["status"], json=_now_plus(r["body"], now)) for r in route["responses"]]
        for method in [route["method"]] if route.get("method") else ["GET", "POST", "PUT", "DELETE"]:
            server.route(method, route["path"], *replies)
