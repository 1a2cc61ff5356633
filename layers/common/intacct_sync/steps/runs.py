"""Reading and writing a run's document in the bucket (``layout.run_state_key``), and the time documents
are stamped with. Every other key a step reads or writes it names through ``export.layout``."""

from __future__ import annotations

from datetime import UTC, datetime

from intacct_sync.errors import InvalidExportRequest
from intacct_sync.export import layout
from intacct_sync.export.run import ExportRun
from intacct_sync.steps.ports import Store


def now() -> str:
    """The current UTC time as ISO-8601 to the second (manifests, run documents)."""
    return datetime.now(UTC).isoformat(timespec="seconds")


def load_run(store: Store, run_id: str) -> ExportRun:
    """The run document; InvalidExportRequest when the run was never started."""
    document = store.get_json(layout.run_state_key(run_id))
    if document is None:
        raise InvalidExportRequest(f"there is no export with run id {run_id!r}")
    return ExportRun.from_document(document)


def save_run(store: Store, run: ExportRun) -> None:
    store.put_json(layout.run_state_key(run.run_id), run.to_document())
