"""GET /exports/{id}: status from Step Functions, progress from the state table, the manifest once ended."""

from __future__ import annotations

import json

from tests.conftest import load_event
from tests.integration.api.conftest import DOMAIN


def test_a_running_export_reports_its_progress_and_no_manifest_yet(api):
    # Given a running export that has fetched 3 pages of 9,000 records and used 4 Intacct transactions
    export_id = api.post({"object": "CUSTOMER", "mode": "full"}).body["export_id"]
    api.state.record_total(export_id, 9000)
    api.state.record_run(export_id, {"pages": 3, "records": 6000})
    api.state.record_transactions(export_id, 4)
    # When its status is asked for
    answer = api.get(f"/exports/{export_id}")
    # Then it is RUNNING with that progress, and no manifest or error
    assert answer.status == 200, answer.body
    body = answer.body
    assert body["export_id"] == export_id and body["status"] == "RUNNING" and body["object"] == "CUSTOMER"
    assert body["progress"] == {"pages": 3, "records": 6000, "total_count": 9000, "intacct_transactions": 4}
    assert body["manifest"] is None and body["error"] is None and body["stopped_at"] is None
    assert body["started_at"] and body["request"]["object"] == "CUSTOMER"
    assert body["status_url"] == f"https://{DOMAIN}/dev/exports/{export_id}"


def test_before_the_first_page_the_total_is_unknown(api):
    export_id = api.post({"object": "VENDOR", "mode": "full"}).body["export_id"]
    body = api.get(f"/exports/{export_id}").body
    assert body["progress"] == {"pages": 0, "records": 0, "total_count": None, "intacct_transactions": 0}


def test_a_succeeded_export_carries_its_manifest(running_api):
    export_id = running_api.post({"object": "CUSTOMER", "mode": "full"}).body["export_id"]
    assert running_api.wait(export_id) == "SUCCEEDED"
    manifest = running_api.put_manifest("CUSTOMER", export_id, records_written=12, reconciled=True)
    body = running_api.get(f"/exports/{export_id}").body
    assert body["status"] == "SUCCEEDED" and body["stopped_at"]
    assert body["manifest"] == manifest and body["error"] is None
    assert body["manifest_key"] == f"exports/object=CUSTOMER/run_id={export_id}/_manifest.json"


def test_a_failed_export_says_why_from_its_failed_manifest(running_api):
    export_id = running_api.post({"object": "GLACCOUNT", "mode": "full"}).body["export_id"]
    assert running_api.wait(export_id) == "FAILED"
    problem = {"error": "AuthenticationError", "cause": "Intacct refused the login for user sim-user"}
    running_api.put_manifest("GLACCOUNT", export_id, status="failed", error=problem)
    body = running_api.get(f"/exports/{export_id}").body
    assert body["status"] == "FAILED"
    assert body["error"] == problem and body["manifest"]["status"] == "failed"


def test_a_failed_export_without_a_manifest_reports_the_execution_error(running_api):
    export_id = running_api.post({"object": "GLACCOUNT", "mode": "full"}).body["export_id"]
    assert running_api.wait(export_id) == "FAILED"
    body = running_api.get(f"/exports/{export_id}").body
    assert body["manifest"] is None
    assert body["error"] == {"error": "ExportFailed", "cause": "the export did not complete"}


def test_a_huge_manifest_is_cut_in_the_status_answer_but_says_so(running_api):
    export_id = running_api.post({"object": "CUSTOMER", "mode": "full"}).body["export_id"]
    running_api.wait(export_id)
    parts = [{"key": f"p{i:05d}", "records": 1} for i in range(1500)]
    running_api.put_manifest("CUSTOMER", export_id, parts=parts)
    manifest = running_api.get(f"/exports/{export_id}").body["manifest"]
    assert len(manifest["parts"]) == 1000 and manifest["parts_truncated"] is True
    assert manifest["parts"][0] == parts[0]


def test_an_unknown_export_is_404(api):
    answer = api.get("/exports/customer-20260101-00000000000000000000000000000000")
    assert answer.status == 404
    assert answer.body["error"] == "export_not_found"
    assert "customer-20260101-00000000000000000000000000000000" in answer.body["message"]


def test_a_malformed_export_id_is_400(api):
    for bad in ("bad*id", "x" * 81, "-starts-with-hyphen"):
        answer = api.get(f"/exports/{bad}")
        assert answer.status == 400, bad
        assert answer.body["error"] == "invalid_export_id"


def test_the_sample_status_event_reaches_the_route(api):
    # The sample event names an export that does not exist here: the route answers, with a 404
    answer = api.send(load_event("api_get_export"))
    assert answer.status == 404 and answer.body["error"] == "export_not_found"


def test_a_resume_reports_the_progress_and_manifest_of_the_run_it_continues(running_api):
    # Given a failed GLACCOUNT run, resumed by an execution whose input names only that run
    original = running_api.post({"object": "GLACCOUNT", "mode": "full"}).body["export_id"]
    assert running_api.wait(original) == "FAILED"
    running_api.sfn.start_execution(
        stateMachineArn=running_api.machine_arn,
        name="resume-1",
        input=json.dumps({"resume_run_id": original}),
    )
    assert running_api.wait("resume-1") == "SUCCEEDED"
    # ...which landed the rest of the data and a succeeded manifest under the original run id
    running_api.state.record_run(original, {"pages": 7, "records": 700})
    parts = running_api.put_parts("GLACCOUNT", original, [[{"RECORDNO": "1"}, {"RECORDNO": "2"}]])
    running_api.put_manifest("GLACCOUNT", original, parts=parts, records_written=2)
    # When the resume's status is asked for
    body = running_api.get("/exports/resume-1").body
    # Then it points at the run it continued, with that run's object, progress and manifest
    assert (body["run_id"], body["resumes"], body["object"]) == (original, original, "GLACCOUNT")
    assert body["progress"]["pages"] == 7 and body["manifest"]["status"] == "succeeded"
    # And its records are the continued run's
    records = running_api.get("/exports/resume-1/records").body["records"]
    assert records == [{"RECORDNO": "1"}, {"RECORDNO": "2"}]
    # While the original's own answer is unchanged in shape: its run id is its own name
    assert running_api.get(f"/exports/{original}").body["run_id"] == original
