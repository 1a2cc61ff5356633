"""The XML envelope: building requests (with xmltodict, every value escaped) and parsing responses.

Responses are parsed with the standard library's ElementTree: ``findall`` always yields lists, so one
``<result>``, ``<error>`` or record is handled exactly like many, and it parses a 2000-record page several
times faster than ``xmltodict.parse``. Documents carrying a DTD are refused (no entity expansion).

Record values: an element's text as a string; an empty element (and, for ``query``, a selected field that
is absent) is ``None``. Nested elements (``readByQuery``, ``read``) are flattened to dotted keys
(``MAILADDRESS.CITY``); repeated sibling elements are numbered (``LINE.0.AMOUNT``, ``LINE.1.AMOUNT``).
"""

from __future__ import annotations

import json
import operator
import re
import uuid
import xml.etree.ElementTree as ET
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from itertools import chain, repeat
from typing import Any

import xmltodict

from .credentials import SenderCredentials, UserCredentials
from .errors import ErrorDetail, MissingCredentialsError
from .filters import check_text
from .query import Query, Record

DTD_VERSION = "3.0"


class MalformedBody(Exception):
    """The body is not a complete, well-formed document of the expected kind (retryable)."""


# --------------------------------------------------------------------------------------------- requests


def new_control_id() -> str:
    """A random id for ``<controlid>`` / ``function@controlid`` (uniqueid is false, so it is not checked)."""
    return uuid.uuid4().hex


def login_auth(user: UserCredentials) -> dict[str, Any]:
    """The ``<authentication>`` content for a login (``locationid`` selects the entity)."""
    login: dict[str, Any] = {
        "userid": _secret_text(user.user_id, "user id"),
        "companyid": _secret_text(user.company_id, "company id"),
        "password": _secret_text(user.user_password, "user password"),
    }
    if user.entity_id:
        login["locationid"] = _secret_text(user.entity_id, "entity id")
    return {"login": login}


def session_auth(session_id: str) -> dict[str, Any]:
    """The ``<authentication>`` content for a session call."""
    return {"sessionid": _secret_text(session_id, "session id")}


def _secret_text(value: str, what: str) -> str:
    # The message names the problem and the code point only, never the value.
    try:
        return check_text(value, what)
    except ValueError as exc:
        raise MissingCredentialsError(str(exc)) from None


def build_request(
    sender: SenderCredentials,
    auth: dict[str, Any],
    function_name: str,
    function_body: Any,
    *,
    control_id: str | None = None,
    function_control_id: str | None = None,
) -> bytes:
    """The complete request document as UTF-8 bytes."""
    document = {
        "request": {
            "control": {
                "senderid": _secret_text(sender.sender_id, "sender id"),
                "password": _secret_text(sender.sender_password, "sender password"),
                "controlid": control_id or new_control_id(),
                "uniqueid": "false",
                "dtdversion": DTD_VERSION,
                "includewhitespace": "false",
            },
            "operation": {
                "@transaction": "false",
                "authentication": auth,
                "content": {
                    "function": {
                        "@controlid": function_control_id or new_control_id(),
                        function_name: function_body,
                    }
                },
            },
        }
    }
    text: str = xmltodict.unparse(document, encoding="utf-8", full_document=True)
    return text.encode("utf-8")


def query_body(query: Query) -> dict[str, Any]:
    """The ``<query>`` element content."""
    body: dict[str, Any] = {
        "object": query.object,
        "select": {"field": list(query.fields)},
    }
    if query.filter is not None:
        body["filter"] = query.filter.to_xml_dict()
    if query.order_by:
        body["orderby"] = {
            "order": [
                {"field": order.field, ("descending" if order.descending else "ascending"): None}
                for order in query.order_by
            ]
        }
    body["options"] = {
        "caseinsensitive": "true" if query.case_insensitive else "false",
        "showprivate": "true" if query.show_private else "false",
        "returnformat": query.return_format,
    }
    body["pagesize"] = str(query.page_size)
    body["offset"] = str(query.offset)
    return body


def read_by_query_body(object_name: str, where: str, fields_text: str, page_size: int) -> dict[str, Any]:
    """The ``<readByQuery>`` element content (always XML: the page needs ``resultId``)."""
    return {
        "object": object_name,
        "query": check_text(where, "readByQuery where clause"),
        "fields": fields_text,
        "pagesize": str(page_size),
        "returnFormat": "xml",
    }


# -------------------------------------------------------------------------------------------- responses


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
    """The records under ``<data>``, flattened; with ``fields``, every record has every field."""
    if data is None:
        return []
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


# Splits a JSON array into the text between records and each record's text ({...}), which is exact
# when no string holds a brace (checked by counting braces).
_JSON_RECORDS = re.compile(rb"(\{[^}]*\})")
_TEXT_OR_NULL = frozenset((str, type(None)))
# Records parsed together: one parse shares the field-name strings of its records, and other threads get
# the interpreter between parses (one parse of a whole 48-field page holds it for 40 ms).
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
    if not body.strip():
        rows: Any = []
    else:
        try:
            rows = json.loads(body, object_hook=_json_object)
        except (ValueError, UnicodeDecodeError):
            raise MalformedBody("not valid JSON") from None
    if not isinstance(rows, list):
        raise MalformedBody("JSON body is not an array")
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
