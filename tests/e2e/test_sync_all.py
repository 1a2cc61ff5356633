"""One sync of everything: the real sync workflow running the real export workflow once per object, on
emulated AWS against the simulator. Every object lands within the tenant's cap, a failed object leaves the
others complete, a rerun resumes only what failed, a dry run says what a full sync costs, a run that
continues in new executions is followed to its end, and a sync without credentials skips, saying so."""

from __future__ import annotations

import io
import json
import re
import time
from typing import Any

import boto3
import pytest

from intacct_local.emulated_aws import REGION, local_aws
from intacct_local.runner import SIM_CREDENTIALS, RunOptions
from intacct_local.sync_run import SyncResult, run_sync, summary_table, what_happened
from intacct_local.terminal import StopRequest
from intacct_sync.export import layout
from intacct_sync.export.events import SYNC_COMPLETED
from intacct_sync.objects import DEFAULT_OBJECTS
from tests.e2e.conftest import EventTap, exported_records

pytestmark = pytest.mark.e2e
OBJECTS = tuple(o.name for o in DEFAULT_OBJECTS)  # the default catalogue
FAST = {"INTACCT_RETRY_BASE_DELAY_MS": "5"}
# A smaller catalogue, for what does not need every object
THREE = ("CUSTOMER", "VENDOR", "GLACCOUNT")
THREE_ONLY = {**FAST, "EXPORT_OBJECTS": json.dumps(list(THREE))}


def options(tmp_path: Any, **given: Any) -> RunOptions:
    return RunOptions(**{"page_size": 100, "concurrency": 2, "quiet": True, "out": tmp_path, **given})


def test_a_sync_of_the_catalogue_lands_every_object_within_the_tenant_cap(make_sim, tmp_path):
    # Given a tenant that answers 429 past two calls in flight, with objects of several pages each, so
    # that the objects' exports together would want more calls in flight than the tenant allows
    sim = make_sim(records=400, seed=21, concurrency_limit=2, latency_ms=20)
    # When every catalogue object is synced, two objects at a time, each in two segments
    env = {**FAST, "SYNC_OBJECT_CONCURRENCY": "2"}
    result = run_sync(options(tmp_path), {"objects": "all"}, sim=sim, function_env=env)
    # Then each object landed completely, from its own run and manifest
    assert result.status == "SUCCEEDED" and result.document["status"] == "succeeded", result.document
    outcomes = {o["object"]: o for o in result.document["results"]}
    assert set(outcomes) == set(OBJECTS)
    for name in OBJECTS:
        source = {r["RECORDNO"] for r in sim.records(name)}
        landed = exported_records(tmp_path, name, outcomes[name]["run_id"])
        assert {str(r["RECORDNO"]) for r in landed} == source and len(landed) == len(source), name
        manifest = json.loads((tmp_path / outcomes[name]["manifest_key"]).read_text())
        assert manifest["reconciled"] is True and manifest["settled_at"]
        assert outcomes[name]["records"] == len(source) and outcomes[name]["mode"] == "incremental"
    # And the tenant's cap held across the objects: never more than two calls in flight, no 429
    stats = sim.stats()
    assert stats["peak_concurrency"] <= 2 and "429" not in stats["responses_by_status"], stats
    # And the summary counts what the gateway saw
    totals = result.document["totals"]
    assert totals["objects_succeeded"] == len(OBJECTS) and totals["failed"] == []
    assert totals["records"] == sum(len(sim.records(n)) for n in OBJECTS)
    assert totals["transactions"] == stats["transactions"] == result.transactions_seen_by_gateway
    assert what_happened(result, str(tmp_path)) is None
    assert f"{len(OBJECTS)} objects synced" in summary_table(result)


def test_a_failed_object_leaves_the_others_complete_and_a_rerun_resumes_only_it(make_sim, tmp_path):
    # Given a user without permission to query vendors (Intacct answers PL04000005, as recorded)
    sim = make_sim(records=300, seed=22, concurrency_limit=2, denied_objects=["VENDOR"])
    first = run_sync(options(tmp_path), {"objects": "all"}, sim=sim, function_env=THREE_ONLY)
    # Then the sync ends with the others complete, and its summary names the one that failed and why
    document = first.document
    assert first.status == "SUCCEEDED" and document["status"] == "failed"
    outcomes = {o["object"]: o for o in document["results"]}
    assert [n for n in THREE if outcomes[n]["status"] == "succeeded"] == ["CUSTOMER", "GLACCOUNT"]
    assert document["totals"]["failed"] == ["VENDOR"] and document["totals"]["objects_succeeded"] == 2
    assert "PL04000005" in outcomes["VENDOR"]["error"]["cause"]
    assert outcomes["CUSTOMER"]["records"] == 300 and outcomes["GLACCOUNT"]["records"] == 15
    hint = what_happened(first, str(tmp_path))
    assert hint is not None and f"--resume-sync {first.sync_id}" in hint and "VENDOR" in hint
    # When the permission is granted and only what failed is rerun
    sim.configure(denied_objects=[])
    lines = io.StringIO()
    rerun = run_sync(
        options(tmp_path), {"resume_sync_id": first.sync_id}, lines, sim=sim, function_env=THREE_ONLY
    )
    # Then only VENDOR ran, resuming its own run (same run id), and the others count as synced earlier
    assert rerun.document["status"] == "succeeded", rerun.document
    (vendor,) = rerun.document["results"]
    assert vendor["object"] == "VENDOR" and vendor["run_id"] == outcomes["VENDOR"]["run_id"]
    assert vendor["records"] == 300
    earlier = {o["object"]: o["sync_id"] for o in rerun.document["earlier"]}
    assert earlier == {"CUSTOMER": first.sync_id, "GLACCOUNT": first.sync_id}
    assert rerun.document["totals"]["objects_synced_earlier"] == ["CUSTOMER", "GLACCOUNT"]
    # (the vendors, and at most the API user's record a new login reads: no customer or account again)
    assert 300 <= sim.stats()["records_returned"] < 315
    assert sim.stats()["transactions"] == rerun.document["totals"]["transactions"]  # this sync's own
    # And its progress line counts what this sync spent on VENDOR, as its table row does
    spent = re.search(r"ok +VENDOR .* (\d+) Intacct transactions", lines.getvalue())
    assert spent and int(spent.group(1)) == vendor["transactions"], lines.getvalue()


def test_a_dry_run_counts_each_object_and_says_what_a_full_sync_costs(make_sim, tmp_path):
    sim = make_sim(records=450, seed=23, denied_objects=["GLACCOUNT"])
    budget = {**THREE_ONLY, "MONTHLY_TRANSACTION_BUDGET": "12"}
    result = run_sync(options(tmp_path), {"objects": "all", "dry_run": True}, sim=sim, function_env=budget)
    plan = result.document["plan"]
    assert result.document["status"] == "planned"
    by_object = {o["object"]: o for o in plan["objects"]}
    # One count per object: 450 records at 100 a page is 5 pages, plus the lookup nobody has cached
    assert by_object["CUSTOMER"]["records"] == 450 and by_object["CUSTOMER"]["pages"] == 5
    assert (
        by_object["CUSTOMER"]["full_sync_transactions"] == 6 == by_object["VENDOR"]["full_sync_transactions"]
    )
    # An object Intacct will not let us read says why (the sync would fail it too)
    assert by_object["GLACCOUNT"]["records"] is None and "PL04000005" in by_object["GLACCOUNT"]["error"]
    totals = plan["totals"]
    stats = sim.stats()
    assert stats["transactions_by_function"]["query"] == 3  # the counts; nothing exported
    assert totals["plan_transactions"] == stats["transactions"] == totals["month_transactions_used"]
    assert totals["full_sync_transactions"] == 12 and totals["monthly_budget"] == 12
    assert totals["fits_budget"] is False  # what counting used leaves less than 12
    assert not (tmp_path / "exports").exists()
    assert "does NOT fit" in summary_table(result)


def test_an_object_whose_run_continues_in_new_executions_is_followed_to_its_end(make_sim, tmp_path):
    # Given a history budget so small that CUSTOMER's run goes on in several executions
    sim = make_sim(records=2600, seed=24)
    env = {**FAST, "HISTORY_EVENT_BUDGET": "200"}
    result = run_sync(options(tmp_path, page_size=10), {"objects": ["CUSTOMER"]}, sim=sim, function_env=env)
    # Then the sync waited for the last of them: the object's run succeeded with every record
    (outcome,) = result.document["results"]
    assert outcome["status"] == "succeeded" and outcome["records"] == 2600, outcome
    manifest = json.loads((tmp_path / outcome["manifest_key"]).read_text())
    assert manifest["reconciled"] is True and manifest["execution"] != outcome["run_id"]


def test_a_sync_without_credentials_skips_and_says_why():
    # Given a stack whose credentials secret was created empty (as the template creates it)
    empty = {"sender_id": "", "company_id": "", "user_id": "", "sender_password": "", "user_password": "x"}
    with local_aws(empty, {"GatewayUrl": "http://127.0.0.1:9/ia/xml/xmlgw.phtml"}, FAST) as stack:
        tap = EventTap()
        sfn = boto3.client("stepfunctions", region_name=REGION)
        arn = stack.start_sync({"objects": "all"}, name="sync-without-credentials")
        while (described := sfn.describe_execution(executionArn=arn))["status"] == "RUNNING":
            time.sleep(0.05)
        # Then the sync succeeded without starting any export, its document and event naming what is missing
        assert described["status"] == "SUCCEEDED"
        assert sfn.list_executions(stateMachineArn=stack.state_machine_arn)["executions"] == []
        key = layout.sync_key("sync-without-credentials")
        document = json.loads(boto3.client("s3").get_object(Bucket=stack.bucket, Key=key)["Body"].read())
        assert document["status"] == "skipped" and "sender_id" in document["reason"]
        (event,) = tap.of_type(SYNC_COMPLETED)
        assert event["detail"]["status"] == "skipped" and "sender_id" in event["detail"]["reason"]


def test_a_sync_of_due_objects_syncs_those_whose_frequency_came_round(make_sim, tmp_path, monkeypatch):
    # Given a catalogue where only VENDOR has a frequency (and a time outside the maintenance window)
    monkeypatch.setattr("intacct_sync.steps.sync.in_maintenance_window", lambda now: False)
    catalogue = json.dumps(["CUSTOMER", {"object": "VENDOR", "frequency": "PT1H"}])
    env = {**FAST, "EXPORT_OBJECTS": catalogue}
    sim = make_sim(records=200, seed=25)
    # When the due schedule fires twice in a row
    first = run_sync(options(tmp_path), {"objects": "due"}, sim=sim, function_env=env)
    again = run_sync(options(tmp_path), {"objects": "due"}, sim=sim, function_env=env)
    # Then the first synced VENDOR only, and the second found nothing due (no document, nothing read)
    assert [o["object"] for o in first.document["results"]] == ["VENDOR"]
    assert again.status == "SUCCEEDED" and again.document == {}
    assert sim.stats()["transactions"] == 0


def test_a_plan_counts_each_object_by_the_key_its_export_would_use(make_sim, tmp_path):
    # Given a catalogue with a user-defined dimension (no RECORDNO: keyed by id), an object whose catalogue
    # key it lacks, and an object whose key Intacct refuses to query
    catalogue = ["CUSTOMER", "SALES_CHANNEL", {"object": "VENDOR", "key_field": "NOPE"}, "GLACCOUNT"]
    sim = make_sim(records=150, seed=26, refused_fields={"GLACCOUNT": ["RECORDNO"]})
    env = {**FAST, "EXPORT_OBJECTS": json.dumps(catalogue)}
    # When a sync of them is planned
    result = run_sync(options(tmp_path), {"objects": "all", "dry_run": True}, sim=sim, function_env=env)
    by_object = {o["object"]: o for o in result.document["plan"]["objects"]}
    # Then the dimension and the object are counted by the key their exports will read them by
    channels = len(sim.records("SALES_CHANNEL"))
    assert by_object["SALES_CHANNEL"]["records"] == channels > 0, by_object["SALES_CHANNEL"]
    assert by_object["VENDOR"]["records"] == 150 == by_object["CUSTOMER"]["records"]
    # And what Intacct refused is said on one line, in the plan and in its table
    error = by_object["GLACCOUNT"]["error"]
    assert by_object["GLACCOUNT"]["records"] is None and "DL02000001" in error and "RECORDNO" in error
    assert "\n" not in error and "\t" not in error
    table = summary_table(result).splitlines()
    assert len(table) == 1 + 1 + len(catalogue) + 2  # title, header, an object a line, total, cost
    # And a standard object cost one count; the others their refused count, a lookup, and a second count
    stats = sim.stats()["transactions_by_function"]
    assert stats["query"] == 1 + 2 + 2 + 1 and stats["lookup"] == 3
    # When the same objects are synced, they export what the plan counted
    synced = run_sync(options(tmp_path), {"objects": ["SALES_CHANNEL", "VENDOR"]}, sim=sim, function_env=env)
    records = {o["object"]: o["records"] for o in synced.document["results"]}
    assert records == {"SALES_CHANNEL": channels, "VENDOR": 150}, synced.document


def test_credentials_intacct_refuses_end_the_sync_after_one_sign_in(make_sim):
    # Given credentials whose password Intacct does not accept
    sim = make_sim(records=100, seed=27)
    wrong = {**SIM_CREDENTIALS, "user_password": "not-the-password"}
    with local_aws(wrong, {"GatewayUrl": sim.url}, FAST) as stack:
        tap = EventTap()
        sfn = boto3.client("stepfunctions", region_name=REGION)
        # When every object is synced
        arn = stack.start_sync({"objects": "all"}, name="sync-refused")
        while (described := sfn.describe_execution(executionArn=arn))["status"] == "RUNNING":
            time.sleep(0.05)
        # Then Intacct saw one sign-in, and no export started
        assert described["status"] == "SUCCEEDED"
        stats = sim.stats()
        assert stats["http_requests"] == 1 and stats["sessions_created"] == 0, stats
        assert sfn.list_executions(stateMachineArn=stack.state_machine_arn)["executions"] == []
        # And the sync failed, its document and its event saying the credentials were refused
        key = layout.sync_key("sync-refused")
        document = json.loads(boto3.client("s3").get_object(Bucket=stack.bucket, Key=key)["Body"].read())
        assert document["status"] == "failed" and document["objects"] == []
        assert document["reason"].startswith(
            "Intacct refused the credentials (AuthenticationError: XL03000006"
        )
        (event,) = tap.of_type(SYNC_COMPLETED)
        assert event["detail"]["status"] == "failed" and event["detail"]["reason"] == document["reason"]
        assert event["detail"]["error"]["error"] == "AuthenticationError"
    # And the summary says why, on one line, and what to check
    result = SyncResult("SUCCEEDED", "sync-refused", document, 1.0)
    assert summary_table(result) == (
        "  sync sync-refused failed before any export: AuthenticationError: XL03000006: Sign-in information "
        "is incorrect"
    )
    line = what_happened(result, "out")
    assert line is not None and "Intacct refused the sign-in" in line and "INTACCT_USER_PASSWORD" in line


def test_a_stopped_sync_says_which_objects_ended_and_a_rerun_finishes_the_others(make_sim, tmp_path):
    # Given a sync of three objects, one at a time, slow enough to stop once the first has ended
    sim = make_sim(records=300, seed=28, latency_ms=30)
    stop = StopRequest()

    class StopAfterTheFirst(io.StringIO):
        def write(self, text: str) -> int:
            if text.startswith("  ok"):
                stop.event.set()
            return super().write(text)

    env = {**THREE_ONLY, "SYNC_OBJECT_CONCURRENCY": "1"}
    stream = StopAfterTheFirst()
    # When it is stopped (as Ctrl-C stops it) after the first object's line
    result = run_sync(options(tmp_path, stop=stop), {"objects": "all"}, stream, sim=sim, function_env=env)
    # Then its document is settled as stopped: the object that ended as it ended, the others stopped
    assert result.stopped and result.document["status"] == "stopped", result.document
    outcomes = {o["object"]: o["status"] for o in result.document["results"]}
    assert sorted(outcomes.values()).count("succeeded") >= 1 and set(outcomes) == set(THREE)
    assert set(outcomes.values()) <= {"succeeded", "stopped"}
    synced = [name for name, status in outcomes.items() if status == "succeeded"]
    assert result.document["totals"]["objects_succeeded"] == len(synced)
    # And the summary lists them, and says how to rerun what did not finish
    table = summary_table(result)
    assert f"stopped: {len(synced)} object{'s' if len(synced) != 1 else ''} synced" in table, table
    assert all(re.search(rf"{name} +incremental +succeeded", table) for name in synced), table
    hint = what_happened(result, str(tmp_path))
    assert hint is not None and f"--resume-sync {result.sync_id}" in hint
    # When what did not finish is rerun
    rerun = run_sync(options(tmp_path), {"resume_sync_id": result.sync_id}, sim=sim, function_env=env)
    # Then the others are synced, and the ones that had ended count as synced earlier
    assert rerun.document["status"] == "succeeded", rerun.document
    assert {o["object"] for o in rerun.document["results"]} == set(THREE) - set(synced)
    assert {o["object"] for o in rerun.document["earlier"]} == set(synced)
