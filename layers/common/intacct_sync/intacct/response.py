"""Response documents of the XML gateway, parsed with the standard library's ElementTree.

``findall`` always yields lists, so one ``<result>``, ``<error>`` or record is handled exactly like many,
and it parses a 2000-record page several times faster than ``xmltodict.parse``. Documents carrying a DTD
are refused (no entity expansion).

Record values: an element's text as a string; an empty element (and, for ``query``, a selected field that
is absent) is ``None``. Nested elements are flattened to dotted keys (``MAILADDRESS.CITY``); repeated
sibling elements are numbered (``LINE.0.AMOUNT``, ``LINE.1.AMOUNT``). A ``query`` page whose fields
Intacct answers under other names (``DEPT#`` as ``<DEPT>``: ``names.answered_name``) is read by position
instead: each element is the next requested field answered under its name (``place_by_position``).
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from bisect import bisect_left
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from .errors import ErrorDetail
from .names import answered_by_position, answered_name
from .query import Record


class MalformedBody(Exception):
    """The body is not a complete, well-formed document of the expected kind (retryable)."""


@dataclass
class ParsedResult:
    """One ``<result>``."""

    status: str
    function: str
    control_id: str
    data: ET.Element | None
    errors: tuple[ErrorDetail, ...]


@dataclass
class ParsedResponse:
    """The parts of a ``<response>`` the client acts on."""

    control_status: str
    control_errors: tuple[ErrorDetail, ...] = ()
    has_operation: bool = False
    auth_status: str | None = None
    operation_errors: tuple[ErrorDetail, ...] = ()
    session_timeout: str | None = None
    results: list[ParsedResult] = field(default_factory=list)
    acknowledgement: bool = False


def looks_like_html(content_type: str, body: bytes) -> bool:
    """A Cloudflare/load-balancer HTML page rather than an XML document."""
    if "html" in content_type.lower():
        return True
    head = body[:512].lstrip().lower()
    return head.startswith((b"<!doctype html", b"<html", b"<head", b"<body"))


def parse_document(body: bytes) -> ET.Element:
    """Parse a well-formed XML document; raise ``MalformedBody`` if it is not one (or carries a DTD)."""
    if not body.strip():
        raise MalformedBody("empty body")
    if b"<!DOCTYPE" in body or b"<!ENTITY" in body:
        raise MalformedBody("document carries a DTD")
    try:
        return ET.fromstring(body)  # noqa: S314 - no DTD (checked above), so no entity expansion
    except ET.ParseError as exc:
        raise MalformedBody(f"not well-formed XML ({exc.msg if hasattr(exc, 'msg') else exc})") from None


def child_text(element: ET.Element | None, tag: str) -> str:
    """The stripped text of ``element``'s child ``tag``; ``""`` when either is missing or empty."""
    if element is None:
        return ""
    child = element.find(tag)
    if child is None or child.text is None:
        return ""
    return child.text.strip()


def parse_errors(container: ET.Element | None) -> tuple[ErrorDetail, ...]:
    """The ``<error>`` elements of an ``<errormessage>`` (or of its parent)."""
    if container is None:
        return ()
    if container.tag != "errormessage":
        container = container.find("errormessage")
        if container is None:
            return ()
    return tuple(
        ErrorDetail(
            errorno=child_text(error, "errorno") or "UNKNOWN",
            description=child_text(error, "description"),
            description2=child_text(error, "description2"),
            correction=child_text(error, "correction"),
        )
        for error in container.findall("error")
    )


def parse_response(root: ET.Element) -> ParsedResponse:
    """Interpret a ``<response>``; raise ``MalformedBody`` when it lacks the parts every response has."""
    if root.tag != "response":
        raise MalformedBody(f"root element is <{root.tag}>, not <response>")
    control = root.find("control")
    if control is None:
        raise MalformedBody("response has no <control>")
    status = child_text(control, "status")
    if status not in ("success", "failure"):
        raise MalformedBody("control status is missing or unknown")
    parsed = ParsedResponse(control_status=status, control_errors=parse_errors(root))
    parsed.acknowledgement = root.find("acknowledgement") is not None
    operation = root.find("operation")
    if operation is None:
        return parsed
    parsed.has_operation = True
    authentication = operation.find("authentication")
    if authentication is not None:
        parsed.auth_status = child_text(authentication, "status") or None
        parsed.session_timeout = child_text(authentication, "sessiontimeout") or None
    parsed.operation_errors = parse_errors(operation)
    for result in operation.findall("result"):
        parsed.results.append(
            ParsedResult(
                status=child_text(result, "status"),
                function=child_text(result, "function"),
                control_id=child_text(result, "controlid"),
                data=result.find("data"),
                errors=parse_errors(result),
            )
        )
    return parsed


def parse_timestamp(value: str | None) -> datetime | None:
    """An ISO-8601 timestamp with offset (``sessiontimeout``); None when absent or unparseable."""
    if not value:
        return None
    try:
        parsed = datetime.fromisoformat(value.strip())
    except ValueError:
        return None
    return parsed if parsed.tzinfo is not None else None


def int_attribute(data: ET.Element, name: str) -> int | None:
    """An integer attribute of ``<data>``; None when absent; ``MalformedBody`` when not an integer."""
    raw = data.get(name)
    if raw is None or raw.strip() == "":
        return None
    try:
        return int(raw)
    except ValueError:
        raise MalformedBody(f"<data {name}> is not an integer") from None


def records_from_data(data: ET.Element | None, fields: Sequence[str] | None = None) -> list[Record]:
    """The records under ``<data>``, flattened; with ``fields``, every record has every field, keyed by
    the requested names (read by position when some are answered under other names)."""
    if data is None:
        return []
    if fields and answered_by_position(fields):
        places = answer_places(fields)
        return [_record_by_position(element, fields, places) for element in data]
    records: list[Record] = []
    append = records.append
    for element in data:
        record: Record = {}
        for child in element:
            if len(child):
                break
            text = child.text
            record[child.tag] = text or None
        else:
            if len(record) == len(element):
                append(record)
                continue
        append(_flatten_record(element))
    if fields:
        for record in records:
            for name in fields:
                if name not in record:
                    record[name] = None
    return records


def _flatten_record(element: ET.Element) -> Record:
    out: Record = {}
    _flatten_into(element, "", out)
    return out


def _flatten_into(element: ET.Element, prefix: str, out: Record) -> None:
    counts: dict[str, int] = {}
    for child in element:
        counts[child.tag] = counts.get(child.tag, 0) + 1
    seen: dict[str, int] = {}
    for child in element:
        tag = child.tag
        if counts[tag] > 1:
            index = seen.get(tag, 0)
            seen[tag] = index + 1
            key = f"{prefix}{tag}.{index}"
        else:
            key = f"{prefix}{tag}"
        if len(child):
            _flatten_into(child, key + ".", out)
        else:
            out[key] = child.text or None


def answer_places(fields: Sequence[str]) -> dict[str, list[int]]:
    """For each name Intacct answers under, the positions (in ``fields``) of the fields answered under it:
    ``["DEPT", "X", "DEPT#"]`` gives ``{"DEPT": [0, 2], "X": [1]}``."""
    places: dict[str, list[int]] = {}
    for index, name in enumerate(fields):
        places.setdefault(answered_name(name), []).append(index)
    return places


def place_by_position(
    pairs: Iterable[tuple[str, Any]], fields: Sequence[str], places: dict[str, list[int]]
) -> dict[str, Any]:
    """A record keyed by the requested ``fields`` from the (name, value) pairs Intacct answered, in order.

    Intacct answers the selected fields in request order, each under ``answered_name`` (recorded:
    docs/intacct/real-objects/README.md, "children come in request order"; CREDITCARD's DEPT and DEPT#
    as two ``<DEPT>`` siblings), and may leave a field out altogether (recorded: ITEM's 7 replenishment
    fields). So each pair is the first requested field after the previous pair's that is answered under
    its name. A pair that no requested field can take (more siblings than were asked for) is kept under
    its own name, numbered when taken (``DEPT.2``): never dropped. Fields not answered are absent."""
    record: dict[str, Any] = {}
    after = 0
    for name, value in pairs:
        candidates = places.get(name)
        if candidates:
            found = bisect_left(candidates, after)
            if found < len(candidates):
                index = candidates[found]
                record[fields[index]] = value
                after = index + 1
                continue
        key, number = name, 1
        while key in record:
            key, number = f"{name}.{number}", number + 1
        record[key] = value
    return record


def _record_by_position(element: ET.Element, fields: Sequence[str], places: dict[str, list[int]]) -> Record:
    if any(len(child) for child in element):  # not a flat query record: read it by name
        record = _flatten_record(element)
    else:
        record = place_by_position(((c.tag, c.text or None) for c in element), fields, places)
    for name in fields:
        if name not in record:
            record[name] = None
    return record
