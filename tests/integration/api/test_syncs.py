"""POST /exports with "objects" starts a sync (once per request); GET /syncs/{id} reports it."""

from __future__ import annotations

import json
import time

from intacct_sync.export import layout
from tests.conftest import load_event
from tests.integration.api.conftest import BUCKET


def sync_input(api, name):
    arn = api.sync_machine_arn.replace(":stateMachine:", ":execution:") + f":{name}"
    return json.loads(api.sfn.describe_execution(executionArn=arn)["input"])


def test_a_sync_request_starts_the_sync_workflow_once_with_the_normalised_request(api):
    # When all objects are asked for (a dry run), twice
    first = api.post({"objects": "all", "dry_run": True})
    again = api.post({"dry_run": True, "objects": "all"})
    # Then one sync execution runs, with the request as the sync workflow takes it, and the repeat says so
    assert first.status == 202 and first.body["created"] is True
    sync_id = first.body["sync_id"]
    assert sync_id.startswith("sync-") and first.body["request"] == {"objects": "all", "dry_run": True}
    assert first.headers["location"] == first.body["status_url"]
    assert first.body["status_url"].endswith(f"/dev/syncs/{sync_id}")
    assert (again.status, again.body["sync_id"], again.body["created"]) == (202, sync_id, False)
    assert again.headers["idempotent-replayed"] == "true"
    assert sync_input(api, sync_id) == {"objects": "all", "dry_run": True}
    assert api.executions() == []  # no export started by the API itself


def test_a_sync_of_some_objects_names_them_as_the_catalogue_spells_them(api):
    started = api.post({"objects": ["vendor", "customer"], "mode": "full"}, Idempotency_Key="k-1")
    assert started.status == 202 and started.body["sync_id"].startswith("sync-key-")
    assert sync_input(api, started.body["sync_id"]) == {"objects": ["VENDOR", "CUSTOMER"], "mode": "full"}
    # the same key for another request is a conflict, not a second sync
    reused = api.post({"objects": ["vendor"]}, Idempotency_Key="k-1")
    assert reused.status == 409 and reused.body["error"] == "idempotency_key_reused"


def test_the_sample_event_asks_for_a_plan_of_everything(api):
    answer = api.send(load_event("api_post_sync_plan"))
    assert answer.status == 202 and answer.body["request"] == {"objects": "all", "dry_run": True}


def test_bad_sync_requests_are_refused_naming_the_problem(api):
    cases = [
        ({"objects": ["CUSTOMER", "PODOCUMENT"]}, "unknown_object", "PODOCUMENT not in the catalogue"),
        ({"objects": "all", "object": "CUSTOMER"}, "invalid_request", "not both"),
        ({"objects": "everything"}, "invalid_request", 'objects must be "all", "due" or a non-empty list'),
        ({"objects": "all", "dry_run": "yes"}, "invalid_request", "dry_run must be true"),
        ({"resume_sync_id": "x", "dry_run": True}, "invalid_request", "give it alone"),
    ]
    for body, code, words in cases:
        answer = api.post(body)
        assert answer.status == 400 and answer.body["error"] == code, (body, answer.body)
        assert words in answer.body["message"], (body, answer.body)
    assert api.sfn.list_executions(stateMachineArn=api.sync_machine_arn)["executions"] == []


def test_a_running_sync_reports_each_objects_run_and_an_ended_one_its_summary(api):
    sync_id = api.post({"objects": "all"}).body["sync_id"]
    # Given the sync's first step wrote its objects: one has ended, one runs, one has not started
    document = {
        "sync_id": sync_id,
        "status": "running",
        "objects": [
            {"object": "CUSTOMER", "run_id": "customer-sync-1", "execution": "customer-sync-1", "input": {}},
            {"object": "VENDOR", "run_id": "vendor-sync-1", "execution": "vendor-sync-1", "input": {}},
            {"object": "CLASS", "run_id": "class-sync-1", "execution": "class-sync-1", "input": {}},
        ],
    }
    api.s3.put_object(Bucket=BUCKET, Key=layout.sync_key(sync_id), Body=json.dumps(document).encode())
    api.put_manifest("VENDOR", "vendor-sync-1", status="failed", settled_at="2026-11-24T02:00:00+00:00")
    api.state.record_run("customer-sync-1", {"transactions": 3, "pages": 2, "records": 4000})
    # Then GET /syncs/{id} says where each is
    answer = api.get(f"/syncs/{sync_id}")
    assert answer.status == 200 and answer.body["status"] == "RUNNING" and answer.body["sync"] == "running"
    objects = {o["object"]: o for o in answer.body["objects"]}
    assert objects["CUSTOMER"]["status"] == "running" and objects["CUSTOMER"]["records"] == 4000
    assert objects["VENDOR"]["status"] == "failed"
    assert objects["CLASS"]["status"] == "pending"
    # And once the sync has written its summary, that is what it reports
    summary = [{"object": "CUSTOMER", "status": "succeeded", "records": 4000, "transactions": 3}]
    finished = {**document, "status": "failed", "results": summary, "totals": {"failed": ["VENDOR"]}}
    api.s3.put_object(Bucket=BUCKET, Key=layout.sync_key(sync_id), Body=json.dumps(finished).encode())
    answer = api.get(f"/syncs/{sync_id}")
    assert answer.body["objects"] == summary and answer.body["totals"] == {"failed": ["VENDOR"]}


def test_unknown_and_malformed_sync_ids(api):
    missing = api.get("/syncs/sync-20261124-nothing")
    assert missing.status == 404 and missing.body["error"] == "sync_not_found"
    bad = api.get("/syncs/not%20a%20name")
    assert bad.status == 400 and bad.body["error"] == "invalid_sync_id"
    assert api.request("POST", "/syncs/x").status == 405


def test_the_sample_get_event_asks_for_a_sync_by_id(api):
    event = load_event("api_get_sync")
    answer = api.send(event)
    assert answer.status == 404 and event["pathParameters"]["id"] in answer.body["message"]


def test_a_sync_stopped_before_it_finished_is_reported_stopped(api):
    # Given a sync whose objects had not all ended when its execution was stopped (StopExecution)
    sync_id = api.post({"objects": "all"}).body["sync_id"]
    document = {
        "sync_id": sync_id,
        "status": "running",
        "objects": [
            {"object": "CUSTOMER", "run_id": "customer-sync-2", "execution": "customer-sync-2", "input": {}},
            {"object": "VENDOR", "run_id": "vendor-sync-2", "execution": "vendor-sync-2", "input": {}},
        ],
    }
    api.s3.put_object(Bucket=BUCKET, Key=layout.sync_key(sync_id), Body=json.dumps(document).encode())
    api.put_manifest("VENDOR", "vendor-sync-2", settled_at="2026-11-24T02:00:00+00:00")
    arn = api.sync_machine_arn.replace(":stateMachine:", ":execution:") + f":{sync_id}"
    api.sfn.stop_execution(executionArn=arn)
    # Then the sync is stopped, not running for good: what ended as it ended, the others stopped
    answer = api.get(f"/syncs/{sync_id}")
    assert answer.body["status"] == "ABORTED" and answer.body["sync"] == "stopped", answer.body
    assert {o["object"]: o["status"] for o in answer.body["objects"]} == {
        "CUSTOMER": "stopped",
        "VENDOR": "succeeded",
    }


def test_a_sync_of_due_objects_that_found_none_says_so(running_api):
    sync_id = running_api.post({"objects": "due"}).body["sync_id"]
    # (the stand-in sync workflow succeeds at once and writes no document, as a sync with nothing due)
    arn = running_api.sync_machine_arn.replace(":stateMachine:", ":execution:") + f":{sync_id}"
    while running_api.sfn.describe_execution(executionArn=arn)["status"] == "RUNNING":
        time.sleep(0.05)
    answer = running_api.get(f"/syncs/{sync_id}")
    assert answer.body["sync"] == "nothing_due" and "frequency" in answer.body["reason"], answer.body


def test_all_and_due_are_accepted_in_any_case(api):
    assert api.post({"objects": "ALL"}).body["request"] == {"objects": "all"}
    assert api.post({"objects": "Due"}).body["request"] == {"objects": "due"}


def test_a_rerun_of_a_sync_that_does_not_exist_or_exported_nothing_is_refused_before_it_starts(api):
    missing = api.post({"resume_sync_id": "sync-nope"})
    assert missing.status == 404 and missing.body["error"] == "sync_not_found"
    assert "sync-nope" in missing.body["message"]
    # a dry run exported nothing: there is nothing to rerun
    plan = {"sync_id": "sync-plan", "status": "planned", "objects": [], "plan": {}}
    api.s3.put_object(Bucket=BUCKET, Key=layout.sync_key("sync-plan"), Body=json.dumps(plan).encode())
    planned = api.post({"resume_sync_id": "sync-plan"})
    assert planned.status == 400 and "dry run" in planned.body["message"], planned.body
    assert api.sfn.list_executions(stateMachineArn=api.sync_machine_arn)["executions"] == []
