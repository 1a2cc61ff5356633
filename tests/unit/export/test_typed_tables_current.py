"""Typed records, table schemas and the current views' SQL, as pure logic (the end-to-end proof is
tests/e2e/test_current_state.py)."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import UTC, datetime
from typing import Any

import duckdb
import pytest

from intacct_sync.export import layout
from intacct_sync.export.current import (
    RunIndex,
    SucceededRun,
    current_sql,
    deletes_sql,
    view_names,
    views,
)
from intacct_sync.export.parts import decode_part, encode_part
from intacct_sync.export.tables import TableSchema, column_name, merge_schema, records_table_input
from intacct_sync.export.typed import FieldTypes, RecordTyper, parse_widened, widened_text
from intacct_sync.export.window import TenantTime
from intacct_sync.intacct import DateFormat

LA = TenantTime(zone="America/Los_Angeles")
TYPES = {
    "RECORDNO": "INTEGER",
    "NAME": "TEXT",
    "STATUS": "ENUM",
    "ACTIVE": "BOOLEAN",
    "LIMIT": "CURRENCY",
    "RATE": "PERCENT",
    "QTY": "INTEGER",
    "DUE": "DATE",
    "WHENMODIFIED": "TIMESTAMP",
    "SEQ": "SEQUENCE",
}
AT = datetime(2026, 11, 30, 12, 0, 0, 123456, tzinfo=UTC)


def typed(record: dict[str, Any], time: TenantTime = LA) -> tuple[dict[str, Any], dict[str, str]]:
    typer = RecordTyper(list(TYPES), FieldTypes.of(TYPES), time, "run-1")
    rows = typer.type_records([dict(record)], AT)
    return rows[0], typer.widened


def test_each_datatype_is_written_as_athena_reads_it_without_casts():
    row, widened = typed(
        {
            "RECORDNO": "42",
            "NAME": "Müller & Co",
            "STATUS": "active",
            "ACTIVE": "true",
            "LIMIT": "-613872145.874375",
            "RATE": "12.50",
            "QTY": None,
            "DUE": "02/29/2024",
            # PST (UTC-8) in winter, PDT (UTC-7) in summer
            "WHENMODIFIED": "01/15/2024 23:30:00",
            "SEQ": "7",
        }
    )
    assert not widened
    assert row == {
        "RECORDNO": 42,
        "NAME": "Müller & Co",
        "STATUS": "active",
        "ACTIVE": True,
        "LIMIT": -613872145.874375,
        "RATE": 12.5,
        "QTY": None,
        "DUE": "2024-02-29",
        "WHENMODIFIED": "2024-01-16T07:30:00Z",
        "SEQ": "7",
        "_sdc_run_id": "run-1",
        "_sdc_extracted_at": "2026-11-30T12:00:00.123456Z",
    }
    assert typed({"WHENMODIFIED": "07/15/2024 23:30:00"})[0]["WHENMODIFIED"] == "2024-07-16T06:30:00Z"
    # a date-only TIMESTAMP (WHENCREATED on AR/AP headers) is midnight tenant-local
    assert typed({"WHENMODIFIED": "07/15/2024"})[0]["WHENMODIFIED"] == "2024-07-15T07:00:00Z"


def test_dates_are_read_in_the_users_preferences():
    time = TenantTime(DateFormat(".", "dmY", 12), zone="+01:00")
    row, widened = typed({"DUE": "29.02.2024", "WHENMODIFIED": "29.02.2024 01:15:00 PM"}, time)
    assert (row["DUE"], row["WHENMODIFIED"], widened) == ("2024-02-29", "2024-02-29T12:15:00Z", {})


def test_a_value_its_type_cannot_hold_is_kept_and_widens_the_column():
    # Estuary: INTEGER fields sometimes hold a fraction. Kept as a number; the column becomes decimal.
    row, widened = typed({"RECORDNO": "7", "QTY": "2.5", "ACTIVE": "maybe", "DUE": "someday"})
    assert (row["QTY"], row["ACTIVE"], row["DUE"]) == (2.5, "maybe", "someday")
    assert widened == {"QTY": "decimal", "ACTIVE": "string", "DUE": "string"}
    assert parse_widened(widened_text(widened)) == widened
    assert typed({"QTY": str(2**70)})[1] == {"QTY": "decimal"}
    assert typed({"QTY": "1_000"})[1] == {"QTY": "string"}
    assert typed({"LIMIT": "nan"})[1] == {"LIMIT": "string"}


def test_a_typed_part_is_summarised_from_intacct_text_and_names_what_it_widened():
    typer = RecordTyper(list(TYPES), FieldTypes.of(TYPES), LA, "run-1")
    rows = [
        {"RECORDNO": "5", "QTY": "1.5", "WHENMODIFIED": "01/15/2024 23:30:00"},
        {"RECORDNO": "9", "QTY": "3", "WHENMODIFIED": "01/16/2024 01:00:00"},
    ]
    summary, body = encode_part(
        "k", rows, "RECORDNO", LA.sort_key, "WHENMODIFIED", typer=typer, extracted_at=AT
    )
    # the summary keeps Intacct's own text (watermarks are read from it), the part holds typed values
    assert (summary.first_key, summary.last_key, summary.max_modified) == ("5", "9", "01/16/2024 01:00:00")
    assert parse_widened(summary.widened) == {"QTY": "decimal"}
    assert summary.to_metadata()["widened"] == "decimal:QTY"
    assert [r["QTY"] for r in decode_part(body)] == [1.5, 3]


def test_columns_are_only_added_or_widened_never_dropped_or_narrowed():
    first = merge_schema(None, "CUSTOMER", "RECORDNO", ["RECORDNO", "DISPLAYCONTACT.EMAIL1", "QTY"], TYPES)
    assert [c.name for c in first.schema.columns] == ["recordno", "displaycontact_email1", "qty"]
    assert first.schema.column("QTY").glue_type == "bigint"
    second = merge_schema(
        first.schema, "CUSTOMER", "RECORDNO", ["RECORDNO", "QTY", "NEW_CF"], TYPES, {"QTY": "decimal"}
    )
    assert second.added == ["NEW_CF"] and second.widened == {"QTY": "decimal"}
    assert second.missing == ["DISPLAYCONTACT.EMAIL1"]
    assert [c.field for c in second.schema.columns] == ["RECORDNO", "DISPLAYCONTACT.EMAIL1", "QTY", "NEW_CF"]
    third = merge_schema(
        second.schema, "CUSTOMER", "RECORDNO", ["QTY"], TYPES
    )  # INTEGER again: stays decimal
    assert third.schema.column("QTY").glue_type == "decimal(38,16)" and not third.changed
    assert TableSchema.from_document(json.loads(json.dumps(third.schema.to_document()))) == third.schema


def test_column_names_are_athenas_and_never_collide():
    assert column_name("DISPLAYCONTACT.MAILADDRESS.CITY") == "displaycontact_mailaddress_city"
    assert column_name("createdAt") == "createdat"
    change = merge_schema(None, "X", "RECORDNO", ["A.B", "A_B", "DEPT#"], {})
    assert [c.name for c in change.schema.columns] == ["a_b", "a_b_2", "dept_"]
    serde = records_table_input(change.schema, "bucket")["StorageDescriptor"]["SerdeInfo"]["Parameters"]
    assert serde["mapping.a_b_2"] == "A_B" and serde["mapping.dept_"] == "DEPT#"
    assert "mapping.a_b" not in serde  # dots.in.keys reads A.B as a_b


def run(run_id: str, started: str, complete: bool, deletes: int = 0) -> SucceededRun:
    return SucceededRun(run_id, "full" if complete else "incremental", complete, started, deletes=deletes)


def test_the_current_runs_are_the_latest_complete_run_and_every_run_after_it():
    index = RunIndex("CUSTOMER")
    for r in (run("f1", "1", True), run("i1", "2", False), run("f2", "3", True), run("i2", "4", False)):
        index = index.with_run(r)
    assert [r.run_id for r in index.current_runs()] == ["f2", "i2"]
    assert [r.run_id for r in index.without_run("f2").current_runs()] == ["f1", "i1", "i2"]
    assert RunIndex("CUSTOMER").with_run(run("i1", "1", False)).current_runs() == ()
    assert index.with_run(run("i2", "4", False)).runs == index.runs  # idempotent
    # A run with a request filter read part of the object: never the base, never a later change
    filtered = replace(run("f3", "5", True, deletes=1), filtered=True)
    later = index.with_run(filtered).with_run(run("i3", "6", False))
    assert [r.run_id for r in later.current_runs()] == ["f2", "i2", "i3"]
    assert RunIndex.from_document(later.to_document(), "CUSTOMER", None) == later
    assert all("'f3'" not in view.sql for view in views(TableSchema("CUSTOMER", "RECORDNO"), later))
    assert view_names("CUSTOMER", None) == ("customer_current", "customer_deletes")
    assert view_names("CUSTOMER", "US-1") == ("customer_current_us_1", "customer_deletes_us_1")


def test_the_current_sql_applies_a_delete_only_after_the_version_it_follows():
    schema = merge_schema(
        None,
        "CUSTOMER",
        "RECORDNO",
        ["RECORDNO", "CUSTOMERID", "NAME", "WHENMODIFIED"],
        {"RECORDNO": "INTEGER", "WHENMODIFIED": "TIMESTAMP"},
        id_field="CUSTOMERID",
        modified_field="WHENMODIFIED",
    ).schema
    con = duckdb.connect()
    for name, day in (("T1", "2024-01-01"), ("T2", "2024-02-01"), ("T3", "2024-03-01"), ("T4", "2024-03-02")):
        con.execute(f"CREATE MACRO {name}() AS TIMESTAMP '{day} 00:00:00'")
    con.execute(
        "CREATE TABLE customer AS SELECT * FROM (VALUES "
        # key 1: read in f, updated in i; key 2: deleted (by RECORDNO) after its version; key 3: its
        # CUSTOMERID deleted before this version was written (created again): stays; key 4: in a failed run
        "(1, 'C1', 'old', T1(), 'f', T2(), 'CUSTOMER', 'f'),"
        "(1, 'C1', 'new', T3(), 'i', T4(), 'CUSTOMER', 'i'),"
        "(2, 'C2', 'gone', T1(), 'f', T2(), 'CUSTOMER', 'f'),"
        "(3, 'C3', 'again', T3(), 'i', T4(), 'CUSTOMER', 'i'),"
        "(4, 'C4', 'failed', T3(), 'x', T4(), 'CUSTOMER', 'x')"
        ") AS t(recordno, customerid, name, whenmodified, _sdc_run_id, _sdc_extracted_at, object, run_id)"
    )
    con.execute(
        "CREATE TABLE customer_tombstones AS SELECT * FROM (VALUES "
        "(2, NULL, TIMESTAMP '2024-02-15 00:00:00', 'CUSTOMER', 'i'),"
        "(NULL, 'C3', TIMESTAMP '2024-02-15 00:00:00', 'CUSTOMER', 'i')"
        ") AS t(recordno, customerid, _sdc_deleted_at, object, run_id)"
    )
    rows = con.execute(current_sql(schema, ["f", "i"], ["i"])).fetchall()
    assert sorted((r[0], r[2]) for r in rows) == [(1, "new"), (3, "again")]
    assert sorted(r[0] for r in con.execute(current_sql(schema, ["f", "i"], [])).fetchall()) == [1, 2, 3]
    with pytest.raises(ValueError, match="at least one run"):
        current_sql(schema, [], [])
    assert con.execute(deletes_sql(schema, [])).fetchall() == []


def test_a_record_created_again_under_its_id_in_the_deletions_own_second_stays():
    schema = merge_schema(
        None,
        "CUSTOMER",
        "RECORDNO",
        ["RECORDNO", "CUSTOMERID", "WHENCREATED", "WHENMODIFIED"],
        {"RECORDNO": "INTEGER", "WHENCREATED": "TIMESTAMP", "WHENMODIFIED": "TIMESTAMP"},
        id_field="CUSTOMERID",
        modified_field="WHENMODIFIED",
        created_field="WHENCREATED",
    ).schema
    con = duckdb.connect()
    con.execute("CREATE MACRO EARLIER() AS TIMESTAMP '2026-11-29 20:00:00'")
    con.execute("CREATE MACRO S() AS TIMESTAMP '2026-11-30 06:06:15'")  # Intacct's times: whole seconds
    con.execute(
        "CREATE TABLE customer AS SELECT * FROM (VALUES "
        # Given C-40 (RECORDNO 40) deleted at S and created again as RECORDNO 556 in that same second,
        "(40, 'C-40', EARLIER(), EARLIER(), 'f', EARLIER(), 'CUSTOMER', 'f'),"
        "(556, 'C-40', S(), S(), 'i', S(), 'CUSTOMER', 'i'),"
        # and C-41 modified at S, read, and deleted in that same second (created long before)
        "(41, 'C-41', EARLIER(), S(), 'i', S(), 'CUSTOMER', 'i')"
        ") AS t(recordno, customerid, whencreated, whenmodified, _sdc_run_id, _sdc_extracted_at, object, "
        "run_id)"
    )
    # When AUDITHISTORY names both deletions by CUSTOMERID, at S
    con.execute(
        "CREATE TABLE customer_tombstones AS SELECT * FROM (VALUES "
        "(CAST(NULL AS BIGINT), 'C-40', S(), 'CUSTOMER', 'i'), (NULL, 'C-41', S(), 'CUSTOMER', 'i')"
        ") AS t(recordno, customerid, _sdc_deleted_at, object, run_id)"
    )
    rows = con.execute(current_sql(schema, ["f", "i"], ["i"])).fetchall()
    # Then the new C-40 stays, the old one goes, and C-41 (created before its deletion) goes too
    assert [r[0] for r in rows] == [556]
    # And a tombstone naming a RECORDNO deletes that record whatever its created time
    con.execute("INSERT INTO customer_tombstones VALUES (556, NULL, S(), 'CUSTOMER', 'i')")
    assert con.execute(current_sql(schema, ["f", "i"], ["i"])).fetchall() == []


def test_the_tables_partitions_are_the_runs_prefixes():
    # Given the location template Athena fills in with a run's object and id
    schema = TableSchema("CUSTOMER", "RECORDNO")
    template = records_table_input(schema, "bucket")["Parameters"]["storage.location.template"]
    # Then it names exactly the prefix a run's parts land under (export.layout)
    filled = template.replace("${object}", "CUSTOMER").replace("${run_id}", "run-1")
    assert filled == f"s3://bucket/{layout.run_prefix('CUSTOMER', 'run-1')}"
    assert layout.part_key("CUSTOMER", "run-1", 0, 0).startswith(filled.removeprefix("s3://bucket/"))
