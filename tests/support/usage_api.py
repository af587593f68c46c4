"""A small OpenAI organization usage/costs API for loopback tests, with data the test
chooses: ``results(kind, day_start, group_by) -> list of result objects`` or None (the
bucket is not returned at all). Pages follow the documented envelope (openai-api.md §3.4):
``limit`` buckets per page, an offset cursor in ``next_page``."""

from __future__ import annotations

import base64
from collections.abc import Callable
from decimal import Decimal
from typing import Any

from fakeserver import FakeServer, Reply, Seen

DAY = 86400
Results = Callable[[str, int, tuple[str, ...]], list[dict[str, Any]] | None]


def ts(day: str) -> int:
    """``2026-10-01`` (or an ISO time, UTC) as unix seconds."""
    from datetime import UTC, datetime

    return int(datetime.fromisoformat(day).replace(tzinfo=UTC).timestamp())


def admin_api(server: FakeServer, monkeypatch: Any, key: str, now: float) -> FakeServer:
    """``server`` as OpenAI for ``--via openai`` with ``key`` as the admin key, and the usage
    run's clock fixed at ``now`` (unix s): the shared setup of the finance tests."""
    monkeypatch.setenv("OPENAI_BASE_URL", server.url + "/v1")
    monkeypatch.setenv("OPENAI_ADMIN_KEY", key)
    monkeypatch.setattr("ctoops.usage.run.now", lambda: now)
    return server


def page_for(seen: Seen, kind: str, results: Results) -> dict[str, Any]:
    q = seen.query_list
    get = dict(q).get
    start, end = int(get("start_time")), int(get("end_time"))
    width = {"1d": DAY, "1h": 3600}[get("bucket_width", "1d")]
    limit = int(get("limit", "7"))
    groups = tuple(v for k, v in q if k == "group_by[]")
    offset = int(base64.urlsafe_b64decode(get("page")).decode()) if get("page") else 0
    starts = list(range(start, end, width))
    chunk = starts[offset : offset + limit]
    more = offset + limit < len(starts)
    data = []
    for bucket in chunk:
        found = results(kind, bucket, groups)
        if found is None:
            continue
        data.append({"object": "bucket", "start_time": bucket, "end_time": bucket + width, "results": found})
    cursor = base64.urlsafe_b64encode(str(offset + limit).encode()).decode() if more else None
    return {"object": "page", "data": data, "has_more": more, "next_page": cursor}


def serve(server: FakeServer, results: Results) -> None:
    """Answer usage (completions) and costs from ``results``."""
    server.route(
        "GET", "/v1/organization/usage/completions", lambda seen: Reply(json=page_for(seen, "completions", results))
    )
    server.route("GET", "/v1/organization/costs", lambda seen: Reply(body=dumps(page_for(seen, "costs", results))))


def cost(value: str | Decimal, currency: str = "usd", **groups: Any) -> dict[str, Any]:
    result = {"object": "organization.costs.result", "amount": {"value": Decimal(value), "currency": currency}}
    result.update({"project_id": None, "line_item": None, **groups})
    return result


def usage(input_tokens: int, output_tokens: int, requests: int = 1, **fields: Any) -> dict[str, Any]:
    result = {
        "object": "organization.usage.completions.result",
        "input_tokens": input_tokens,
        "output_tokens": output_tokens,
        "num_model_requests": requests,
        "project_id": None,
        "model": None,
    }
    result.update(fields)
    return result


def dumps(value: Any) -> str:
    """JSON with Decimals written as numbers with their exact digits (as the costs API sends
    amounts), however many there are."""
    import json
    import re

    def mark(v: Any) -> Any:
        if isinstance(v, Decimal):
            return f"__EXACT__{format(v, 'f')}__"
        if isinstance(v, dict):
            return {k: mark(x) for k, x in v.items()}
        if isinstance(v, list):
            return [mark(x) for x in v]
        return v

    return re.sub(r'"__EXACT__(-?[0-9.]+)__"', r"\1", json.dumps(mark(value)))
