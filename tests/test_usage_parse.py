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


# -- parseable but wrong: every kind of wrong type is named (exit 4), never 70 ------------------

USAGE_RESULT = {"object": "organization.usage.completions.result", "input_tokens": 10, "output_tokens": 2}
USAGE_RESULT |= {"num_model_requests": 1, "model": "gpt-4o", "batch": None}


def usage_with(**changes):
    return page([{"start_time": 86400, "end_time": 172800, "results": [{**USAGE_RESULT, **changes}]}])


@pytest.mark.parametrize(
    ("body", "field", "shown"),
    [
        (usage_with(input_tokens="12"), "`input_tokens`", '"12"'),  # a string where a number is due
        (usage_with(input_tokens=Decimal("12.5")), "`input_tokens`", "12.5"),  # not a count
        (usage_with(input_tokens=True), "`input_tokens`", "true"),
        (usage_with(output_tokens=[2]), "`output_tokens`", "[2]"),  # a list where a number is due
        (usage_with(input_cached_tokens={"n": 1}), "`input_cached_tokens`", '{"n": 1}'),
        (usage_with(model=["gpt-4o"]), "`model`", '["gpt-4o"]'),  # a list where a string is due
        (usage_with(model=5), "`model`", "5"),
        (usage_with(batch="true"), "`batch`", '"true"'),
        (usage_with(num_model_requests=None), "`num_model_requests`", "null"),  # required by the spec
        (usage_with(input_tokens=Decimal("NaN")), "`input_tokens`", "NaN"),
    ],
)
def test_a_wrong_type_in_a_usage_result_is_named(body, field, shown):
    group = ("model", "batch")
    with pytest.raises(UpstreamError) as info:
        parse_usage(body, "completions", group, "the usage API")
    message = info.value.message
    assert info.value.exit_code == 4
    assert field in message and shown in message and "1970-01-02" in message and "(results[0])" in message


def test_an_integral_number_sent_as_a_float_is_kept_as_the_count():
    (row,) = parse_usage(usage_with(input_tokens=Decimal("12.0")), "completions", (), "t").rows.records()
    assert row["input_tokens"] == 12 and type(row["input_tokens"]) is int


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ([{"object": "page"}], "not an object (list)"),
        ({"object": "page", "data": {"a": 1}, "has_more": False}, "`data` is an object, not an array"),
        (page(["bucket"]), "bucket 0 as a string, not an object"),
        (page([[1, 2]]), "bucket 0 as an array, not an object"),
        (page([{"start_time": "86400", "end_time": 172800, "results": []}]), 'integer `start_time` ("86400")'),
        (page([{"start_time": 86400, "end_time": "172800", "results": []}]), '`end_time` = "172800"'),
        (page([{"start_time": 86400, "end_time": 86400, "results": []}]), "after its start_time"),
        (page([{"start_time": 86400, "end_time": 172800, "results": "none"}]), "results are a string"),
        (
            page([{"start_time": 86400, "end_time": 172800, "results": [[1]]}]),
            "`results[0]` of the bucket of 1970-01-02",
        ),
        ({"object": "page", "data": [], "has_more": "no"}, '`has_more` = "no"'),
        ({"object": "page", "data": [], "has_more": True, "next_page": 7}, "`next_page` = 7"),
    ],
)
def test_a_wrong_envelope_is_named(body, message):
    with pytest.raises(UpstreamError) as info:
        parse_usage(body, "completions", (), "the usage API")
    assert message in info.value.message and info.value.exit_code == 4


def costs_with(**result):
    bucket = {"start_time": 1790726400, "end_time": 1790812800, "results": [{"object": "organization.costs.result"}]}
    bucket["results"][0].update(result)
    return page([bucket])


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("12.50", "12.50"),  # a numeric string: exact, trailing zero kept
        (" 2.25 ", "2.25"),
        (Decimal("10.1425634"), "10.1425634"),  # a JSON number, parsed without a float
        (3, "3"),
        ("1E-7", "1E-7"),
        ("-0.50", "-0.50"),  # a credit
    ],
)
def test_an_amount_as_a_number_or_numeric_string_is_exact(value, expected):
    (row,) = parse_costs(costs_with(amount={"value": value, "currency": "usd"}), (), "t").rows.records()
    assert str(row["amount"]) == expected and row["currency"] == "usd"


@pytest.mark.parametrize(
    ("amount", "field", "shown"),
    [
        ({"value": "", "currency": "usd"}, "`amount.value`", '""'),
        ({"value": "n/a", "currency": "usd"}, "`amount.value`", '"n/a"'),
        ({"value": "NaN", "currency": "usd"}, "`amount.value`", '"NaN"'),
        ({"value": "Infinity", "currency": "usd"}, "`amount.value`", '"Infinity"'),
        ({"value": True, "currency": "usd"}, "`amount.value`", "true"),
        ({"value": [1], "currency": "usd"}, "`amount.value`", "[1]"),
        ({"value": {"v": 1}, "currency": "usd"}, "`amount.value`", '{"v": 1}'),
        ({"value": "1.0", "currency": 5}, "`amount.currency`", "5"),
        ({"value": "1.0"}, "`amount.currency`", "null"),  # money without a currency
        ([1.0, "usd"], "`amount`", '[1.0, "usd"]'),  # a list where an object is due
        ("12.50 usd", "`amount`", '"12.50 usd"'),
    ],
)
def test_an_amount_that_is_not_a_number_is_named_with_its_bucket(amount, field, shown):
    with pytest.raises(UpstreamError) as info:
        parse_costs(costs_with(amount=amount), (), "the costs API")
    message = info.value.message
    assert info.value.exit_code == 4
    assert field in message and shown in message and "the bucket of 2026-09-30" in message


@pytest.mark.parametrize(
    ("result", "field"),
    [
        ({"quantity": "10", "line_item": "x"}, "`quantity`"),
        ({"quantity": 10, "quantity_unit": 3, "line_item": "x"}, "`quantity_unit`"),
        ({"line_item": ["x"]}, "`line_item`"),
        ({"project_id": {"id": "p"}, "line_item": "x"}, "`project_id`"),
    ],
)
def test_a_wrong_costs_field_is_named(result, field):
    with pytest.raises(UpstreamError) as info:
        parse_costs(costs_with(amount={"value": 1, "currency": "usd"}, **result), ("project_id", "line_item"), "t")
    assert field in info.value.message and info.value.exit_code == 4


def test_a_legacy_entry_without_a_metric_leaves_its_sum_unknown():
    body = {
        "object": "list",
        "data": [
            {"aggregation_timestamp": 60, "n_requests": 1, "n_context_tokens_total": 5, "n_generated_tokens_total": 1},
            {
                "aggregation_timestamp": 120,
                "n_requests": 2,
                "n_context_tokens_total": 7,
                "n_generated_tokens_total": 1,
                "n_cached_context_tokens_total": 3,
            },
        ],
    }
    (row,) = parse_usage(body, "completions", (), "t").rows.records()
    assert row["input_tokens"] == 12 and row["num_model_requests"] == 3
    assert row["input_cached_tokens"] is None  # one entry did not say: the day's cached total is unknown
    assert row["input_audio_tokens"] is None  # the legacy shape never has it


def test_a_wrong_legacy_value_is_named():
    body = {"object": "list", "data": [{"aggregation_timestamp": 60, "n_requests": "2"}]}
    with pytest.raises(UpstreamError) as info:
        parse_usage(body, "completions", (), "the worker's usage proxy")
    assert "`n_requests`" in info.value.message and info.value.exit_code == 4
