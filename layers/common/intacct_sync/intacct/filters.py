"""The ``query`` filter tree: build it in code (``eq``, ``and_``...) or from JSON (``filter_from_dict``).

Values are normalised to the strings sent to Intacct when the filter is built: ``str`` as is, ``int`` and
``Decimal`` in plain notation, ``date`` as ``MM/DD/YYYY``, ``datetime`` as ``MM/DD/YYYY HH:MM:SS`` (the
wall-clock time as given: Intacct compares in the API user's time zone, so convert before building).
Values must be representable in XML 1.0 exactly: control characters (including carriage return, which
XML parsers turn into a line feed) and unpaired surrogates are refused.

JSON form (``to_dict`` / ``filter_from_dict``), operators named exactly as the XML elements::

    {"and": [{"field": "STATUS", "op": "equalto", "value": "active"},
             {"field": "RECORDNO", "op": "between", "values": ["100", "200"]},
             {"field": "PARENTID", "op": "isnull"}]}
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Any, Literal

from .errors import InvalidQueryError
from .names import check_field_name

MAX_IN_VALUES = 1000
MAX_DEPTH = 10
MAX_CONDITIONS = 5000  # keeps a JSON-supplied filter from producing an unbounded request

SINGLE_VALUE_OPS = (
    "equalto",
    "notequalto",
    "lessthan",
    "lessthanorequalto",
    "greaterthan",
    "greaterthanorequalto",
    "like",
    "notlike",
)
LIST_VALUE_OPS = ("in", "notin")
NO_VALUE_OPS = ("isnull", "isnotnull")
ALL_OPS = (*SINGLE_VALUE_OPS, "between", *LIST_VALUE_OPS, *NO_VALUE_OPS)
GROUP_OPS = ("and", "or")

# Characters XML 1.0 does not carry unchanged in element content (no CR: parsers normalise it to LF):
# the complement of [\t\n\u0020-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff], spelt positively because
# compiling that negated class is a measurable part of every cold start (benchmarks/RESULTS.md).
_NOT_XML_SAFE = re.compile("[\x00-\x08\x0b-\x1f\ud800-\udfff\ufffe\uffff]")

FilterValue = str | int | Decimal | date | datetime


def check_text(value: str, what: str) -> str:
    """Return ``value`` if XML 1.0 can carry it exactly, else raise ``InvalidQueryError``."""
    bad = _NOT_XML_SAFE.search(value)
    if bad is not None:
        raise InvalidQueryError(
            f"{what} contains the character U+{ord(bad.group()):04X}, which cannot be sent in XML unchanged"
        )
    return value


def format_value(value: Any, what: str = "filter value") -> str:
    """The string Intacct receives for a filter value (see the module docstring)."""
    if isinstance(value, bool):  # bool is an int: refuse rather than send "True"
        raise InvalidQueryError(f"{what} must be a string, number, date or datetime, not a boolean")
    if isinstance(value, str):
        return check_text(value, what)
    if isinstance(value, int):
        return str(value)
    if isinstance(value, Decimal):
        if not value.is_finite():
            raise InvalidQueryError(f"{what} must be a finite number")
        return format(value, "f")
    if isinstance(value, float):
        if not math.isfinite(value):
            raise InvalidQueryError(f"{what} must be a finite number")
        return format(Decimal(repr(value)), "f")
    if isinstance(value, datetime):  # before date: datetime is a date
        return value.strftime("%m/%d/%Y %H:%M:%S")
    if isinstance(value, date):
        return value.strftime("%m/%d/%Y")
    raise InvalidQueryError(f"{what} must be a string, number, date or datetime, not {type(value).__name__}")


class Filter:
    """Base of the filter tree nodes."""

    def to_dict(self) -> dict[str, Any]:
        """The JSON form accepted by ``filter_from_dict``."""
        raise NotImplementedError

    def to_xml_dict(self) -> dict[str, Any]:
        """``{operator: content}`` ready for ``xmltodict.unparse`` inside ``<filter>``."""
        raise NotImplementedError


@dataclass(frozen=True)
class Condition(Filter):
    """One operator applied to one field, with 0, 1, 2 or 1..1000 values depending on the operator."""

    op: str
    field: str
    values: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        if self.op not in ALL_OPS:
            raise InvalidQueryError(
                f"unknown filter operator {self.op!r}; expected one of {', '.join(ALL_OPS)}"
            )
        check_field_name(self.field)
        values = tuple(self.values)
        object.__setattr__(self, "values", values)
        for value in values:
            if not isinstance(value, str):
                raise InvalidQueryError("Condition values must already be strings; use the builder functions")
            check_text(value, f"value for {self.field}")
        count = len(values)
        if self.op in SINGLE_VALUE_OPS and count != 1:
            raise InvalidQueryError(f"operator {self.op} on {self.field} takes exactly 1 value, got {count}")
        if self.op == "between" and count != 2:
            raise InvalidQueryError(f"operator between on {self.field} takes exactly 2 values, got {count}")
        if self.op in LIST_VALUE_OPS and not 1 <= count <= MAX_IN_VALUES:
            raise InvalidQueryError(
                f"operator {self.op} on {self.field} takes 1 to {MAX_IN_VALUES} values, got {count}"
            )
        if self.op in NO_VALUE_OPS and count:
            raise InvalidQueryError(f"operator {self.op} on {self.field} takes no value, got {count}")

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"field": self.field, "op": self.op}
        if self.op in SINGLE_VALUE_OPS:
            out["value"] = self.values[0]
        elif self.values:
            out["values"] = list(self.values)
        return out

    def to_xml_dict(self) -> dict[str, Any]:
        content: dict[str, Any] = {"field": self.field}
        if self.values:
            content["value"] = list(self.values)
        return {self.op: content}


@dataclass(frozen=True)
class Group(Filter):
    """``and`` / ``or`` over two or more children (Intacct's minimum; the builders collapse one child)."""

    op: Literal["and", "or"]
    children: tuple[Filter, ...]

    def __post_init__(self) -> None:
        if self.op not in GROUP_OPS:
            raise InvalidQueryError(f"unknown group operator {self.op!r}; expected 'and' or 'or'")
        children = tuple(self.children)
        object.__setattr__(self, "children", children)
        if len(children) < 2:
            raise InvalidQueryError(f"{self.op} needs at least 2 filters, got {len(children)}")
        for child in children:
            if not isinstance(child, Filter):
                raise InvalidQueryError(f"{self.op} children must be filters, got {type(child).__name__}")
        if _depth(self) > MAX_DEPTH:
            raise InvalidQueryError(f"filter nesting is deeper than {MAX_DEPTH} levels")

    def to_dict(self) -> dict[str, Any]:
        return {self.op: [child.to_dict() for child in self.children]}

    def to_xml_dict(self) -> dict[str, Any]:
        # xmltodict groups same-named siblings, so children come out grouped by operator; and/or are
        # commutative, so the meaning is unchanged.
        content: dict[str, list[Any]] = {}
        for child in self.children:
            ((tag, body),) = child.to_xml_dict().items()
            content.setdefault(tag, []).append(body)
        return {self.op: content}


def _depth(node: Filter) -> int:
    if isinstance(node, Group):
        return 1 + max(_depth(child) for child in node.children)
    return 1


def _single(op: str, field: str, value: FilterValue) -> Condition:
    return Condition(op, check_field_name(field), (format_value(value, f"value for {field}"),))


def eq(field: str, value: FilterValue) -> Condition:
    """``field = value``"""
    return _single("equalto", field, value)


def ne(field: str, value: FilterValue) -> Condition:
    """``field != value``"""
    return _single("notequalto", field, value)


def lt(field: str, value: FilterValue) -> Condition:
    """``field < value``"""
    return _single("lessthan", field, value)


def le(field: str, value: FilterValue) -> Condition:
    """``field <= value``"""
    return _single("lessthanorequalto", field, value)


def gt(field: str, value: FilterValue) -> Condition:
    """``field > value``"""
    return _single("greaterthan", field, value)


def ge(field: str, value: FilterValue) -> Condition:
    """``field >= value``"""
    return _single("greaterthanorequalto", field, value)


def like(field: str, pattern: str) -> Condition:
    """``field LIKE pattern`` (``%`` any characters, ``_`` one character)."""
    return _single("like", field, pattern)


def not_like(field: str, pattern: str) -> Condition:
    """``field NOT LIKE pattern``"""
    return _single("notlike", field, pattern)


def between(field: str, low: FilterValue, high: FilterValue) -> Condition:
    """``low <= field <= high`` (Intacct wants the lower bound first)."""
    check_field_name(field)
    return Condition(
        "between", field, (format_value(low, f"value for {field}"), format_value(high, f"value for {field}"))
    )


def _many(op: str, field: str, values: Iterable[FilterValue]) -> Condition:
    check_field_name(field)
    if isinstance(values, str | bytes):
        raise InvalidQueryError(f"{op} on {field} takes a list of values, not a single string")
    formatted = tuple(format_value(v, f"value for {field}") for v in values)
    return Condition(op, field, formatted)


def in_(field: str, values: Iterable[FilterValue]) -> Condition:
    """``field IN (values)``, 1 to 1000 values."""
    return _many("in", field, values)


def not_in(field: str, values: Iterable[FilterValue]) -> Condition:
    """``field NOT IN (values)``, 1 to 1000 values."""
    return _many("notin", field, values)


def is_null(field: str) -> Condition:
    """``field IS NULL``"""
    return Condition("isnull", check_field_name(field))


def is_not_null(field: str) -> Condition:
    """``field IS NOT NULL``"""
    return Condition("isnotnull", check_field_name(field))


def _group(op: Literal["and", "or"], filters: tuple[Filter, ...]) -> Filter:
    if not filters:
        raise InvalidQueryError(f"{op}_ needs at least one filter")
    if len(filters) == 1:
        if not isinstance(filters[0], Filter):
            raise InvalidQueryError(f"{op}_ takes filters, got {type(filters[0]).__name__}")
        return filters[0]
    return Group(op, filters)


def and_(*filters: Filter) -> Filter:
    """All of ``filters``; a single filter is returned as is; none is an error."""
    return _group("and", filters)


def or_(*filters: Filter) -> Filter:
    """Any of ``filters``; a single filter is returned as is; none is an error."""
    return _group("or", filters)


def filter_from_dict(data: Mapping[str, Any]) -> Filter:
    """Build a filter from its JSON form, validating strictly.

    Raises ``InvalidQueryError`` naming the problem: unknown operator or key, bad field name, wrong
    number of values, unsupported value type, nesting deeper than 10 levels, more than 1000 values.
    """
    counter = [0]
    return _from_dict(data, depth=1, path="filter", counter=counter)


def _from_dict(data: Any, *, depth: int, path: str, counter: list[int]) -> Filter:
    if depth > MAX_DEPTH:
        raise InvalidQueryError(f"{path}: filter nesting is deeper than {MAX_DEPTH} levels")
    if not isinstance(data, Mapping):
        raise InvalidQueryError(f"{path}: expected a JSON object, got {type(data).__name__}")
    keys = set(data)
    group_keys = keys & set(GROUP_OPS)
    if group_keys:
        if len(keys) != 1:
            raise InvalidQueryError(
                f"{path}: a group must have exactly one key, 'and' or 'or' "
                f"(got {', '.join(sorted(map(str, keys)))})"
            )
        op = next(iter(group_keys))
        children = data[op]
        if not isinstance(children, list):
            raise InvalidQueryError(f"{path}.{op}: expected a list of filters")
        if not children:
            raise InvalidQueryError(f"{path}.{op}: needs at least one filter")
        built = tuple(
            _from_dict(child, depth=depth + 1, path=f"{path}.{op}[{i}]", counter=counter)
            for i, child in enumerate(children)
        )
        return and_(*built) if op == "and" else or_(*built)

    counter[0] += 1
    if counter[0] > MAX_CONDITIONS:
        raise InvalidQueryError(f"filter has more than {MAX_CONDITIONS} conditions")
    if "op" not in data or "field" not in data:
        raise InvalidQueryError(f"{path}: a condition needs 'field' and 'op' (or use 'and' / 'or')")
    op = data["op"]
    if not isinstance(op, str) or op not in ALL_OPS:
        raise InvalidQueryError(f"{path}: unknown operator {op!r}; expected one of {', '.join(ALL_OPS)}")
    field = data["field"]
    try:
        check_field_name(field)
    except InvalidQueryError as exc:
        raise InvalidQueryError(f"{path}: {exc}") from None

    if op in SINGLE_VALUE_OPS:
        expected = {"field", "op", "value"}
    elif op in NO_VALUE_OPS:
        expected = {"field", "op"}
    else:
        expected = {"field", "op", "values"}
    if keys != expected:
        extra = sorted(map(str, keys - expected))
        missing = sorted(expected - keys)
        problems = []
        if missing:
            problems.append(f"missing {', '.join(missing)}")
        if extra:
            problems.append(f"unexpected {', '.join(extra)}")
        raise InvalidQueryError(f"{path}: operator {op} {'; '.join(problems)}")

    try:
        if op in SINGLE_VALUE_OPS:
            values: tuple[str, ...] = (_json_value(data["value"], f"{path}.value"),)
        elif op in NO_VALUE_OPS:
            values = ()
        else:
            raw = data["values"]
            if not isinstance(raw, list):
                raise InvalidQueryError(f"{path}.values: expected a list")
            if op == "between" and len(raw) != 2:
                raise InvalidQueryError(f"{path}: operator between takes exactly 2 values, got {len(raw)}")
            if op in LIST_VALUE_OPS and not 1 <= len(raw) <= MAX_IN_VALUES:
                raise InvalidQueryError(
                    f"{path}: operator {op} takes 1 to {MAX_IN_VALUES} values, got {len(raw)}"
                )
            values = tuple(_json_value(v, f"{path}.values[{i}]") for i, v in enumerate(raw))
        return Condition(op, field, values)
    except InvalidQueryError as exc:
        message = str(exc)
        raise InvalidQueryError(message if message.startswith(path) else f"{path}: {message}") from None


def _json_value(value: Any, what: str) -> str:
    if isinstance(value, bool) or not isinstance(value, str | int | float | Decimal):
        raise InvalidQueryError(f"{what} must be a string or a number, not {type(value).__name__}")
    return format_value(value, what)
