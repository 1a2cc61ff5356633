"""Every input the API accepts, checked here; each failure raises an ApiError that names the problem."""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import re
from collections.abc import Mapping
from datetime import date
from typing import Any

from intacct_sync.api.errors import (
    ApiError,
    InvalidCursor,
    InvalidExportId,
    InvalidIdempotencyKey,
    InvalidJson,
    InvalidLimit,
    InvalidQueryParameter,
    InvalidRequest,
    InvalidSyncId,
    RequestTooLarge,
    UnknownObject,
    UnsupportedMediaType,
)
from intacct_sync.errors import InvalidExportRequest
from intacct_sync.export.spec import RUN_ID_RULE, ExportSpec, json_type, validate_run_id
from intacct_sync.export.sync import SYNC_FIELDS, SyncRequest
from intacct_sync.objects import Catalogue

MAX_BODY_BYTES = 128 * 1024  # a Step Functions input may not exceed 256 KiB
REQUEST_FIELDS = ("object", "fields", "filter", "mode", "since", "entity", "page_size", "show_private")
# Fields of a spec the catalogue decides (applied when the export starts), never part of a request.
CATALOGUE_FIELDS = ("key_field", "modified_field", "created_field", "id_field")
IDEMPOTENCY_KEY = re.compile(r"^[\x21-\x7e]{1,255}$")  # visible ASCII, no spaces
DEFAULT_LIMIT, MAX_LIMIT = 100, 1000
MAX_CURSOR_CHARS = 512
RECORDS_PARAMETERS = ("limit", "cursor")


def _reject_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    keys = [k for k, _ in pairs]
    repeated = sorted({k for k in keys if keys.count(k) > 1})
    if repeated:
        raise InvalidJson(f"the JSON body repeats the key(s) {', '.join(repeated)[:200]}")
    return dict(pairs)


def _reject_constant(name: str) -> Any:
    raise InvalidJson(f"the JSON body contains {name}, which is not valid JSON")


def json_object_body(body: str | None, content_type: str | None) -> dict[str, Any]:
    """The request body as a JSON object (Content-Type, size, syntax and shape checked)."""
    if content_type:
        media = content_type.split(";", 1)[0].strip().lower()
        if media != "application/json" and not media.endswith("+json"):
            raise UnsupportedMediaType(
                f"send the export request as JSON with Content-Type: application/json (got {media[:100]!r})"
            )
    if body is None or not body.strip():
        raise InvalidRequest(
            'the request body is empty; send a JSON object such as {"object": "CUSTOMER", "mode": "full"}'
        )
    size = len(body.encode("utf-8"))
    if size > MAX_BODY_BYTES:
        raise RequestTooLarge(f"the request body is {size} bytes; at most {MAX_BODY_BYTES} are accepted")
    try:
        document = json.loads(body, object_pairs_hook=_reject_duplicates, parse_constant=_reject_constant)
    except json.JSONDecodeError as exc:
        raise InvalidJson(
            f"the request body is not valid JSON: {exc.msg} at line {exc.lineno} column {exc.colno}"
        ) from None
    if not isinstance(document, dict):
        raise InvalidRequest(f"the request body must be a JSON object, not a JSON {json_type(document)}")
    return document


def export_request(body: Mapping[str, Any], objects: Catalogue, default_page_size: int) -> dict[str, Any]:
    """The normalised state machine input for an export request (names upper-cased, filter normalised,
    defaults filled); nothing else is accepted. The start step applies the catalogue's defaults."""
    unknown = sorted(set(body) - set(REQUEST_FIELDS))
    if unknown:
        raise InvalidRequest(
            f"unknown field(s) in the export request: {', '.join(unknown)[:200]}; "
            f"allowed: {', '.join(REQUEST_FIELDS)}"
        )
    if "object" not in body:
        raise InvalidRequest(f"object is required; one of {', '.join(objects.names())[:300]}")
    if "mode" not in body:
        raise InvalidRequest(
            "mode is required: 'full' (every record) or 'incremental' (changed since the last export)"
        )
    name = body["object"]
    configured = objects.get(name) if isinstance(name, str) else None
    if configured is None:
        ExportSpec.from_payload(
            {"object": name}
        )  # a malformed name is refused as such (InvalidExportRequest)
        raise UnknownObject(
            f"object {str(name)[:100]!r} is not offered by this deployment; "
            f"configured: {', '.join(objects.names())[:300]}"
        )
    spec = ExportSpec.from_payload(body, default_page_size)
    normalised = spec.to_payload()
    for name in CATALOGUE_FIELDS:  # the catalogue's, applied when it starts
        del normalised[name]
    if normalised["show_private"] is True:
        del normalised["show_private"]  # the default: top-level exports include entity-owned records
    return {k: v for k, v in normalised.items() if v is not None and v != []}


def is_sync(body: Mapping[str, Any]) -> bool:
    """A request for a sync of several objects (``objects``, or a rerun of what failed in one), not for
    one export (``object``); both at once is refused."""
    sync = any(name in body for name in SYNC_FIELDS if name != "mode")
    if sync and "object" in body:
        raise InvalidRequest(
            'give either object (one export) or objects (a sync of several: a list, or "all"), not both'
        )
    return sync


def sync_request(body: Mapping[str, Any], objects: Catalogue) -> dict[str, Any]:
    """The normalised sync state machine input for a sync request (``export.sync.SyncRequest``: the
    objects as "all" or names upper-cased in the catalogue, ``mode``, ``dry_run``, or
    ``resume_sync_id`` alone)."""
    return SyncRequest.from_payload(body, objects.names()).to_payload()


def idempotency_key(header: str | None) -> str | None:
    """The Idempotency-Key header's value (quotes of the structured-field form removed), or None."""
    if header is None:
        return None
    value = header.strip()
    if len(value) >= 2 and value[0] == value[-1] == '"':
        value = value[1:-1]
    if not IDEMPOTENCY_KEY.match(value):
        raise InvalidIdempotencyKey(
            "the Idempotency-Key header must be 1 to 255 visible ASCII characters without spaces "
            "(a UUID is a good choice)"
        )
    return value


def execution_name(request: Mapping[str, Any], key: str | None, today: date) -> str:
    """The export id (or sync id): derived from the Idempotency-Key when given, else from the normalised
    request and today's UTC date, so the same request twice (the same day) names the same execution.

    A key alone decides the name, so reusing a key for another request is detected rather than starting a
    second export. Names fit Step Functions' rules (at most 80 of A-Z a-z 0-9 - _). A sync's names start
    with ``sync-`` (its own state machine, so its own names).
    """
    sync = "object" not in request
    if key is not None:
        scope = "sync:" if sync else ""
        digest = hashlib.sha256(f"intacct-sync:{scope}idempotency-key:{key}".encode()).hexdigest()
        return f"{'sync-key' if sync else 'key'}-{digest[:40]}"
    canonical = json.dumps(request, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    digest = hashlib.sha256(f"{canonical}\n{today.isoformat()}".encode()).hexdigest()
    prefix = "sync" if sync else str(request["object"]).lower()[:30]
    return f"{prefix}-{today.strftime('%Y%m%d')}-{digest[:32]}"


def export_id(value: str | None) -> str:
    """A run id as found in a path: an execution name."""
    return _execution_name(value, "export", InvalidExportId)


def sync_id(value: str | None) -> str:
    """A sync id as found in a path: the sync execution's name."""
    return _execution_name(value, "sync", InvalidSyncId)


def _execution_name(value: str | None, what: str, error: type[ApiError]) -> str:
    try:
        return validate_run_id(value)
    except InvalidExportRequest:
        raise error(f"{what} id {str(value)[:100]!r} is not valid: {what} ids are {RUN_ID_RULE}") from None


def records_query(single: Mapping[str, str], multi: Mapping[str, list[str]]) -> tuple[int, str | None]:
    """(limit, cursor) from the query string of GET /exports/{id}/records."""
    unknown = sorted(set(single) - set(RECORDS_PARAMETERS))
    if unknown:
        raise InvalidQueryParameter(
            f"unknown query parameter(s) {', '.join(unknown)[:200]}; allowed: {', '.join(RECORDS_PARAMETERS)}"
        )
    for name in RECORDS_PARAMETERS:
        if len(multi.get(name, [])) > 1:
            raise InvalidQueryParameter(f"query parameter {name} may be given once")
    raw = single.get("limit")
    limit = DEFAULT_LIMIT
    if raw is not None:
        if not raw.isdigit():
            raise InvalidLimit(f"limit must be a whole number from 1 to {MAX_LIMIT}, got {raw[:50]!r}")
        limit = int(raw)
        if not 1 <= limit <= MAX_LIMIT:
            raise InvalidLimit(f"limit must be from 1 to {MAX_LIMIT}, got {limit}")
    cursor = single.get("cursor")
    if cursor is not None and not cursor:
        raise InvalidCursor("cursor is empty; omit it to start from the first record")
    return limit, cursor


def encode_cursor(export: str, part: int, offset: int) -> str:
    """Where the next page starts: part index and line offset in the manifest's part order."""
    raw = json.dumps({"e": export, "p": part, "o": offset}, separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(cursor: str, export: str) -> tuple[int, int]:
    """(part index, line offset) from a cursor this API issued for this export."""
    problem = "cursor is not one this API issued; use next_cursor from the previous page unchanged"
    if len(cursor) > MAX_CURSOR_CHARS:
        raise InvalidCursor(problem)
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        document = json.loads(raw)
    except (binascii.Error, ValueError):
        raise InvalidCursor(problem) from None
    if not isinstance(document, dict) or set(document) != {"e", "p", "o"}:
        raise InvalidCursor(problem)
    part, offset = document["p"], document["o"]
    if not all(isinstance(v, int) and not isinstance(v, bool) and v >= 0 for v in (part, offset)):
        raise InvalidCursor(problem)
    if document["e"] != export:
        raise InvalidCursor(
            "cursor belongs to another export; cursors are only valid for the export that issued them"
        )
    return part, offset
