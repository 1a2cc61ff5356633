"""GET /exports/{id}/records: the exported records read back from S3 in key order, page by page."""

from __future__ import annotations

import pytest

from intacct_sync.api.validation import encode_cursor
from intacct_sync.export import layout
from intacct_sync.export.parts import encode_part
from tests.conftest import load_event
from tests.integration.api.conftest import BUCKET


def _records(first: int, count: int) -> list[dict[str, str]]:
    return [{"RECORDNO": str(n), "NAME": f"Customer {n}"} for n in range(first, first + count)]


@pytest.fixture
def exported(running_api):
    """A succeeded CUSTOMER export of 9 records in three parts (the middle one empty), plus a stray part
    that is in S3 but not in the manifest (e.g. trimmed by overlap repair) and must never be served."""
    export_id = running_api.post({"object": "CUSTOMER", "mode": "full"}).body["export_id"]
    assert running_api.wait(export_id) == "SUCCEEDED"
    parts = running_api.put_parts("CUSTOMER", export_id, [_records(1, 5), [], _records(6, 4)])
    stray, body = encode_part(layout.part_key("CUSTOMER", export_id, 9, 0), _records(100, 3), "RECORDNO")
    running_api.s3.put_object(Bucket=BUCKET, Key=stray.key, Body=body)
    running_api.put_manifest("CUSTOMER", export_id, parts=parts, records_written=9)
    return running_api, export_id


def _page_through(api, export_id, limit):
    records, pages, target = [], [], f"/exports/{export_id}/records?limit={limit}"
    while True:
        answer = api.get(target)
        assert answer.status == 200, answer.body
        pages.append(answer.body)
        records.extend(answer.body["records"])
        if not answer.body["next_cursor"]:
            return records, pages
        target = f"/exports/{export_id}/records?limit={limit}&cursor={answer.body['next_cursor']}"


@pytest.mark.parametrize("limit", [1, 2, 3, 4, 5, 9, 1000])
def test_paging_returns_every_record_once_in_key_order(exported, limit):
    api, export_id = exported
    records, pages = _page_through(api, export_id, limit)
    assert records == _records(1, 9)
    assert [p["count"] for p in pages] == [len(p["records"]) for p in pages]
    assert all(p["count"] == limit for p in pages[:-1])
    assert len(pages) == -(-9 // limit)
    assert {p["total_records"] for p in pages} == {9} and {p["object"] for p in pages} == {"CUSTOMER"}


def test_the_default_limit_is_100_and_the_last_page_has_no_next_cursor(exported):
    api, export_id = exported
    body = api.get(f"/exports/{export_id}/records").body
    assert body["count"] == 9 and body["next_cursor"] is None and body["next_url"] is None


def test_next_url_continues_where_the_page_ended(exported):
    api, export_id = exported
    first = api.get(f"/exports/{export_id}/records?limit=5").body
    assert first["records"] == _records(1, 5)
    assert first["next_url"].endswith(f"/exports/{export_id}/records?limit=5&cursor={first['next_cursor']}")
    second = api.get(first["next_url"].split(".amazonaws.com/dev", 1)[1]).body
    assert second["records"] == _records(6, 4) and second["next_cursor"] is None


@pytest.mark.parametrize("limit", ["0", "1001", "-1", "ten", "1.5", ""])
def test_a_bad_limit_is_400(exported, limit):
    api, export_id = exported
    answer = api.get(f"/exports/{export_id}/records?limit={limit}")
    assert answer.status == 400 and answer.body["error"] == "invalid_limit"
    assert "limit" in answer.body["message"]


@pytest.mark.parametrize(
    "cursor",
    ["not-a-cursor", "eyJwIjogMX0", encode_cursor("x", -1, 0), "%%%", "a" * 600],
    ids=["garbage", "missing-keys", "negative", "symbols", "too-long"],
)
def test_a_cursor_this_api_did_not_issue_is_400(exported, cursor):
    api, export_id = exported
    answer = api.get(f"/exports/{export_id}/records?cursor={cursor}")
    assert answer.status == 400 and answer.body["error"] == "invalid_cursor"


def test_a_cursor_of_another_export_is_refused(exported):
    api, export_id = exported
    answer = api.get(f"/exports/{export_id}/records?cursor={encode_cursor('another-export', 0, 2)}")
    assert answer.status == 400 and "another export" in answer.body["message"]


def test_unknown_or_repeated_query_parameters_are_400(exported):
    api, export_id = exported
    unknown = api.get(f"/exports/{export_id}/records?limt=5")
    assert unknown.status == 400 and unknown.body["error"] == "invalid_query_parameter"
    assert "limt" in unknown.body["message"]
    repeated = api.get(f"/exports/{export_id}/records?limit=5&limit=6")
    assert repeated.status == 400 and "once" in repeated.body["message"]


def test_records_of_a_running_export_are_not_served_yet(api):
    export_id = api.post({"object": "CUSTOMER", "mode": "full"}).body["export_id"]
    api.state.record_run(export_id, {"pages": 1, "records": 2000})
    answer = api.get(f"/exports/{export_id}/records")
    assert answer.status == 409 and answer.body["error"] == "export_not_finished"
    assert "2000 records so far" in answer.body["message"]


def test_records_of_a_failed_export_are_not_served(running_api):
    export_id = running_api.post({"object": "GLACCOUNT", "mode": "full"}).body["export_id"]
    assert running_api.wait(export_id) == "FAILED"
    running_api.put_manifest(
        "GLACCOUNT", export_id, status="failed", error={"cause": "reconciliation failed"}
    )
    answer = running_api.get(f"/exports/{export_id}/records")
    assert answer.status == 409 and answer.body["error"] == "export_failed"
    assert "reconciliation failed" in answer.body["message"]


def test_records_of_an_unknown_export_are_404(api):
    answer = api.get("/exports/nope/records")
    assert answer.status == 404 and answer.body["error"] == "export_not_found"


def test_the_sample_records_event_reaches_the_route(api):
    answer = api.send(load_event("api_get_export_records"))
    assert answer.status == 404 and answer.body["error"] == "export_not_found"
