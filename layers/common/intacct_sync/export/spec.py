"""What to export: a validated export request (``ExportSpec``), as the state machine's input gives it."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from datetime import datetime
from typing import Any

from intacct_sync.errors import InvalidExportRequest
from intacct_sync.intacct import (
    MAX_QUERY_PAGE_SIZE,
    InvalidQueryError,
    check_field_name,
    check_object_name,
    filter_from_dict,
)

ENTITY_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_\-]{0,39}\Z")
RUN_ID_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_\-]{0,79}\Z")
# RUN_ID_PATTERN in words, for every message that refuses a run or sync id (an execution name).
RUN_ID_RULE = "1 to 80 letters, digits, hyphens or underscores, starting with a letter or digit"
MODES = ("full", "incremental")
# The most field names a request may list: a bound on the request's size, not Intacct's (no documented cap;
# the widest real objects have under 300, PODOCUMENT 284). Fields from lookup have no cap.
MAX_REQUESTED_FIELDS = 1000
# Keys of the state machine input besides the spec's own: which run to resume.
RESUME_KEY = "resume_run_id"


def _object_name(value: Any, what: str) -> str:
    try:
        return check_object_name(value, what)
    except InvalidQueryError as exc:
        raise InvalidExportRequest(str(exc)[:300]) from None


def _pattern(value: Any, what: str, pattern: re.Pattern[str], rule: str) -> str:
    if not isinstance(value, str) or not pattern.match(value):
        raise InvalidExportRequest(f"{what} must be {rule}, got {value!r}"[:300])
    return value


def validate_fields(value: Any) -> tuple[str, ...]:
    """A list of field names (dotted for related objects), upper-cased; empty means all fields."""
    if value is None:
        return ()
    if not isinstance(value, list | tuple):
        raise InvalidExportRequest("fields must be a list of field names")
    if len(value) > MAX_REQUESTED_FIELDS:
        raise InvalidExportRequest(f"fields may list at most {MAX_REQUESTED_FIELDS} names, got {len(value)}")
    try:
        names = tuple(check_field_name(f, "each field").upper() for f in value)
    except InvalidQueryError as exc:
        raise InvalidExportRequest(str(exc)[:300]) from None
    if len(set(names)) != len(names):
        raise InvalidExportRequest("fields must not repeat a name")
    return names


def validate_key_field(value: Any, role: str) -> str:
    """A key, modified, created or id field name (``role``, one of ``export.keyfields.ROLES``), checked
    with the one field-name rule (a ``#`` is part of a name: ``DEPT#``) as a field of the object itself
    (no dotted related field: ``intacct.check_field_name``, ``related=False``), and kept as spelled: a
    dimension's are camelCase (``updatedAt``), and the run settles each to lookup's spelling
    (``export.keyfields``). The catalogue's are checked by the same function."""
    try:
        return check_field_name(value, role, related=False)
    except InvalidQueryError as exc:
        raise InvalidExportRequest(str(exc)[:300]) from None


def json_type(value: Any) -> str:
    """The JSON type of a parsed JSON value, to say what was sent instead of what was expected."""
    if isinstance(value, Mapping):
        return "object"
    if isinstance(value, list):
        return "array"
    if isinstance(value, str):
        return "string"
    if isinstance(value, bool):
        return "boolean"
    if value is None:
        return "null"
    return "number"


def validate_run_id(value: Any, what: str = "run_id") -> str:
    """A run id (or a sync id: ``what`` names it): an execution name (``RUN_ID_RULE``). The one rule for
    both, in the workflows, the API and the local command line."""
    return _pattern(value, what, RUN_ID_PATTERN, RUN_ID_RULE)


def run_of(execution_name: str, request: Any) -> str:
    """The run an execution belongs to: the run its input resumes (``RESUME_KEY``, when that is a valid
    run id), else its own (the execution's name). A resume writes its parts, progress and manifest under
    the resumed run's id. A malformed resume id (maybe the very failure being recorded) leaves the
    execution its own run. The one rule for the steps, the API and the local runner."""
    resumed = request.get(RESUME_KEY) if isinstance(request, Mapping) else None
    return resumed if isinstance(resumed, str) and RUN_ID_PATTERN.match(resumed) else execution_name


def validate_entity(value: Any) -> str:
    return _pattern(value, "entity", ENTITY_PATTERN, "an Intacct entity id (letters, digits, - or _)")


@dataclass(frozen=True)
class ExportSpec:
    """A validated export request."""

    object: str
    fields: tuple[str, ...] = ()
    filter: dict[str, Any] | None = None
    mode: str = "full"
    since: str | None = None
    entity: str | None = None
    page_size: int = MAX_QUERY_PAGE_SIZE
    key_field: str = "RECORDNO"
    # Where a change is recorded; "" = the object has none: every export reads everything (full snapshot).
    modified_field: str = "WHENMODIFIED"
    # Where a never-modified record's creation is (its modified field is empty); "" = none.
    created_field: str = "WHENCREATED"
    # Top-level exports of a multi-entity company include entity-owned ("private") records.
    show_private: bool = True
    # The object's unique name field (CUSTOMERID...): AUDITHISTORY names deleted records by it.
    id_field: str | None = None

    @property
    def queries_private(self) -> bool:
        """Whether its queries (pages, counts, the audit trail) ask for ``showprivate``: a top-level
        session sees entity-owned records only with it (docs/intacct/PROTOCOL.md §9); an entity's session sees
        its own anyway."""
        return self.show_private and self.entity is None

    @classmethod
    def from_payload(
        cls, payload: Mapping[str, Any], default_page_size: int = MAX_QUERY_PAGE_SIZE
    ) -> ExportSpec:
        """Validate a JSON request; raise InvalidExportRequest naming the first problem."""
        if not isinstance(payload, Mapping):
            raise InvalidExportRequest("the export request must be a JSON object")
        unknown = sorted(set(payload) - set(cls.__dataclass_fields__))
        if unknown:
            raise InvalidExportRequest(f"unknown field(s) in the export request: {', '.join(unknown)[:200]}")
        if "object" not in payload:
            raise InvalidExportRequest("object is required (e.g. CUSTOMER)")
        obj = _object_name(payload["object"], "object").upper()
        mode = payload.get("mode", "full")
        if mode not in MODES:
            raise InvalidExportRequest(f"mode must be one of {', '.join(MODES)}, got {mode!r}"[:200])
        page_size = payload.get("page_size", default_page_size)
        if (
            isinstance(page_size, bool)
            or not isinstance(page_size, int)
            or not 1 <= page_size <= MAX_QUERY_PAGE_SIZE
        ):
            raise InvalidExportRequest(
                f"page_size must be a whole number from 1 to {MAX_QUERY_PAGE_SIZE}, got {page_size!r}"[:200]
            )
        filt = payload.get("filter")
        if filt is not None:
            if not isinstance(filt, Mapping):
                raise InvalidExportRequest(
                    'filter must be a JSON object, e.g. {"field": ..., "op": ..., ...}'
                )
            try:
                filt = filter_from_dict(dict(filt)).to_dict()
            except InvalidQueryError as exc:
                raise InvalidExportRequest(f"filter is not valid: {exc}") from None
        since = payload.get("since")
        if since is not None:
            since = _parse_since(since)
            if mode != "incremental":
                raise InvalidExportRequest("since is only allowed with mode 'incremental'")
        entity = payload.get("entity")
        if entity is not None:
            entity = validate_entity(entity)
        show_private = payload.get("show_private", True)
        if not isinstance(show_private, bool):
            raise InvalidExportRequest(
                "show_private must be true (top-level exports include entity-owned records) or false"
            )
        # Kept as spelled and matched to lookup's spelling when the run starts (export.keyfields). An
        # empty modified field means the object has none: full snapshots only.
        modified = payload.get("modified_field", "WHENMODIFIED")
        created = payload.get("created_field", "WHENCREATED")
        id_field = payload.get("id_field")
        return cls(
            object=obj,
            fields=validate_fields(payload.get("fields")),
            filter=dict(filt) if filt is not None else None,
            mode=mode,
            since=since,
            entity=entity,
            page_size=page_size,
            key_field=validate_key_field(payload.get("key_field", "RECORDNO"), "key_field"),
            modified_field=validate_key_field(modified, "modified_field") if modified else "",
            created_field=validate_key_field(created, "created_field") if created else "",
            show_private=show_private,
            id_field=validate_key_field(id_field, "id_field") if id_field is not None else None,
        )

    def to_payload(self) -> dict[str, Any]:
        data = asdict(self)
        data["fields"] = list(self.fields)
        return data


def _parse_since(value: Any) -> str:
    if not isinstance(value, str):
        raise InvalidExportRequest(
            "since must be an ISO-8601 date-time with a time zone, e.g. 2026-01-31T00:00:00Z"
        )
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise InvalidExportRequest(f"since is not an ISO-8601 date-time: {value!r}"[:200]) from None
    if parsed.tzinfo is None:
        raise InvalidExportRequest("since must carry a time zone (e.g. a trailing Z for UTC)")
    return parsed.isoformat()
