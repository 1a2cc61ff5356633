"""Which fields key, window and name an object's records, settled against the object's ``lookup``.

Objects differ (docs/intacct/real-objects/README.md): standard objects are keyed by RECORDNO and changed
at WHENMODIFIED, but user-defined dimensions (DIMENSION and its kin) have no RECORDNO at all (key ``id``,
timestamps ``createdAt``/``updatedAt``, spelled in camelCase), GLDETAIL's RECORDNO is text, and the AR/AP
headers' WHENCREATED is a date while AUWHENCREATED is the creation timestamp. So nothing is assumed:

- a field the request named is used as named (spelled as ``lookup`` spells it); one lookup does not list
  is refused, naming it and the object's own;
- one the catalogue chose is used when lookup lists it, else replaced by the object's own (with a note);
- for an object not in the catalogue all are the object's own: the key RECORDNO, else ``id``; the
  modified field WHENMODIFIED, else ``updatedAt``, else none (full snapshot only); the created field
  AUWHENCREATED, else WHENCREATED, else ``createdAt``, else none.

Without a lookup (it failed, and the request named its fields) the spec stays as it is.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import replace

from intacct_sync.errors import InvalidExportRequest
from intacct_sync.export.spec import ExportSpec

# The spec's fields this module settles, in the order they are settled.
ROLES = ("key_field", "modified_field", "created_field", "id_field")
# Each role's candidates, best first (real-objects/README.md: "Key field", "Timestamps").
OWN = {
    "key_field": ("RECORDNO", "id"),
    "modified_field": ("WHENMODIFIED", "updatedAt"),
    "created_field": ("AUWHENCREATED", "WHENCREATED", "createdAt"),
    "id_field": (),
}
# What having none of a role means, when the catalogue's choice is missing too.
_NONE_MEANS = {
    "modified_field": "nor any modified field: full snapshots only",
    "created_field": "nor any created field: incremental runs miss records never modified",
    "id_field": "so tombstones name records by their key only",
}


def settle_key_fields(
    spec: ExportSpec, lookup: Sequence[str], named: Collection[str], catalogued: bool
) -> tuple[ExportSpec, list[str]]:
    """The spec with its key, modified, created and id fields settled against ``lookup`` (the object's
    field names), and notes saying what was replaced. ``named``: the roles the request itself gave;
    ``catalogued``: the object's other roles came from the catalogue (else from the object's lookup).
    Every field name of the spec is spelled as lookup spells it (names match case-insensitively: the
    field list is upper-cased, the key, modified, created and id fields are kept as the request or the
    catalogue spelled them, and a dimension's are camelCase).
    Raises InvalidExportRequest when a named field is not one of the object's (or the object has no key)."""
    if not lookup:
        return spec, []
    spelled = _spelling(lookup)
    notes: list[str] = []
    changes: dict[str, object] = {"fields": tuple(spelled.get(f.upper(), f) for f in spec.fields)}
    for role in ROLES:
        current: str = getattr(spec, role) or ""
        found = spelled.get(current.upper()) if current else None
        if role in named:
            if current and found is None:
                raise InvalidExportRequest(
                    f"{role} {current} is not a field of {spec.object}{_own_hint(role, spelled)}"
                )
            changes[role] = found or current or _empty(role)
            continue
        if catalogued and (found or not current):
            changes[role] = found or _empty(role)
            continue
        own = next((spelled[c.upper()] for c in OWN[role] if c.upper() in spelled), None)
        if own is None and role == "key_field":
            raise InvalidExportRequest(
                f"{spec.object} has none of the key fields {', '.join(OWN[role])}: name its key_field "
                f"(a field whose values are unique and ordered)"
            )
        changes[role] = own or _empty(role)
        if catalogued and own:
            notes.append(f"{spec.object} has no field {current}; {role} is {own} (from lookup)")
        elif catalogued:
            notes.append(f"{spec.object} has no field {current}, {_NONE_MEANS[role]}")
    return replace(spec, **changes), notes  # type: ignore[arg-type]


def _spelling(lookup: Sequence[str]) -> dict[str, str]:
    """Upper-cased name -> lookup's spelling (an exact upper-case name wins over a camelCase twin)."""
    spelled: dict[str, str] = {}
    for name in lookup:
        key = name.upper()
        if key not in spelled or name == key:
            spelled[key] = name
    return spelled


def _own_hint(role: str, spelled: dict[str, str]) -> str:
    own = [spelled[c.upper()] for c in OWN[role] if c.upper() in spelled]
    return f" (its own: {', '.join(own)})" if own else ""


def _empty(role: str) -> str | None:
    return None if role == "id_field" else ""
