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
# (estuary/connectors PR #5217, docs/intacct/PROTOCOL.md §9).
AUDIT_KEY = "ID"
# What a deletion row needs to say which record went, when and by whom.
TOMBSTONE_FIELDS = ("OBJECTKEY", "ACCESSTIME", "USERID")
# "<RECORDNO>--REC". The evidence (estuary/connectors PR #5217 and its models.py) only shows numeric
# RECORDNOs in this form. GLDETAIL's RECORDNO is text (`3220-55186-27292--accrual`, real-objects/README.md),
# so its deletions, if Intacct audits them, could only read `3220-55186-27292--accrual--REC`: the
# simulator writes that form for text keys, extrapolating Estuary's; no recorded AUDITHISTORY row shows
# one. So the suffix is taken off the end, and what is left must be a value the key field can hold:
# digits for a numeric RECORDNO, any text for a text one.
REC_SUFFIX = "--REC"
_NUMERIC_KEY = re.compile(r"^\d+\Z")


def tombstone(
    spec: ExportSpec, time: TenantTime, row: dict[str, Any], text_key: bool = False
) -> dict[str, Any] | None:
    """The tombstone of a deletion row (access mode D): the record's keys (``tombstone_keys``), when
    Intacct recorded the deletion (UTC and tenant-local), who deleted it and the audit row's ID; None
    when the row names the record by nothing the export has."""
    named = tombstone_keys(spec, str(row.get("OBJECTKEY") or ""), text_key)
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


def tombstone_keys(spec: ExportSpec, objectkey: str, text_key: bool = False) -> dict[str, str | None] | None:
    """What names a deleted record, from its AUDITHISTORY OBJECTKEY, for an object keyed by RECORDNO
    (``text_key``: a text RECORDNO, as GLDETAIL's):

    - ``<RECORDNO>--REC`` whose RECORDNO the key field can hold: ``{key_field: RECORDNO}`` (None for an
      object keyed by another field);
    - any other OBJECTKEY, when the object has an id field: ``{id_field: objectkey}``; when the id field
      is the key field itself (``id_field`` RECORDNO: AUDITHISTORY names records by a bare RECORDNO), the
      OBJECTKEY is the key, if the key field can hold it.

    Both fields are always present (one None) so every tombstone has the same columns. None when the
    OBJECTKEY names the record by nothing the export has: such rows are counted, never written as a key."""
    empty: dict[str, str | None] = {spec.key_field: None}
    if spec.id_field:
        empty[spec.id_field] = None
    recordno = objectkey.removesuffix(REC_SUFFIX)
    if objectkey.endswith(REC_SUFFIX) and _holds(recordno, text_key):
        return {**empty, spec.key_field: recordno} if spec.key_field == "RECORDNO" else None
    if spec.id_field and spec.id_field == spec.key_field:
        return {**empty, spec.key_field: objectkey} if _holds(objectkey, text_key) else None
    if objectkey and spec.id_field:
        return {**empty, spec.id_field: objectkey}
    return None


def _holds(value: str, text_key: bool) -> bool:
    """Whether a key field (text, or a number) can hold ``value``."""
    return bool(value.strip()) if text_key else bool(_NUMERIC_KEY.match(value))
