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
