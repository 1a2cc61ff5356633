"""Filter expressions shared by ``query`` (XML operators) and ``readByQuery`` (its query string).

Both syntaxes parse into the same small tree, evaluated column-wise over all rows at once. The tree's
repr is its cache signature.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from dataclasses import dataclass

import numpy as np

from .columns import FilterValueError
from .dataset import Table

COMPARISONS = (
    "equalto",
    "notequalto",
    "lessthan",
    "lessthanorequalto",
    "greaterthan",
    "greaterthanorequalto",
    "like",
    "notlike",
)
SET_OPERATORS = ("in", "notin")
NULL_OPERATORS = ("isnull", "isnotnull")
MAX_IN_VALUES = 1000


class FilterError(ValueError):
    """The filter cannot be applied (unknown field, bad operator, bad value...).

    ``bad_date`` carries (field, value, expected format) when a date/timestamp value does not parse.
    """

    def __init__(self, message: str, bad_date: tuple[str, str, str] | None = None) -> None:
        super().__init__(message)
        self.bad_date = bad_date


@dataclass(frozen=True)
class Comparison:
    """``field op values`` (values: 1 for comparisons, 2 for between, 1..1000 for in/notin, 0 for nulls)."""

    op: str
    field: str
    values: tuple[str, ...] = ()


@dataclass(frozen=True)
class Logical:
    """``and`` / ``or`` of children, or ``not`` of one child."""

    op: str
    children: tuple[Node, ...]


Node = Comparison | Logical


def parse_xml_filter(filter_element: ET.Element) -> Node:
    """Parse ``<filter>`` (exactly one operator inside) into a tree."""
    children = list(filter_element)
    if len(children) != 1:
        raise FilterError("filter must contain exactly one operator, or one <and>/<or>")
    return _parse_operator(children[0])


def _parse_operator(element: ET.Element) -> Node:
    tag = element.tag
    if tag in ("and", "or"):
        children = list(element)
        if not children:
            raise FilterError(f"<{tag}> needs at least one operator inside")
        return Logical(tag, tuple(_parse_operator(c) for c in children))
    fields = element.findall("field")
    values = tuple((v.text or "") for v in element.findall("value"))
    others = [c.tag for c in element if c.tag not in ("field", "value")]
    if tag not in (*COMPARISONS, "between", *SET_OPERATORS, *NULL_OPERATORS):
        raise FilterError(f"unknown filter operator <{tag}>")
    if others:
        raise FilterError(f"unexpected element <{others[0]}> in <{tag}>")
    if len(fields) != 1 or not (fields[0].text or "").strip():
        raise FilterError(f"<{tag}> needs exactly one <field>")
    field = (fields[0].text or "").strip()
    expected = {"between": (2, 2), "in": (1, MAX_IN_VALUES), "notin": (1, MAX_IN_VALUES)}.get(
        tag, (0, 0) if tag in NULL_OPERATORS else (1, 1)
    )
    if not expected[0] <= len(values) <= expected[1]:
        raise FilterError(
            f"<{tag}> on {field} needs {expected[0]}..{expected[1]} <value> elements, got {len(values)}"
        )
    return Comparison(tag, field, values)


def referenced_fields(node: Node) -> list[str]:
    """Every field name used in the tree."""
    if isinstance(node, Comparison):
        return [node.field]
    return [f for child in node.children for f in referenced_fields(child)]


def evaluate(node: Node, table: Table, case_insensitive: bool) -> np.ndarray:
    """Boolean mask over all rows of ``table`` (deleted rows included; callers AND the live mask)."""
    if isinstance(node, Logical):
        masks = [evaluate(child, table, case_insensitive) for child in node.children]
        if node.op == "not":
            return ~masks[0]
        combine = np.logical_and if node.op == "and" else np.logical_or
        result = masks[0]
        for mask in masks[1:]:
            result = combine(result, mask)
        return result
    spec = table.spec.field(node.field)
    column = table.columns.get(spec.name) if spec is not None else None
    if column is None:
        raise FilterError(f"Field '{node.field}' in filter is not a field of object {table.name}")
    if node.op == "isnull":
        return column.null_mask()
    if node.op == "isnotnull":
        return ~column.null_mask()
    try:
        return column.compare(node.op, node.values, case_insensitive)
    except FilterValueError as exc:
        if exc.kind == "date":
            raise FilterError(str(exc), bad_date=(exc.field, exc.value, exc.expected)) from None
        raise FilterError(str(exc)) from None
