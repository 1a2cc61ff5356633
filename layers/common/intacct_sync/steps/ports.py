"""The narrow ports the steps are given: the export bucket, the state table, events and the tenant's
Intacct. The wiring implements them: ``intacct_sync.runtime`` with the adapters, and ``intacct_sync.tenant``
(the Intacct port: sessions, the tenant's concurrency, billing); tests may pass fakes."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager
from datetime import datetime
from typing import Any, Protocol

from intacct_sync.adapters.executions import Execution
from intacct_sync.export.pages import ProgressSink
from intacct_sync.export.parts import PartSummary
from intacct_sync.export.summaries import ListedObject
from intacct_sync.intacct import ApiSession, FieldInfo, Query, QueryPage, RemainingMs


class Store(Protocol):
    """The export bucket: parts, summary objects and JSON documents (run, plan, manifest, caches)."""

    @property
    def bucket(self) -> str: ...

    def put_part(self, summary: PartSummary, body: bytes) -> str: ...

    def delete(self, key: str) -> None: ...

    def get_bytes(self, key: str) -> bytes: ...

    def list_objects(self, prefix: str) -> Iterator[ListedObject]: ...

    def head_part(self, key: str) -> PartSummary: ...

    def put_summaries(self, key: str, document: dict[str, Any]) -> None: ...

    def put_json(self, key: str, document: dict[str, Any]) -> None: ...

    def get_json(self, key: str) -> dict[str, Any] | None: ...

    # Read-modify-write (the succeeded-runs index): a write succeeds only if the object is as it was read
    # (its ETag; None: it did not exist), else False and the caller reads again.
    def get_json_tagged(self, key: str) -> tuple[dict[str, Any] | None, str | None]: ...

    def put_json_if(self, key: str, document: dict[str, Any], etag: str | None) -> bool: ...


class State(Protocol):
    """The state table: run progress, the month's transactions, watermarks and last totals."""

    def record_total(self, run_id: str, total: int) -> None: ...

    def run_progress(self, run_id: str) -> dict[str, int]: ...

    def month_transactions(self) -> int: ...

    # ``scope``: "" for the object's own watermark, else a request filter's (``window.watermark_scope``).
    def watermark(self, object_name: str, entity: str | None, scope: str = "") -> str | None: ...

    def set_watermark(
        self, object_name: str, entity: str | None, value: str, run_id: str, scope: str = ""
    ) -> None: ...

    def last_total(self, object_name: str) -> int | None: ...

    def set_last_total(self, object_name: str, total: int) -> None: ...

    def last_sync(self, object_name: str) -> tuple[datetime, str] | None: ...

    def set_last_sync(self, object_name: str, started_at: datetime, run_id: str, sync_id: str) -> None: ...


class Events(Protocol):
    """Announcements on EventBridge (names in ``export.events``)."""

    def publish(self, detail_type: str, detail: dict[str, Any]) -> None: ...


class PageCalls(Protocol):
    """A page Task's calls under one held tenant slot (see ``tenant.PageCalls``)."""

    @property
    def query(self) -> Callable[[Query, Callable[[bytes], None] | None], QueryPage]: ...

    @property
    def progress(self) -> ProgressSink: ...

    @property
    def remaining_ms(self) -> RemainingMs: ...

    @property
    def reserve_ms(self) -> int: ...


class Intacct(Protocol):
    """The tenant's Intacct: every call under the tenant's concurrency limit, billed to a run, and done
    within the invocation's time (``remaining_ms``)."""

    def session(
        self, run_id: str | None, entity: str | None, remaining_ms: RemainingMs
    ) -> tuple[ApiSession, bool]: ...

    def query(
        self, run_id: str, entity: str | None, query: Query, remaining_ms: RemainingMs
    ) -> QueryPage: ...

    def lookup(
        self, run_id: str, entity: str | None, object_name: str, remaining_ms: RemainingMs
    ) -> list[FieldInfo]: ...

    def page_calls(
        self, run_id: str, entity: str | None, remaining_ms: Callable[[], int]
    ) -> AbstractContextManager[PageCalls]: ...


class Catalog(Protocol):
    """The Glue Data Catalog: tables and views Athena reads the exports with (``adapters.glue``)."""

    @property
    def database(self) -> str: ...

    def put_table(self, table_input: dict[str, Any]) -> str: ...


class Executions(Protocol):
    """Executions of one state machine (``adapters.executions``): described by name, followed through the
    executions a run continues in."""

    def execution_arn(self, name: str) -> str: ...

    def describe(self, name: str) -> Execution | None: ...

    def follow(self, execution: Execution) -> Execution: ...

    def name_of(self, arn: str) -> str: ...
