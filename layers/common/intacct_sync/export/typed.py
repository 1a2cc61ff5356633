"""Typed records: Intacct's text values written as the types ``lookup`` gives them, so that Athena (and
DuckDB locally) read them as numbers, booleans, dates and instants without casts.

Intacct answers every value as text (docs/intacct/PROTOCOL.md §9; ``docs/intacct/real-objects/README.md``:
booleans ``true``/``false``, decimals as plain digits with a point, timestamps and dates in the API user's
preferences and zone, empty as ``<X></X>``). ``lookup`` types each field with a DATATYPE from TEXT,
INTEGER, BOOLEAN, DATE, TIMESTAMP, ENUM, DECIMAL, CURRENCY, PERCENT, SEQUENCE (Estuary's
source-sage-intacct ``DATATYPE_MAP`` lists the same ten). What each becomes:

=========================== ============================== =================================
DATATYPE                    written as (JSON)              column type (Glue / DuckDB)
=========================== ============================== =================================
TEXT, ENUM, SEQUENCE, other string, as Intacct wrote it    string / VARCHAR
INTEGER                     number (``42``)                bigint / BIGINT
DECIMAL, CURRENCY, PERCENT  number (``72.3296742688617``)  decimal(38,16) / DECIMAL(38,16)
BOOLEAN                     ``true`` / ``false``           boolean / BOOLEAN
DATE                        ``"YYYY-MM-DD"``               date / DATE
TIMESTAMP                   ``"YYYY-MM-DDTHH:MM:SSZ"`` UTC timestamp / TIMESTAMP
empty                       ``null``                       (any)
=========================== ============================== =================================

A TIMESTAMP is read in the run's ``TenantTime`` (the user's format, in ``TenantTimezone`` or the user's
offset) and written as the UTC instant; a date-only TIMESTAMP (WHENCREATED on AR/AP headers) is midnight
tenant-local. A DATE is a calendar day: no zone. Numbers are written as the nearest binary float, which
gives back Intacct's text exactly up to 15 significant digits (the readers, Athena's JSON SerDe and
DuckDB's JSON reader, parse numbers as doubles too).

**Widening, never failing.** Estuary notes that INTEGER fields sometimes hold a fraction. A value that its
DATATYPE cannot hold is kept, and the field's column widened for good: a fraction or a number beyond
bigint in an INTEGER field is written as a number and widens the column to ``decimal(38,16)``; a value
that is not of its type at all (a DATE that is not a date, a BOOLEAN that is not true/false) is written as
the text Intacct sent and widens the column to ``string``. Each part names the fields it widened
(``PartSummary.widened``); finalising widens the table before any query can read the run.

Every typed record also carries the metadata columns ELT tools add (Singer/Meltano SDK names):
``_sdc_extracted_at`` (UTC instant the page was read) and ``_sdc_run_id`` (the run); tombstones also
``_sdc_deleted_at`` (when Intacct recorded the deletion, UTC).
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from intacct_sync.export.window import TenantTime

RUN_ID_COLUMN = "_sdc_run_id"
EXTRACTED_AT_COLUMN = "_sdc_extracted_at"
DELETED_AT_COLUMN = "_sdc_deleted_at"

# Column kinds, ordered by what widens into what: integer -> decimal -> string; anything -> string.
STRING, INTEGER, DECIMAL = "string", "integer", "decimal"
BOOLEAN, DATE, TIMESTAMP = "boolean", "date", "timestamp"
KINDS = (STRING, INTEGER, DECIMAL, BOOLEAN, DATE, TIMESTAMP)
_KIND_OF_DATATYPE = {
    "TEXT": STRING,
    "ENUM": STRING,
    "SEQUENCE": STRING,  # no value of one has been seen (Estuary leaves it unhandled): kept as text
    "INTEGER": INTEGER,
    "DECIMAL": DECIMAL,
    "CURRENCY": DECIMAL,
    "PERCENT": DECIMAL,
    "BOOLEAN": BOOLEAN,
    "DATE": DATE,
    "TIMESTAMP": TIMESTAMP,
}
# Glue (Hive) column type of each kind. decimal(38,16): 22 digits before the point, 16 after (the
# recorded DECIMAL values have up to 13 places; Intacct amounts stay far below 10^22).
GLUE_TYPES = {
    STRING: "string",
    INTEGER: "bigint",
    DECIMAL: "decimal(38,16)",
    BOOLEAN: "boolean",
    DATE: "date",
    TIMESTAMP: "timestamp",
}

_BIGINT = 2**63
_DECIMAL_TEXT = re.compile(r"[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?")
_BOOLEANS = {"true": True, "false": False}
# The widest a part's "widened" metadata may be (S3 user metadata is 2 KB in all).
MAX_WIDENED_TEXT = 1500


def kind_of(datatype: str | None) -> str:
    """The column kind of a ``lookup`` DATATYPE; text for anything unknown."""
    return _KIND_OF_DATATYPE.get(str(datatype or "").upper(), STRING)


def wider(a: str, b: str) -> str:
    """The narrowest kind that holds values of both kinds."""
    if a == b:
        return a
    if {a, b} == {INTEGER, DECIMAL}:
        return DECIMAL
    return STRING


def utc_text(instant: datetime) -> str:
    """An aware instant as written in typed records: ``YYYY-MM-DDTHH:MM:SSZ`` (microseconds when any)."""
    moment = instant.astimezone(UTC)
    if moment.microsecond:
        return moment.strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


class _Unfit(Exception):
    """A value its field's kind cannot hold; ``kind`` is the kind that holds it."""

    def __init__(self, kind: str, value: Any) -> None:
        super().__init__(kind)
        self.kind, self.value = kind, value


def _integer(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        if _DECIMAL_TEXT.fullmatch(text.strip()):
            raise _Unfit(DECIMAL, _number(text)) from None
        raise _Unfit(STRING, text) from None
    if "_" in text:  # int() reads "1_000"; Intacct never writes it
        raise _Unfit(STRING, text)
    if not -_BIGINT <= value < _BIGINT:
        raise _Unfit(DECIMAL, value)
    return value


def _number(text: str) -> float:
    stripped = text.strip()
    if not _DECIMAL_TEXT.fullmatch(stripped):
        raise _Unfit(STRING, text)
    value = float(stripped)
    if not math.isfinite(value):
        raise _Unfit(STRING, text)
    return value


def _boolean(text: str) -> bool:
    found = _BOOLEANS.get(text)
    if found is None:
        found = _BOOLEANS.get(text.strip().lower())
        if found is None:
            raise _Unfit(STRING, text)
    return found


def _memo(convert: Callable[[str], str]) -> Callable[[str], str]:
    """Dates repeat on a page (a bulk load's timestamp, common dates): parse each distinct text once."""
    seen: dict[str, str] = {}

    def memoised(text: str) -> str:
        found = seen.get(text)
        if found is None:
            if len(seen) > 50_000:
                seen.clear()
            found = seen[text] = convert(text)
        return found

    return memoised


def _date(time: TenantTime) -> Callable[[str], str]:
    def convert(text: str) -> str:
        try:
            return time.output.parse(text).date().isoformat()
        except ValueError:
            raise _Unfit(STRING, text) from None

    return _memo(convert)


def _timestamp(time: TenantTime) -> Callable[[str], str]:
    def convert(text: str) -> str:
        try:
            return utc_text(time.to_utc(text))
        except ValueError:
            raise _Unfit(STRING, text) from None

    return _memo(convert)


@dataclass(frozen=True)
class FieldTypes:
    """The DATATYPE of each exported field (from ``lookup``, cached with the field list), and the kinds the
    columns have been widened to. Fields without a known type are text. ``pairs`` keeps it hashable
    (page tasks are compared)."""

    pairs: tuple[tuple[str, str], ...] = ()

    @classmethod
    def of(cls, types: Mapping[str, str] | None) -> FieldTypes:
        return cls(tuple(sorted((str(k), str(v).upper()) for k, v in (types or {}).items())))

    def to_dict(self) -> dict[str, str]:
        return dict(self.pairs)

    def __bool__(self) -> bool:
        return bool(self.pairs)

    def kind(self, name: str) -> str:
        return kind_of(dict(self.pairs).get(name))


def converter(kind: str, time: TenantTime) -> Callable[[str], Any] | None:
    """How a non-empty text value of ``kind`` is written (None: as it is)."""
    if kind == INTEGER:
        return _integer
    if kind == DECIMAL:
        return _number
    if kind == BOOLEAN:
        return _boolean
    if kind == DATE:
        return _date(time)
    if kind == TIMESTAMP:
        return _timestamp(time)
    return None


@dataclass
class RecordTyper:
    """Types a page's records in place and adds the metadata columns; remembers what it had to widen.

    Only the fields whose kind is not text are touched (CUSTOMER: 54 of 224), a column at a time.
    """

    fields: Sequence[str]
    types: FieldTypes
    time: TenantTime
    run_id: str
    widened: dict[str, str] = field(default_factory=dict)  # field -> kind it needed this page

    def __post_init__(self) -> None:
        self._converters: list[tuple[str, Callable[[str], Any]]] = []
        for name in dict.fromkeys(self.fields):
            convert = converter(self.types.kind(name), self.time)
            if convert is not None:
                self._converters.append((name, convert))

    def type_records(self, rows: list[dict[str, Any]], extracted_at: datetime) -> list[dict[str, Any]]:
        """``rows`` typed in place (and returned), each with ``_sdc_run_id`` and ``_sdc_extracted_at``."""
        self.widened = {}
        for name, convert in self._converters:
            # A column at a time: read it, convert its non-empty values, write back what changed.
            column = [row.get(name) for row in rows]
            try:
                typed = [None if value is None else convert(value) for value in column]
            except _Unfit:
                typed = [None if value is None else self._fitted(name, convert, value) for value in column]
            for row, value in zip(rows, typed, strict=True):
                if value is not None:
                    row[name] = value
        at = utc_text(extracted_at)
        for row in rows:
            row[RUN_ID_COLUMN] = self.run_id
            row[EXTRACTED_AT_COLUMN] = at
        return rows

    def _fitted(self, name: str, convert: Callable[[str], Any], value: str) -> Any:
        try:
            return convert(value)
        except _Unfit as unfit:
            self.widened[name] = wider(self.widened.get(name, unfit.kind), unfit.kind)
            return unfit.value


def widened_text(widened: Mapping[str, str]) -> str:
    """A part's widened fields as S3 metadata: ``decimal:F1,F2;string:F3`` (``string:*``: every typed
    field of the part, when naming them would not fit in S3's metadata)."""
    by_kind: dict[str, list[str]] = {}
    for name, kind in sorted(widened.items()):
        by_kind.setdefault(kind, []).append(name)
    text = ";".join(f"{kind}:{','.join(names)}" for kind, names in sorted(by_kind.items()))
    return text if len(text) <= MAX_WIDENED_TEXT else f"{STRING}:*"


def parse_widened(text: str) -> dict[str, str]:
    """The inverse of ``widened_text`` (``*`` stands for every field)."""
    found: dict[str, str] = {}
    for group in filter(None, text.split(";")):
        kind, _, names = group.partition(":")
        if kind not in KINDS:
            continue
        for name in filter(None, names.split(",")):
            found[name] = wider(found.get(name, kind), kind)
    return found


def tombstone_rows(
    rows: Iterable[dict[str, Any]],
    types: FieldTypes,
    key_fields: Sequence[str],
    time: TenantTime,
    run_id: str,
    extracted_at: datetime,
) -> list[dict[str, Any]]:
    """Tombstones (``export.audit.tombstone``) typed like the records they name: the key and id fields
    as their columns are typed, ``deleted_at`` as a UTC instant (``YYYY-MM-DDTHH:MM:SSZ``) and the
    metadata columns, ``_sdc_deleted_at`` the same instant as ``deleted_at``. Keys come from AUDITHISTORY's
    OBJECTKEY (``<RECORDNO>--REC`` or the id field's own value), so they fit the records' types."""
    out = list(rows)
    typer = RecordTyper([f for f in key_fields if f], types, time, run_id)
    typer.type_records(out, extracted_at)
    for row in out:
        deleted = row.get("deleted_at")
        if isinstance(deleted, str) and deleted:
            deleted = utc_text(datetime.fromisoformat(deleted))
            row["deleted_at"] = deleted
        row[DELETED_AT_COLUMN] = deleted
    return out
