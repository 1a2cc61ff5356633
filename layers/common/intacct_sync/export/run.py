"""The run document: what one export run was asked to do, stored once in the bucket and read by run id.

Written by the start step (``layout.run_state_key``); every later step reads the object, fields, filter
and window from it, so Step Functions state carries only the run id, cursors and counts, whatever the
number of fields, the size of the filter or the concurrency. A failed run is resumed from it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from intacct_sync.errors import InvalidExportRequest
from intacct_sync.export.spec import ExportSpec
from intacct_sync.export.typed import STRING, FieldTypes
from intacct_sync.export.window import TenantTime

RUN_DOCUMENT_VERSION = 1


@dataclass(frozen=True)
class ExportRun:
    """One run: its id, when it started, the effective spec (fields resolved, filter including the
    incremental window) and the window itself (None for a full run)."""

    run_id: str
    started_at: str
    spec: ExportSpec
    window: dict[str, Any] | None = None
    details: dict[str, Any] = field(default_factory=dict)  # notes for the manifest (e.g. refused fields)
    time: TenantTime = field(default_factory=TenantTime)  # how Intacct's dates read in this run
    # Each field's lookup DATATYPE (``{"RECORDNO": "INTEGER", ...}``): how the run's pages are typed.
    # Empty in run documents written before typed records: such runs land Intacct's text.
    field_types: dict[str, str] = field(default_factory=dict)
    # The filter the request itself gave (the catalogue's and the window's are in ``spec.filter`` too):
    # such a run is not a snapshot of the object, so it keeps a watermark of its own
    # (``window.watermark_scope``) and the current views never read it (``export.current``).
    request_filter: dict[str, Any] | None = None

    @property
    def filtered(self) -> bool:
        """Whether the request named a filter of its own."""
        return bool(self.request_filter)

    @property
    def types(self) -> FieldTypes:
        return FieldTypes.of(self.field_types)

    @property
    def text_key(self) -> bool:
        """Whether the key field is text by lookup (GLDETAIL's RECORDNO: ``3220-55186-27292--accrual``),
        so Intacct compares and orders its values as text, digits or not. Unknown without types."""
        return bool(self.field_types) and self.types.kind(self.spec.key_field) == STRING

    def to_document(self) -> dict[str, Any]:
        return {
            "version": RUN_DOCUMENT_VERSION,
            "run_id": self.run_id,
            "started_at": self.started_at,
            "spec": self.spec.to_payload(),
            "window": self.window,
            "details": self.details,
            "time": self.time.to_dict(),
            "field_types": self.field_types,
            "request_filter": self.request_filter,
        }

    @classmethod
    def from_document(cls, document: Mapping[str, Any]) -> ExportRun:
        """The run from its stored document; InvalidExportRequest when it is not one."""
        try:
            spec = document["spec"]
            return cls(
                run_id=str(document["run_id"]),
                started_at=str(document.get("started_at") or ""),
                spec=ExportSpec(
                    object=spec["object"],
                    fields=tuple(spec["fields"]),
                    filter=spec.get("filter"),
                    mode=spec["mode"],
                    since=spec.get("since"),
                    entity=spec.get("entity"),
                    page_size=int(spec["page_size"]),
                    key_field=spec["key_field"],
                    modified_field=spec["modified_field"],
                    created_field=spec.get("created_field", "WHENCREATED"),
                    show_private=bool(spec.get("show_private", True)),
                    id_field=spec.get("id_field"),
                ),
                window=document.get("window"),
                details=dict(document.get("details") or {}),
                time=TenantTime.from_dict(document.get("time")),
                field_types={str(k): str(v) for k, v in (document.get("field_types") or {}).items()},
                request_filter=document.get("request_filter") or None,
            )
        except (KeyError, TypeError, ValueError) as exc:
            raise InvalidExportRequest(f"the stored run document is not valid ({exc})") from None
