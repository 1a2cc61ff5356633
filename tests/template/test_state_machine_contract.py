"""The state machines and the steps agree: every error a Retry names is a real exception class, the one
the step declares it leaves to the workflow, only the sync's per-object states Catch (everything), every
``step`` a page Task passes reaches the function that reads its payload, and every key a state passes or
selects is a field of the step's typed payload.

The Retry lists are compared with each step's declared ``TRANSIENT_ERRORS``, not with what the step can
actually raise: those errors come up through the Intacct port, the client and the tenant's semaphore, which
no static reading of the step can follow. Their being raised on those paths is each one's own test's job.
"""

from __future__ import annotations

import importlib
import inspect
import json
import re
from collections.abc import Iterator
from dataclasses import fields
from types import ModuleType
from typing import Any

import pytest

import intacct_sync.errors
import intacct_sync.intacct
from intacct_sync.export import payloads
from intacct_sync.export.spec import RESUME_KEY
from intacct_sync.steps import fetch
from tests.conftest import ROOT

ASL = json.loads((ROOT / "statemachine" / "export.asl.json").read_text())
SYNC_ASL = json.loads((ROOT / "statemachine" / "sync.asl.json").read_text())
# Errors Lambda itself raises when invoking a function (AWS error-handling docs), not our code's.
LAMBDA_SERVICE_ERRORS = {
    "Lambda.ServiceException",
    "Lambda.AWSLambdaException",
    "Lambda.SdkClientException",
    "Lambda.TooManyRequestsException",
}
# What each Task state sends and gets back.
PAYLOADS: dict[str, tuple[type[payloads.Payload] | None, type[payloads.Payload]]] = {
    "Start export": (payloads.StartTask, payloads.ExportStarted),
    "Get API session": (payloads.RunRef, payloads.SessionReady),
    "Fetch first page": (payloads.RunRef, payloads.FirstPageFetched),
    "Fetch segment's first page": (payloads.SegmentStartTask, payloads.SegmentStartFetched),
    "Plan segments": (payloads.RunRef, payloads.SegmentsPlanned),
    "Fetch segment pages": (payloads.SegmentPagesTask, payloads.SegmentPagesFetched),
    "Finalise export": (payloads.FinaliseTask, payloads.ExportFinalised),
}
SYNC_PAYLOADS: dict[str, tuple[type[payloads.Payload] | None, type[payloads.Payload]]] = {
    "Start the sync": (None, payloads.SyncStarted),
    "Follow the run": (payloads.FollowTask, payloads.RunFollowed),
    "Finish the sync": (payloads.FinishSyncTask, payloads.SyncFinished),
}
MACHINES = {"export": (ASL, PAYLOADS), "sync": (SYNC_ASL, SYNC_PAYLOADS)}


def tasks(states: dict[str, Any] | None = None) -> Iterator[tuple[str, dict[str, Any], dict[str, Any]]]:
    """(name, state, its enclosing Map state or {}) for every Task of a function of ours, Map iterations
    included."""
    for name, state in (states or ASL["States"]).items():
        if state["Type"] == "Task" and state["Resource"] == "arn:aws:states:::lambda:invoke":
            yield name, state, {}
        if state["Type"] == "Map":
            for inner, inner_state, _ in tasks(state["ItemProcessor"]["States"]):
                yield inner, inner_state, state


def step_module(task: dict[str, Any]) -> ModuleType:
    """The steps module the Task's function calls, read from the function's handler."""
    function = task["Parameters"]["FunctionName"].removeprefix("${").removesuffix("Arn}")
    handler = (ROOT / "functions" / _code_folder(function) / "app.py").read_text()
    (module,) = re.findall(r"from intacct_sync\.steps import (\w+)", handler)
    return importlib.import_module(f"intacct_sync.steps.{module}")


def _code_folder(function: str) -> str:
    return re.sub(r"(?<!^)(?=[A-Z])", "_", function.removesuffix("Function")).lower()


def exception_class(name: str) -> type[BaseException] | None:
    for module in (intacct_sync.errors, intacct_sync.intacct, __builtins__):
        found = module.get(name) if isinstance(module, dict) else getattr(module, name, None)
        if inspect.isclass(found) and issubclass(found, BaseException):
            return found
    return None


def test_every_state_machine_task_is_covered_here():
    for asl, expected in MACHINES.values():
        assert {name for name, _, _ in tasks(asl["States"])} == set(expected)


TASKS = [
    (machine, name, task, enclosing)
    for machine, (asl, _) in MACHINES.items()
    for name, task, enclosing in tasks(asl["States"])
]
IDS = [f"{machine}:{name}" for machine, name, _, _ in TASKS]


@pytest.mark.parametrize(("_machine", "name", "task", "_map"), TASKS, ids=IDS)
def test_retries_name_exactly_the_steps_transient_errors(_machine, name, task, _map):
    module = step_module(task)
    (retry,) = task["Retry"]
    named = set(retry["ErrorEquals"]) - LAMBDA_SERVICE_ERRORS
    assert all(exception_class(n) for n in named), named
    assert named == {error.__name__ for error in module.TRANSIENT_ERRORS}


@pytest.mark.parametrize(("_machine", "name", "task", "_map"), TASKS, ids=IDS)
def test_a_step_that_calls_intacct_retries_whatever_an_intacct_call_leaves_to_the_workflow(
    _machine, name, task, _map
):
    # Which call a step makes (a login reads the user's formats too) must not decide what it retries
    module = step_module(task)
    takes_intacct = any(
        "Intacct" in str(parameter.annotation)
        for function in vars(module).values()
        if inspect.isfunction(function) and function.__module__ == module.__name__
        for parameter in inspect.signature(function).parameters.values()
    )
    if takes_intacct:
        assert module.TRANSIENT_ERRORS == intacct_sync.intacct.RETRYABLE_BY_THE_WORKFLOW, name


def _states(states: dict[str, Any]) -> Iterator[tuple[str, dict[str, Any]]]:
    for name, state in states.items():
        yield name, state
        if state["Type"] == "Map":
            yield from _states(state["ItemProcessor"]["States"])


def test_only_the_syncs_per_object_states_catch_and_they_catch_everything():
    # An export's failure must end its execution, so the handler of its end records it (a failed manifest,
    # the watermark kept): a Catch in the export workflow would swallow it. The sync catches an object's
    # failure to make it that object's result, whatever it was.
    catching = {
        (machine, name): [error for catch in state["Catch"] for error in catch["ErrorEquals"]]
        for machine, (asl, _) in MACHINES.items()
        for name, state in _states(asl["States"])
        if "Catch" in state
    }
    assert catching == {
        ("sync", "Export the object"): ["States.ALL"],
        ("sync", "Follow the run"): ["States.ALL"],
    }


def _sent(task: dict[str, Any], enclosing: dict[str, Any]) -> dict[str, Any]:
    """What a Task passes its function: its Payload, or a Map item's ItemSelector."""
    if "Payload.$" in task["Parameters"]:
        return dict(enclosing["ItemSelector"])
    return dict(task["Parameters"].get("Payload", {}))


# Each page Task and the steps.fetch function its "step" must reach (the function that reads its payload).
PAGE_STEPS = {
    "Fetch first page": "first_page",
    "Fetch segment's first page": "segment_start",
    "Fetch segment pages": "segment_pages",
}
# A value of the right type for each key a page Task fills from a path (run id, segment, offset, cursor...).
SAMPLE = {"run_id": "run-1", "segment": 1, "offset": 2000, "cursor": {"segment": 1}, "finished": False}
PAGE_TASKS = [t for t in TASKS if t[0] == "export" and "FetchPage" in t[2]["Parameters"]["FunctionName"]]


def _dispatched(monkeypatch: pytest.MonkeyPatch, keys: dict[str, Any]) -> dict[str, payloads.Payload]:
    """Which steps.fetch function ``fetch.handle`` calls with an event of ``keys`` (a state's Parameters,
    ItemSelector or ResultSelector, each path filled with a sample), and the payload it parsed for it."""
    called: dict[str, payloads.Payload] = {}
    for function in PAGE_STEPS.values():

        def record(*args: Any, _function: str = function) -> None:
            (payload,) = (a for a in args if isinstance(a, payloads.Payload))
            called[_function] = payload

        monkeypatch.setattr(fetch, function, record)
    event = {key.removesuffix(".$"): SAMPLE[key[:-2]] if key.endswith(".$") else v for key, v in keys.items()}
    fetch.handle(None, None, None, None, event, lambda: 60_000)  # the step functions are stand-ins
    return called


def test_every_page_task_is_one_of_the_three_steps():
    assert {name for _, name, _, _ in PAGE_TASKS} == set(PAGE_STEPS)


@pytest.mark.parametrize(
    ("_machine", "name", "task", "enclosing"), PAGE_TASKS, ids=[n for _, n, _, _ in PAGE_TASKS]
)
def test_each_page_task_names_the_step_that_reads_its_payload(monkeypatch, _machine, name, task, enclosing):
    # Given the "step" the ASL passes (a typo would fail the execution at its first page), When the
    # handler dispatches it, Then it reaches the step function whose payload the Task sends
    called = _dispatched(monkeypatch, _sent(task, enclosing))
    assert list(called) == [PAGE_STEPS[name]]
    assert type(called[PAGE_STEPS[name]]) is PAYLOADS[name][0]


def test_a_segments_loop_goes_back_to_the_same_step(monkeypatch):
    # "Fetch segment pages" selects its next input (its own "step" included): the loop must reach it again
    (task, _) = next((t, m) for _, n, t, m in PAGE_TASKS if n == "Fetch segment pages")
    loop = {k: v for k, v in task["ResultSelector"].items() if k.removesuffix(".$") in {*SAMPLE, "step"}}
    called = _dispatched(monkeypatch, loop)
    assert list(called) == ["segment_pages"] and type(called["segment_pages"]) is payloads.SegmentPagesTask


@pytest.mark.parametrize(("machine", "name", "task", "enclosing"), TASKS, ids=IDS)
def test_states_pass_and_select_only_payload_fields(machine, name, task, enclosing):
    given, returned = MACHINES[machine][1][name]
    sent = _sent(task, enclosing) if given is not None else dict(task["Parameters"].get("Payload", {}))
    # A segment's loop carries its Task's output (SegmentPagesFetched) as the next Task's input; the
    # Choice reads "finished" from it and the step reads only its own fields. "step" is the dispatch key
    # (test_each_page_task_names_the_step_that_reads_its_payload).
    loop_state = {"finished", "paused"} if name == "Fetch segment pages" else set()
    names = {key.removesuffix(".$") for key in sent} - {"step"} - loop_state
    if given is not None:
        assert names == {f.name for f in fields(given) if f.name in names}
        assert {f.name for f in fields(given) if f.default is f.default_factory} <= names | {"cursor"}
    selected = {
        path.removeprefix("$.Payload.")
        for key, path in task.get("ResultSelector", {}).items()
        if key.endswith(".$") and path.startswith("$.Payload.")
    }
    assert selected <= {f.name for f in fields(returned)}, selected


def test_a_run_continues_in_a_new_execution_of_this_machine_resuming_itself():
    continue_state = ASL["States"]["Continue in a new execution"]
    assert continue_state["Resource"] == "arn:aws:states:::states:startExecution"
    assert continue_state["Parameters"]["StateMachineArn.$"] == "$$.StateMachine.Id"
    assert continue_state["Parameters"]["Input"] == {
        f"{RESUME_KEY}.$": "$.run_id"
    }  # resumed from what landed
    (retry,) = continue_state["Retry"]
    assert all(name.startswith("StepFunctions.") for name in retry["ErrorEquals"])
    segments = ASL["States"]["Export segments"]
    assert segments["ResultSelector"] == {"any_paused.$": "States.ArrayContains($[*].paused, true)"}
    assert {f.name for f in fields(payloads.SegmentPagesFetched)} >= {"paused", "segment"}


def test_a_continuing_execution_ends_with_exactly_a_continued_payload_in_its_output():
    # Read back by Continued.of_output: where the run went on (the handler of the execution's end, the
    # sync following its objects, the API's status, the local runner)
    continue_state = ASL["States"]["Continue in a new execution"]
    assert continue_state["ResultPath"] == f"$.{payloads.Continued.OUTPUT_KEY}"
    assert continue_state["ResultSelector"] == {
        f"{f.name}.$": "$.ExecutionArn" for f in fields(payloads.Continued)
    }  # startExecution's answer: the new execution's ARN
    assert ASL["States"][continue_state["Next"]] == {"Type": "Succeed"}  # all of the state is the output


SYNC_STATES = SYNC_ASL["States"]
EACH_OBJECT = SYNC_STATES["Export each object"]


def test_the_sync_runs_the_export_workflow_once_per_object_and_a_failure_is_that_objects_result():
    iteration = EACH_OBJECT["ItemProcessor"]["States"]
    export = iteration["Export the object"]
    # the export workflow itself (never a copy), waited for, with the sync's deterministic name and input
    assert export["Resource"] == "arn:aws:states:::states:startExecution.sync:2"
    assert export["Parameters"] == {
        "StateMachineArn": "${ExportStateMachineArn}",
        "Name.$": "$.execution",
        "Input.$": "$.input",
    }
    # at most max_concurrency objects at once, each item only what the start step returned per object
    assert EACH_OBJECT["MaxConcurrencyPath"] == "$.max_concurrency"
    item = {key.removesuffix(".$") for key in EACH_OBJECT["ItemSelector"]}
    assert item == {f.name for f in fields(payloads.SyncItem)} | {"follow_seconds"}
    assert {f.name for f in fields(payloads.SyncStarted)} >= {"max_concurrency", "follow_seconds", "objects"}
    # a failed export, or one that could not be followed, is caught and becomes that object's result
    for state in ("Export the object", "Follow the run"):
        (catch,) = iteration[state]["Catch"]
        assert catch == {"ErrorEquals": ["States.ALL"], "ResultPath": None, "Next": "Object failed"}
    # both endings leave exactly an ObjectSynced, which the finish step reads
    synced = {f.name for f in fields(payloads.ObjectSynced)}
    for state in ("Object synced", "Object failed"):
        assert {key.removesuffix(".$") for key in iteration[state]["Parameters"]} == synced
    assert iteration["Object failed"]["Parameters"]["status"] == "FAILED"
    assert EACH_OBJECT["ResultPath"] == "$.results" and EACH_OBJECT["Next"] == "Finish the sync"


def test_the_sync_follows_a_run_until_the_last_of_its_executions_has_ended():
    iteration = EACH_OBJECT["ItemProcessor"]["States"]
    assert iteration["Export the object"]["Next"] == "Follow the run"
    assert iteration["Follow the run"]["Next"] == "Run ended?"
    (ended,) = iteration["Run ended?"]["Choices"]
    assert ended == {"Variable": "$.run.ended", "BooleanEquals": True, "Next": "Object synced"}
    assert iteration["Run ended?"]["Default"] == "Wait for the run"
    assert iteration["Wait for the run"] == {
        "Type": "Wait",
        "SecondsPath": "$.follow_seconds",
        "Next": "Follow the run",
    }


def test_every_start_action_leads_where_it_says():
    choices = {c["StringEquals"]: c["Next"] for c in SYNC_STATES["Anything to export?"]["Choices"]}
    assert choices == {"export": "Export each object", "none": "Nothing due"}
    # a plan or a skip is announced by the finish step like any sync
    assert SYNC_STATES["Anything to export?"]["Default"] == "Nothing exported"
    assert SYNC_STATES["Nothing exported"]["Next"] == "Finish the sync"
    from intacct_sync.steps import sync

    assert {sync.EXPORT, sync.NONE} == set(choices) and {sync.PLAN, sync.SKIP}.isdisjoint(choices)


def test_no_inline_map_asks_for_more_than_40_iterations_at_once():
    # AWS runs an inline Map's iterations at most 40 at a time ("Using Map state in Inline mode"); the
    # local emulator runs as many as asked, so a larger value would make local runs faster than AWS's
    def maps(states: dict[str, Any]) -> Iterator[dict[str, Any]]:
        for state in states.values():
            if state["Type"] == "Map":
                yield state
                yield from maps(state["ItemProcessor"]["States"])

    for asl in (ASL, SYNC_ASL):
        for state in maps(asl["States"]):
            assert state.get("MaxConcurrencyPath") or 1 <= state["MaxConcurrency"] <= 40, state
