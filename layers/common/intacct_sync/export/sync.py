"""The sync of everything: what one sync execution is asked to do and how its pieces are named, which
objects are due, what a full sync would cost, and the summary at the end. Pure logic: no AWS, no Intacct.

A sync runs the export workflow once per object (the sync state machine starts one export execution per
object and waits for it): incremental where the object has a modified field, full otherwise. Each export
keeps its own run, manifest and watermark; the sync adds one document, ``layout.sync_key``, holding the
request, the objects and their runs, and at the end the summary (or, for a dry run, the plan).
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, time, timedelta
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

from intacct_sync.errors import InvalidExportRequest
from intacct_sync.export.budget import fits_budget
from intacct_sync.export.plan import page_count
from intacct_sync.export.spec import MODES, validate_run_id

if TYPE_CHECKING:
    from intacct_sync.objects import ExportObject

# What a sync request may say (the sync state machine's input; the API's POST /exports with "objects").
SYNC_FIELDS = ("objects", "mode", "dry_run", "resume_sync_id")
ALL, DUE = "all", "due"
# An object of a sync that was stopped (Ctrl-C, StopExecution) before its run ended.
STOPPED = "stopped"
# A catalogue item's frequency: an ISO-8601 duration of days, hours and minutes, or one of these words.
FREQUENCY_WORDS = {"hourly": "PT1H", "daily": "P1D"}
_DURATION = re.compile(r"^P(?:(\d+)D)?(?:T(?:(\d+)H)?(?:(\d+)M)?)?\Z")
MIN_FREQUENCY, MAX_FREQUENCY = timedelta(minutes=15), timedelta(days=1)
# An object is due a moment early, so that a schedule of the same period as its frequency (hourly
# schedule, "PT1H") does not find it a few seconds short and skip every other run.
DUE_SLACK = timedelta(minutes=5)
# Intacct's weekly maintenance: Friday 19:30-23:30 US Pacific, when the API may be unavailable
# (docs/intacct/PROTOCOL.md §6; Sage publishes a weekly four-hour window). Scheduled syncs of due objects
# do not start inside it.
MAINTENANCE_ZONE = ZoneInfo("America/Los_Angeles")
MAINTENANCE_DAY, MAINTENANCE_START, MAINTENANCE_END = 4, time(19, 30), time(23, 30)  # Friday (Monday = 0)


def parse_frequency(value: Any) -> timedelta:
    """A frequency (``"PT1H"``, ``"PT30M"``, ``"P1D"``, ``"hourly"``, ``"daily"``) as a duration, from 15
    minutes to a day (the nightly sync of everything covers anything rarer); InvalidExportRequest
    naming what is wrong."""
    text = FREQUENCY_WORDS.get(value, value) if isinstance(value, str) else value
    match = _DURATION.match(text) if isinstance(text, str) and text != "P" else None
    if match is None or not any(match.groups()):
        raise InvalidExportRequest(
            f"must be an ISO-8601 duration such as PT1H, PT30M or P1D, or hourly or daily; got {value!r}"[
                :200
            ]
        )
    days, hours, minutes = (int(part or 0) for part in match.groups())
    duration = timedelta(days=days, hours=hours, minutes=minutes)
    if not MIN_FREQUENCY <= duration <= MAX_FREQUENCY:
        raise InvalidExportRequest(f"must be from PT15M to P1D, got {value!r}"[:200])
    return duration


@dataclass(frozen=True)
class SyncRequest:
    """A validated sync request: which objects (``"all"``, ``"due"`` or names), whether every object is
    exported in full (``mode: "full"``; default incremental where the object allows it), a dry run
    (``dry_run``: the plan only), or a rerun of what failed in an earlier sync (``resume_sync_id``)."""

    objects: str | tuple[str, ...] = ALL
    mode: str | None = None
    dry_run: bool = False
    resume_sync_id: str | None = None

    @classmethod
    def from_payload(cls, payload: Any, configured: Sequence[str]) -> SyncRequest:
        """Validate the sync state machine's input against the catalogue's object names."""
        if not isinstance(payload, Mapping):
            raise InvalidExportRequest("the sync request must be a JSON object")
        unknown = sorted(set(payload) - set(SYNC_FIELDS))
        if unknown:
            raise InvalidExportRequest(
                f"unknown field(s) in the sync request: {', '.join(unknown)[:200]}; "
                f"allowed: {', '.join(SYNC_FIELDS)}"
            )
        resume = payload.get("resume_sync_id")
        if resume is not None:
            if set(payload) != {"resume_sync_id"}:
                raise InvalidExportRequest(
                    "resume_sync_id reruns what failed in that sync as it was asked; give it alone"
                )
            return cls(resume_sync_id=validate_run_id(resume, "resume_sync_id"))
        if "objects" not in payload:
            raise InvalidExportRequest('objects is required: "all", or a list of the catalogue\'s objects')
        mode = payload.get("mode")
        if mode is not None and mode not in MODES:
            raise InvalidExportRequest(f"mode must be one of {', '.join(MODES)}, got {mode!r}"[:200])
        dry_run = payload.get("dry_run", False)
        if not isinstance(dry_run, bool):
            raise InvalidExportRequest("dry_run must be true (report the plan only) or false")
        return cls(_objects(payload["objects"], configured), mode, dry_run)

    def to_payload(self) -> dict[str, Any]:
        """The normalised request (what the state machine receives): defaults left out."""
        if self.resume_sync_id is not None:
            return {"resume_sync_id": self.resume_sync_id}
        document: dict[str, Any] = {
            "objects": self.objects if isinstance(self.objects, str) else list(self.objects)
        }
        if self.mode is not None:
            document["mode"] = self.mode
        if self.dry_run:
            document["dry_run"] = True
        return document

    def names(self, configured: Sequence[str]) -> list[str]:
        """The objects asked for, in the catalogue's order (``"due"`` is decided by ``due_objects``)."""
        if self.objects == ALL:
            return list(configured)
        if isinstance(self.objects, str):
            return []
        return [name for name in configured if name in self.objects]


def _objects(value: Any, configured: Sequence[str]) -> str | tuple[str, ...]:
    if isinstance(value, str) and value.lower() in (ALL, DUE):  # any case, as the names in a list
        return value.lower()
    if not isinstance(value, list) or not value:
        raise InvalidExportRequest('objects must be "all", "due" or a non-empty list of object names')
    if not all(isinstance(name, str) for name in value):
        raise InvalidExportRequest("objects must list object names (text)")
    names = [name.upper() for name in value]
    unknown = [name for name in names if name not in configured]
    if unknown:
        raise UnknownSyncObject(
            f"object(s) {', '.join(unknown)[:200]} not in the catalogue; configured: "
            f"{', '.join(configured)[:300]}"
        )
    if len(set(names)) != len(names):
        raise InvalidExportRequest("objects must not repeat a name")
    return tuple(names)


class UnknownSyncObject(InvalidExportRequest):
    """A sync request names an object the catalogue does not offer."""


def rerun_refusal(sync_id: str, document: Mapping[str, Any]) -> str | None:
    """Why a rerun of sync ``sync_id`` (its document) could do nothing, or None: a dry run exported
    nothing, and a sync that started no export (skipped, or Intacct refused its credentials) is simply
    run again as a new sync."""
    status = document.get("status")
    if status == "planned":
        return f"sync {sync_id} was a dry run (a plan): it exported nothing to rerun; start a sync instead"
    if status in ("skipped", "failed") and not document.get("objects") and not document.get("earlier"):
        error = document.get("error") or {}  # refused credentials: the error says it in short
        said = f"{error.get('error')}: {error.get('cause')}" if error else document.get("reason")
        why = f"{status}: {str(said)[:300]}" if said else status
        return f"sync {sync_id} exported nothing ({why}); start a new sync instead"
    return None


def child_execution(sync_id: str, object_name: str) -> str:
    """The name of the export execution that syncs ``object_name`` in sync ``sync_id``: deterministic, so
    a retried start finds the same execution, readable (the object first) and at most 80 characters of
    Step Functions' name alphabet. Also the run id of the object's run (unless it resumes an earlier
    run)."""
    digest = hashlib.sha256(f"intacct-sync:sync:{sync_id}\n{object_name}".encode()).hexdigest()
    return f"{object_name.lower()[:50]}-sync-{digest[:24]}"


def export_input(entry: ExportObject, mode: str | None) -> dict[str, Any]:
    """The export request a sync sends for one object: incremental where the object has a modified field
    (the first incremental run, with no watermark yet, exports everything), full otherwise or when the
    sync asks for full runs."""
    incremental = entry.incremental and mode != "full"
    return {"object": entry.name, "mode": "incremental" if incremental else "full"}


def due_objects(
    entries: Iterable[ExportObject], last_started: Mapping[str, datetime | None], now: datetime
) -> list[str]:
    """The objects with a frequency whose last sync started at least that long ago (less ``DUE_SLACK``),
    or never."""
    due = []
    for entry in entries:
        if entry.frequency is None:
            continue
        started = last_started.get(entry.name)
        if started is None or now - started >= parse_frequency(entry.frequency) - DUE_SLACK:
            due.append(entry.name)
    return due


def in_maintenance_window(now: datetime) -> bool:
    """Whether ``now`` (aware) falls in Intacct's weekly maintenance window."""
    local = now.astimezone(MAINTENANCE_ZONE)
    return local.weekday() == MAINTENANCE_DAY and MAINTENANCE_START <= local.time() < MAINTENANCE_END


# --- what a full sync costs --------------------------------------------------------------------------


def planned_object(
    name: str,
    mode: str,
    watermark: str | None,
    records: int | None,
    page_size: int,
    lookup_cached: bool,
    error: str | None = None,
) -> dict[str, Any]:
    """One object of a sync's plan: its record count (``None`` when the count query failed: ``error``
    says why) and the Intacct transactions a full export of it would use: one ``query`` per page (an
    empty object still takes one) and the ``lookup`` of its fields unless today's is cached. ``error`` is
    kept as one line (Intacct's texts hold newlines and tabs) of at most 500 characters."""
    pages = max(1, page_count(records, page_size)) if records is not None else None
    return {
        "object": name,
        "mode": mode,
        "watermark": watermark,
        "records": records,
        "pages": pages,
        "full_sync_transactions": pages + (0 if lookup_cached else 1) if pages is not None else None,
        "error": " ".join(error.split())[:500] if error is not None else None,
    }


def plan_totals(
    objects: Sequence[Mapping[str, Any]], plan_transactions: int, month_used: int, budget: int
) -> dict[str, Any]:
    """The plan's totals against the month's budget (``budget`` 0: none). ``plan_transactions`` is what
    counting cost (one query per object, and a login when no session was cached)."""
    full = sum(o["full_sync_transactions"] or 0 for o in objects)
    remaining = max(0, budget - month_used) if budget else None
    return {
        "records": sum(o["records"] or 0 for o in objects),
        "full_sync_transactions": full,
        "objects_not_counted": [o["object"] for o in objects if o["records"] is None],
        "plan_transactions": plan_transactions,
        "month_transactions_used": month_used,
        "monthly_budget": budget or None,
        "budget_remaining": remaining,
        "fits_budget": fits_budget(budget, month_used, full) if budget else None,
    }


# --- the summary -------------------------------------------------------------------------------------


def sync_status(outcomes: Sequence[Mapping[str, Any]]) -> str:
    """``succeeded`` when every object's run succeeded, else ``failed`` (some or all objects failed)."""
    return "succeeded" if all(o["status"] == "succeeded" for o in outcomes) else "failed"


def totals(
    outcomes: Sequence[Mapping[str, Any]], earlier: Sequence[Mapping[str, Any]], sync_transactions: int = 0
) -> dict[str, Any]:
    """Objects succeeded, failed and stopped (which), records and Intacct transactions of this sync (its
    runs', and ``sync_transactions``: those it spent itself, signing in before its exports), and the
    objects an earlier sync had already synced (a rerun of what failed). An object is ``stopped`` when the
    sync was stopped before its run ended."""
    return {
        "objects_succeeded": sum(o["status"] == "succeeded" for o in outcomes),
        "objects_failed": sum(o["status"] not in ("succeeded", STOPPED) for o in outcomes),
        "failed": [o["object"] for o in outcomes if o["status"] not in ("succeeded", STOPPED)],
        "stopped": [o["object"] for o in outcomes if o["status"] == STOPPED],
        "records": sum(int(o.get("records") or 0) for o in outcomes),
        "transactions": sum(int(o.get("transactions") or 0) for o in outcomes) + sync_transactions,
        "sync_transactions": sync_transactions,
        "objects_synced_earlier": [o["object"] for o in earlier],
    }
