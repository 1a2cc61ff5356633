"""Query validation at construction, and its JSON form."""

from __future__ import annotations

from typing import Any

import pytest

from intacct_sync.intacct import InvalidQueryError, OrderBy, Query, and_, eq, gt


def test_a_valid_query_normalises_sequences_to_tuples() -> None:
    query = Query("CUSTOMER", ["RECORDNO", "NAME"], order_by=[OrderBy("RECORDNO")])  # type: ignore[arg-type]
    assert query.fields == ("RECORDNO", "NAME")
    assert query.order_by == (OrderBy("RECORDNO"),)
    assert query.page_size == 100 and query.offset == 0 and query.return_format == "xml"


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"object": "CUSTOMER; DROP"}, "object must be an Intacct name"),
        ({"object": ""}, "object must be an Intacct name"),
        ({"fields": ()}, "at least one field"),
        ({"fields": "RECORDNO"}, "not a single string"),
        ({"fields": ("RECORDNO", "BAD NAME")}, "'BAD NAME' is not a valid"),
        ({"fields": ("RECORDNO", "RECORDNO")}, "duplicates: RECORDNO"),
        ({"fields": ("*",)}, "not a valid"),
        ({"page_size": 0}, "page_size must be 1..2000, got 0"),
        ({"page_size": 2001}, "page_size must be 1..2000, got 2001"),
        ({"page_size": "100"}, "page_size must be an integer"),
        ({"page_size": True}, "page_size must be an integer"),
        ({"offset": -1}, "offset must be >= 0"),
        ({"return_format": "csv"}, "return_format"),
        ({"order_by": ("RECORDNO",)}, "order_by items must be OrderBy"),
        ({"filter": {"field": "A", "op": "equalto", "value": "1"}}, "filter must be a Filter"),
    ],
)
def test_invalid_queries_name_the_bad_part(kwargs: dict[str, Any], message: str) -> None:
    base: dict[str, Any] = {"object": "CUSTOMER", "fields": ("RECORDNO",)}
    base.update(kwargs)
    with pytest.raises(InvalidQueryError, match=message):
        Query(**base)


def test_order_by_field_is_validated() -> None:
    with pytest.raises(InvalidQueryError, match="order by field"):
        OrderBy("RECORDNO DESC")


def test_page_size_bounds_are_inclusive() -> None:
    assert Query("CUSTOMER", ("RECORDNO",), page_size=1).page_size == 1
    assert Query("CUSTOMER", ("RECORDNO",), page_size=2000).page_size == 2000


def test_query_json_form_round_trips() -> None:
    query = Query(
        "CUSTOMER",
        ("RECORDNO", "DISPLAYCONTACT.EMAIL1"),
        filter=and_(eq("STATUS", "active"), gt("RECORDNO", 5)),
        order_by=(OrderBy("WHENMODIFIED"), OrderBy("RECORDNO", descending=True)),
        page_size=2000,
        offset=10,
        case_insensitive=True,
        show_private=True,
        return_format="json",
    )
    assert Query.from_dict(query.to_dict()) == query


def test_query_from_dict_reports_missing_keys_as_invalid_query() -> None:
    with pytest.raises(InvalidQueryError, match="incomplete"):
        Query.from_dict({"object": "CUSTOMER"})


def test_a_query_selects_as_many_fields_as_the_export_asks_for_plus_its_keys() -> None:
    # The request may name 1,000 fields; the export adds its key and modified fields; lookup may list more
    requested = [f"CUSTOM_FIELD_{i:04d}_{'X' * 22}" for i in range(1000)]
    query = Query(object="CUSTOMER", fields=("RECORDNO", "WHENMODIFIED", *requested))
    assert len(query.fields) == 1002
    assert len(Query(object="CUSTOMER", fields=tuple(f"F{i}" for i in range(5000))).fields) == 5000
