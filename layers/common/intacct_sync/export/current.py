"""The current state of every object: which runs succeeded, and the SQL of the ``<object>_current`` and
``<object>_deletes`` views, written once for Athena (Glue views) and DuckDB (``intacct-sync sql``).

**Which runs.** Each object and scope (the top level, or one entity) has an index of its succeeded runs
(``layout.succeeded_runs_key``), changed only by ``with_run``/``without_run`` (``steps.tables`` calls
them when a run succeeds, or turns out to have failed after all). A run not in it is never read: failed
and running runs' parts are invisible to the views. A view reads the latest *complete* run (a full run,
or an incremental one that had no watermark and so read everything) and every run started after it. A
run whose request named a filter of its own read only part of the object: it is in the index (it
succeeded) but no view reads it, neither as the base nor as a later change.

**Current state.** Of each key, the version read last (``_sdc_extracted_at``; ties by run id), unless a
tombstone of those runs deleted it after that version was written: tombstones name records by the key
(``<RECORDNO>--REC``) or by the object's id field (CUSTOMERID...; docs/intacct/PROTOCOL.md §9), and a deletion
applies when Intacct recorded it (``_sdc_deleted_at``) at or after the version's own time (its modified field,
else its created field, else when it was read), all Intacct's clock; one naming an id spares a record
created in the deletion's own second (``_deletes``). So a customer deleted and created again under the
same CUSTOMERID stays, even within the same second, and one deleted while its page was being read goes.

**Deletes.** ``<object>_deletes``: every deletion the object's succeeded runs recorded, once each
(incremental runs re-read the lookback, so one AUDITHISTORY row can be in several runs).

Views name their runs literally (``run_id IN (...)``): the tables' partitions are projected from the
query (``injected``), which Athena allows only with literal values, and it reads only those prefixes.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, replace
from typing import Any

from intacct_sync.export.tables import Column, TableSchema, table_name
from intacct_sync.export.typed import DATE, DELETED_AT_COLUMN, EXTRACTED_AT_COLUMN, RUN_ID_COLUMN, TIMESTAMP

INDEX_VERSION = 1


@dataclass(frozen=True)
class SucceededRun:
    """One succeeded run as the views need it (from its run document and manifest)."""

    run_id: str
    mode: str
    complete: bool  # it read every record: a full run, or the first incremental one
    started_at: str
    finished_at: str = ""
    records: int = 0
    deletes: int = 0  # tombstones it wrote
    manifest_key: str = ""
    # The request named a filter of its own: the run read part of the object, not a snapshot of it, so
    # no view reads it (its records are in the ``<object>`` table all the same).
    filtered: bool = False

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> SucceededRun:
        return cls(
            run_id=str(data["run_id"]),
            mode=str(data.get("mode") or ""),
            complete=bool(data.get("complete")),
            started_at=str(data.get("started_at") or ""),
            finished_at=str(data.get("finished_at") or ""),
            records=int(data.get("records") or 0),
            deletes=int(data.get("deletes") or 0),
            manifest_key=str(data.get("manifest_key") or ""),
            filtered=bool(data.get("filtered")),
        )


@dataclass(frozen=True)
class RunIndex:
    """The succeeded runs of one object and scope (``entity`` None: the top level), oldest first."""

    object: str
    entity: str | None = None
    runs: tuple[SucceededRun, ...] = ()

    def with_run(self, run: SucceededRun) -> RunIndex:
        kept = [r for r in self.runs if r.run_id != run.run_id]
        return replace(self, runs=tuple(sorted([*kept, run], key=lambda r: (r.started_at, r.run_id))))

    def without_run(self, run_id: str) -> RunIndex:
        return replace(self, runs=tuple(r for r in self.runs if r.run_id != run_id))

    def snapshot_runs(self) -> tuple[SucceededRun, ...]:
        """The runs the views may read: those without a request filter, oldest first."""
        return tuple(r for r in self.runs if not r.filtered)

    def current_runs(self) -> tuple[SucceededRun, ...]:
        """The latest complete run and every run started after it (none before a complete run); runs with
        a request filter are never among them."""
        runs = self.snapshot_runs()
        complete = [i for i, r in enumerate(runs) if r.complete]
        if not complete:
            return ()
        base = runs[complete[-1]]
        return tuple(r for r in runs[complete[-1] :] if r.started_at >= base.started_at)

    def to_document(self) -> dict[str, Any]:
        return {
            "version": INDEX_VERSION,
            "object": self.object,
            "entity": self.entity,
            "runs": [asdict(r) for r in self.runs],
        }

    @classmethod
    def from_document(
        cls, document: Mapping[str, Any] | None, object_name: str, entity: str | None
    ) -> RunIndex:
        if not document:
            return cls(object_name, entity)
        return cls(object_name, entity, tuple(SucceededRun.from_dict(r) for r in document.get("runs") or ()))


def view_names(object_name: str, entity: str | None) -> tuple[str, str]:
    """(current view, deletes view): ``customer_current``/``customer_deletes`` for the top level,
    ``customer_current_us``/``customer_deletes_us`` for entity US."""
    scope = f"_{table_name(entity)}".replace("-", "_") if entity else ""
    return table_name(object_name, f"_current{scope}"), table_name(object_name, f"_deletes{scope}")


# ------------------------------------------------------------------------------------------------- SQL


def _q(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _literal(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def _in(runs: Sequence[str]) -> str:
    return ", ".join(_literal(r) for r in runs)


def _select_list(columns: Sequence[Column], prefix: str = "") -> str:
    return ", ".join(f"{prefix}{_q(c.name)}" for c in columns)


def _event_at(schema: TableSchema) -> str:
    """When a version was written, on Intacct's clock: its modified field, else its created field (both
    as instants), else when it was read."""
    parts = [
        f"CAST({_q(c.name)} AS timestamp)"
        for c in (schema.column(schema.modified_field), schema.column(schema.created_field))
        if c is not None and c.kind in (TIMESTAMP, DATE)
    ]
    return f"COALESCE({', '.join([*parts, _q(EXTRACTED_AT_COLUMN)])})"


def _deletes(schema: TableSchema, by_id: bool) -> str:
    """When a tombstone ``t`` that names the version ``l`` (by key, or ``by_id`` by the id field) deletes
    it: Intacct recorded the deletion at or after the version was written. A tombstone names a record by
    its id (CUSTOMERID) only when AUDITHISTORY gave no RECORDNO, and the id can have passed to a new
    record by then: one created in the same second as the deletion (Intacct's times are whole seconds)
    was created after it, since a record cannot be created under an id that another still holds. So such
    a tombstone spares records created at or after it (by a created field that is a timestamp). The one
    case this gets wrong: a record created, read by a run and deleted within one second stays."""
    rule = f"t.{_q(DELETED_AT_COLUMN)} >= l._event_at"
    created = schema.column(schema.created_field)
    if by_id and created is not None and created.kind == TIMESTAMP:
        rule += f" AND (l.{_q(created.name)} IS NULL OR l.{_q(created.name)} < t.{_q(DELETED_AT_COLUMN)})"
    return rule


def _empty(columns: Sequence[Column]) -> str:
    """A relation of ``columns`` with no rows (a view whose runs wrote no tombstones)."""
    nulls = ", ".join(f"CAST(NULL AS {c.glue_type.replace('string', 'varchar')})" for c in columns)
    return f"SELECT * FROM (VALUES ({nulls})) AS t({_select_list(columns)}) WHERE 1 = 0"


def current_sql(schema: TableSchema, runs: Sequence[str], tombstone_runs: Sequence[str]) -> str:
    """The ``<object>_current`` query over the ``<object>`` and ``<object>_tombstones`` tables: the
    latest version of each key in ``runs``, less the keys the tombstones of ``tombstone_runs`` deleted
    after it. One text for Athena and DuckDB (standard SQL: window function, joins, ``IN`` lists)."""
    if not runs:
        raise ValueError("a current view needs at least one run")
    obj = _literal(schema.object)
    columns = schema.record_columns
    key = schema.column(schema.key_field) or Column(schema.key_field, schema.key_field.lower(), "string")
    sql = (
        f"WITH versions AS (\n"
        f"  SELECT {_select_list(columns)}, {_event_at(schema)} AS _event_at,\n"
        f"    row_number() OVER (PARTITION BY {_q(key.name)} "
        f"ORDER BY {_q(EXTRACTED_AT_COLUMN)} DESC, {_q(RUN_ID_COLUMN)} DESC) AS _version\n"
        f"  FROM {_q(table_name(schema.object))}\n"
        f"  WHERE object = {obj} AND run_id IN ({_in(runs)})\n"
        f"),\n"
        f"latest AS (SELECT * FROM versions WHERE _version = 1)"
    )
    if not tombstone_runs:
        return f"{sql}\nSELECT {_select_list(columns)} FROM latest"
    names = [key]
    id_column = schema.column(schema.id_field)
    if id_column is not None and id_column.name != key.name:
        names.append(id_column)
    tombstones = (
        f"SELECT {_select_list([*names, Column(DELETED_AT_COLUMN, DELETED_AT_COLUMN, TIMESTAMP)])} "
        f"FROM {_q(table_name(schema.object, '_tombstones'))} "
        f"WHERE object = {obj} AND run_id IN ({_in(tombstone_runs)})"
    )
    deleted = "\n  UNION\n".join(
        f"  SELECT l.{_q(key.name)} FROM latest l JOIN tombstones t ON t.{_q(c.name)} = l.{_q(c.name)} "
        f"WHERE {_deletes(schema, c is not key)}"
        for c in names
    )
    return (
        f"{sql},\n"
        f"tombstones AS ({tombstones}),\n"
        f"deleted AS (\n{deleted}\n)\n"
        f"SELECT {_select_list(columns)} FROM latest\n"
        f"WHERE {_q(key.name)} NOT IN (SELECT {_q(key.name)} FROM deleted)"
    )


def deletes_sql(schema: TableSchema, tombstone_runs: Sequence[str]) -> str:
    """The ``<object>_deletes`` query: each deletion the runs recorded, once (by AUDITHISTORY ID)."""
    columns = schema.tombstone_columns
    if not tombstone_runs:
        return _empty(columns)
    named = [c for c in columns if c.name in {"audit_id"} or c.field in {schema.key_field, schema.id_field}]
    return (
        f"SELECT {_select_list(columns)} FROM (\n"
        f"  SELECT {_select_list(columns)},\n"
        f"    row_number() OVER (PARTITION BY {_select_list(named)} "
        f"ORDER BY {_q(EXTRACTED_AT_COLUMN)}) AS _n\n"
        f"  FROM {_q(table_name(schema.object, '_tombstones'))}\n"
        f"  WHERE object = {_literal(schema.object)} AND run_id IN ({_in(tombstone_runs)})\n"
        f") AS t WHERE _n = 1"
    )


@dataclass(frozen=True)
class View:
    """A view to publish: its name, query and columns."""

    name: str
    sql: str
    columns: tuple[Column, ...]
    description: str


def views(schema: TableSchema, index: RunIndex) -> list[View]:
    """The current and deletes views of one scope; none until the scope has a complete run."""
    current_runs = index.current_runs()
    if not current_runs:
        return []
    current_name, deletes_name = view_names(schema.object, index.entity)
    scope = f"entity {index.entity}" if index.entity else "the top level"
    deleting = [r.run_id for r in current_runs if r.deletes]
    return [
        View(
            current_name,
            current_sql(schema, [r.run_id for r in current_runs], deleting),
            schema.record_columns,
            f"{schema.object} as it is now ({scope}): the latest version of each key from run "
            f"{current_runs[0].run_id} on, deletes applied",
        ),
        View(
            deletes_name,
            deletes_sql(schema, [r.run_id for r in index.snapshot_runs() if r.deletes]),
            schema.tombstone_columns,
            f"{schema.object} records deleted at Intacct ({scope}), each once",
        ),
    ]


def presto_view_input(view: View, database: str) -> dict[str, Any]:
    """The Glue TableInput of an Athena view: ``TableType`` VIRTUAL_VIEW, parameter ``presto_view``, and
    ``ViewOriginalText`` ``/* Presto View: <base64 of {originalSql, catalog, schema, columns}> */`` with
    the Presto types (the encoding Athena's own CREATE VIEW stores); the Hive types go in the
    StorageDescriptor."""
    encoded = json.dumps(
        {
            "originalSql": view.sql,
            "catalog": "awsdatacatalog",
            "schema": database,
            "columns": [{"name": c.name, "type": c.presto_type} for c in view.columns],
        },
        separators=(",", ":"),
    )
    return {
        "Name": view.name,
        "Description": view.description[:2048],
        "TableType": "VIRTUAL_VIEW",
        "Parameters": {"presto_view": "true", "comment": "Presto View"},
        "ViewOriginalText": f"/* Presto View: {base64.b64encode(encoded.encode()).decode()} */",
        "ViewExpandedText": "/* Presto View */",
        "PartitionKeys": [],
        "StorageDescriptor": {
            "Columns": [{"Name": c.name, "Type": c.glue_type} for c in view.columns],
            "SerdeInfo": {},
        },
    }
