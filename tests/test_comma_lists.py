"""Every comma-separated list ctoops reads refuses an empty name, one line and exit 2,
before any request: `--bucket ,realtime_token` was read as `--bucket realtime_token`, and
`--group-by model,,project_id` as `model,project_id`, a stray comma silently dropped. One
reader does it (``ctoops.params.split_names``): the options, ``--json FIELDS``, runbook
parameters, ``--budget-by`` and ``CTOOPS_SANDBOX_FAULTS``."""

from __future__ import annotations

import pytest

from ctoops.params import Names, split_names

TOKEN = "opencto-token-Test0000001"
USAGE = ("--via", "openai", "usage", "pull", "--start", "2026-11-01", "--end", "2026-11-02")
COSTS = ("--via", "openai", "usage", "costs", "--start", "2026-11-01", "--end", "2026-11-02")

# (arguments before the list, the option, the empty-named value, which item is empty)
OPTIONS = [
    (("errors", "trend"), "--bucket", ",realtime_token", "item 1 of 2"),
    (("errors", "trend"), "--bucket", "realtime_token,", "item 2 of 2"),
    (("errors", "trend"), "--bucket", "realtime_token, ,cto_openai_proxy", "item 2 of 3"),
    (USAGE, "--group-by", "model,,project_id", "item 2 of 3"),
    (USAGE, "--group-by", ",model", "item 1 of 2"),
    ((*COSTS, "--group-by", "project_id"), "--budget-by", "proj_a=10,,proj_b=20", "item 2 of 3"),
    (COSTS, "--group-by", "project_id,", "item 2 of 2"),
    (("models", "list"), "--json", "id,,created", "item 2 of 3"),
    (("smoke",), "--json", ",ok", "item 1 of 2"),
    (("errors", "trend"), "--json", "bucket,", "item 2 of 2"),
    (USAGE, "--json", "model,,input_tokens", "item 2 of 3"),
]


@pytest.mark.parametrize(("before", "option", "value", "item"), OPTIONS)
def test_an_empty_name_in_an_option_is_exit_2_before_any_request(ctoops, worker, before, option, value, item):
    result = ctoops("--openai-base-url", worker.url, *before, option, value, env={"OPENAI_ADMIN_KEY": "sk-admin-x" * 2})
    assert result.exit_code == 2, result.all
    assert f"'{option}'" in result.stderr and f"{value!r} has an empty name: {item} is empty" in result.stderr
    assert "Traceback" not in result.all
    assert worker.requests == []


@pytest.mark.parametrize("option", ["--bucket", "--json"])
def test_an_option_naming_nothing_is_exit_2(ctoops, option):
    result = ctoops("--sandbox", "errors", "trend", option, "")
    assert result.exit_code == 2, result.all
    assert "'' names nothing" in result.stderr


def test_names_in_pieces_and_repeated_options_still_join(ctoops):
    split = ctoops("--sandbox", "--via", "openai", "usage", "pull", "--start", "2d", "--group-by", "model, project_id")
    repeated = ctoops(
        "--sandbox",
        "--via",
        "openai",
        "usage",
        "pull",
        "--start",
        "2d",
        "--group-by",
        "model",
        "--group-by",
        "project_id",
    )
    assert split.exit_code == repeated.exit_code == 0, split.all + repeated.all
    assert split.stdout == repeated.stdout and "By model" in split.stdout
    both = ctoops("--sandbox", "errors", "trend", "--bucket", "realtime_token", "--bucket", "cto_openai_proxy")
    assert both.exit_code == 0, both.all
    assert "realtime_token:" in both.stdout and "cto_openai_proxy:" in both.stdout


@pytest.mark.parametrize(
    ("param", "value"),
    [
        ("rates.buckets", "realtime_token,"),
        ("rates.sources", ",logs.json"),
        ("ops-path.only", "models,,usage"),
        ("ops-path.skip", ","),
    ],
)
def test_an_empty_name_in_a_runbook_parameter_is_exit_2(ctoops, param, value):
    result = ctoops("--sandbox", "runbook", "run", "openai-ops", "-p", f"{param}={value}")
    assert result.exit_code == 2, result.all
    assert "has an empty name" in result.stderr and param.split(".")[1] in result.stderr


def test_an_empty_name_in_a_runbook_array_is_exit_2(ctoops, tmp_path):
    book = tmp_path / "book.toml"
    book.write_text(
        'name = "t"\n[[step]]\nname = "rates"\nrun = "errors trend"\n[step.with]\nbuckets = ["realtime_token", ""]\n'
    )
    result = ctoops("--sandbox", "runbook", "run", str(book))
    assert result.exit_code == 2, result.all
    assert "has an empty name: item 2 of 2 is empty" in result.stderr


def test_an_empty_runbook_array_is_still_no_names():
    assert Names().convert([], None, None) == ()


def test_an_empty_name_in_the_sandbox_faults_is_exit_2(ctoops):
    result = ctoops("--sandbox", "models", "list", env={"CTOOPS_SANDBOX_FAULTS": "rate-limited,"})
    assert result.exit_code == 2, result.all
    assert "CTOOPS_SANDBOX_FAULTS: 'rate-limited,' has an empty name: item 2 of 2 is empty" in result.stderr
    unset = ctoops("--sandbox", "models", "list", env={"CTOOPS_SANDBOX_FAULTS": ""})
    assert unset.exit_code == 0, unset.all


@pytest.mark.parametrize(
    ("text", "names"), [("a", ("a",)), ("a,b", ("a", "b")), (" a , b ", ("a", "b")), ("a,a", ("a", "a"))]
)
def test_split_names_keeps_every_name(text, names):
    assert split_names(text) == names


@pytest.mark.parametrize("text", ["", " ", ",", "a,", ",a", "a,,b", "a, ,b"])
def test_split_names_refuses_an_empty_name(text):
    with pytest.raises(ValueError, match=repr(text)):
        split_names(text)
