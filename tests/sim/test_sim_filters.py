"""Every filter operator, nested and/or, and the readByQuery query language, checked against a
reference evaluator over ``sim.records()`` (SQL semantics: an empty value is NULL and matches no
comparison)."""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from xml.sax.saxutils import escape

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from intacct_sim import Simulator
from tests.sim.sim_support import Gateway, data_attrs, records_of, top_level

NUMBER_FIELDS = ("RECORDNO", "TOTALDUE", "CREDITLIMIT", "PARENTKEY")
TIME_FIELDS = ("WHENMODIFIED", "WHENCREATED")
TEXT_FIELDS = (
    "NAME",
    "CUSTOMERID",
    "DISPLAYCONTACT.EMAIL1",
    "DISPLAYCONTACT.MAILADDRESS.CITY",
    "STATUS",
    "CURRENCY",
    "COMMENTS",
)
COMPARE_OPS = {
    "equalto": "=",
    "notequalto": "!=",
    "lessthan": "<",
    "lessthanorequalto": "<=",
    "greaterthan": ">",
    "greaterthanorequalto": ">=",
}


@dataclass(frozen=True)
class Cmp:
    op: str
    field: str
    values: tuple[str, ...] = ()


@dataclass(frozen=True)
class Bool:
    op: str  # and / or
    children: tuple[Cmp | Bool, ...]


Tree = Cmp | Bool


def _typed(field: str, value: str) -> object:
    if field in NUMBER_FIELDS:
        return float(value)
    if field in TIME_FIELDS:
        fmt = "%m/%d/%Y %H:%M:%S" if " " in value else "%m/%d/%Y"
        return datetime.strptime(value, fmt)
    return value


def _like(pattern: str, value: str, ci: bool) -> bool:
    regex = "".join(".*" if c == "%" else "." if c == "_" else re.escape(c) for c in pattern)
    return re.fullmatch(regex, value, re.DOTALL | (re.IGNORECASE if ci else 0)) is not None


def reference(tree: Tree, record: dict[str, str], ci: bool = False) -> bool:
    """What the filter should select."""
    if isinstance(tree, Bool):
        results = [reference(c, record, ci) for c in tree.children]
        return all(results) if tree.op == "and" else any(results)
    raw = record[tree.field]
    if tree.op == "isnull":
        return raw == ""
    if tree.op == "isnotnull":
        return raw != ""
    if raw == "":
        return False
    if tree.op in ("like", "notlike"):
        return _like(tree.values[0], raw, ci) == (tree.op == "like")
    fold = (lambda s: s.lower()) if ci and tree.field in TEXT_FIELDS else (lambda s: s)
    value = _typed(tree.field, fold(raw))
    others = [_typed(tree.field, fold(v)) for v in tree.values]
    if tree.op == "in":
        return value in others
    if tree.op == "notin":
        return value not in others
    if tree.op == "between":
        return others[0] <= value <= others[1]  # type: ignore[operator]
    symbol = COMPARE_OPS[tree.op]
    return {
        "=": value == others[0],
        "!=": value != others[0],
        "<": value < others[0],  # type: ignore[operator]
        "<=": value <= others[0],  # type: ignore[operator]
        ">": value > others[0],  # type: ignore[operator]
        ">=": value >= others[0],  # type: ignore[operator]
    }[symbol]


def to_xml(tree: Tree) -> str:
    """The query <filter> content."""
    if isinstance(tree, Bool):
        return f"<{tree.op}>" + "".join(to_xml(c) for c in tree.children) + f"</{tree.op}>"
    values = "".join(f"<value>{escape(v)}</value>" for v in tree.values)
    return f"<{tree.op}><field>{tree.field}</field>{values}</{tree.op}>"


def _literal(value: str) -> str:
    return "'" + value.replace("\\", "\\\\").replace("'", "\\'") + "'"


def to_query_string(tree: Tree) -> str:
    """The same filter in readByQuery's language."""
    if isinstance(tree, Bool):
        return "(" + f" {tree.op.upper()} ".join(to_query_string(c) for c in tree.children) + ")"
    f = tree.field
    if tree.op in COMPARE_OPS:
        return f"{f} {COMPARE_OPS[tree.op]} {_literal(tree.values[0])}"
    if tree.op in ("like", "notlike"):
        return f"{f} {'NOT ' if tree.op == 'notlike' else ''}LIKE {_literal(tree.values[0])}"
    if tree.op in ("in", "notin"):
        return (
            f"{f} {'NOT ' if tree.op == 'notin' else ''}IN ("
            + ", ".join(_literal(v) for v in tree.values)
            + ")"
        )
    if tree.op == "between":
        return f"{f} BETWEEN {_literal(tree.values[0])} AND {_literal(tree.values[1])}"
    return f"{f} IS {'NOT ' if tree.op == 'isnotnull' else ''}NULL"


@pytest.fixture(scope="module")
def gateway(shared_sim: Simulator) -> Iterator[Gateway]:
    gw = Gateway(shared_sim)
    gw.login()
    yield gw
    gw.http.close()


@pytest.fixture(scope="module")
def customers(shared_sim: Simulator) -> list[dict[str, str]]:
    return shared_sim.records("CUSTOMER")


def selected_by_query(gateway: Gateway, tree: Tree, ci: bool = False) -> list[str]:
    options = "<caseinsensitive>true</caseinsensitive>" if ci else ""
    result = gateway.query(
        "CUSTOMER",
        ["RECORDNO"],
        filter_xml=to_xml(tree),
        order=[("RECORDNO", "ascending")],
        pagesize=2000,
        options=options,
    )
    assert result.findtext("status") == "success", result.findtext(".//description2")
    return [r["RECORDNO"] for r in records_of(result)]


def selected_by_read_by_query(gateway: Gateway, tree: Tree) -> list[str]:
    inner = (
        f"<readByQuery><object>CUSTOMER</object><query>{escape(to_query_string(tree))}</query>"
        "<fields>RECORDNO</fields><pagesize>1000</pagesize></readByQuery>"
    )
    result = gateway.result(inner)
    assert result.findtext("status") == "success", (to_query_string(tree), result.findtext(".//description2"))
    return [r["RECORDNO"] for r in records_of(result)]


def expected(customers: list[dict[str, str]], tree: Tree, ci: bool = False) -> list[str]:
    return [r["RECORDNO"] for r in customers if reference(tree, r, ci)]


EXPLICIT_CASES: list[Cmp | Bool] = [
    Cmp("equalto", "STATUS", ("inactive",)),
    Cmp("notequalto", "CURRENCY", ("USD",)),
    Cmp("lessthan", "RECORDNO", ("150",)),
    Cmp("lessthanorequalto", "TOTALDUE", ("100.5",)),
    Cmp("greaterthan", "WHENMODIFIED", ("01/01/2024 00:00:00",)),
    Cmp("greaterthanorequalto", "WHENCREATED", ("06/15/2020",)),
    Cmp("like", "NAME", ("%&%",)),
    Cmp("like", "DISPLAYCONTACT.EMAIL1", ("_o%@example.com",)),
    Cmp("notlike", "NAME", ("%GmbH%",)),
    Cmp("between", "CREDITLIMIT", ("5000", "20000")),
    Cmp("between", "WHENMODIFIED", ("01/01/2019", "12/31/2021 23:59:59")),
    Cmp("in", "DISPLAYCONTACT.MAILADDRESS.CITY", ("München", "東京", "São Paulo")),
    Cmp("notin", "CURRENCY", ("USD", "EUR")),
    Cmp("isnull", "CREDITLIMIT"),
    Cmp("isnotnull", "COMMENTS"),
    Cmp("isnull", "PARENTKEY"),
    Bool("or", (Cmp("equalto", "STATUS", ("inactive",)), Cmp("lessthan", "TOTALDUE", ("10",)))),
    Bool(
        "and",
        (
            Cmp("greaterthan", "RECORDNO", ("50",)),
            Bool(
                "or",
                (
                    Cmp("like", "NAME", ("%Acme%",)),
                    Bool("and", (Cmp("isnotnull", "CREDITLIMIT"), Cmp("notequalto", "STATUS", ("active",)))),
                ),
            ),
        ),
    ),
]


@pytest.mark.parametrize("tree", EXPLICIT_CASES, ids=lambda t: to_query_string(t)[:60])
def test_every_operator_matches_the_reference(
    gateway: Gateway, customers: list[dict[str, str]], tree: Tree
) -> None:
    want = expected(customers, tree)
    assert selected_by_query(gateway, tree) == want
    # readByQuery has no showprivate option: a top-level session sees the top-level records only
    assert selected_by_read_by_query(gateway, tree) == expected(top_level(customers), tree)


def test_explicit_cases_are_not_trivial(customers: list[dict[str, str]]) -> None:
    """Each explicit filter selects some but not all records, so the comparisons above can fail."""
    for tree in EXPLICIT_CASES:
        count = len(expected(customers, tree))
        assert 0 < count < len(customers), to_query_string(tree)


def test_case_insensitive_like_and_in(gateway: Gateway, customers: list[dict[str, str]]) -> None:
    for tree in (Cmp("like", "NAME", ("%müller%",)), Cmp("in", "CURRENCY", ("usd", "gbp"))):
        want = expected(customers, tree, ci=True)
        assert want, to_query_string(tree)
        assert selected_by_query(gateway, tree, ci=True) == want
        assert selected_by_query(gateway, tree, ci=False) == []


def _values_strategy(customers: list[dict[str, str]], field: str) -> st.SearchStrategy[str]:
    present = sorted({r[field] for r in customers if r[field]})
    return st.sampled_from(present)


def trees(customers: list[dict[str, str]]) -> st.SearchStrategy[Tree]:
    fields = st.sampled_from(NUMBER_FIELDS + TIME_FIELDS + TEXT_FIELDS)

    @st.composite
    def leaf(draw: st.DrawFn) -> Tree:
        field = draw(fields)
        values = _values_strategy(customers, field)
        kinds = [*COMPARE_OPS, "between", "in", "notin", "isnull", "isnotnull"]
        if field in TEXT_FIELDS:
            kinds += ["like", "notlike"]
        op = draw(st.sampled_from(kinds))
        if op in ("isnull", "isnotnull"):
            return Cmp(op, field)
        if op == "between":
            low, high = sorted(draw(st.lists(values, min_size=2, max_size=2)), key=lambda v: _typed(field, v))  # type: ignore[arg-type, return-value]
            return Cmp(op, field, (low, high))
        if op in ("in", "notin"):
            return Cmp(op, field, tuple(draw(st.lists(values, min_size=1, max_size=4))))
        if op in ("like", "notlike"):
            text = draw(values)
            start = draw(st.integers(0, max(0, len(text) - 1)))
            piece = text[start : start + draw(st.integers(1, 4))]
            pattern = draw(st.sampled_from([f"%{piece}%", f"{piece}%", f"%{piece}", f"_{text[1:]}"]))
            return Cmp(op, field, (pattern,))
        return Cmp(op, field, (draw(values),))

    return st.recursive(
        leaf(),
        lambda children: st.builds(
            Bool, st.sampled_from(["and", "or"]), st.lists(children, min_size=2, max_size=3).map(tuple)
        ),
        max_leaves=6,
    )


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_random_filter_trees_match_the_reference(
    gateway: Gateway, customers: list[dict[str, str]], data: st.DataObject
) -> None:
    tree = data.draw(trees(customers))
    want = expected(customers, tree)
    assert selected_by_query(gateway, tree) == want
    assert selected_by_read_by_query(gateway, tree) == expected(top_level(customers), tree)


def test_status_t_and_f_aliases_in_read_by_query(gateway: Gateway, customers: list[dict[str, str]]) -> None:
    inner = (
        "<readByQuery><object>CUSTOMER</object><query>STATUS = 'F'</query>"
        "<fields>RECORDNO</fields><pagesize>1000</pagesize></readByQuery>"
    )
    got = [r["RECORDNO"] for r in records_of(gateway.result(inner))]
    assert got == [r["RECORDNO"] for r in top_level(customers) if r["STATUS"] == "inactive"]


def test_filter_on_audithistory_deletes(gateway: Gateway, shared_sim: Simulator) -> None:
    flt = (
        "<and>"
        + to_xml(Cmp("equalto", "OBJECTTYPE", ("customer",)))
        + to_xml(Cmp("equalto", "ACCESSMODE", ("D",)))
        + "</and>"
    )
    result = gateway.query("AUDITHISTORY", ["OBJECTKEY", "ACCESSMODE"], filter_xml=flt, pagesize=2000)
    deleted = {r["OBJECTKEY"] for r in records_of(result)}
    assert deleted
    assert {r["ACCESSMODE"] for r in records_of(result)} == {"D"}
    assert int(data_attrs(result)["totalcount"]) == len(records_of(result))
    live = {r["CUSTOMERID"] for r in shared_sim.records("CUSTOMER")}  # OBJECTKEY: the CUSTOMERID
    assert not deleted & live  # generated deletes refer to records that no longer exist
