"""Parsing every documented usage/costs shape into rows, and naming the undocumented ones."""

from __future__ import annotations

from decimal import Decimal

import pytest

from ctoops.errors import UpstreamError
from ctoops.usage import KIND_METRICS, parse_costs, parse_usage


def page(buckets, has_more=False, next_page=None):
    return {"object": "page", "data": buckets, "has_more": has_more, "next_page": next_page}


def test_results_and_result_read_the_same_and_unsent_metrics_are_empty():
    result = {
        "object": "organization.usage.completions.result",
        "input_tokens": 10,
        "output_tokens": 2,
        "num_model_requests": 1,
        "model": "gpt-4o",
    }
    new = parse_usage(page([{"start_time": 0, "end_time": 86400, "results": [result]}]), "completions", ("model",), "t")
    old = parse_usage(page([{"start_time": 0, "end_time": 86400, "result": [result]}]), "completions", ("model",), "t")
    assert new.rows.records() == old.rows.records()
    (row,) = new.rows.records()
    assert row["model"] == "gpt-4o" and row["input_cached_tokens"] is None and row["output_image_tokens"] is None
    assert list(row) == ["start_time", "end_time", "model", *KIND_METRICS["completions"]]


def test_empty_buckets_are_counted_as_buckets_without_rows():
    parsed = parse_usage(
        page(
            [
                {"start_time": 0, "end_time": 86400, "results": []},
                {"start_time": 86400, "end_time": 172800, "results": []},
            ]
        ),
        "embeddings",
        (),
        "t",
    )
    assert len(parsed.rows) == 0 and parsed.starts == (0, 86400)


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ("<html>", "not an object"),
        ({"object": "page", "data": []}, "without `has_more`"),
        ({"object": "page", "has_more": False}, "without `data`"),
        (page([{"end_time": 1, "results": []}]), "without an integer `start_time`"),
        (page([{"start_time": 0, "end_time": 1}]), "neither `results` nor `result`"),
        (page([{"start_time": 0, "end_time": 1, "results": {"a": 1}}]), "results are an object, not an array"),
        (page([{"start_time": 0, "end_time": 1, "results": ["x"]}]), "not an object"),
    ],
)
def test_undocumented_shapes_are_named(body, message):
    with pytest.raises(UpstreamError) as info:
        parse_usage(body, "completions", (), "the usage API")
    assert message in info.value.message and info.value.exit_code == 4


def test_the_legacy_list_sums_into_buckets_by_group():
    body = {
        "object": "list",
        "data": [
            {
                "aggregation_timestamp": 300,
                "n_requests": 2,
                "snapshot_id": "a",
                "n_context_tokens_total": 10,
                "n_generated_tokens_total": 1,
                "project_id": "p",
            },
            {
                "aggregation_timestamp": 3900,
                "n_requests": 1,
                "snapshot_id": "a",
                "n_context_tokens_total": 5,
                "n_generated_tokens_total": 1,
                "project_id": "q",
            },
            {"aggregation_timestamp": 86400 + 60, "n_requests": 4, "snapshot_id": "b", "n_context_tokens_total": 40},
        ],
        "ft_data": [],
    }
    by_model = parse_usage(body, "completions", ("model",), "t")
    assert [
        (r["start_time"], r["model"], r["input_tokens"], r["num_model_requests"]) for r in by_model.rows.records()
    ] == [(0, "a", 15, 3), (86400, "b", 40, 4)]
    hourly = parse_usage(body, "completions", (), "t", bucket_seconds=3600)
    assert [r["start_time"] for r in hourly.rows.records()] == [0, 3600, 86400]
    assert by_model.shape == "legacy" and not by_model.has_more


def test_costs_keep_amounts_exact():
    body = page(
        [
            {
                "start_time": 0,
                "end_time": 86400,
                "results": [
                    {
                        "object": "organization.costs.result",
                        "amount": {"value": Decimal("0.1000000000000000055511151231257827"), "currency": "usd"},
                        "project_id": "p",
                        "line_item": "x",
                    },
                    {"object": "organization.costs.result"},
                    {"object": "organization.costs.result", "amount": {"value": "12.50", "currency": "usd"}},
                ],
            }
        ]
    )
    rows = parse_costs(body, ("project_id",), "t").rows.records()
    assert rows[0]["amount"] == Decimal("0.1000000000000000055511151231257827") and rows[0]["currency"] == "usd"
    assert rows[1]["amount"] is None and rows[1]["currency"] is None  # no amount sent: unknown, not $0
    assert rows[2]["amount"] == Decimal("12.50") and str(rows[2]["amount"]) == "12.50"
