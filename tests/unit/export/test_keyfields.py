"""Key, modified, created and id fields come from the request, the catalogue or the object's lookup, never
from an assumption: checked against the real field lists (docs/intacct/real-objects/<OBJECT>.fields)."""

from __future__ import annotations

from pathlib import Path

import pytest

from intacct_sync.errors import InvalidExportRequest
from intacct_sync.export.keyfields import settle_key_fields
from intacct_sync.export.spec import ExportSpec
from intacct_sync.objects import DEFAULT_OBJECTS, Catalogue

REAL = Path(__file__).resolve().parents[3] / "docs" / "intacct" / "real-objects"


def lookup(obj: str) -> list[str]:
    return [line.strip() for line in (REAL / f"{obj}.fields").read_text().splitlines() if line.strip()]


def roles(spec: ExportSpec) -> tuple[str, str, str, str | None]:
    return spec.key_field, spec.modified_field, spec.created_field, spec.id_field


def settle(
    payload: dict, fields: list[str], catalogue: Catalogue | None = None
) -> tuple[ExportSpec, list[str]]:
    """As the start step does: the request, the catalogue's defaults, then the object's lookup."""
    catalogue = catalogue or Catalogue()
    spec = catalogue.apply(ExportSpec.from_payload(payload), payload.keys())
    catalogued = catalogue.get(spec.object) is not None
    return settle_key_fields(spec, fields, set(payload), catalogued)


def test_a_user_defined_dimension_is_keyed_by_its_own_camel_case_fields():
    # Given DIMENSION, which has no RECORDNO (id, createdAt, updatedAt), exported without a catalogue entry
    spec, notes = settle({"object": "DIMENSION", "mode": "incremental"}, lookup("DIMENSION"))
    # Then its key and timestamps are its own, spelled as Intacct spells them
    assert roles(spec) == ("id", "updatedAt", "createdAt", None) and notes == []


def test_an_object_named_in_the_catalogue_without_fields_gets_its_own_and_says_so():
    catalogue = Catalogue.from_json('["SALES_CHANNEL"]')
    spec, notes = settle({"object": "SALES_CHANNEL"}, lookup("DIMENSION"), catalogue)
    assert roles(spec) == ("id", "updatedAt", "createdAt", None)
    assert notes == [
        "SALES_CHANNEL has no field RECORDNO; key_field is id (from lookup)",
        "SALES_CHANNEL has no field WHENMODIFIED; modified_field is updatedAt (from lookup)",
        "SALES_CHANNEL has no field WHENCREATED; created_field is createdAt (from lookup)",
    ]


def test_names_a_request_gives_are_matched_to_lookups_spelling():
    spec, _ = settle(
        {"object": "DIMENSION", "key_field": "ID", "fields": ["id", "NAME", "updatedat"]}, lookup("DIMENSION")
    )
    assert spec.key_field == "id" and spec.fields == ("id", "name", "updatedAt")


def test_a_named_field_the_object_does_not_have_is_refused_naming_its_own():
    with pytest.raises(
        InvalidExportRequest, match=r"key_field RECORDNO is not a field of DIMENSION \(its own: id\)"
    ):
        settle({"object": "DIMENSION", "key_field": "RECORDNO"}, lookup("DIMENSION"))
    with pytest.raises(InvalidExportRequest, match="has none of the key fields RECORDNO, id"):
        settle({"object": "X"}, ["NAME", "WHENMODIFIED"])


def test_an_object_without_a_modified_field_is_full_snapshot_only():
    spec, _ = settle({"object": "X", "mode": "incremental"}, ["RECORDNO", "NAME"])
    assert roles(spec) == ("RECORDNO", "", "", None)
    # And the catalogue can say so too (modified_field "" or null)
    catalogue = Catalogue.from_json('[{"object": "GLACCOUNT", "modified_field": null}]')
    assert catalogue.get("GLACCOUNT").modified_field == ""  # type: ignore[union-attr]
    spec, notes = settle({"object": "GLACCOUNT"}, lookup("GLACCOUNT"), catalogue)
    assert spec.modified_field == "" and notes == []


def test_headers_are_found_by_their_creation_timestamp_and_a_tenant_without_it_by_whencreated():
    # AR/AP headers' WHENCREATED is a date; AUWHENCREATED is the creation timestamp (real-objects/README.md)
    spec, notes = settle({"object": "ARINVOICE"}, lookup("ARINVOICE"))
    assert spec.created_field == "AUWHENCREATED" and notes == []
    # ARPYMT has no recorded list: a tenant whose ARPYMT has no AUWHENCREATED gets WHENCREATED
    without = [f for f in lookup("APPYMT") if f != "AUWHENCREATED"]
    spec, notes = settle({"object": "ARPYMT"}, without)
    assert spec.created_field == "WHENCREATED"
    assert notes == ["ARPYMT has no field AUWHENCREATED; created_field is WHENCREATED (from lookup)"]


# ARPYMT had no field list recorded (objects.py): the tenant-without-AUWHENCREATED test above covers it.
@pytest.mark.parametrize("entry", [o for o in DEFAULT_OBJECTS if o.name != "ARPYMT"], ids=lambda o: o.name)
def test_every_default_catalogue_object_has_its_fields_in_the_recorded_list(entry):
    fields = lookup(entry.name)
    for name in filter(None, (entry.key_field, entry.modified_field, entry.created_field, entry.id_field)):
        assert name in fields, (entry.name, name)
    spec, notes = settle({"object": entry.name, "mode": "incremental"}, fields)
    assert notes == [] and roles(spec) == (
        entry.key_field,
        entry.modified_field,
        entry.created_field,
        entry.id_field,
    )


def test_without_a_lookup_the_spec_stays_as_it_is():
    spec = ExportSpec.from_payload({"object": "CUSTOMER", "fields": ["NAME"]})
    assert settle_key_fields(spec, [], set(), True) == (spec, [])


def test_a_catalogued_object_without_the_chosen_fields_nor_its_own_says_what_that_means():
    catalogue = Catalogue.from_json('[{"object": "X", "id_field": "XID"}]')
    spec, notes = settle({"object": "X", "mode": "incremental"}, ["RECORDNO", "NAME"], catalogue)
    assert roles(spec) == ("RECORDNO", "", "", None)
    assert notes == [
        "X has no field WHENMODIFIED, nor any modified field: full snapshots only",
        "X has no field WHENCREATED, nor any created field: incremental runs miss records never modified",
        "X has no field XID, so tombstones name records by their key only",
    ]
