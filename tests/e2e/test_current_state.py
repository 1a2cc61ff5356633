"""Reporting-ready data through the real state machine against the simulator: a full export, changes at
Intacct, an incremental export, and ``<object>_current`` equal to the simulator's records, every value
typed; the same for an entity's export; and the Glue tables matching what their files hold."""

from __future__ import annotations

import gzip
import json
import re
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import boto3
import pytest

from intacct_local.runner import LocalPipeline, RunOptions, local_pipeline, mirror_bucket
from intacct_local.sql import query
from intacct_sim.schema import OBJECTS
from intacct_sync.export.current import RunIndex, views
from intacct_sync.export.tables import TableSchema
from tests.conftest import decode_presto_view

pytestmark = pytest.mark.e2e
FAST = {"INTACCT_RETRY_BASE_DELAY_MS": "5"}
ZONE = ZoneInfo("America/Los_Angeles")  # the simulator's default tenant zone, as the runs are told


def typed(object_name: str, record: dict[str, str]) -> dict[str, Any]:
    """A simulator record (text, as the API renders it) with each value as its lookup DATATYPE reads:
    the expectation, derived here from the simulator's own schema, not from the product's typing."""
    out: dict[str, Any] = {}
    for spec in OBJECTS[object_name].fields:
        text = record.get(spec.name, "")
        if text in ("", None):
            out[spec.name] = None
        elif spec.datatype == "INTEGER":
            out[spec.name] = int(text)
        elif spec.datatype in ("DECIMAL", "CURRENCY", "PERCENT"):
            out[spec.name] = Decimal(text)
        elif spec.datatype == "BOOLEAN":
            out[spec.name] = {"true": True, "false": False}[text]
        elif spec.datatype == "DATE":
            out[spec.name] = datetime.strptime(text, "%m/%d/%Y").date()
        elif spec.datatype == "TIMESTAMP":
            form = "%m/%d/%Y %H:%M:%S" if " " in text else "%m/%d/%Y"
            local = datetime.strptime(text, form).replace(tzinfo=ZONE)
            out[spec.name] = local.astimezone(UTC).replace(tzinfo=None)
        else:
            out[spec.name] = text
    return out


def current_view(out: Path, view: str) -> dict[Any, dict[str, Any]]:
    """The rows of a current view through ``intacct-sync sql``'s DuckDB tables, by key, keyed by field."""
    schema = TableSchema.from_document(
        json.loads((out / "_meta/tables/object=CUSTOMER/schema.json").read_text())
    )
    names, rows = query(out, f"SELECT * FROM {view}")  # noqa: S608 - the test's own view names
    fields = {c.name: c.field for c in schema.record_columns}
    records = [{fields[n]: v for n, v in zip(names, row, strict=True)} for row in rows]
    return {r["RECORDNO"]: r for r in records}


def export(pipeline: LocalPipeline, request: dict[str, Any]) -> str:
    result = pipeline.export(request)
    assert result.status == "SUCCEEDED", result.error
    return result.run_id


@pytest.mark.parametrize(
    ("entity", "audit_objectkey"),
    [(None, "name"), ("US", "rec")],
    ids=["top level, deletes named by CUSTOMERID", "entity US, deletes named by RECORDNO"],
)
def test_the_current_view_is_the_simulators_records_after_a_full_and_an_incremental_run(
    make_sim, tmp_path, entity, audit_objectkey
):
    # Given a tenant, exported in full (the top level, or what entity US sees)
    sim = make_sim(records=1500, seed=21, audit_objectkey=audit_objectkey)
    scope = {"entity": entity} if entity else {}
    with local_pipeline(
        RunOptions(page_size=400, concurrency=2, quiet=True), sim=sim, function_env=FAST
    ) as p:
        full = export(p, {"object": "CUSTOMER", "mode": "full", **scope})
        # When records are inserted, updated and deleted at Intacct, and an incremental run follows
        changed = sim.mutate("CUSTOMER", inserts=40, updates=60, deletes=30)
        # (an incremental run that lands its pages and then fails, and is not read)
        p.stack.crashes["FinaliseExportFunction"] = {p.stack.invocations["FinaliseExportFunction"] + 1}
        failed = p.export({"object": "CUSTOMER", "mode": "incremental", **scope})
        incremental = export(p, {"object": "CUSTOMER", "mode": "incremental", **scope})
        mirror_bucket(p.stack, tmp_path)
    assert failed.status == "FAILED" and failed.manifest["records_written"] > 0
    # Then <object>_current holds exactly the simulator's records, keys and every value, typed
    visible = [
        r
        for r in sim.records("CUSTOMER")
        if not entity
        or r["MEGAENTITYID"] == entity
        or (not r["MEGAENTITYID"] and r["OBJECTRESTRICTION"] not in ("RootOnly", "Restricted"))
    ]
    expected = {int(r["RECORDNO"]): typed("CUSTOMER", r) for r in visible}
    view = f"customer_current_{entity.lower()}" if entity else "customer_current"
    current = current_view(tmp_path, view)
    assert set(current) == set(expected)
    deleted = {int(k) for k in changed["deleted"]}
    assert deleted and not deleted & set(current)
    mismatched = [
        (key, name, value, current[key][name])
        for key, record in expected.items()
        for name, value in record.items()
        if current[key][name] != value
    ]
    assert not mismatched, mismatched[:5]
    # And each version says which run read it, and when; the failed run is never read
    runs = {r["_sdc_run_id"] for r in current.values()}
    assert incremental in runs and full in runs and failed.run_id not in runs
    updated = {int(k) for k in changed["updated"]} - deleted
    assert all(current[k]["_sdc_run_id"] == incremental for k in updated & set(current))
    assert all(isinstance(r["_sdc_extracted_at"], datetime) for r in current.values())
    # And the deletions are listed once each, with when Intacct recorded them
    deletes = f"customer_deletes{'_us' if entity else ''}"
    _, tombstones = query(tmp_path, f"SELECT _sdc_deleted_at FROM {deletes}")  # noqa: S608
    assert tombstones and all(isinstance(t[0], datetime) for t in tombstones)


def _tenant_time(text: str) -> datetime:
    return datetime.strptime(text, "%m/%d/%Y %H:%M:%S")


def test_a_run_with_a_request_filter_neither_becomes_the_current_state_nor_moves_the_objects_watermark(
    make_sim, tmp_path
):
    # Given a tenant of active and inactive customers, exported in full
    sim = make_sim(records=400, seed=23)
    records = sim.records("CUSTOMER")
    assert {r["STATUS"] for r in records} == {"active", "inactive"}
    active = {"field": "STATUS", "op": "equalto", "value": "active"}
    with local_pipeline(
        RunOptions(page_size=200, concurrency=2, quiet=True), sim=sim, function_env=FAST
    ) as p:
        full = p.export({"object": "CUSTOMER", "mode": "full"})
        # When an inactive customer changes, and a day later an active one
        latest = max(_tenant_time(r["WHENMODIFIED"] or r["WHENCREATED"]) for r in records)
        inactive = next(r["RECORDNO"] for r in records if r["STATUS"] == "inactive")
        changed = next(r["RECORDNO"] for r in records if r["STATUS"] == "active")
        changes = ((inactive, "changed while inactive", 1), (changed, "changed while active", 2))
        for key, name, days in changes:
            when = (latest + timedelta(days=days)).strftime("%m/%d/%Y %H:%M:%S")
            sim.upsert("CUSTOMER", {"RECORDNO": key, "NAME": name, "WHENMODIFIED": when})
        # And a run asks for the active customers only, then incremental runs follow, with and without it
        filtered = p.export({"object": "CUSTOMER", "mode": "full", "filter": active})
        filtered_again = p.export({"object": "CUSTOMER", "mode": "incremental", "filter": active})
        incremental = p.export({"object": "CUSTOMER", "mode": "incremental"})
        mirror_bucket(p.stack, tmp_path)
    runs = (full, filtered, filtered_again, incremental)
    assert all(r.status == "SUCCEEDED" for r in runs), [r.error for r in runs]
    windows = [r.manifest["window"] or {} for r in runs]
    # Then the unfiltered incremental read from the full run's watermark, not from the filtered run's
    # (which is later: the active customer's change), so it read the inactive customer's change too
    assert windows[3]["since"] == windows[0]["watermark_after"] < windows[1]["watermark_after"]
    assert "watermark_scope" not in windows[0] and "watermark_scope" not in windows[3]
    # And the filtered incremental read from its filter's own watermark, which only that filter moves
    scope = windows[1]["watermark_scope"]
    assert scope.startswith("filter-") and windows[2]["watermark_scope"] == scope
    assert windows[2]["since"] == windows[1]["watermark_after"]
    assert filtered.manifest["request_filter"] == active and "request_filter" not in full.manifest
    # And customer_current is every customer, active or not, each at its latest version, read from the
    # unfiltered runs only
    current = current_view(tmp_path, "customer_current")
    assert set(current) == {int(r["RECORDNO"]) for r in records}
    assert current[int(inactive)]["NAME"] == "changed while inactive"
    assert current[int(changed)]["NAME"] == "changed while active"
    assert {r["_sdc_run_id"] for r in current.values()} == {full.run_id, incremental.run_id}
    assert query(tmp_path, "SELECT count(*) FROM customer_current WHERE status = 'inactive'")[1][0][0] == sum(
        1 for r in records if r["STATUS"] == "inactive"
    )


JSON_TYPES = {
    "bigint": (int,),
    "decimal(38,16)": (int, float),
    "boolean": (bool,),
    "string": (str,),
}
SHAPES = {
    "date": re.compile(r"\d{4}-\d{2}-\d{2}\Z"),
    "timestamp": re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?Z\Z"),
}


def test_each_objects_glue_table_matches_what_its_files_hold_and_its_views_hold_the_local_sql(
    make_sim, tmp_path
):
    sim = make_sim(records=300, seed=4)
    with local_pipeline(
        RunOptions(page_size=200, concurrency=2, quiet=True), sim=sim, function_env=FAST
    ) as p:
        for name in ("CUSTOMER", "VENDOR", "GLACCOUNT"):
            export(p, {"object": name})
        sim.mutate("CUSTOMER", updates=5, deletes=5)
        export(p, {"object": "CUSTOMER", "mode": "incremental"})
        mirror_bucket(p.stack, tmp_path)
        glue = boto3.client("glue", region_name="us-east-1")
        database = p.stack.env["GLUE_DATABASE"]
        tables = {t["Name"]: t for t in glue.get_tables(DatabaseName=database)["TableList"]}
    for name in ("CUSTOMER", "VENDOR", "GLACCOUNT"):
        schema = TableSchema.from_document(
            json.loads((tmp_path / f"_meta/tables/object={name}/schema.json").read_text())
        )
        for table, prefix, columns in (
            (name.lower(), "exports", schema.record_columns),
            (f"{name.lower()}_tombstones", "deletes", schema.tombstone_columns),
        ):
            # The table declares exactly the schema's columns, typed as the schema says
            storage = tables[table]["StorageDescriptor"]
            declared = {c["Name"]: c["Type"] for c in storage["Columns"]}
            assert declared == {c.name: c.glue_type for c in columns}
            mapping = {
                k[len("mapping.") :]: v
                for k, v in storage["SerdeInfo"]["Parameters"].items()
                if k.startswith("mapping.")
            }
            key_of = {c: mapping.get(c, c) for c in declared}
            # And every line of every file holds only values of those types, under those keys
            for part in (tmp_path / prefix / f"object={name}").glob("run_id=*/part-*.ndjson.gz"):
                for line in gzip.decompress(part.read_bytes()).splitlines():
                    record = json.loads(line)
                    readable = {k.lower().replace(".", "_"): v for k, v in record.items()}
                    assert set(readable) <= {k.lower().replace(".", "_") for k in key_of.values()}
                    for column, glue_type in declared.items():
                        value = readable.get(key_of[column].lower().replace(".", "_"))
                        if value is None:
                            continue
                        if glue_type in SHAPES:
                            assert isinstance(value, str) and SHAPES[glue_type].match(value), (column, value)
                        else:
                            assert isinstance(value, JSON_TYPES[glue_type]), (column, value)
                            assert glue_type != "bigint" or not isinstance(value, bool)
    # And the views hold the very SQL `intacct-sync sql` runs, encoded as Athena stores views
    schema = TableSchema.from_document(
        json.loads((tmp_path / "_meta/tables/object=CUSTOMER/schema.json").read_text())
    )
    index = RunIndex.from_document(
        json.loads((tmp_path / "_meta/succeeded/object=CUSTOMER/entity=-/runs.json").read_text()),
        "CUSTOMER",
        None,
    )
    for view in views(schema, index):
        stored = tables[view.name]
        assert stored["TableType"] == "VIRTUAL_VIEW" and stored["Parameters"]["presto_view"] == "true"
        decoded = decode_presto_view(stored["ViewOriginalText"])
        assert decoded["originalSql"] == view.sql and decoded["schema"] == database
        assert [c["name"] for c in decoded["columns"]] == [
            c["Name"] for c in stored["StorageDescriptor"]["Columns"]
        ]
    assert query(tmp_path, "SELECT count(*) FROM customer_current")[1][0][0] == len(sim.records("CUSTOMER"))


@pytest.mark.parametrize(
    "catalogue",
    [{}, {"id_field": "RECORDNO"}],
    ids=["GLDETAIL as catalogued", "GLDETAIL with id_field RECORDNO"],
)
def test_a_gldetail_delete_lands_as_a_tombstone_that_removes_the_row_from_the_current_view(
    make_sim, tmp_path, catalogue
):
    # Given GLDETAIL (a text RECORDNO such as 49-7468-26621--accrual) exported in full
    sim = make_sim(records=300, seed=22)
    with local_pipeline(
        RunOptions(page_size=400, concurrency=2, quiet=True), sim=sim, function_env=FAST
    ) as p:
        export(p, {"object": "GLDETAIL", **catalogue})
        # When one of its lines is deleted at Intacct (AUDITHISTORY: OBJECTKEY "<RECORDNO>--REC")
        (gone,) = sim.mutate("GLDETAIL", deletes=1)["deleted"]
        incremental = p.export({"object": "GLDETAIL", "mode": "incremental", **catalogue})
        mirror_bucket(p.stack, tmp_path)
    assert incremental.status == "SUCCEEDED", incremental.error
    # Then the run wrote its tombstone, named by that RECORDNO, and warned of nothing unmapped
    assert incremental.manifest["deletes"] == {
        **incremental.manifest["deletes"], "records": 1, "unmapped": 0
    }  # fmt: skip
    assert not [w for w in incremental.manifest["warnings"] if "AUDITHISTORY" in w]
    _, deletes = query(tmp_path, "SELECT recordno FROM gldetail_deletes")
    assert deletes == [(str(gone),)]
    # And gldetail_current holds exactly the simulator's lines: the deleted one is gone
    _, rows = query(tmp_path, "SELECT recordno FROM gldetail_current")
    assert str(gone) not in {r[0] for r in rows}
    assert {r[0] for r in rows} == {r["RECORDNO"] for r in sim.records("GLDETAIL")}


def test_a_customer_deleted_and_created_again_in_the_same_second_stays_in_the_current_view(
    make_sim, tmp_path
):
    # Given customers exported in full, AUDITHISTORY naming deleted customers by CUSTOMERID
    sim = make_sim(records=300, seed=23, audit_objectkey="name")
    with local_pipeline(
        RunOptions(page_size=400, concurrency=2, quiet=True), sim=sim, function_env=FAST
    ) as p:
        export(p, {"object": "CUSTOMER"})
        # When a customer is deleted and created again under its CUSTOMERID within that same second
        old = sim.records("CUSTOMER")[40]
        assert sim.delete("CUSTOMER", old["RECORDNO"])
        (deletion,) = [
            a
            for a in sim.records("AUDITHISTORY")
            if a["OBJECTTYPE"] == "customer"
            and a["ACCESSMODE"] == "D"
            and a["OBJECTKEY"] == old["CUSTOMERID"]
        ]
        second = deletion["ACCESSTIME"]
        new = sim.upsert(
            "CUSTOMER",
            {
                "CUSTOMERID": old["CUSTOMERID"],
                "NAME": "Created again",
                "WHENCREATED": second,
                "WHENMODIFIED": second,
            },
        )
        # and incremental runs follow (the second re-reads the tombstone in its lookback)
        runs = [export(p, {"object": "CUSTOMER", "mode": "incremental"}) for _ in range(2)]
        mirror_bucket(p.stack, tmp_path)
    # Then the new record is in customer_current after each, the old one is not
    current = current_view(tmp_path, "customer_current")
    assert int(new) in current and int(old["RECORDNO"]) not in current
    assert current[int(new)]["NAME"] == "Created again" and current[int(new)]["_sdc_run_id"] in runs
    assert set(current) == {int(r["RECORDNO"]) for r in sim.records("CUSTOMER")}
    _, deletes = query(tmp_path, "SELECT customerid FROM customer_deletes")
    assert deletes == [(old["CUSTOMERID"],)]
