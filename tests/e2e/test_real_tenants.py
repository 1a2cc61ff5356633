"""Exports against a simulator that behaves as real tenants do (docs/intacct/PROTOCOL.md §9): the API user's
date and time preferences, records never modified, AUDITHISTORY as it is, entity-owned records, fields lookup
lists but query refuses, outages inside HTTP 200, and changes a run cannot account for. Every kind runs
through the real state machine; the right value comes from the simulator's own records."""

from __future__ import annotations

import gzip
import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import boto3
import pytest

from intacct_local.runner import LocalPipeline, RunOptions, local_pipeline, mirror_bucket
from intacct_sync.export import layout
from intacct_sync.export.window import TenantTime
from intacct_sync.intacct import DateFormat
from tests.e2e.conftest import landed_records

pytestmark = pytest.mark.e2e
FIELDS = ["RECORDNO", "CUSTOMERID", "NAME", "WHENCREATED", "WHENMODIFIED", "MEGAENTITYID"]
FAST = {"INTACCT_RETRY_BASE_DELAY_MS": "5"}
ZONE = "America/Los_Angeles"


def parts(
    pipeline: LocalPipeline, tmp_path: Path, run_id: str, prefix: str = "exports"
) -> list[dict[str, Any]]:
    mirror_bucket(pipeline.stack, tmp_path)
    rows: list[dict[str, Any]] = []
    for folder in (tmp_path / prefix).glob(f"object=*/run_id={run_id}"):
        for part in sorted(folder.glob("part-*.ndjson.gz")):
            rows.extend(json.loads(line) for line in gzip.decompress(part.read_bytes()).decode().splitlines())
    for row in rows:  # keys as the simulator renders them (typed records hold RECORDNO as an integer)
        if row.get("RECORDNO") is not None:
            row["RECORDNO"] = str(row["RECORDNO"])
    return rows


def changed_at(record: dict[str, Any], time: TenantTime) -> datetime:
    return time.to_utc(record["WHENMODIFIED"] or record["WHENCREATED"])


@pytest.mark.parametrize(
    ("date_format", "clock", "filter_dates"),
    [
        ("/dmY", 24, "standard"),
        ("/dmY", 24, "user"),
        ("-Ymd", 12, "user"),
        ("/mdY", 12, "standard"),
        (" dmY", 12, "user"),  # a space is a separator too
    ],
)
def test_dates_in_the_users_preferences_give_the_right_watermark_and_window(
    make_sim, tmp_path, date_format, clock, filter_dates
):
    # Given an API user who writes dates as date_format on a clock-hour clock, and a gateway that reads
    # filter values in the standard form or in the user's
    sim = make_sim(records=1500, seed=31)
    sim.configure(date_format=date_format, clock=clock, filter_date_format=filter_dates)
    time = TenantTime(DateFormat.of(date_format, clock), zone=ZONE)
    with local_pipeline(
        RunOptions(page_size=500, quiet=True, timezone=ZONE), sim=sim, function_env=FAST
    ) as p:
        # When a full export runs
        full = p.export({"object": "CUSTOMER", "fields": FIELDS})
        assert full.status == "SUCCEEDED", full.error
        # Then its watermark is the newest change, read in the user's format (never misread as m/d)
        newest = max(changed_at(r, time) for r in sim.records("CUSTOMER"))
        assert datetime.fromisoformat(full.manifest["window"]["watermark_after"]) == newest
        assert full.manifest["dates"]["output"] == f"{date_format} {clock}"
        # And an incremental run after changes reads them, and only a window's worth
        changed = sim.mutate("CUSTOMER", updates=5, inserts=2)
        inc = p.export({"object": "CUSTOMER", "fields": FIELDS, "mode": "incremental"})
        assert inc.status == "SUCCEEDED", inc.error
        keys = {r["RECORDNO"] for r in parts(p, tmp_path, inc.run_id)}
    assert {str(k) for k in changed["updated"] + changed["inserted"]} <= keys
    assert len(keys) < 1500


def test_a_date_format_that_cannot_be_read_is_refused_before_the_first_page(make_sim):
    sim = make_sim(records=300, seed=32)
    sim.configure(date_format="/mdy")  # two-digit years
    with local_pipeline(RunOptions(page_size=100, quiet=True), sim=sim, function_env=FAST) as p:
        result = p.export({"object": "CUSTOMER", "fields": FIELDS})
    assert result.status == "FAILED"
    assert "UnreadableFormattingError" in result.error and "My Preferences: Date format" in result.error
    assert "query" not in sim.stats()["transactions_by_function"]  # refused before any page


def test_an_incremental_run_picks_up_records_created_and_never_modified(make_sim, tmp_path):
    sim = make_sim(records=1200, seed=33)
    with local_pipeline(
        RunOptions(page_size=500, quiet=True, timezone=ZONE), sim=sim, function_env=FAST
    ) as p:
        full = p.export({"object": "CUSTOMER", "fields": FIELDS})
        assert full.status == "SUCCEEDED", full.error
        assert any(not r["WHENMODIFIED"] for r in parts(p, tmp_path, full.run_id))  # real tenants have them
        # Given a customer created after the full run and never modified (WHENMODIFIED empty)
        now = datetime.now(UTC).astimezone(TenantTime(zone=ZONE).tz)
        key = sim.upsert(
            "CUSTOMER",
            {"NAME": "Never Modified Ltd", "WHENMODIFIED": "", "WHENCREATED": f"{now:%m/%d/%Y %H:%M:%S}"},
        )
        inc = p.export({"object": "CUSTOMER", "fields": FIELDS, "mode": "incremental"})
        assert inc.status == "SUCCEEDED", inc.error
        rows = {r["RECORDNO"]: r for r in parts(p, tmp_path, inc.run_id)}
    assert str(key) in rows and rows[str(key)]["WHENMODIFIED"] is None


@pytest.mark.parametrize("audit_objectkey", ["name", "rec"])
def test_deletes_become_tombstones_of_the_deleted_records(make_sim, tmp_path, audit_objectkey):
    # Given AUDITHISTORY naming deleted records by CUSTOMERID (the object's unique name) or <RECORDNO>--REC
    sim = make_sim(records=1500, seed=34, audit_objectkey=audit_objectkey)
    with local_pipeline(RunOptions(page_size=500, quiet=True), sim=sim, function_env=FAST) as p:
        full = p.export({"object": "CUSTOMER", "fields": FIELDS})
        ids = {r["RECORDNO"]: r["CUSTOMERID"] for r in parts(p, tmp_path, full.run_id)}
        deleted = [str(k) for k in sim.mutate("CUSTOMER", deletes=4)["deleted"]]
        inc = p.export({"object": "CUSTOMER", "fields": FIELDS, "mode": "incremental"})
        tombstones = parts(p, tmp_path, inc.run_id, prefix="deletes")
    assert inc.status == "SUCCEEDED", inc.error
    if audit_objectkey == "rec":
        assert {t["RECORDNO"] for t in tombstones} == set(deleted)
    else:
        assert {t["CUSTOMERID"] for t in tombstones} == {ids[k] for k in deleted}
        assert all(t["RECORDNO"] is None for t in tombstones)  # never an OBJECTKEY written as a key
    assert inc.manifest["deletes"] == {**inc.manifest["deletes"], "records": 4, "unmapped": 0}


def test_deletions_named_by_nothing_the_export_has_are_counted_and_warned_never_written(make_sim, tmp_path):
    # Given a catalogue that does not say CUSTOMER's id field, and AUDITHISTORY naming records by CUSTOMERID
    sim = make_sim(records=800, seed=35)
    env = {**FAST, "EXPORT_OBJECTS": json.dumps([{"object": "CUSTOMER"}])}
    with local_pipeline(RunOptions(page_size=400, quiet=True), sim=sim, function_env=env) as p:
        assert p.export({"object": "CUSTOMER", "fields": FIELDS}).status == "SUCCEEDED"
        sim.mutate("CUSTOMER", deletes=3)
        inc = p.export({"object": "CUSTOMER", "fields": FIELDS, "mode": "incremental"})
        tombstones = parts(p, tmp_path, inc.run_id, prefix="deletes")
    assert inc.status == "SUCCEEDED", inc.error
    assert tombstones == [] and inc.manifest["deletes"]["unmapped"] == 3
    (warning,) = [w for w in inc.manifest["warnings"] if "3 deletions in AUDITHISTORY" in w]
    # naming an example, what it means for the view, and the catalogue change that maps them
    assert "id_field of CUSTOMER" in warning and "customer_current until the next full run" in warning
    assert any(repr(name) in warning for name in inc.manifest["deletes"]["unmapped_examples"])


def test_top_level_exports_include_entity_owned_records_unless_asked_not_to(make_sim, tmp_path):
    sim = make_sim(records=1000, seed=36)
    everything = {r["RECORDNO"] for r in sim.records("CUSTOMER")}
    top_level = {r["RECORDNO"] for r in sim.records("CUSTOMER") if not r["MEGAENTITYID"]}
    assert 0 < len(top_level) < len(everything)
    with local_pipeline(RunOptions(page_size=300, quiet=True), sim=sim, function_env=FAST) as p:
        with_private = p.export({"object": "CUSTOMER", "fields": FIELDS})
        without = p.export({"object": "CUSTOMER", "fields": FIELDS, "show_private": False})
        assert with_private.status == without.status == "SUCCEEDED"
        assert {r["RECORDNO"] for r in parts(p, tmp_path, with_private.run_id)} == everything
        assert {r["RECORDNO"] for r in parts(p, tmp_path, without.run_id)} == top_level


def test_credentials_with_an_entity_scope_the_run_to_that_entity(make_sim, monkeypatch):
    # Given credentials (the secret's entity_id) that log in to the UK entity, reached as a real gateway
    from intacct_sim.process import SIM_ENV

    sim = make_sim(records=600, seed=40)
    for name, value in {**SIM_ENV, "INTACCT_ENTITY_ID": "UK"}.items():
        monkeypatch.setenv(name, value)
    options = RunOptions(page_size=300, quiet=True, gateway_url=sim.url)
    with local_pipeline(options, function_env=FAST) as p:
        # When an export names no entity
        result = p.export({"object": "CUSTOMER", "fields": FIELDS})
        items = boto3.client("dynamodb", region_name="us-east-1").scan(TableName=p.stack.table)["Items"]
        landed = {str(r["RECORDNO"]) for r in landed_records(p, "CUSTOMER", result.run_id)}
    # Then it is UK's export: UK's records, scoped to UK (never the top level's watermark or views)
    assert result.status == "SUCCEEDED", result.error
    assert result.manifest["entity"] == "UK"
    # (an entity sees its own records and the top level's shared with entities)
    shared = ("", None)
    visible = {
        r["RECORDNO"]
        for r in sim.records("CUSTOMER")
        if r["MEGAENTITYID"] == "UK"
        or (r["MEGAENTITYID"] in shared and r.get("OBJECTRESTRICTION") not in ("RootOnly", "Restricted"))
    }
    assert landed == visible
    watermarks = {item["pk"]["S"] for item in items if item["pk"]["S"].startswith("watermark#")}
    assert watermarks and all("UK" in pk for pk in watermarks), watermarks


def test_a_real_gateway_without_a_zone_is_read_at_the_users_gmtoffset(make_sim, monkeypatch):
    # Given a tenant in Berlin reached as a real gateway, and no --timezone (TenantTimezone left empty)
    from intacct_sim.process import SIM_ENV

    sim = make_sim(records=200, seed=41, timezone="Europe/Berlin")
    for name, value in SIM_ENV.items():
        monkeypatch.setenv(name, value)
    with local_pipeline(RunOptions(page_size=100, quiet=True, gateway_url=sim.url), function_env=FAST) as p:
        result = p.export({"object": "CUSTOMER", "fields": FIELDS})
    # Then its times are read at the offset Intacct gave for the user, never the simulator's default zone
    assert result.status == "SUCCEEDED", result.error
    assert result.manifest["dates"]["zone"] not in ("America/Los_Angeles", "", None), result.manifest["dates"]
    assert "+01" in result.manifest["dates"]["zone"] or "+02" in result.manifest["dates"]["zone"]


def test_fields_lookup_lists_but_query_refuses_are_dropped_retried_once_and_listed(make_sim, tmp_path):
    # Given PROJECT, whose lookup lists 10 fields this tenant's query refuses (the recorded failure)
    sim = make_sim(records=1000, seed=37)
    refused = set(sim.config.refused_fields["PROJECT"])
    with local_pipeline(RunOptions(page_size=500, quiet=True), sim=sim, function_env=FAST) as p:
        # When every field of it is exported
        result = p.export({"object": "PROJECT"})
        rows = parts(p, tmp_path, result.run_id)
        cached = json.loads(
            boto3.client("s3")
            .get_object(Bucket=p.stack.bucket, Key=layout.field_cache_key("PROJECT", None))["Body"]
            .read()
        )
        # And a request that names a refused field itself fails, naming it
        named = p.export({"object": "PROJECT", "fields": ["RECORDNO", "CFDA"]})
    # Then the export succeeds without them, and the manifest and the cached field list say which
    assert result.status == "SUCCEEDED", result.error
    assert len(rows) == len(sim.records("PROJECT")) and not refused & set(rows[0])
    assert set(result.manifest["details"]["refused_fields"]) == refused
    assert set(cached["refused"]) == refused and not refused & set(cached["fields"])
    assert named.status == "FAILED" and "CFDA" in named.error and "refuses these fields" in named.error


@pytest.mark.parametrize("kind", ["service_offline", "try_again_later"])
def test_outages_inside_http_200_are_retried_like_a_5xx(make_sim, tmp_path, kind):
    sim = make_sim(records=1000, seed=38)
    with local_pipeline(RunOptions(page_size=250, quiet=True), sim=sim, function_env=FAST) as p:
        p.export({"object": "CUSTOMER", "fields": FIELDS})  # a session is cached
        sim.reset_stats()
        sim.set_faults([{"kind": kind, "function": "query", "on_calls": [2, 3]}])
        result = p.export({"object": "CUSTOMER", "fields": FIELDS})
        rows = parts(p, tmp_path, result.run_id)
    assert result.status == "SUCCEEDED", result.error
    assert sorted(r["RECORDNO"] for r in rows) == sorted(r["RECORDNO"] for r in sim.records("CUSTOMER"))
    assert sim.stats()["faults_injected"] == {kind: 2}
    assert result.manifest["intacct_transactions"] == sim.stats()["transactions"] == 4  # outages cost nothing


def test_deletes_during_a_full_run_without_audithistory_succeed_unverified_or_fail_when_strict(make_sim):
    # Given a user who may not read AUDITHISTORY, and records deleted while the export runs
    for strict in ("false", "true"):
        sim = make_sim(records=3000, seed=39, denied_objects=["AUDITHISTORY"])
        sim.configure(mutations_per_query=[{"object": "CUSTOMER", "deletes": 20}])
        env = {**FAST, "STRICT_RECONCILIATION": strict}
        with local_pipeline(RunOptions(page_size=500, quiet=True), sim=sim, function_env=env) as p:
            result = p.export({"object": "CUSTOMER", "fields": FIELDS})
        manifest = result.manifest
        if strict == "true":
            assert result.status == "FAILED" and manifest["status"] == "failed"
            continue
        # Then the run succeeds, its manifest saying plainly the count could not be verified
        assert result.status == "SUCCEEDED", result.error
        assert manifest["reconciled"] is True and manifest["count_verified"] is False
        assert any("count is not verified" in w for w in manifest["warnings"])
        assert manifest["total_count"] == 3000 and manifest["records_written"] < 3000
