"""A deletion in the audit trail becomes a tombstone naming the record the export knows it by."""

from dataclasses import replace

from intacct_sync.export.audit import tombstone, tombstone_keys
from intacct_sync.export.spec import ExportSpec
from intacct_sync.export.window import TenantTime

CUSTOMER = ExportSpec.from_payload({"object": "CUSTOMER", "id_field": "CUSTOMERID"})
GLDETAIL = ExportSpec.from_payload({"object": "GLDETAIL"})  # its RECORDNO is text
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


def test_a_text_recordno_is_named_by_its_key_and_a_number_key_takes_only_digits():
    # Given GLDETAIL, whose RECORDNO is text holding "--" itself, deleted as "<RECORDNO>--REC"
    key = "3220-55186-27292--accrual"
    # Then its tombstone names it by that RECORDNO, whole
    assert tombstone_keys(GLDETAIL, f"{key}--REC", text_key=True) == {"RECORDNO": key}
    # But for a numeric RECORDNO the same text is no key (it goes to the id field, if there is one)
    assert tombstone_keys(GLDETAIL, f"{key}--REC") is None
    assert tombstone_keys(CUSTOMER, "A-1--REC") == {"RECORDNO": None, "CUSTOMERID": "A-1--REC"}
    # And nothing before the suffix, a bare text RECORDNO or no OBJECTKEY names nothing
    for objectkey in ("--REC", " --REC", key, ""):
        assert tombstone_keys(GLDETAIL, objectkey, text_key=True) is None, objectkey


def test_id_field_naming_the_key_itself_maps_bare_recordnos():
    # Given a catalogue entry saying AUDITHISTORY names records by their RECORDNO (id_field RECORDNO)
    by_recordno = replace(GLDETAIL, id_field="RECORDNO")
    key = "49-7468-26621--accrual"
    # Then a bare RECORDNO and "<RECORDNO>--REC" both name the record by its key, and only its key
    assert tombstone_keys(by_recordno, key, text_key=True) == {"RECORDNO": key}
    assert tombstone_keys(by_recordno, f"{key}--REC", text_key=True) == {"RECORDNO": key}
    numeric = replace(CUSTOMER, id_field="RECORDNO")
    assert tombstone_keys(numeric, "42") == {"RECORDNO": "42"}
    # And a name the numeric key cannot hold is still refused, never written as a key
    assert tombstone_keys(numeric, "C-0042") is None
