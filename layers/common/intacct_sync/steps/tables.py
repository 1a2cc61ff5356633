"""Tables and views: what finalising a run does for reporting, and the one place that says which runs
succeeded.

- ``publish_tables``: a succeeded run's fields, types and widenings merged into the object's schema
  (``export.tables``), then the ``<object>`` and ``<object>_tombstones`` Glue tables made to match it.
- ``record_succeeded_run`` / ``withdraw_run``: add a run to (or take it out of) its object's and scope's
  succeeded-runs index (``export.current.RunIndex``), then rewrite the scope's ``<object>_current`` and
  ``<object>_deletes`` views from it. Call the first only once the run is known to have succeeded (its
  manifest says so); the second when a run recorded as succeeded turns out to have failed. The views
  never read a run that is not in the index.

Glue is a convenience on top of the data: a Glue failure is logged and returned as a warning, never
fails the run (the schema and index in the bucket are what a later run, or ``intacct-sync sql``, builds
from). Without a catalog (``GLUE_DATABASE`` unset) only the bucket's documents are written.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

from intacct_sync.errors import CatalogError
from intacct_sync.export import layout
from intacct_sync.export.current import RunIndex, SucceededRun, presto_view_input, view_names, views
from intacct_sync.export.parts import PartSummary
from intacct_sync.export.run import ExportRun
from intacct_sync.export.tables import (
    TableSchema,
    merge_schema,
    records_table_input,
    tombstones_table_input,
)
from intacct_sync.export.typed import parse_widened, wider
from intacct_sync.observability import logger
from intacct_sync.steps.ports import Catalog, Store

# Attempts at a read-modify-write of the index when other writers keep changing it first.
INDEX_ATTEMPTS = 8


def load_schema(store: Store, object_name: str) -> TableSchema | None:
    """The object's stored schema, or None before its first succeeded run (or when unreadable)."""
    document = store.get_json(layout.table_schema_key(object_name))
    if not document:
        return None
    try:
        return TableSchema.from_document(document)
    except ValueError:
        logger.warning("table schema unreadable; rebuilt from this run", extra={"object": object_name})
        return None


def run_widenings(run: ExportRun, parts: Sequence[PartSummary]) -> dict[str, str]:
    """The kinds the run's parts widened fields to (``*``: every field of the run, to text)."""
    widened: dict[str, str] = {}
    for part in parts:
        for name, kind in parse_widened(part.widened).items():
            names = run.spec.fields if name == "*" else (name,)
            for each in names:
                widened[each] = wider(widened.get(each, kind), kind)
    return widened


def publish_tables(
    store: Store, catalog: Catalog | None, run: ExportRun, parts: Sequence[PartSummary]
) -> list[str]:
    """Merge a succeeded run into its object's schema and write the Glue tables; returns warnings for
    the manifest (new fields an incremental run filled only for what it read, fields that left the
    lookup, a Glue failure). Runs that landed Intacct's text (no
    field types) change nothing."""
    if not run.field_types:
        return []
    spec = run.spec
    existing = load_schema(store, spec.object)
    change = merge_schema(
        existing,
        spec.object,
        spec.key_field,
        spec.fields,
        run.field_types,
        run_widenings(run, parts),
        id_field=spec.id_field,
        modified_field=spec.modified_field,
        created_field=spec.created_field,
    )
    warnings = []
    if change.widened:
        logger.warning("columns widened", extra={"object": spec.object, "widened": change.widened})
    if existing is not None and change.added and (run.window or {}).get("since"):
        # An incremental run reads only what changed: records it did not read have no value for a field
        # that is new since they were last read, though Intacct may hold one.
        warnings.append(
            f"{len(change.added)} new field(s) of {spec.object} ({', '.join(change.added[:10])}) since "
            f"its last run: filled for the records this run read, null in "
            f"{view_names(spec.object, spec.entity)[0]} for the others until they change; a full run "
            f"fills them for every record"
        )
    if change.missing and run.details.get("fields_from") == "lookup":
        # Refused by query though lookup lists them (docs/intacct/PROTOCOL.md §9), or gone from lookup: say
        # which.
        refused = set(run.details.get("refused_fields") or ())
        for missing, why in (
            (
                [f for f in change.missing if f in refused],
                "were refused by Intacct's query (lookup lists them)",
            ),
            ([f for f in change.missing if f not in refused], "are no longer in Intacct's lookup"),
        ):
            if missing:
                warnings.append(
                    f"{len(missing)} field(s) of {spec.object}'s table {why} "
                    f"({', '.join(missing[:10])}); their columns stay, null from this run on"
                )
    if change.changed or store.get_json(layout.table_schema_key(spec.object)) is None:
        store.put_json(layout.table_schema_key(spec.object), change.schema.to_document())
    if catalog is not None:
        try:
            for table_input in (
                records_table_input(change.schema, store.bucket),
                tombstones_table_input(change.schema, store.bucket),
            ):
                catalog.put_table(table_input)
        except CatalogError as exc:
            logger.warning("Glue tables not written", extra={"error": str(exc)[:500]})
            warnings.append(f"the Athena tables of {spec.object} were not updated: {str(exc)[:300]}")
    return warnings


def succeeded_run(run: ExportRun, manifest: Mapping[str, Any]) -> SucceededRun:
    """The index entry of a run from its run document and manifest."""
    window = run.window or {}
    return SucceededRun(
        run_id=run.run_id,
        mode=run.spec.mode,
        complete=run.spec.mode == "full" or (run.spec.mode == "incremental" and not window.get("since")),
        started_at=run.started_at,
        finished_at=str(manifest.get("finished_at") or ""),
        records=int(manifest.get("records_written") or 0),
        deletes=int((manifest.get("deletes") or {}).get("records") or 0),
        manifest_key=layout.manifest_key(run.spec.object, run.run_id),
        filtered=run.filtered,
    )


def record_succeeded_run(
    store: Store, catalog: Catalog | None, run: ExportRun, manifest: Mapping[str, Any]
) -> RunIndex:
    """Add a run whose manifest says it succeeded to its object's and scope's index of succeeded runs,
    and rewrite the scope's views. Idempotent. Call it from where the run is known to have succeeded
    (``steps.ended``, once the execution has succeeded)."""
    if manifest.get("status") != "succeeded":
        raise ValueError(f"run {run.run_id} did not succeed (manifest status {manifest.get('status')!r})")
    entry = succeeded_run(run, manifest)
    index = _change_index(store, run.spec.object, run.spec.entity, lambda index: index.with_run(entry))
    publish_views(store, catalog, index)
    return index


def withdraw_run(
    store: Store, catalog: Catalog | None, object_name: str, entity: str | None, run_id: str
) -> RunIndex:
    """Take a run out of its object's and scope's index of succeeded runs (its manifest was rewritten to
    failed after the fact) and rewrite the scope's views without it. Idempotent."""
    index = _change_index(store, object_name, entity, lambda index: index.without_run(run_id))
    publish_views(store, catalog, index)
    return index


def _change_index(
    store: Store, object_name: str, entity: str | None, change: Callable[[RunIndex], RunIndex]
) -> RunIndex:
    key = layout.succeeded_runs_key(object_name, entity)
    for _ in range(INDEX_ATTEMPTS):
        document, etag = store.get_json_tagged(key)
        index = change(RunIndex.from_document(document, object_name, entity))
        if store.put_json_if(key, index.to_document(), etag):
            return index
    raise RuntimeError(f"{key} kept changing while it was being updated; try again")


def publish_views(store: Store, catalog: Catalog | None, index: RunIndex) -> None:
    """Write the scope's views from its index and the object's schema (nothing before both exist)."""
    if catalog is None:
        return
    schema = load_schema(store, index.object)
    if schema is None:
        return
    try:
        for view in views(schema, index):
            catalog.put_table(presto_view_input(view, catalog.database))
    except CatalogError as exc:
        logger.warning("Glue views not written", extra={"error": str(exc)[:500], "object": index.object})
