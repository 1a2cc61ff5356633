"""What to export (ExportSpec) and one unit of page work (PageTask); both travel as JSON between states."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from datetime import datetime
from typing import Any

from intacct_sync.errors import InvalidExportRequest
from intacct_sync.intacct import InvalidQueryError, filter_from_dict

# \Z, not $: "$" also matches before a trailing newline, which would let "CUSTOMER\n" through.
NAME_PATTERN = re.compile(r"^[A-Za-z][A-Za-z0-9_]{0,99}\Z")
FIELD_PATTERN = re.compile(r"^[A-Za-z][A-Za-z0-9_]{0,99}(\.[A-Za-z][A-Za-z0-9_]{0,99}){0,3}\Z")
ENTITY_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_\-]{0,39}\Z")
RUN_ID_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_\-]{0,79}\Z")
MAX_FIELDS = 500
MODES = ("full", "incremental")


def _name(value: Any, what: str, pattern: re.Pattern[str] = NAME_PATTERN) -> str:
    if not isinstance(value, str) or not pattern.match(value):
        raise InvalidExportRequest(
            f"{what} must be an Intacct name (a letter, then letters, digits or underscores), got {value!r}"[
                :300
            ]
        )
    return value


def validate_fields(value: Any) -> tuple[str, ...]:
    """A list of field names (dotted for related objects); empty means all fields."""
    if value is None:
        return ()
    if not isinstance(value, list | tuple):
        raise InvalidExportRequest("fields must be a list of field names")
    if len(value) > MAX_FIELDS:
        raise InvalidExportRequest(f"fields may list at most {MAX_FIELDS} names, got {len(value)}")
    names = tuple(_name(f, "each field", FIELD_PATTERN).upper() for f in value)
    if len(set(names)) != len(names):
        raise InvalidExportRequest("fields must not repeat a name")
    return names


@dataclass(frozen=True)
class ExportSpec:
    """A validated export request."""

    object: str
    fields: tuple[str, ...] = ()
    filter: dict[str, Any] | None = None
    mode: str = "full"
    since: str | None = None
    entity: str | None = None
    page_size: int = 2000
    key_field: str = "RECORDNO"
    modified_field: str = "WHENMODIFIED"

    @classmethod
    def from_payload(cls, payload: Mapping[str, Any], default_page_size: int = 2000) -> ExportSpec:
        """Validate a JSON request; raise InvalidExportRequest naming the first problem."""
        if not isinstance(payload, Mapping):
            raise InvalidExportRequest("the export request must be a JSON object")
        known = {f for f in cls.__dataclass_fields__} | {"run_id", "idempotency_key"}
        unknown = sorted(set(payload) - known)
        if unknown:
            raise InvalidExportRequest(f"unknown field(s) in the export request: {', '.join(unknown)[:200]}")
        if "object" not in payload:
            raise InvalidExportRequest("object is required (e.g. CUSTOMER)")
        obj = _name(payload["object"], "object").upper()
        mode = payload.get("mode", "full")
        if mode not in MODES:
            raise InvalidExportRequest(f"mode must be one of {', '.join(MODES)}, got {mode!r}"[:200])
        page_size = payload.get("page_size", default_page_size)
        if isinstance(page_size, bool) or not isinstance(page_size, int) or not 1 <= page_size <= 2000:
            raise InvalidExportRequest(
                f"page_size must be a whole number from 1 to 2000, got {page_size!r}"[:200]
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
            entity = _name(entity, "entity", ENTITY_PATTERN)
        return cls(
            object=obj,
            fields=validate_fields(payload.get("fields")),
            filter=dict(filt) if filt is not None else None,
            mode=mode,
            since=since,
            entity=entity,
            page_size=page_size,
            key_field=_name(payload.get("key_field", "RECORDNO"), "key_field").upper(),
            modified_field=_name(payload.get("modified_field", "WHENMODIFIED"), "modified_field").upper(),
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


def validate_run_id(value: Any) -> str:
    return _name(value, "run_id", RUN_ID_PATTERN)


@dataclass(frozen=True)
class PageTask:
    """One Lambda invocation's worth of page fetching, as carried in Step Functions state.

    Pages come from `query` ordered by the key field. A segment reads keys in (after_key, upper_key)
    by keyset; a segment's first page may instead be read by offset (to find where it starts).
    """

    run_id: str
    object: str
    fields: tuple[str, ...]
    filter: dict[str, Any] | None
    key_field: str
    page_size: int
    segment: int = 0
    seq: int = 0
    after_key: str | None = None
    upper_key: str | None = None
    offset: int = 0
    max_pages: int = 1
    entity: str | None = None
    modified_field: str = "WHENMODIFIED"
    # Records Intacct last reported after after_key within this task's key range. A hint only: it picks
    # the cheaper JSON return format for pages that cannot be the last one; completeness never rests on it.
    expected_remaining: int | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def from_payload(cls, payload: Mapping[str, Any]) -> PageTask:
        try:
            return cls(
                run_id=validate_run_id(payload["run_id"]),
                object=_name(payload["object"], "object"),
                fields=validate_fields(payload["fields"]),
                filter=payload.get("filter"),
                key_field=_name(payload["key_field"], "key_field"),
                page_size=int(payload["page_size"]),
                segment=int(payload.get("segment", 0)),
                seq=int(payload.get("seq", 0)),
                after_key=payload.get("after_key"),
                upper_key=payload.get("upper_key"),
                offset=int(payload.get("offset", 0)),
                max_pages=max(1, int(payload.get("max_pages", 1))),
                entity=payload.get("entity"),
                modified_field=payload.get("modified_field", "WHENMODIFIED"),
                expected_remaining=_optional_int(payload.get("expected_remaining")),
            )
        except KeyError as exc:
            raise InvalidExportRequest(f"page task is missing {exc.args[0]!r}") from None
        except (TypeError, ValueError) as exc:
            raise InvalidExportRequest(f"page task is not valid: {exc}") from None

    def to_payload(self) -> dict[str, Any]:
        data = asdict(self)
        data["fields"] = list(self.fields)
        data.pop("extra")
        return data


def _optional_int(value: Any) -> int | None:
    return None if value is None else int(value)
