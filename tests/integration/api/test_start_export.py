"""POST /exports starts the state machine once per request, under a name derived from the request."""

from __future__ import annotations

import hashlib
import json
from datetime import UTC, datetime

from intacct_sync.adapters.executions import Execution
from intacct_sync.api import service
from intacct_sync.api.errors import IdempotencyKeyReused
from tests.conftest import ROOT, load_event
from tests.integration.api.conftest import DOMAIN


def test_a_valid_request_starts_the_export_and_answers_202_with_its_id_and_status_url(api):
    # Given the sample API Gateway event (incremental CUSTOMER export with an Idempotency-Key)
    event = load_event("api_post_export")
    # When it reaches the handler
    answer = api.send(event)
    # Then the export is accepted, named after the key, with links to follow it
    assert answer.status == 202, answer.body
    export_id = answer.body["export_id"]
    assert export_id.startswith("key-") and answer.body["created"] is True
    assert answer.body["status"] == "RUNNING" and answer.body["object"] == "CUSTOMER"
    status_url = f"https://{DOMAIN}/dev/exports/{export_id}"
    assert answer.body["status_url"] == status_url == answer.headers["location"]
    assert answer.body["records_url"] == f"{status_url}/records"
    # And exactly one execution of that name runs with the normalised request as input
    assert [e["name"] for e in api.executions()] == [export_id]
    assert api.execution_input(export_id) == {
        "object": "CUSTOMER",
        "mode": "incremental",
        "fields": ["RECORDNO", "CUSTOMERID", "NAME", "STATUS", "WHENMODIFIED"],
        "filter": {"field": "STATUS", "op": "equalto", "value": "active"},
        "since": "2026-11-01T00:00:00+00:00",
        "page_size": 1000,
    }
    assert answer.body["request"] == api.execution_input(export_id)


def test_the_same_idempotency_key_twice_starts_one_export(api):
    first = api.send(load_event("api_post_export"))
    second = api.send(load_event("api_post_export"))
    assert first.status == second.status == 202
    assert second.body["export_id"] == first.body["export_id"]
    assert second.body["created"] is False and second.headers["idempotent-replayed"] == "true"
    assert "idempotent-replayed" not in first.headers
    assert len(api.executions()) == 1


def test_a_quoted_key_and_the_bare_key_are_the_same_key(api):
    body = {"object": "VENDOR", "mode": "full"}
    quoted = api.post(body, Idempotency_Key='"order-42"')
    bare = api.post(body, Idempotency_Key="order-42")
    assert quoted.body["export_id"] == bare.body["export_id"]
    assert len(api.executions()) == 1


def test_without_a_key_the_same_normalised_body_the_same_day_is_one_export(api):
    # Given three spellings of one request (case, key order, the default page size made explicit)
    bodies = [
        {"object": "customer", "mode": "full"},
        {"mode": "full", "object": "CUSTOMER"},
        {"object": "Customer", "mode": "full", "page_size": 2000, "fields": []},
    ]
    # When each is posted without an Idempotency-Key
    answers = [api.post(body) for body in bodies]
    # Then they name one export, started once
    assert {a.status for a in answers} == {202}
    assert len({a.body["export_id"] for a in answers}) == 1
    assert answers[0].body["export_id"].startswith("customer-")
    assert [a.body["created"] for a in answers] == [True, False, False]
    assert len(api.executions()) == 1


def test_a_different_request_is_a_different_export(api):
    a = api.post({"object": "CUSTOMER", "mode": "full"})
    b = api.post({"object": "CUSTOMER", "mode": "incremental"})
    c = api.post({"object": "CUSTOMER", "mode": "full", "page_size": 500})
    assert len({a.body["export_id"], b.body["export_id"], c.body["export_id"]}) == 3
    assert len(api.executions()) == 3


def test_the_same_body_on_another_day_starts_a_new_export(api):
    body = {"object": "CUSTOMER", "mode": "incremental"}
    api.module.RUNTIME.clock = lambda: datetime(2026, 11, 24, 23, 59, tzinfo=UTC)
    monday = api.post(body)
    api.module.RUNTIME.clock = lambda: datetime(2026, 11, 25, 0, 1, tzinfo=UTC)
    tuesday = api.post(body)
    assert "-20261124-" in monday.body["export_id"] and "-20261125-" in tuesday.body["export_id"]
    assert tuesday.body["created"] is True and len(api.executions()) == 2


def test_reusing_a_key_for_a_different_request_is_refused_and_starts_nothing(api):
    first = api.post({"object": "CUSTOMER", "mode": "full"}, Idempotency_Key="nightly-2026-11-24")
    reused = api.post({"object": "VENDOR", "mode": "full"}, Idempotency_Key="nightly-2026-11-24")
    assert first.status == 202
    assert reused.status == 409
    assert reused.body["error"] == "idempotency_key_reused"
    assert first.body["export_id"] in reused.body["message"]
    assert len(api.executions()) == 1


def test_a_request_repeated_after_its_export_finished_is_answered_with_that_export(running_api):
    # Given an export that has already succeeded (Step Functions now refuses the name: ExecutionAlreadyExists)
    first = running_api.post({"object": "CUSTOMER", "mode": "full"}, Idempotency_Key="k-1")
    assert running_api.wait(first.body["export_id"]) == "SUCCEEDED"
    # When the same request comes again
    again = running_api.post({"object": "CUSTOMER", "mode": "full"}, Idempotency_Key="k-1")
    # Then it is answered with the finished export, and nothing new starts
    assert again.status == 202
    assert again.body["export_id"] == first.body["export_id"]
    assert again.body["created"] is False and again.body["status"] == "SUCCEEDED"
    assert len(running_api.executions()) == 1


class RacingExecutions:
    """An executions adapter where a concurrent identical request starts the execution first."""

    def __init__(self, existing_input):
        self.existing_input, self.described = existing_input, 0

    def describe(self, name):
        self.described += 1
        if self.described == 1:
            return None  # not there yet when we looked...
        return Execution(name, f"arn:x:{name}", "RUNNING", self.existing_input, None, None)

    def start(self, name, document):
        return False  # ...but there when we started it


def test_losing_a_race_to_an_identical_request_answers_with_the_winner():
    request = {"object": "CUSTOMER", "mode": "full"}
    started = service.start_once(RacingExecutions(dict(request)), request, "customer-x")
    assert started.created is False and started.export_id == "customer-x"


def test_losing_a_race_to_a_different_request_under_the_same_key_is_a_conflict():
    racing = RacingExecutions({"object": "VENDOR", "mode": "full"})
    try:
        service.start_once(racing, {"object": "CUSTOMER", "mode": "full"}, "key-1")
    except IdempotencyKeyReused as exc:
        assert "key-1" in exc.message
    else:
        raise AssertionError("expected IdempotencyKeyReused")


def test_execution_input_is_canonical_json(api):
    answer = api.post({"mode": "full", "object": "GLACCOUNT"})
    raw = api.sfn.describe_execution(
        executionArn=api.machine_arn.replace(":stateMachine:", ":execution:") + ":" + answer.body["export_id"]
    )["input"]
    assert raw == json.dumps(json.loads(raw), sort_keys=True, separators=(",", ":"))


def test_export_ids_follow_the_formulas_docs_api_md_gives(api):
    # Given the formulas as docs/API.md states them
    docs = (ROOT / "docs" / "API.md").read_text()
    assert "SHA-256 of `intacct-sync:idempotency-key:<key>`" in docs
    assert 'json.dumps(request, sort_keys=True, separators=(",", ":"),' in docs
    assert "`<request>\\n<YYYY-MM-DD>`" in docs
    # When exports start with and without an Idempotency-Key
    keyed = api.post({"object": "VENDOR", "mode": "full"}, Idempotency_Key="order-42")
    before = datetime.now(UTC).date()
    plain = api.post({"object": "customer", "mode": "full"})
    after = datetime.now(UTC).date()
    # Then their ids are what the formulas give
    digest = hashlib.sha256(b"intacct-sync:idempotency-key:order-42").hexdigest()
    assert keyed.body["export_id"] == f"key-{digest[:40]}"
    canonical = json.dumps(plain.body["request"], sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    expected = set()
    for day in {before, after}:  # a run across midnight UTC
        digest = hashlib.sha256(f"{canonical}\n{day.isoformat()}".encode()).hexdigest()
        expected.add(f"customer-{day:%Y%m%d}-{digest[:32]}")
    assert plain.body["export_id"] in expected
