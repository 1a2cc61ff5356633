"""The audit trail (AUDITHISTORY): how its rows are read, and what a deletion row says about the record
that went. ``steps.finalise`` reads the rows (to bound drift and to export deletes); this module is what
they mean."""

from __future__ import annotations

import re
from typing import Any

from intacct_sync.export.spec import ExportSpec
from intacct_sync.export.window import TenantTime

AUDIT_OBJECT = "AUDITHISTORY"
# AUDITHISTORY rows are keyed by ID (Estuary's source-sage-intacct pages it by ID); OBJECTKEY names the
# changed record by the object's unique name field (CUSTOMERID, VENDORID...), or as "<RECORDNO>--REC"
# (estuary/connectors PR #5217, PROTOCOL.md §9).
AUDIT_KEY = "ID"
# What a deletion row needs to say which record went, when and by whom.
TOMBSTONE_FIELDS = ("OBJECTKEY", "ACCESSTIME", "USERID")
_RECORDNO_OBJECTKEY = re.compile(r"^(\d+)--REC\Z")


def tombstone(spec: ExportSpec, time: TenantTime, row: dict[str, Any]) -> dict[str, Any] | None:
    """The tombstone of a deletion row (access mode D): the record's keys (``tombstone_keys``), when
    Intacct recorded the deletion (UTC and tenant-local), who deleted it and the audit row's ID; None
    when the row names the record by nothing the export has."""
    named = tombstone_keys(spec, str(row.get("OBJECTKEY") or ""))
    if named is None:
        return None
    accessed = str(row.get("ACCESSTIME") or "")
    return {
        **named,
        "deleted_at": time.to_utc(accessed).isoformat() if accessed else None,
        "deleted_at_tenant_local": accessed or None,
        "deleted_by": row.get("USERID"),
        "audit_id": row.get(AUDIT_KEY),
    }


def tombstone_keys(spec: ExportSpec, objectkey: str) -> dict[str, str | None] | None:
    """What names a deleted record, from its AUDITHISTORY OBJECTKEY: ``{key_field: n}`` for
    "<n>--REC" (the key field being RECORDNO), else ``{id_field: objectkey}`` when the object has an id
    field; both fields are always present (one None) so every tombstone has the same columns. None when
    the OBJECTKEY names the record by nothing the export has."""
    by_recordno = _RECORDNO_OBJECTKEY.match(objectkey)
    empty: dict[str, str | None] = {spec.key_field: None}
    if spec.id_field:
        empty[spec.id_field] = None
    if by_recordno and spec.key_field == "RECORDNO":
        return {**empty, "RECORDNO": by_recordno.group(1)}
    if objectkey and not by_recordno and spec.id_field:
        return {**empty, spec.id_field: objectkey}
    return None
