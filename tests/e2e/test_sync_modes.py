"""Completeness under change, resuming, incremental runs with deletes, entities, the tenant concurrency
cap and the transaction budget — all through the real state machine against the simulator."""

from __future__ import annotations

import gzip
import json
import threading
from collections import Counter
from datetime import datetime
from pathlib import Path

import boto3
import pytest

from intacct_local.runner import LocalPipeline, RunOptions, local_pipeline, mirror_bucket
from intacct_sync.export.window import TenantTime
from intacct_sync.intacct import IntacctClient, OrderBy, Query, SenderCredentials, UserCredentials

pytestmark = pytest.mark.e2e
FIELDS = ["RECORDNO", "CUSTOMERID", "NAME", "WHENMODIFIED", "MEGAENTITYID"]
FAST = {"INTACCT_RETRY_BASE_DELAY_MS": "5"}
LA = TenantTime(zone="America/Los_Angeles")


def exported(pipeline: LocalPipeline, tmp_path: Path, run_id: str, prefix: str = "exports") -> list[dict]:
    mirror_bucket(pipeline.stack, tmp_path)
    folder = tmp_path / prefix / "object=CUSTOMER" / f"run_id={run_id}"
    rows: list[dict] = []
    for part in sorted(folder.glob("part-*.ndjson.gz")):
        rows.extend(json.loads(line) for line in gzip.decompress(part.read_bytes()).decode().splitlines())
    return rows


def key_set(records):
    """RECORDNOs as text: the simulator's as it renders them, the export's typed (integers)."""
    return {str(r["RECORDNO"]) for r in records}


def changed_at(record: dict) -> datetime:
    """When a record last changed: WHENMODIFIED, or WHENCREATED for a record never modified."""
    return LA.to_utc(record["WHENMODIFIED"] or record["WHENCREATED"])


def instant(text: str) -> datetime:
    """A typed record's TIMESTAMP (a UTC instant, YYYY-MM-DDTHH:MM:SSZ)."""
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


def test_edits_during_the_export_lose_nothing_and_duplicate_nothing(make_sim, tmp_path):
    # Given a tenant where every query is followed by 3 inserts, 5 updates and 2 deletes
    sim = make_sim(records=12_000, seed=5)
    start = key_set(sim.records("CUSTOMER"))
    sim.configure(mutations_per_query=[{"object": "CUSTOMER", "inserts": 3, "updates": 5, "deletes": 2}])
    options = RunOptions(page_size=1000, concurrency=2, quiet=True)
    with local_pipeline(options, sim=sim, function_env=FAST) as pipeline:
        # When the export runs
        result = pipeline.export({"object": "CUSTOMER", "fields": FIELDS})
        records = exported(pipeline, tmp_path, result.run_id)
    end = key_set(sim.records("CUSTOMER"))
    keys = [str(r["RECORDNO"]) for r in records]
    # Then no key is exported twice, every record present throughout is exported,
    # and nothing is exported that never existed
    assert result.status == "SUCCEEDED", result.error
    assert not [k for k, n in Counter(keys).items() if n > 1]
    assert (start & end) <= set(keys)
    created_meanwhile = {k for k in keys if int(k) > max(map(int, start))}  # keys only grow
    assert set(keys) <= start | end | created_meanwhile
    # And the manifest reconciles against the counts and the changes Intacct recorded
    manifest = result.manifest
    assert manifest["reconciled"] is True
    assert any("changed during the export" in w for w in manifest["warnings"])


def test_offset_paging_as_the_peers_do_loses_rows_under_the_same_edits(make_sim):
    # The contrast: plain offset paging over the same kind of edits skips records present throughout
    sim = make_sim(records=12_000, seed=5)
    start = key_set(sim.records("CUSTOMER"))
    sim.configure(mutations_per_query=[{"object": "CUSTOMER", "inserts": 3, "updates": 5, "deletes": 2}])
    client = IntacctClient(SenderCredentials("intacct-sim", "intacct-sim-pw"), gateway_url=sim.url)
    session = client.get_api_session(UserCredentials("SIMCO", "sim-user", "sim-user-pw"))
    keys: list[str] = []
    offset = 0
    while True:
        page = client.query(
            session,
            Query(
                "CUSTOMER",
                ("RECORDNO",),
                order_by=(OrderBy("RECORDNO"),),
                page_size=1000,
                offset=offset,
                show_private=True,
            ),
        )
        keys.extend(str(r["RECORDNO"]) for r in page.records)
        offset += page.count
        if not page.num_remaining:
            break
    present_throughout = start & key_set(sim.records("CUSTOMER"))
    assert present_throughout - set(keys), "offset paging was expected to skip rows under deletes"


def test_a_crashed_export_resumes_without_fetching_landed_pages_again(make_sim, tmp_path):
    sim = make_sim(records=10_000, seed=8)
    options = RunOptions(page_size=250, concurrency=2, quiet=True)
    with local_pipeline(options, sim=sim, function_env=FAST) as pipeline:
        # Given an export of 40 pages in two segments whose page Lambda crashes on its 3rd invocation:
        # after the first page and the second segment's first page, as the first segment Task starts
        pipeline.stack.crashes["FetchPageFunction"] = {3}
        failed = pipeline.export({"object": "CUSTOMER", "fields": FIELDS})
        assert failed.status == "FAILED"
        assert failed.manifest["status"] == "failed" and failed.manifest["reconciled"] is False
        assert "Runtime.ExitError" in failed.error
        # (as on AWS, the other segment's running Task finishes after the execution failed)
        pipeline.stack.wait_idle()
        landed = len(
            list(
                boto3.client("s3").list_objects_v2(
                    Bucket=pipeline.stack.bucket,
                    Prefix=f"exports/object=CUSTOMER/run_id={failed.run_id}/part-",
                )["Contents"]
            )
        )
        queries_before = sim.stats()["transactions_by_function"]["query"]
        assert queries_before == landed and 0 < landed < 40
        # When it is resumed
        resumed = pipeline.export({"object": "CUSTOMER", "resume_run_id": failed.run_id})
        records = exported(pipeline, tmp_path, failed.run_id)
    # Then it completes into the same run, exactly, and only the missing pages were fetched
    assert resumed.status == "SUCCEEDED", resumed.error
    assert resumed.manifest["reconciled"] is True and resumed.manifest["records_written"] == 10_000
    assert sorted(key_set(records)) == sorted(key_set(sim.records("CUSTOMER")))
    assert sim.stats()["transactions_by_function"]["query"] == 40  # ceil(10000 / 250), no page twice


def test_incremental_run_exports_changes_and_tombstones_and_advances_the_watermark(make_sim, tmp_path):
    sim = make_sim(records=3000, seed=11)
    options = RunOptions(page_size=1000, concurrency=2, quiet=True)
    with local_pipeline(options, sim=sim, function_env=FAST) as pipeline:
        # Given a completed full export (it sets the watermark)
        full = pipeline.export({"object": "CUSTOMER", "fields": FIELDS, "mode": "full"})
        assert full.status == "SUCCEEDED", full.error
        watermark = full.manifest["window"]["watermark_after"]
        newest = max(changed_at(r) for r in sim.records("CUSTOMER"))
        assert datetime.fromisoformat(watermark) == newest
        customer_ids = {
            str(r["RECORDNO"]): r["CUSTOMERID"] for r in exported(pipeline, tmp_path, full.run_id)
        }
        # And then changes at the source
        changed = sim.mutate("CUSTOMER", inserts=4, updates=6, deletes=3)
        # When an incremental run follows
        inc = pipeline.export({"object": "CUSTOMER", "fields": FIELDS, "mode": "incremental"})
        assert inc.status == "SUCCEEDED", inc.error
        records = exported(pipeline, tmp_path, inc.run_id)
        tombstones = exported(pipeline, tmp_path, inc.run_id, prefix="deletes")
    # Then it holds the inserted and updated records, only records inside the window, each once
    keys = [str(r["RECORDNO"]) for r in records]
    assert len(keys) == len(set(keys))
    assert {str(k) for k in changed["inserted"] + changed["updated"]} <= set(keys)
    window_start = datetime.fromisoformat(inc.manifest["window"]["start_utc"])
    day_start = window_start.astimezone(LA.tz).replace(hour=0, minute=0, second=0)
    assert all(instant(r["WHENMODIFIED"] or r["WHENCREATED"]) >= day_start for r in records)
    assert all(instant(r["WHENMODIFIED"]) >= window_start for r in records if r["WHENMODIFIED"])
    assert len(keys) < 3000  # an increment, not a full export
    # And the deletes land as tombstones beside the data, named by CUSTOMERID as AUDITHISTORY names them
    assert {customer_ids[str(k)] for k in changed["deleted"]} <= {t["CUSTOMERID"] for t in tombstones}
    assert inc.manifest["deletes"]["records"] == len(tombstones)
    # And the watermark moved forward to the newest change
    assert datetime.fromisoformat(inc.manifest["window"]["watermark_after"]) > datetime.fromisoformat(
        watermark
    )


def test_a_failed_incremental_run_leaves_the_watermark_where_it_was(make_sim):
    sim = make_sim(records=2000, seed=12)
    options = RunOptions(page_size=500, concurrency=1, quiet=True)
    with local_pipeline(options, sim=sim, function_env=FAST) as pipeline:
        full = pipeline.export({"object": "CUSTOMER", "fields": FIELDS})
        assert full.status == "SUCCEEDED", full.error
        table = boto3.client("dynamodb", region_name="us-east-1")

        def stored_watermark():
            item = table.get_item(TableName=pipeline.stack.table, Key={"pk": {"S": "watermark#CUSTOMER#-"}})
            return item["Item"]["value"]["S"]

        before = stored_watermark()
        sim.mutate("CUSTOMER", updates=5)
        pipeline.stack.crashes["FinaliseExportFunction"] = {2}  # the incremental run's finalise crashes
        failed = pipeline.export({"object": "CUSTOMER", "fields": FIELDS, "mode": "incremental"})
        assert failed.status == "FAILED"
        assert stored_watermark() == before


def test_entity_export_holds_only_that_entitys_records(make_sim, tmp_path):
    sim = make_sim(records=3000, seed=13)
    options = RunOptions(page_size=500, concurrency=2, quiet=True)
    with local_pipeline(options, sim=sim, function_env=FAST) as pipeline:
        result = pipeline.export({"object": "CUSTOMER", "fields": FIELDS, "entity": "UK"})
        records = exported(pipeline, tmp_path, result.run_id)
    assert result.status == "SUCCEEDED", result.error
    assert result.manifest["entity"] == "UK"
    # Then it holds the entity's own records and the top-level ones not restricted to the top level, as an
    # entity session sees them
    assert {r["MEGAENTITYID"] for r in records} == {"UK", None}
    shared = {
        r["RECORDNO"]
        for r in sim.records("CUSTOMER")
        if not r["MEGAENTITYID"] and r["OBJECTRESTRICTION"] not in ("RootOnly", "Restricted")
    }
    assert key_set(records) == key_set(sim.records("CUSTOMER", entity="UK")) | shared


def test_two_exports_at_once_stay_within_the_tenant_concurrency_limit(make_sim):
    # Given a tenant that answers 429 beyond 2 concurrent calls, and a little latency so calls overlap
    sim = make_sim(records=8000, seed=14, concurrency_limit=2, latency_ms=40)
    options = RunOptions(page_size=500, concurrency=2, quiet=True)
    with local_pipeline(options, sim=sim, function_env=FAST) as pipeline:
        results = {}

        def run(obj):
            results[obj] = pipeline.export({"object": obj, "fields": ["RECORDNO", "NAME", "WHENMODIFIED"]})

        threads = [threading.Thread(target=run, args=(o,)) for o in ("CUSTOMER", "VENDOR")]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    # Then both complete, Intacct never saw more than 2 calls at once, and never answered 429
    assert all(r.status == "SUCCEEDED" for r in results.values()), [r.error for r in results.values()]
    stats = sim.stats()
    assert stats["peak_concurrency"] <= 2
    assert stats["responses_by_status"].get("429", 0) == 0


def test_a_run_over_the_monthly_budget_is_refused_before_it_spends_much(make_sim):
    sim = make_sim(records=10_000, seed=15)
    options = RunOptions(page_size=500, concurrency=2, quiet=True)
    with local_pipeline(
        options, sim=sim, function_env={**FAST, "MONTHLY_TRANSACTION_BUDGET": "10"}
    ) as pipeline:
        result = pipeline.export({"object": "CUSTOMER", "fields": FIELDS})
    assert result.status == "FAILED"
    assert "BudgetExceededError" in result.error and "monthly budget of 10" in result.error
    assert sim.stats()["transactions_by_function"].get("query", 0) == 1  # only the page that told the size


def test_catalogue_defaults_choose_fields_and_filter(make_sim, tmp_path):
    # Given a catalogue whose CUSTOMER entry exports four fields of active customers only
    catalogue = [
        {
            "object": "CUSTOMER",
            "fields": ["RECORDNO", "NAME", "STATUS", "WHENMODIFIED"],
            "filter": {"field": "STATUS", "op": "equalto", "value": "active"},
        }
    ]
    sim = make_sim(records=3000, seed=16)
    env = {**FAST, "EXPORT_OBJECTS": json.dumps(catalogue)}
    with local_pipeline(RunOptions(page_size=500, quiet=True), sim=sim, function_env=env) as pipeline:
        # When an export names only the object
        result = pipeline.export({"object": "CUSTOMER"})
        records = exported(pipeline, tmp_path, result.run_id)
    # Then it holds exactly the active customers, with exactly the catalogue's fields (and the metadata
    # columns), and one lookup was spent, for the fields' types
    assert result.status == "SUCCEEDED", result.error
    active = {r["RECORDNO"] for r in sim.records("CUSTOMER") if r["STATUS"] == "active"}
    assert key_set(records) == active and 0 < len(active) < 3000
    fields = {"RECORDNO", "NAME", "STATUS", "WHENMODIFIED", "_sdc_run_id", "_sdc_extracted_at"}
    assert {frozenset(r) for r in records} == {frozenset(fields)}
    assert sim.stats()["transactions_by_function"]["lookup"] == 1
