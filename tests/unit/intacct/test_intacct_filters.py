"""The filter tree: builders, value formatting, and strict validation of the JSON form."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from intacct_sync.intacct import (
    Condition,
    Group,
    InvalidQueryError,
    and_,
    between,
    eq,
    filter_from_dict,
    filters,
    ge,
    gt,
    in_,
    is_not_null,
    is_null,
    le,
    like,
    lt,
    ne,
    not_in,
    not_like,
    or_,
)


@pytest.mark.parametrize(
    ("value", "sent"),
    [
        ("active", "active"),
        (42, "42"),
        (-7, "-7"),
        (Decimal("1E+3"), "1000"),
        (Decimal("0.10"), "0.10"),
        (2.5, "2.5"),
        (date(2021, 4, 26), "04/26/2021"),
        (datetime(2021, 4, 19, 12, 0, 5), "04/19/2021 12:00:05"),
        (datetime(2021, 4, 19, 23, 59, 59, tzinfo=UTC), "04/19/2021 23:59:59"),
    ],
)
def test_values_are_formatted_for_intacct(value: Any, sent: str) -> None:
    assert eq("F", value).values == (sent,)


@pytest.mark.parametrize("bad", [True, None, b"bytes", ["list"], Decimal("NaN"), float("inf"), object()])
def test_unsupported_values_are_refused(bad: Any) -> None:
    with pytest.raises(InvalidQueryError):
        eq("F", bad)


@pytest.mark.parametrize(
    ("built", "op"),
    [
        (eq("F", 1), "equalto"),
        (ne("F", 1), "notequalto"),
        (lt("F", 1), "lessthan"),
        (le("F", 1), "lessthanorequalto"),
        (gt("F", 1), "greaterthan"),
        (ge("F", 1), "greaterthanorequalto"),
        (like("F", "a%"), "like"),
        (not_like("F", "a%"), "notlike"),
        (between("F", 1, 2), "between"),
        (in_("F", [1]), "in"),
        (not_in("F", [1]), "notin"),
        (is_null("F"), "isnull"),
        (is_not_null("F"), "isnotnull"),
    ],
)
def test_builders_use_the_intacct_operator_names(built: Condition, op: str) -> None:
    assert built.op == op
    assert filter_from_dict(built.to_dict()) == built


def test_and_or_collapse_a_single_child_and_refuse_none() -> None:
    only = eq("A", 1)
    assert and_(only) is only
    assert or_(only) is only
    with pytest.raises(InvalidQueryError, match="at least one"):
        and_()
    with pytest.raises(InvalidQueryError, match="at least one"):
        or_()
    assert and_(only, eq("B", 2)) == Group("and", (only, eq("B", 2)))


def test_field_names_follow_intacct_naming() -> None:
    assert eq("DISPLAYCONTACT.EMAIL1", "x").field == "DISPLAYCONTACT.EMAIL1"
    assert eq("custom_field_1", "x").field == "custom_field_1"
    for bad in ["", "1ABC", "A B", "A..B", "A.", ".A", "A-B", "A;DROP", "NAME</field>", "A\n"]:
        with pytest.raises(InvalidQueryError, match="not a valid Intacct name"):
            eq(bad, "x")


def test_in_takes_one_to_a_thousand_values() -> None:
    assert len(in_("F", range(1000)).values) == 1000
    with pytest.raises(InvalidQueryError, match="1 to 1000"):
        in_("F", range(1001))
    with pytest.raises(InvalidQueryError, match="1 to 1000"):
        not_in("F", [])
    with pytest.raises(InvalidQueryError, match="list of values"):
        in_("F", "abc")


def test_json_form_round_trips() -> None:
    tree = and_(
        eq("STATUS", "active"),
        gt("RECORDNO", "100"),
        or_(is_null("PARENTID"), between("WHENMODIFIED", "01/01/2024", "02/01/2024")),
        not_in("CUSTOMERID", ["A", "B"]),
    )
    data = tree.to_dict()
    assert data == {
        "and": [
            {"field": "STATUS", "op": "equalto", "value": "active"},
            {"field": "RECORDNO", "op": "greaterthan", "value": "100"},
            {
                "or": [
                    {"field": "PARENTID", "op": "isnull"},
                    {"field": "WHENMODIFIED", "op": "between", "values": ["01/01/2024", "02/01/2024"]},
                ]
            },
            {"field": "CUSTOMERID", "op": "notin", "values": ["A", "B"]},
        ]
    }
    assert filter_from_dict(data) == tree


def test_json_numbers_are_accepted_as_values() -> None:
    assert filter_from_dict({"field": "RECORDNO", "op": "greaterthan", "value": 100}) == gt("RECORDNO", 100)
    assert filter_from_dict({"field": "X", "op": "in", "values": [1, "2", 3.5]}).values == ("1", "2", "3.5")  # type: ignore[attr-defined]


def _nested(depth: int) -> dict[str, Any]:
    node: dict[str, Any] = {"field": "A", "op": "equalto", "value": "1"}
    for _ in range(depth - 1):
        node = {"and": [node, {"field": "B", "op": "equalto", "value": "2"}]}
    return node


def test_nesting_up_to_ten_levels_is_allowed() -> None:
    assert isinstance(filter_from_dict(_nested(10)), Group)
    with pytest.raises(InvalidQueryError, match="deeper than 10"):
        filter_from_dict(_nested(11))


def test_built_trees_deeper_than_ten_are_refused() -> None:
    node = eq("A", 1)
    for _ in range(9):
        node = and_(node, eq("B", 2))
    with pytest.raises(InvalidQueryError, match="deeper than 10"):
        and_(node, eq("C", 3))


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"field": "A", "op": "equals", "value": "1"}, "unknown operator 'equals'"),
        ({"field": "A", "op": "EQUALTO", "value": "1"}, "unknown operator 'EQUALTO'"),
        ({"field": "A B", "op": "equalto", "value": "1"}, "not a valid Intacct name"),
        ({"field": 5, "op": "equalto", "value": "1"}, "must be a string"),
        ({"field": "A", "op": "equalto"}, "missing value"),
        ({"field": "A", "op": "equalto", "value": "1", "values": ["2"]}, "unexpected values"),
        ({"field": "A", "op": "equalto", "value": "1", "extra": 1}, "unexpected extra"),
        ({"field": "A", "op": "isnull", "value": "1"}, "unexpected value"),
        ({"field": "A", "op": "between", "values": ["1"]}, "exactly 2 values, got 1"),
        ({"field": "A", "op": "between", "values": ["1", "2", "3"]}, "exactly 2 values, got 3"),
        ({"field": "A", "op": "between", "value": "1"}, "missing values"),
        ({"field": "A", "op": "in", "values": []}, "1 to 1000 values, got 0"),
        ({"field": "A", "op": "in", "values": [str(i) for i in range(1001)]}, "1 to 1000 values, got 1001"),
        ({"field": "A", "op": "in", "values": "abc"}, "expected a list"),
        ({"field": "A", "op": "equalto", "value": True}, "not bool"),
        ({"field": "A", "op": "equalto", "value": None}, "not NoneType"),
        ({"field": "A", "op": "equalto", "value": {"x": 1}}, "not dict"),
        ({"field": "A", "op": "equalto", "value": "a\x00"}, "U\\+0000"),
        ({"op": "equalto", "value": "1"}, "needs 'field' and 'op'"),
        ({"and": []}, "at least one"),
        ({"and": "x"}, "expected a list"),
        ({"and": [{"field": "A", "op": "isnull"}], "or": []}, "exactly one key"),
        ({"and": [{"field": "A", "op": "isnull"}, "oops"]}, r"filter.and\[1\]: expected a JSON object"),
        ({"or": [{"field": "A", "op": "nope"}]}, r"filter.or\[0\]: unknown operator"),
        ([], "expected a JSON object"),
    ],
)
def test_filter_from_dict_names_the_problem(data: Any, message: str) -> None:
    with pytest.raises(InvalidQueryError, match=message):
        filter_from_dict(data)


def test_invalid_query_error_is_a_value_error_with_a_plain_message() -> None:
    with pytest.raises(ValueError) as info:
        filter_from_dict({"field": "A", "op": "nope"})
    assert str(info.value).startswith("filter: unknown operator 'nope'")
    assert info.value.errorno == "INVALID_QUERY"  # type: ignore[attr-defined]


def test_condition_checks_value_count_directly() -> None:
    with pytest.raises(InvalidQueryError):
        Condition("equalto", "A", ("1", "2"))
    with pytest.raises(InvalidQueryError):
        Condition("isnull", "A", ("1",))
    with pytest.raises(InvalidQueryError):
        Group("and", (eq("A", 1),))


names = st.sampled_from(["A", "RECORDNO", "DISPLAYCONTACT.EMAIL1", "custom_1", "R_x.Y2.z"])
values = st.text(
    alphabet=st.characters(blacklist_categories=("Cs", "Cc"), blacklist_characters="\ufffe\uffff"),
    max_size=30,
)
leaves = st.one_of(
    st.builds(lambda f, v: eq(f, v), names, values),
    st.builds(lambda f, v: like(f, v), names, values),
    st.builds(lambda f, a, b: between(f, a, b), names, values, values),
    st.builds(lambda f, vs: in_(f, vs), names, st.lists(values, min_size=1, max_size=5)),
    st.builds(is_null, names),
)
trees = st.recursive(
    leaves,
    lambda children: st.builds(
        lambda op, kids: and_(*kids) if op == "and" else or_(*kids),
        st.sampled_from(["and", "or"]),
        st.lists(children, min_size=2, max_size=4),
    ),
    max_leaves=12,
)


@settings(max_examples=100, deadline=None)
@given(tree=trees)
def test_any_tree_survives_the_json_form(tree: filters.Filter) -> None:
    assert filter_from_dict(tree.to_dict()) == tree
