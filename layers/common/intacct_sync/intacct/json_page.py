"""Pages in Intacct's ``returnformat=json``: a bare JSON array of flat records, with no envelope.

A JSON page has no ``count``/``totalcount``/``numremaining``; its records, and often each record's own
text as an NDJSON line, are all it gives.

Fields Intacct answers under another name (``DEPT#`` as ``DEPT``: ``names.answered_name``) repeat a key
when the request also names the plain field (``{"DEPT": "", "DEPT": "12"}``, as the simulator answers:
no JSON was recorded). A plain ``json.loads`` would keep only the last; such pages are parsed as
(key, value) pairs in document order and placed by position (``response.place_by_position``), so no
value is lost. The export itself reads such pages as XML, whose element order is recorded
(``export.pages.return_format``).
"""

from __future__ import annotations

import json
import operator
import re
from collections.abc import Sequence
from itertools import chain, repeat
from typing import Any

from .names import answered_by_position
from .query import Record
from .response import MalformedBody, answer_places, place_by_position

# Splits a JSON array into the text between records and each record's text ({...}), which is exact
# when no string holds a brace (checked by counting braces).
_JSON_RECORDS = re.compile(rb"(\{[^}]*\})")
_TEXT_OR_NULL = frozenset((str, type(None)))
# Records parsed together: one parse shares the field-name strings of its records, and other threads get
# the interpreter between parses (one parse of a whole wide page would hold it for tens of ms).
_JSON_RECORDS_AT_ONCE = 200


def json_page(body: bytes, fields: Sequence[str] | None = None) -> tuple[list[Record], list[bytes] | None]:
    """The records of a ``returnformat=json`` body, and each record's own JSON text when it can be used as
    an NDJSON line as it stands (else None, and the records must be encoded again).

    Encoding 2000 records again costs as much as parsing them, and Intacct's text is already JSON: what
    ``records_from_json`` would change is only empty strings (to null). The text is used only when that
    is all there is: no brace inside any string (so each ``{...}`` is one record, and between records
    there is only ``[``, commas, whitespace and ``]``), no line break inside a record, every value a
    string or null, no empty string left after ``""`` values become ``null``, and every selected field
    present. In valid JSON an unescaped ``": ""`` can only be a key and an empty value, so the
    replacement cannot touch a string's contents. Records are parsed a batch at a time, as an array of
    the cut texts: a cut inside a string merges texts into fewer records (or fails to parse), so equal
    counts mean every text is one record; no copy of the whole body is decoded at once (a 48-field page
    is 3 MB of text). Anything else falls back to ``records_from_json``.
    Lines keep Intacct's spacing and escapes.
    """
    if fields and answered_by_position(fields):
        return records_from_json(body, fields), None
    text = body.replace(b'": ""', b'": null')
    if b'":""' in text:
        text = text.replace(b'":""', b'":null')
    pieces = _JSON_RECORDS.split(text)
    lines, between = pieces[1::2], pieces[0::2]
    if (
        text.count(b"{") == len(lines) == text.count(b"}")
        and (between[0].strip() == b"[" and between[-1].strip() == b"]" if lines else text.strip() == b"[]")
        and all(gap.strip() == b"," for gap in set(between[1:-1]))  # a handful of distinct gaps
    ):
        rows = _parse_cut_records(lines)
        # Each check is one pass in C over the records' values (each text is "{...}", so a dict).
        if (
            rows is not None
            and _TEXT_OR_NULL.issuperset(map(type, chain.from_iterable(map(dict.values, rows))))
            and "" not in chain.from_iterable(map(dict.values, rows))  # an empty value spaced otherwise
            and _has_fields(rows, fields)
        ):
            return rows, lines
    return records_from_json(body, fields), None


def _parse_cut_records(lines: list[bytes]) -> list[Record] | None:
    """Parse record texts cut out of a JSON array, a batch at a time; None unless each is one record."""
    rows: list[Record] = []
    for start in range(0, len(lines), _JSON_RECORDS_AT_ONCE):
        batch = lines[start : start + _JSON_RECORDS_AT_ONCE]
        batch_text = b"[" + b",".join(batch) + b"]"
        if b"\n" in batch_text or b"\r" in batch_text:  # a record over several lines
            return None
        try:
            parsed = json.loads(batch_text)
        except (ValueError, UnicodeDecodeError):
            return None  # not JSON as cut (braces inside strings can look like records)
        if not isinstance(parsed, list) or len(parsed) != len(batch):
            return None
        rows.extend(parsed)
    return rows


def last_json_text_value(body: bytes, field: str) -> tuple[int, str] | None:
    """(how many records, the last record's value) of a text ``field`` in a JSON page's raw body, read
    without parsing it: in valid JSON ``"FIELD": "`` only occurs where a record names the field (inside a
    string its quotes would be escaped). None when the field is written both spaced and compact, or the
    last value holds an escape."""
    name = field.encode("utf-8")
    spaced, compact = b'"' + name + b'": "', b'"' + name + b'":"'
    count_spaced, count_compact = body.count(spaced), body.count(compact)
    if (count_spaced and count_compact) or not count_spaced + count_compact:
        return None
    marker = spaced if count_spaced else compact
    start = body.rfind(marker) + len(marker)
    end = body.find(b'"', start)
    value = body[start:end]
    if end < 0 or b"\\" in value:
        return None
    try:
        return count_spaced + count_compact, value.decode("utf-8")
    except UnicodeDecodeError:
        return None


def _has_fields(rows: list[dict[str, Any]], fields: Sequence[str] | None) -> bool:
    wanted = frozenset(fields or ())
    return not wanted or all(map(operator.ge, map(dict.keys, rows), repeat(wanted)))


def records_from_json(body: bytes, fields: Sequence[str] | None = None) -> list[Record]:
    """The records of a ``returnformat=json`` body: a bare JSON array of flat objects.

    ``""`` and ``null`` become None (as empty XML elements do); nested objects are flattened like XML.
    An empty body means no records (Intacct sends no body for an empty CSV result).
    Values are normalised while the parser builds each object (``object_hook``), so a flat page costs
    little more than ``json.loads`` itself.
    """
    by_position = bool(fields) and answered_by_position(fields or ())
    if not body.strip():
        rows: Any = []
    else:
        try:
            if by_position:
                rows = json.loads(body, object_pairs_hook=_Pairs)
            else:
                rows = json.loads(body, object_hook=_json_object)
        except (ValueError, UnicodeDecodeError):
            raise MalformedBody("not valid JSON") from None
    if not isinstance(rows, list):
        raise MalformedBody("JSON body is not an array")
    if by_position:
        rows = _placed(rows, fields or ())
    wanted = frozenset(fields or ())
    for row in rows:
        if row.__class__ is not dict:
            raise MalformedBody("JSON array item is not an object")
        if wanted and not wanted <= row.keys():
            for name in fields or ():
                row.setdefault(name, None)
    return rows


def _json_object(obj: dict[str, Any]) -> dict[str, Any]:
    """Normalise one parsed JSON object in place: text or None values, nested values flattened."""
    nested = False
    for key, value in obj.items():
        if value.__class__ is str:
            if not value:
                obj[key] = None
        elif value is None:
            continue
        elif isinstance(value, bool):
            obj[key] = "true" if value else "false"
        elif isinstance(value, int | float):
            obj[key] = str(value)
        else:
            nested = True
    if not nested:
        return obj
    flat: dict[str, Any] = {}
    _flatten_json(obj, "", flat)
    return flat


def _flatten_json(value: dict[str, Any], prefix: str, out: dict[str, Any]) -> None:
    for key, item in value.items():
        name = f"{prefix}{key}"
        if isinstance(item, dict):
            _flatten_json(item, name + ".", out)
        elif isinstance(item, list):
            _flatten_json({str(i): v for i, v in enumerate(item)}, name + ".", out)
        elif item is None or item == "":
            out[name] = None
        elif isinstance(item, bool):
            out[name] = "true" if item else "false"
        else:
            out[name] = str(item)


class _Pairs(list[tuple[str, Any]]):
    """A JSON object as its (key, value) pairs in document order, repeated keys kept."""


def _placed(rows: list[Any], fields: Sequence[str]) -> list[Record]:
    """Records parsed as ``_Pairs``, each placed by position under the requested names and normalised
    like any JSON record (``_json_object``)."""
    places = answer_places(fields)
    out: list[Record] = []
    for row in rows:
        if not isinstance(row, _Pairs):
            raise MalformedBody("JSON array item is not an object")
        record = place_by_position(((key, _plain(value)) for key, value in row), fields, places)
        out.append(_json_object(record))
    return out


def _plain(value: Any) -> Any:
    """A parsed value with nested ``_Pairs`` as dicts (a nested object's repeated key keeps its last)."""
    if isinstance(value, _Pairs):
        return {key: _plain(item) for key, item in value}
    if isinstance(value, list):
        return [_plain(item) for item in value]
    return value
