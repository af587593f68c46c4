"""``--json FIELDS``: the fields asked for, in order; a bad one lists the real ones (exit 2)."""

from __future__ import annotations

import pytest

from ctoops.errors import BadInput
from ctoops.fields import parse_fields, select

AVAILABLE = ["id", "created", "owned_by"]


def test_fields_in_the_order_asked_each_once():
    assert parse_fields("owned_by, id,owned_by", AVAILABLE) == ["owned_by", "id"]
    rows = [{"id": "gpt-4o", "created": 1, "owned_by": "openai"}, {"id": "x", "created": 2}]
    assert select(rows, ["owned_by", "id"]) == [{"owned_by": "openai", "id": "gpt-4o"}, {"owned_by": None, "id": "x"}]
    assert select({"id": "a", "created": 3}, ["created"]) == {"created": 3}


@pytest.mark.parametrize("given", ["nope", "id,nope", "", " , "])
def test_a_bad_field_lists_the_real_ones(given):
    with pytest.raises(BadInput) as caught:
        parse_fields(given, AVAILABLE)
    assert caught.value.exit_code == 2 and "the fields are: id, created, owned_by" in caught.value.format_message()


def test_json_fields_on_a_data_command(ctoops):
    import json

    result = ctoops("--sandbox", "models", "list", "--json", "id,owned_by")
    assert result.exit_code == 0
    records = json.loads(result.stdout)
    assert records and all(list(r) == ["id", "owned_by"] for r in records)
    full = json.loads(ctoops("--sandbox", "models", "list", "--format", "json").stdout)
    assert [r["id"] for r in records] == [r["id"] for r in full]


def test_json_fields_errors_are_exit_2(ctoops):
    bad = ctoops("--sandbox", "models", "list", "--json", "nope")
    assert bad.exit_code == 2 and "the fields are: id, created, owned_by" in bad.stderr and bad.stdout == ""
    clash = ctoops("--sandbox", "models", "list", "--json", "id", "--format", "csv")
    assert clash.exit_code == 2 and "does not go with --format csv" in clash.stderr


def test_every_data_command_takes_json_fields():
    import click

    from ctoops.cli import COMMANDS, cli

    ctx = click.Context(cli)
    missing = []

    def walk(path, command):
        names = {p.name for p in command.params}
        if "fmt" in names and "json_fields" not in names:
            missing.append(" ".join(path))
        if isinstance(command, click.Group):
            for name in command.list_commands(ctx):
                walk((*path, name), command.get_command(ctx, name))

    for name in COMMANDS:
        walk((name,), cli.get_command(ctx, name))
    assert missing == []
