"""steps.tables against moto's S3 and Glue: the tables follow the schema, the index of succeeded runs is
the only thing the views read, and Glue trouble never fails a run."""

from __future__ import annotations

import boto3
import pytest

from intacct_sync.adapters.export_store import ExportStore
from intacct_sync.adapters.glue import GlueCatalog
from intacct_sync.export import layout
from intacct_sync.export.parts import PartSummary
from intacct_sync.export.run import ExportRun
from intacct_sync.export.spec import ExportSpec
from intacct_sync.steps import tables
from tests.conftest import decode_presto_view

TYPES = {"RECORDNO": "INTEGER", "CUSTOMERID": "TEXT", "QTY": "INTEGER", "WHENMODIFIED": "TIMESTAMP"}


def a_run(
    run_id: str, mode: str = "full", started: str = "2026-11-01T00:00:00+00:00", types: dict | None = None
) -> ExportRun:
    types = types or TYPES
    spec = ExportSpec("CUSTOMER", tuple(types), mode=mode, id_field="CUSTOMERID")
    window = {"since": "2026-10-01T00:00:00+00:00"} if mode == "incremental" else None
    return ExportRun(run_id, started, spec, window, {"fields_from": "lookup"}, field_types=dict(types))


def manifest(status: str = "succeeded", deletes: int = 0) -> dict:
    return {"status": status, "records_written": 3, "finished_at": "x", "deletes": {"records": deletes}}


@pytest.fixture
def aws(s3):
    glue = boto3.client("glue", region_name="us-east-1")
    glue.create_database(DatabaseInput={"Name": "intacct_sync_dev"})
    return ExportStore(s3, "exports"), GlueCatalog(glue, "intacct_sync_dev"), glue


def view_sql(glue, name: str) -> str:
    table = glue.get_table(DatabaseName="intacct_sync_dev", Name=name)["Table"]
    return str(decode_presto_view(table["ViewOriginalText"])["originalSql"])


def test_a_widened_field_widens_its_column_and_the_tables_follow(aws):
    store, catalog, glue = aws
    # Given a run whose second part held a fraction in the INTEGER field QTY
    parts = [
        PartSummary("p0", 2, "", "1", "2", ""),
        PartSummary("p1", 1, "", "3", "3", "", widened="decimal:QTY"),
    ]
    assert tables.publish_tables(store, catalog, a_run("r1"), parts) == []
    # Then the schema and both tables say decimal for QTY, bigint for the key
    columns = {
        c["Name"]: c["Type"]
        for c in glue.get_table(DatabaseName="intacct_sync_dev", Name="customer")["Table"][
            "StorageDescriptor"
        ]["Columns"]
    }
    assert columns["qty"] == "decimal(38,16)" and columns["recordno"] == "bigint"
    assert columns["_sdc_extracted_at"] == "timestamp"
    tomb = glue.get_table(DatabaseName="intacct_sync_dev", Name="customer_tombstones")["Table"]
    assert [c["Name"] for c in tomb["StorageDescriptor"]["Columns"]][:2] == ["recordno", "customerid"]
    assert store.get_json(layout.table_schema_key("CUSTOMER"))["columns"][2]["kind"] == "decimal"


def test_views_read_only_the_succeeded_runs_and_a_withdrawn_run_leaves_them(aws):
    store, catalog, glue = aws
    tables.publish_tables(store, catalog, a_run("f1"), [])
    # A run is not in the views until it is recorded as succeeded, and never while its manifest says failed
    with pytest.raises(ValueError, match="did not succeed"):
        tables.record_succeeded_run(store, catalog, a_run("f1"), manifest("failed"))
    tables.record_succeeded_run(store, catalog, a_run("f1"), manifest())
    inc = a_run("i1", "incremental", "2026-11-02T00:00:00+00:00")
    tables.record_succeeded_run(store, catalog, inc, manifest(deletes=2))
    tables.record_succeeded_run(store, catalog, inc, manifest(deletes=2))  # idempotent
    sql = view_sql(glue, "customer_current")
    assert "run_id IN ('f1', 'i1')" in sql and "customer_tombstones" in sql
    assert "run_id IN ('i1')" in view_sql(glue, "customer_deletes")
    # When the incremental run turns out to have failed after all
    index = tables.withdraw_run(store, catalog, "CUSTOMER", None, "i1")
    assert [r.run_id for r in index.runs] == ["f1"]
    assert "run_id IN ('f1')" in view_sql(glue, "customer_current")
    assert "customer_tombstones" not in view_sql(glue, "customer_current")


def test_glue_trouble_is_a_warning_never_a_failed_run(aws):
    store, _, glue = aws
    missing = GlueCatalog(glue, "no_such_database")
    warnings = tables.publish_tables(store, missing, a_run("r1"), [])
    assert len(warnings) == 1 and "were not updated" in warnings[0] and "no_such_database" in warnings[0]
    tables.record_succeeded_run(store, missing, a_run("r1"), manifest())  # logged, not raised
    assert store.get_json(layout.succeeded_runs_key("CUSTOMER", None))["runs"][0]["run_id"] == "r1"


def test_the_index_is_changed_only_from_what_it_was(aws):
    store, _, _ = aws
    key = layout.succeeded_runs_key("CUSTOMER", None)
    document, etag = store.get_json_tagged(key)
    assert (document, etag) == (None, None)
    assert store.put_json_if(key, {"runs": []}, None)
    assert not store.put_json_if(key, {"runs": ["lost"]}, None)  # someone wrote it first
    _, etag = store.get_json_tagged(key)
    assert store.put_json_if(key, {"runs": ["mine"]}, etag)
    assert not store.put_json_if(key, {"runs": ["stale"]}, etag)


def test_two_runs_creating_a_table_at_once_both_end_with_their_table(aws):
    # Given another run's ending creating the table between this one's read and its create
    _store, _catalog, glue = aws

    class OtherRunFirst:
        """Glue, where another writer creates the same table just before this one's create arrives."""

        def __init__(self) -> None:
            self.exceptions = glue.exceptions
            self.raced = False

        def __getattr__(self, name: str):
            return getattr(glue, name)

        def create_table(self, **kwargs):
            if not self.raced:
                self.raced = True
                theirs = {**kwargs["TableInput"], "Description": "written by the other run"}
                glue.create_table(DatabaseName=kwargs["DatabaseName"], TableInput=theirs)
            return glue.create_table(**kwargs)

    catalog = GlueCatalog(OtherRunFirst(), "intacct_sync_dev")
    table = {"Name": "raced", "TableType": "EXTERNAL_TABLE", "Description": "this run's"}
    # When this run writes it, Then its create loses, and it updates the winner's table to its own
    assert catalog.put_table(table) == "updated"
    assert (
        glue.get_table(DatabaseName="intacct_sync_dev", Name="raced")["Table"]["Description"] == "this run's"
    )


def test_new_fields_read_by_an_incremental_run_are_announced_with_the_full_run_that_fills_them(aws):
    store, catalog, glue = aws
    # Given CUSTOMER's tables from a full run
    assert tables.publish_tables(store, catalog, a_run("f1"), []) == []
    # When the tenant adds custom fields and the next incremental run's lookup lists them
    wider = {**TYPES, "CUSTOMER_CF_BOOL_3": "BOOLEAN", "CUSTOMER_CF_DATE_4": "DATE"}
    inc = a_run("i1", "incremental", "2026-11-02T00:00:00+00:00", wider)
    warnings = tables.publish_tables(store, catalog, inc, [])
    # Then the columns are there, and the run says they are null for what it did not read until a full run
    declared = glue.get_table(DatabaseName="intacct_sync_dev", Name="customer")["Table"]["StorageDescriptor"]
    assert {"customer_cf_bool_3", "customer_cf_date_4"} <= {c["Name"] for c in declared["Columns"]}
    (warning,) = warnings
    assert warning.startswith("2 new field(s) of CUSTOMER (CUSTOMER_CF_BOOL_3, CUSTOMER_CF_DATE_4)")
    assert "null in customer_current" in warning and "a full run fills them" in warning
    # And a full run, which reads every record, adds fields without a word
    full = a_run("f2", "full", "2026-11-03T00:00:00+00:00", {**wider, "CUSTOMER_CF_TEXT_5": "TEXT"})
    assert tables.publish_tables(store, catalog, full, []) == []
