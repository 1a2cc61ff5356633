"""Query descriptions (validated when built) and the pages the client returns."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

from .errors import InvalidQueryError
from .filters import Filter, filter_from_dict
from .names import check_field_name, check_object_name

MAX_QUERY_PAGE_SIZE = 2000

Record = dict[str, str | None]


@dataclass(frozen=True)
class OrderBy:
    """One sort key of a ``query``."""

    field: str
    descending: bool = False

    def __post_init__(self) -> None:
        check_field_name(self.field, "order by field")


@dataclass(frozen=True)
class Query:
    """A ``query`` function call: object, selected fields, optional filter and sort, one page.

    ``return_format``: ``"xml"`` (the default) returns ``count``, ``totalcount`` and ``numremaining``, which
    offset paging and reconciliation need. ``"json"`` returns only the records (smaller body, quicker to
    parse), so the page's ``count`` is ``len(records)`` and ``total_count``/``num_remaining`` are None: use it
    for keyset paging (``RECORDNO > last``) where a short page means the end.
    """

    object: str
    fields: tuple[str, ...]
    filter: Filter | None = None
    order_by: tuple[OrderBy, ...] = ()
    page_size: int = 100
    offset: int = 0
    case_insensitive: bool = False
    show_private: bool = False
    return_format: Literal["xml", "json"] = "xml"

    def __post_init__(self) -> None:
        check_object_name(self.object)
        if isinstance(self.fields, str):
            raise InvalidQueryError("fields must be a sequence of field names, not a single string")
        fields = tuple(self.fields)
        object.__setattr__(self, "fields", fields)
        if not fields:
            raise InvalidQueryError("fields must name at least one field (Intacct has no select *)")
        for name in fields:
            check_field_name(name)
        if len(set(fields)) != len(fields):
            dupes = sorted({name for name in fields if fields.count(name) > 1})
            raise InvalidQueryError(f"fields has duplicates: {', '.join(dupes)}")
        if self.filter is not None and not isinstance(self.filter, Filter):
            raise InvalidQueryError(f"filter must be a Filter, got {type(self.filter).__name__}")
        order_by = tuple(self.order_by)
        object.__setattr__(self, "order_by", order_by)
        for order in order_by:
            if not isinstance(order, OrderBy):
                raise InvalidQueryError(f"order_by items must be OrderBy, got {type(order).__name__}")
        _check_int(self.page_size, "page_size", 1, MAX_QUERY_PAGE_SIZE)
        _check_int(self.offset, "offset", 0, None)
        if self.return_format not in ("xml", "json"):
            raise InvalidQueryError(f"return_format must be 'xml' or 'json', got {self.return_format!r}")

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready form (for Step Functions payloads); ``from_dict`` reverses it."""
        return {
            "object": self.object,
            "fields": list(self.fields),
            "filter": self.filter.to_dict() if self.filter is not None else None,
            "order_by": [{"field": o.field, "descending": o.descending} for o in self.order_by],
            "page_size": self.page_size,
            "offset": self.offset,
            "case_insensitive": self.case_insensitive,
            "show_private": self.show_private,
            "return_format": self.return_format,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Query:
        """Build a query from ``to_dict`` output; raises ``InvalidQueryError`` when it is not valid."""
        try:
            raw_filter = data.get("filter")
            return cls(
                object=data["object"],
                fields=tuple(data["fields"]),
                filter=filter_from_dict(raw_filter) if raw_filter is not None else None,
                order_by=tuple(
                    OrderBy(o["field"], bool(o.get("descending", False))) for o in data.get("order_by", ())
                ),
                page_size=data.get("page_size", 100),
                offset=data.get("offset", 0),
                case_insensitive=bool(data.get("case_insensitive", False)),
                show_private=bool(data.get("show_private", False)),
                return_format=data.get("return_format", "xml"),
            )
        except (KeyError, TypeError) as exc:
            raise InvalidQueryError(f"query is incomplete or malformed: {type(exc).__name__} {exc}") from None


def _check_int(value: Any, name: str, low: int, high: int | None) -> None:
    if isinstance(value, bool) or not isinstance(value, int):
        raise InvalidQueryError(f"{name} must be an integer, got {type(value).__name__}")
    if value < low or (high is not None and value > high):
        bound = f"{low}..{high}" if high is not None else f">= {low}"
        raise InvalidQueryError(f"{name} must be {bound}, got {value}")


@dataclass
class QueryPage:
    """One page of a ``query``. ``total_count``/``num_remaining`` are None for JSON results.

    ``lines``: for a JSON page whose text needed no normalising, each record's own JSON text (one per
    record, in order), ready to be written as NDJSON without encoding the records again.
    """

    records: list[Record]
    count: int
    total_count: int | None
    num_remaining: int | None
    offset: int
    lines: list[bytes] | None = None


@dataclass(frozen=True)
class FieldInfo:
    """One field of an object definition (``lookup``): its name and DATATYPE, all a run reads of it
    (``export.typed``)."""

    name: str
    data_type: str
