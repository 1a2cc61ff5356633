"""The typed payloads between the state machine's states: run ids, cursors and counts, never records,
fields or filters (those live once in the run document, ``export.run``), so every payload stays a few
hundred bytes whatever the object's width, the filter's size or the tenant's concurrency.

Each payload is a frozen dataclass; ``to_payload`` gives the JSON the state machine carries and
``from_payload`` validates it back (``InvalidExportRequest`` names what is wrong). The ASL's Parameters,
ItemSelectors and ResultSelectors name exactly these keys (tests/template checks them).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import MISSING, asdict, dataclass, fields
from types import UnionType
from typing import Any, ClassVar, TypeVar, get_args, get_origin, get_type_hints

from intacct_sync.errors import InvalidExportRequest
from intacct_sync.export.spec import json_type, validate_run_id

P = TypeVar("P", bound="Payload")
# What a field of each plain type must hold, as a message says it.
_EXPECTED = {str: "text", int: "a whole number", bool: "true or false"}


class Payload:
    """Base of the state payloads: JSON in and out."""

    def to_payload(self) -> dict[str, Any]:
        return asdict(self)  # type: ignore[call-overload]

    @classmethod
    def from_payload(cls: type[P], data: Any) -> P:
        """The payload ``data`` holds, each field checked against its type (text, a whole number, true or
        false, null where the type allows it, a list or object, a nested payload): ``InvalidExportRequest``
        names the first field that is missing or holds the wrong type. Keys that are not fields are
        ignored (a state's input carries more than its step reads)."""
        if not isinstance(data, Mapping):
            raise InvalidExportRequest(f"{cls.__name__} payload must be a JSON object")
        return cls._parse(data, cls.__name__, "")

    @classmethod
    def _parse(cls: type[P], data: Mapping[str, Any], payload: str, at: str) -> P:
        """``payload``: the outermost payload's name, ``at``: the path to this one within it (messages
        name both)."""
        hints = get_type_hints(cls)
        values: dict[str, Any] = {}
        for f in fields(cls):  # type: ignore[arg-type]
            if f.name in data:
                values[f.name] = _typed(data[f.name], hints[f.name], payload, f"{at}{f.name}")
            elif f.default is MISSING and f.default_factory is MISSING:
                raise InvalidExportRequest(f"{payload} payload is not valid: {at}{f.name} is missing")
        built = cls(**values)
        built._check()
        return built

    def _check(self) -> None:
        """Rules beyond the fields' types (subclasses add their own)."""
        if any(f.name == "run_id" for f in fields(self)):  # type: ignore[arg-type]
            validate_run_id(vars(self)["run_id"])


def _typed(value: Any, hint: Any, payload: str, at: str) -> Any:
    """``value`` checked against the type ``hint`` of the field at ``at``; a nested payload is built."""
    origin, args = get_origin(hint), get_args(hint)
    if origin is UnionType:  # X | None
        if value is None and type(None) in args:
            return None
        (hint,) = (a for a in args if a is not type(None))
        origin, args = get_origin(hint), get_args(hint)
    if hint is Any:
        return value
    if isinstance(hint, type) and issubclass(hint, Payload):
        if not isinstance(value, Mapping):
            raise _wrong(value, "a JSON object", payload, at)
        return hint._parse(value, payload, f"{at}.")
    if origin is list:
        if not isinstance(value, list):
            raise _wrong(value, "a list", payload, at)
        return [_typed(item, args[0], payload, f"{at}[{i}]") for i, item in enumerate(value)]
    if origin is dict:
        if not isinstance(value, Mapping):
            raise _wrong(value, "a JSON object", payload, at)
        return value
    # bool is an int in Python, never in a payload
    if not isinstance(value, hint) or (hint is int and isinstance(value, bool)):
        raise _wrong(value, _EXPECTED.get(hint, hint.__name__), payload, at)
    return value


def _wrong(value: Any, expected: str, payload: str, at: str) -> InvalidExportRequest:
    return InvalidExportRequest(
        f"{payload} payload is not valid: {at} must be {expected}, not a JSON {json_type(value)}"
    )


@dataclass(frozen=True)
class Cursor(Payload):
    """Where a segment's next page Task starts: keys strictly after ``after_key`` and strictly before
    ``upper_key``, ``seq`` the next part's number; ``offset`` > 0 reads one page by offset instead (a
    segment's first page). ``expected_remaining`` is a hint only (see ``pages.return_format``)."""

    segment: int
    seq: int = 0
    after_key: str | None = None
    upper_key: str | None = None
    offset: int = 0
    max_pages: int = 1
    expected_remaining: int | None = None
    # Tasks this segment has run in this execution, and how many it may run before the execution's history
    # would grow too long (0 = no limit); past it the segment pauses and the run continues in a new one.
    tasks: int = 0
    task_budget: int = 0

    def _check(self) -> None:
        if self.segment < 0 or self.seq < 0 or self.offset < 0 or self.max_pages < 1:
            raise InvalidExportRequest("Cursor numbers must not be negative (max_pages at least 1)")


@dataclass(frozen=True)
class RunRef(Payload):
    """A step's input when the run id is all it needs (session, first page, plan, finalise)."""

    run_id: str


@dataclass(frozen=True)
class StartTask(Payload):
    """Start export's input: the execution's name (the run id, unless the request resumes a run) and the
    execution's input, the request (``spec.ExportSpec``'s fields, or ``{spec.RESUME_KEY: <run id>}``),
    which the step validates."""

    run_id: str
    request: dict[str, Any]


@dataclass(frozen=True)
class ExportStarted(Payload):
    """Start export: the run id (the resumed run's, when resuming) and whether landed parts are kept."""

    run_id: str
    resume: bool


@dataclass(frozen=True)
class SessionReady(Payload):
    """Get API session: when the cached session expires, and whether this call logged in. Never the id."""

    expires_at: str
    refreshed: bool


@dataclass(frozen=True)
class SegmentStart(Payload):
    """Where a segment's first page is read by offset (one per segment after the first)."""

    segment: int
    offset: int


@dataclass(frozen=True)
class FirstPageFetched(Payload):
    """Fetch first page: Intacct's totalcount, whether that page was all, and where the other segments
    start (an empty list when there is one segment)."""

    done: bool
    total_count: int
    segment_starts: list[SegmentStart]


@dataclass(frozen=True)
class SegmentStartTask(Payload):
    """Fetch a segment's first page (an item of the offset-read Map)."""

    run_id: str
    segment: int
    offset: int


@dataclass(frozen=True)
class SegmentStartFetched(Payload):
    """What a segment's first page held. The state discards it (``ResultPath: null``): planning reads the
    page's keys from the part's summary; it shows in the execution's history."""

    segment: int
    records: int


@dataclass(frozen=True)
class SegmentsPlanned(Payload):
    """Plan segments: the segments that still have pages to fetch (their cursors are in the plan
    document, ``layout.plan_key``)."""

    segments: list[int]


@dataclass(frozen=True)
class SegmentPagesTask(Payload):
    """Fetch a segment's pages: the segment's first Task has no cursor (it is read from the plan
    document); later Tasks carry the one the previous Task returned."""

    run_id: str
    segment: int
    cursor: Cursor | None = None


@dataclass(frozen=True)
class SegmentPagesFetched(Payload):
    """One segment Task's outcome: whether the segment is finished, and the cursor of its next Task."""

    run_id: str
    segment: int
    finished: bool
    cursor: Cursor
    pages: int = 0  # landed by this Task
    records: int = 0
    # Not finished, but out of this execution's task budget: the run continues in a new execution.
    paused: bool = False


@dataclass(frozen=True)
class Continued(Payload):
    """Continue in a new execution: the execution an export's run goes on in, once this one's history
    could pass its cap. The state writes it at ``continued`` (its ResultPath), so an execution that ended
    this way has it in its output; one that finished the run has none."""

    OUTPUT_KEY: ClassVar[str] = "continued"

    execution_arn: str

    @classmethod
    def of_output(cls, output: Any) -> Continued | None:
        """The continuation in an export execution's output (JSON text, as Step Functions and its
        EventBridge events give it, or parsed), or None when the execution did not end by continuing."""
        try:
            document = json.loads(output) if isinstance(output, str) else output
        except json.JSONDecodeError:
            return None
        if not isinstance(document, Mapping) or document.get(cls.OUTPUT_KEY) is None:
            return None
        return cls.from_payload(document[cls.OUTPUT_KEY])


@dataclass(frozen=True)
class FinaliseTask(Payload):
    """Finalise export's input: the run, and the execution finalising it (named in the manifest, so the
    handler of the execution's end knows whose manifest it is)."""

    run_id: str
    execution: str


@dataclass(frozen=True)
class ExportFinalised(Payload):
    """Finalise export: the run's outcome as announced (counts and the manifest's key)."""

    run_id: str
    object: str
    entity: str | None
    status: str
    records: int
    pages: int
    transactions: int
    manifest_key: str
    bucket: str


@dataclass(frozen=True)
class SyncItem(Payload):
    """One object of a sync, an item of its Map: the object, its run, the export execution that runs it
    (a deterministic name) and that execution's small input (a request, or a resume)."""

    object: str
    run_id: str
    execution: str
    input: dict[str, Any]


@dataclass(frozen=True)
class SyncStarted(Payload):
    """Start the sync: what the workflow does next (``action``: ``export`` the ``objects``, ``plan`` or
    ``skip`` (documented, announced), ``none`` (nothing due)), how many objects run at once, and how long
    to wait between looks at a run that continues in new executions."""

    sync_id: str
    action: str
    max_concurrency: int
    follow_seconds: int
    objects: list[SyncItem]


@dataclass(frozen=True)
class FollowTask(Payload):
    """Follow an object's run from the export execution the sync started."""

    execution_arn: str


@dataclass(frozen=True)
class RunFollowed(Payload):
    """Where an object's run is: ended or not, its status, and the execution it is in now (a run whose
    history would pass the cap continues in new executions)."""

    ended: bool
    status: str
    execution_arn: str


@dataclass(frozen=True)
class ObjectSynced(Payload):
    """One object's outcome as the sync's Map iteration leaves it: the run, the first export execution's
    name, the status, and the execution the run ended in (None when the start itself failed)."""

    object: str
    run_id: str
    execution: str
    status: str
    execution_arn: str | None = None


@dataclass(frozen=True)
class FinishSyncTask(Payload):
    """Finish the sync: the outcome of every object it exported (none for a plan or a skip)."""

    sync_id: str
    results: list[ObjectSynced]


@dataclass(frozen=True)
class SyncFinished(Payload):
    """The sync's summary as announced: counts and the summary document's key."""

    sync_id: str
    status: str
    objects_succeeded: int
    objects_failed: int
    records: int
    transactions: int
    summary_key: str
