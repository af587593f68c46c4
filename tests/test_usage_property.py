"""Totals over a range equal the sum of the totals of any split of it: no bucket is dropped,
doubled or moved across a window edge, for usage (day and hour buckets) and for costs."""

from __future__ import annotations

from decimal import Decimal

from hypothesis import given, settings
from hypothesis import strategies as st

from ctoops.backends.openai import OpenAIBackend, OpenAIErrors
from ctoops.dates import DAY, Range
from ctoops.http import FunctionTransport, HttpClient
from ctoops.sandbox import OPENAI_URL, Sandbox
from ctoops.usage.frame import costs_table, costs_totals, totals, usage_table
from ctoops.usage.pull import pull
from ctoops.usage.query import Query

BASE = 1767225600  # 2026-01-01T00:00:00Z: a range wholly in the past
NOW = BASE + 900 * DAY  # the pull's clock: after every range below


def backend() -> OpenAIBackend:
    client = HttpClient(
        OPENAI_URL,
        errors=OpenAIErrors(),
        token="sk-admin-property",
        timeout=5,
        max_retries=0,
        transport=FunctionTransport(Sandbox().handle),
    )
    return OpenAIBackend(lambda admin: client)


def usage_sums(query: Query) -> dict[str, int]:
    rows = pull(backend(), query, now=NOW, concurrency=3).rows
    return totals(usage_table(rows, query.kind, query.group_by), ("input_tokens", "num_model_requests"))


def costs_sum(query: Query) -> dict[str, Decimal]:
    rows = pull(backend(), query, now=NOW, concurrency=3).rows
    return costs_totals(costs_table(rows, query.group_by))


@settings(max_examples=25, deadline=None)
@given(
    first=st.integers(0, 200),
    cuts=st.lists(st.integers(1, 80), min_size=1, max_size=4),
    group=st.sampled_from([(), ("model",), ("project_id", "batch")]),
)
def test_usage_totals_add_up_over_any_split(first, cuts, group):
    start = BASE + first * DAY
    edges = [start]
    for cut in cuts:
        edges.append(edges[-1] + cut * DAY)
    whole = usage_sums(Query("completions", Range(edges[0], edges[-1]), "1d", group))
    parts = [usage_sums(Query("completions", Range(a, b), "1d", group)) for a, b in zip(edges, edges[1:], strict=False)]
    assert whole == {k: sum(p[k] for p in parts) for k in whole}
    assert whole["num_model_requests"] > 0


@settings(max_examples=10, deadline=None)
@given(first=st.integers(0, 100), hours=st.integers(1, 400), cut=st.integers(1, 399))
def test_hourly_totals_add_up_and_match_the_days(first, hours, cut):
    start = BASE + first * DAY
    cut = min(cut, hours - 1) if hours > 1 else 0
    whole = usage_sums(Query("completions", Range(start, start + hours * 3600), "1h"))
    if cut:
        a = usage_sums(Query("completions", Range(start, start + cut * 3600), "1h"))
        b = usage_sums(Query("completions", Range(start + cut * 3600, start + hours * 3600), "1h"))
        assert whole == {k: a[k] + b[k] for k in whole}


@settings(max_examples=15, deadline=None)
@given(first=st.integers(0, 300), cuts=st.lists(st.integers(1, 200), min_size=1, max_size=3))
def test_costs_totals_add_up_exactly_over_any_split(first, cuts):
    start = BASE - 400 * DAY + first * DAY
    edges = [start]
    for cut in cuts:
        edges.append(edges[-1] + cut * DAY)
    whole = costs_sum(Query("costs", Range(edges[0], edges[-1]), "1d", ("project_id",)))
    parts = [costs_sum(Query("costs", Range(a, b), "1d", ())) for a, b in zip(edges, edges[1:], strict=False)]
    assert whole["usd"] == sum((p["usd"] for p in parts), Decimal(0))
    assert isinstance(whole["usd"], Decimal)
