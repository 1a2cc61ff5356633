"""The payloads between states: the JSON on the wire keeps its shape, and a payload that does not match its
type is refused naming the field and what was wrong."""

import json

import pytest

from intacct_sync.adapters.executions import Execution
from intacct_sync.errors import InvalidExportRequest
from intacct_sync.export.payloads import (
    Continued,
    Cursor,
    ExportFinalised,
    FinishSyncTask,
    FirstPageFetched,
    ObjectSynced,
    SegmentPagesFetched,
    SegmentPagesTask,
    SegmentStart,
)
from tests.conftest import load_event


def test_a_cursor_round_trips_through_json():
    cursor = Cursor(segment=2, seq=3, after_key="99", upper_key="200", max_pages=4, expected_remaining=1500)
    assert Cursor.from_payload(json.loads(json.dumps(cursor.to_payload()))) == cursor


def test_nested_payloads_are_plain_json_on_the_wire_and_typed_when_read_back():
    # Given a first page's outcome and a segment Task's, each holding payloads of their own
    first = FirstPageFetched(
        done=False, total_count=10_000, segment_starts=[SegmentStart(1, 4000), SegmentStart(2, 8000)]
    )
    fetched = SegmentPagesFetched(run_id="r-1", segment=1, finished=False, cursor=Cursor(segment=1, seq=3))
    # When they are sent as JSON
    first_json, fetched_json = (json.loads(json.dumps(p.to_payload())) for p in (first, fetched))
    # Then the state machine sees objects and lists of objects, as before they were typed
    assert first_json["segment_starts"] == [{"segment": 1, "offset": 4000}, {"segment": 2, "offset": 8000}]
    assert fetched_json["cursor"] == {
        "segment": 1,
        "seq": 3,
        "after_key": None,
        "upper_key": None,
        "offset": 0,
        "max_pages": 1,
        "expected_remaining": None,
        "tasks": 0,
        "task_budget": 0,
    }
    # And read back they are the typed payloads again
    assert FirstPageFetched.from_payload(first_json) == first
    assert SegmentPagesFetched.from_payload(fetched_json) == fetched


def test_the_next_segment_task_reads_its_cursor_from_the_previous_tasks_output():
    # Given the output of a segment Task, carried by the loop as the next Task's input
    output = SegmentPagesFetched(run_id="r-1", segment=1, finished=False, cursor=Cursor(segment=1, seq=3))
    # When the next Task reads it (keys that are not its fields are ignored)
    task = SegmentPagesTask.from_payload({**output.to_payload(), "step": "segment_pages"})
    # Then it has the cursor, typed; a segment's first Task has none
    assert task == SegmentPagesTask(run_id="r-1", segment=1, cursor=Cursor(segment=1, seq=3))
    assert SegmentPagesTask.from_payload({"run_id": "r-1", "segment": 0}).cursor is None


def test_lists_of_nested_payloads_are_read_back_typed():
    synced = {"object": "CUSTOMER", "run_id": "r-1", "execution": "r-1", "status": "SUCCEEDED"}
    task = FinishSyncTask.from_payload({"sync_id": "s-1", "results": [synced]})
    assert task.results == [ObjectSynced(**synced)]


@pytest.mark.parametrize(
    ("payload_type", "data", "message"),
    [
        (Cursor, [1], "Cursor payload must be a JSON object"),
        (Cursor, {"seq": 1}, "Cursor payload is not valid: segment is missing"),
        (Cursor, {"segment": 1, "seq": "3"}, "seq must be a whole number, not a JSON string"),
        (Cursor, {"segment": 1, "seq": 1.5}, "seq must be a whole number, not a JSON number"),
        (Cursor, {"segment": True}, "segment must be a whole number, not a JSON boolean"),
        (Cursor, {"segment": None}, "segment must be a whole number, not a JSON null"),
        (Cursor, {"segment": 1, "after_key": 5}, "after_key must be text, not a JSON number"),
        (Cursor, {"segment": -1}, "must not be negative"),
        (
            SegmentPagesFetched,
            {"run_id": "r-1", "segment": 1, "finished": "false", "cursor": {"segment": 1}},
            "SegmentPagesFetched payload is not valid: finished must be true or false, not a JSON string",
        ),
        (
            SegmentPagesTask,
            {"run_id": "r-1", "segment": 1, "cursor": "after 99"},
            "cursor must be a JSON object, not a JSON string",
        ),
        (
            SegmentPagesTask,
            {"run_id": "r-1", "segment": 1, "cursor": {"segment": 1, "after_key": ["99"]}},
            "SegmentPagesTask payload is not valid: cursor.after_key must be text, not a JSON array",
        ),
        (
            SegmentPagesTask,
            {"run_id": "r-1", "segment": 1, "cursor": {"seq": 2}},
            "SegmentPagesTask payload is not valid: cursor.segment is missing",
        ),
        (
            FirstPageFetched,
            {"done": False, "total_count": 9, "segment_starts": {"segment": 1, "offset": 4000}},
            "segment_starts must be a list, not a JSON object",
        ),
        (
            FirstPageFetched,
            {
                "done": False,
                "total_count": 9,
                "segment_starts": [{"segment": 1, "offset": 4}, {"segment": 2}],
            },
            r"FirstPageFetched payload is not valid: segment_starts\[1\]\.offset is missing",
        ),
        (
            ExportFinalised,
            {"run_id": "r-1", "object": "CUSTOMER", "entity": 7, "status": "succeeded", "records": 1},
            "entity must be text, not a JSON number",  # fields are read in order: entity comes first
        ),
        (SegmentPagesTask, {"run_id": "../x", "segment": 0}, "run_id must be 1 to 80"),
        (SegmentPagesTask, {"run_id": 7, "segment": 0}, "run_id must be text, not a JSON number"),
    ],
)
def test_a_payload_that_does_not_match_its_type_is_refused_naming_the_field(payload_type, data, message):
    with pytest.raises(InvalidExportRequest, match=message):
        payload_type.from_payload(data)


def test_null_is_taken_where_the_type_allows_it():
    cursor = Cursor.from_payload({"segment": 0, "after_key": None, "expected_remaining": None})
    assert cursor == Cursor(segment=0)


def test_a_continuing_execution_names_the_execution_its_run_went_on_in():
    arn = "arn:aws:states:us-east-1:123456789012:execution:intacct-sync-dev-export:0b6a"
    # Given the output of an execution that continued in a new one: the run's state, and what the
    # continuation state wrote
    output = {"run_id": "r-1", "segments": {"any_paused": True}, "continued": {"execution_arn": arn}}
    # Then it is read the same from the JSON text Step Functions gives and from the parsed document
    assert Continued.of_output(json.dumps(output)) == Continued(execution_arn=arn)
    assert Continued.of_output(output) == Continued(execution_arn=arn)
    # And an execution that ended the run (or has no output) did not continue
    assert Continued.of_output(load_event("export_ended_succeeded")["detail"]["output"]) is None
    assert Continued.of_output(None) is None
    assert Continued.of_output("not JSON") is None


def test_a_continuation_without_its_execution_is_refused():
    with pytest.raises(
        InvalidExportRequest, match="Continued payload is not valid: execution_arn is missing"
    ):
        Continued.of_output({"continued": {"ExecutionArn": "arn:x"}})


def test_only_a_succeeded_execution_continues():
    output = {"continued": {"execution_arn": "arn:x:next"}}
    execution = Execution("r-1", "arn:x:r-1", "SUCCEEDED", None, None, None, output=output)
    assert execution.continued == Continued(execution_arn="arn:x:next")
    assert Execution("r-1", "arn:x:r-1", "RUNNING", None, None, None, output=output).continued is None
