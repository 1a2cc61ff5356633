"""The export API end to end, locally: HTTP requests to `intacct-sync api`'s server, the real ApiFunction
handler, the real state machine under moto, the simulator as Intacct; EventBridge observed through a rule
that forwards the pipeline's events to an SQS queue."""

from __future__ import annotations

import json
import time
import urllib.error
import urllib.request
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest

from intacct_local.api_server import LocalApiServer, serve_api
from intacct_local.emulated_aws import LocalStack, local_aws
from intacct_local.runner import SIM_CREDENTIALS
from intacct_sync.export.events import COMPLETED, FAILED, SOURCE, SYNC_COMPLETED
from intacct_sync.objects import DEFAULT_OBJECTS
from tests.conftest import load_event
from tests.e2e.conftest import EventTap

pytestmark = pytest.mark.e2e

QUIET = {"POWERTOOLS_LOG_LEVEL": "ERROR", "POWERTOOLS_METRICS_DISABLED": "true"}


class Client:
    """A tiny HTTP client for the local API (urllib; JSON in, JSON out)."""

    def __init__(self, server: LocalApiServer) -> None:
        self.base = server.url

    def call(
        self, method: str, path: str, body: Any = None, headers: dict[str, str] | None = None
    ) -> tuple[int, dict[str, str], Any]:
        data = json.dumps(body).encode() if body is not None else None
        sent = {"Content-Type": "application/json"} if body is not None else {}
        request = urllib.request.Request(  # noqa: S310 (loopback)
            self.base + path, data=data, headers={**sent, **(headers or {})}, method=method
        )
        try:
            with urllib.request.urlopen(request, timeout=30) as response:  # noqa: S310 (loopback)
                return response.status, dict(response.headers), json.loads(response.read())
        except urllib.error.HTTPError as error:
            return error.code, dict(error.headers), json.loads(error.read())

    def wait(self, export_id: str, timeout: float = 120.0) -> dict[str, Any]:
        """Poll GET /exports/{id} until the export has ended and its end is recorded (settled); the progress
        seen never goes backwards."""
        deadline, seen = time.monotonic() + timeout, 0
        while True:
            status, _, body = self.call("GET", f"/exports/{export_id}")
            assert status == 200, body
            assert body["progress"]["records"] >= seen
            seen = body["progress"]["records"]
            if body["status"] != "RUNNING" and body["settled"]:
                return dict(body)
            assert time.monotonic() < deadline, f"export {export_id} still running after {timeout}s"
            time.sleep(0.2)

    def wait_sync(self, sync_id: str, timeout: float = 120.0) -> dict[str, Any]:
        """Poll GET /syncs/{id} until the sync has ended."""
        deadline = time.monotonic() + timeout
        while True:
            status, _, body = self.call("GET", f"/syncs/{sync_id}")
            assert status == 200, body
            if body["status"] != "RUNNING":
                return dict(body)
            assert time.monotonic() < deadline, f"sync {sync_id} still running after {timeout}s"
            time.sleep(0.2)

    def all_records(self, export_id: str, limit: int) -> tuple[list[dict[str, Any]], int]:
        records, pages, query = [], 0, f"?limit={limit}"
        while True:
            status, _, body = self.call("GET", f"/exports/{export_id}/records{query}")
            assert status == 200, body
            records.extend(body["records"])
            pages += 1
            if body["next_cursor"] is None:
                return records, pages
            query = f"?limit={limit}&cursor={body['next_cursor']}"


@contextmanager
def local_api(sim: Any) -> Iterator[tuple[LocalStack, Client, EventTap]]:
    parameters = {
        "GatewayUrl": sim.url,
        "PageSize": "1000",
        "TenantConcurrency": "2",
        "TenantTimezone": "America/Los_Angeles",
    }
    with local_aws(SIM_CREDENTIALS, parameters, QUIET) as stack:
        tap = EventTap(stack.env.get("EVENT_BUS_NAME", "default"))
        with serve_api(stack, port=0) as server:
            yield stack, Client(server), tap


def test_post_an_export_wait_for_it_and_read_every_record_back_through_the_api(make_sim):
    # Given a tenant with 2,500 customers
    sim = make_sim(records=2500, seed=11, concurrency_limit=2)
    with local_api(sim) as (_stack, client, tap):
        # When an export is requested over HTTP
        status, headers, accepted = client.call(
            "POST", "/exports", {"object": "customer", "mode": "full"}, {"Idempotency-Key": "e2e-1"}
        )
        assert status == 202, accepted
        export_id = accepted["export_id"]
        assert headers["Location"] == accepted["status_url"] == f"{client.base}/exports/{export_id}"
        # Then it runs to success through the real state machine, with a reconciled manifest
        final = client.wait(export_id)
        assert final["status"] == "SUCCEEDED", final["error"]
        manifest = final["manifest"]
        assert manifest["reconciled"] is True and manifest["records_written"] == 2500
        assert final["progress"]["records"] == 2500 and final["progress"]["total_count"] == 2500
        # And reading the records back page by page gives exactly the source records, each once
        records, pages = client.all_records(export_id, limit=700)
        assert pages == 4 and len(records) == 2500
        source = sim.records("CUSTOMER")
        # (typed: RECORDNO an integer where the simulator renders text)
        assert Counter(str(r["RECORDNO"]) for r in records) == Counter(r["RECORDNO"] for r in source)
        by_key = {r["RECORDNO"]: r for r in source}
        for record in records[:100]:
            assert record["NAME"] == (by_key[str(record["RECORDNO"])]["NAME"] or None)
        keys = [int(r["RECORDNO"]) for r in records]
        assert keys == sorted(keys)  # parts are served in key order
        # And asking again with the same key answers with this export instead of starting another
        status, headers, again = client.call(
            "POST", "/exports", {"object": "CUSTOMER", "mode": "full"}, {"Idempotency-Key": "e2e-1"}
        )
        assert (status, again["export_id"], again["created"]) == (202, export_id, False)
        assert again["status"] == "SUCCEEDED" and headers["Idempotent-Replayed"] == "true"
        # And exactly one "Intacct Export Completed" event announced it (none failed)
        completed = tap.of_type(COMPLETED)
        assert len(completed) == 1 and tap.of_type(FAILED) == []
        (event,) = completed
        assert event["source"] == SOURCE
        assert event["detail"]["run_id"] == export_id and event["detail"]["records"] == 2500
        assert event["detail"]["manifest_key"] == final["manifest_key"]
        assert "sim-user-pw" not in json.dumps(event) and "intacct-sim-pw" not in json.dumps(final)


def test_the_scheduled_sync_runs_every_object_and_the_api_reports_it(make_sim):
    # Given the input EventBridge Scheduler sends nightly (the template's SyncSchedule target input)
    sim = make_sim(records=400, seed=5, concurrency_limit=2)
    scheduled = load_event("schedule_sync_all")
    with local_api(sim) as (stack, client, tap):
        # When the sync state machine is started with it, as the schedule does (a name of its own)
        stack.start_sync(scheduled, name="scheduled-sync-0001")
        # Then the API reports a sync of every catalogue object, each incremental (everything, the first
        # time), with its records, and one summary event
        final = client.wait_sync("scheduled-sync-0001")
        assert final["status"] == "SUCCEEDED" and final["sync"] == "succeeded", final
        assert final["request"] == scheduled
        expected = {o.name: len(sim.records(o.name)) for o in DEFAULT_OBJECTS}
        assert {o["object"]: o["records"] for o in final["objects"]} == expected
        assert {o["mode"] for o in final["objects"]} == {"incremental"}
        (event,) = tap.of_type(SYNC_COMPLETED)
        assert event["detail"]["records"] == sum(expected.values()) == final["totals"]["records"]
        # And each object's export is an export like any other: the API reports it by its id
        run_id = next(o["run_id"] for o in final["objects"] if o["object"] == "CUSTOMER")
        status, _, customer = client.call("GET", f"/exports/{run_id}")
        assert status == 200 and customer["manifest"]["records_written"] == 400 == expected["CUSTOMER"]
        assert len(tap.of_type(COMPLETED)) == len(DEFAULT_OBJECTS)


def test_a_sync_requested_over_the_api_reports_each_object_and_its_plan(make_sim):
    sim = make_sim(records=300, seed=6)
    with local_api(sim) as (_stack, client, _tap):
        # When a dry run of two objects is requested, then the same request again
        body = {"objects": ["vendor", "customer"], "dry_run": True}
        status, headers, accepted = client.call("POST", "/exports", body)
        again = client.call("POST", "/exports", body)
        # Then one sync was started (the repeat answers with it) and its plan counts each object
        assert status == 202 and accepted["request"] == {"objects": ["VENDOR", "CUSTOMER"], "dry_run": True}
        assert headers["Location"] == accepted["status_url"] == f"{client.base}/syncs/{accepted['sync_id']}"
        assert again[0] == 202 and again[2]["sync_id"] == accepted["sync_id"] and not again[2]["created"]
        final = client.wait_sync(accepted["sync_id"])
        assert final["sync"] == "planned"
        assert {o["object"]: o["records"] for o in final["plan"]["objects"]} == {
            "CUSTOMER": 300,
            "VENDOR": 300,
        }
        assert sim.stats()["transactions_by_function"].get("query") == 2  # one count each, nothing exported
        # And a rerun of a sync that does not exist, or of that plan, is refused before anything starts
        missing = client.call("POST", "/exports", {"resume_sync_id": "sync-nope"})
        assert missing[0] == 404 and "sync-nope" in missing[2]["message"], missing
        planned = client.call("POST", "/exports", {"resume_sync_id": accepted["sync_id"]})
        assert planned[0] == 400 and "dry run" in planned[2]["message"], planned


def test_a_failed_export_is_reported_with_its_reason_and_has_no_records(make_sim):
    # Given a tenant that refuses our user's password
    sim = make_sim(records=100, user_password="something-else")
    with local_api(sim) as (_stack, client, tap):
        status, _, accepted = client.call("POST", "/exports", {"object": "VENDOR", "mode": "full"})
        assert status == 202
        final = client.wait(accepted["export_id"])
        # Then the status says why, from the failed manifest
        assert final["status"] == "FAILED"
        assert "AuthenticationError" in json.dumps(final["error"])
        assert final["manifest"]["status"] == "failed"
        # And there are no records to read, and one failure event
        status, _, refused = client.call("GET", f"/exports/{accepted['export_id']}/records")
        assert status == 409 and refused["error"] == "export_failed"
        assert len(tap.of_type(FAILED)) == 1 and tap.of_type(COMPLETED) == []
        assert "something-else" not in json.dumps(final) + json.dumps(refused)


def test_wide_records_are_paged_by_size_as_well_as_count(make_sim):
    # Given 1,500 vendors with all 269 real VENDOR fields (about 9 KB each as an answer carries them)
    sim = make_sim(records=1500, seed=12)
    with local_api(sim) as (_stack, client, _tap):
        status, _, accepted = client.call("POST", "/exports", {"object": "VENDOR", "mode": "full"})
        assert status == 202, accepted
        final = client.wait(accepted["export_id"])
        assert final["status"] == "SUCCEEDED", final["error"]
        # When they are read back 1,000 at a time (9 MB: past what one Lambda answer may carry)
        records, pages = client.all_records(accepted["export_id"], limit=1000)
    # Then every answer stayed within Lambda's 6 MB (the local API enforces it, as Lambda would), so
    # more pages were needed, and together they hold every vendor once
    assert pages > 2
    assert len(records) == 1500 and len({r["RECORDNO"] for r in records}) == 1500
    assert len(records[0]) >= 269
