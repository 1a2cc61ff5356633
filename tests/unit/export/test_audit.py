"""A deletion in the audit trail becomes a tombstone naming the record the export knows it by."""

from dataclasses import replace

from intacct_sync.export.audit import tombstone, tombstone_keys
from intacct_sync.export.spec import ExportSpec
from intacct_sync.export.window import TenantTime

CUSTOMER = ExportSpec.from_payload({"object": "CUSTOMER", "id_field": "CUSTOMERID"})
LA = TenantTime(zone="America/Los_Angeles")


def test_a_deletion_row_becomes_a_tombstone_with_every_column():
    # Given a deletion recorded by a user of a Los Angeles tenant, naming the record by its RECORDNO
    row = {"ID": "9001", "OBJECTKEY": "42--REC", "ACCESSTIME": "07/24/2026 15:19:46", "USERID": "jdoe"}
    # When it becomes a tombstone
    found = tombstone(CUSTOMER, LA, row)
    # Then it names the record by key, says when (UTC and as recorded) and by whom, and which audit row
    assert found == {
        "RECORDNO": "42",
        "CUSTOMERID": None,
        "deleted_at": "2026-07-24T22:19:46+00:00",
        "deleted_at_tenant_local": "07/24/2026 15:19:46",
        "deleted_by": "jdoe",
        "audit_id": "9001",
    }


def test_an_objectkey_is_a_recordno_or_the_id_fields_value():
    assert tombstone_keys(CUSTOMER, "42--REC") == {"RECORDNO": "42", "CUSTOMERID": None}
    assert tombstone_keys(CUSTOMER, "C-0042") == {"RECORDNO": None, "CUSTOMERID": "C-0042"}
    # an object without an id field has only its key column
    assert tombstone_keys(replace(CUSTOMER, id_field=None), "42--REC") == {"RECORDNO": "42"}


def test_a_row_that_names_its_record_by_nothing_the_export_has_is_no_tombstone():
    # <RECORDNO>--REC while the key is another field, a name without an id field, or no OBJECTKEY at all
    assert tombstone_keys(replace(CUSTOMER, key_field="id"), "42--REC") is None
    assert tombstone_keys(replace(CUSTOMER, id_field=None), "C-0042") is None
    assert tombstone(CUSTOMER, LA, {"ID": "9002", "ACCESSTIME": "07/24/2026 15:19:46"}) is None
