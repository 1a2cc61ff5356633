"""Where things live in the export bucket (Hive-style partitions, so Athena and Glue read them as is)."""

from __future__ import annotations

# Where typed records and tombstones land (the Glue tables' locations).
EXPORTS_PREFIX = "exports/"
DELETES_PREFIX = "deletes/"


def partition_prefix(prefix: str, object_name: str, run_id: str) -> str:
    """One run's folder under ``prefix`` (exports/, deletes/, _meta/summaries/):
    ``<prefix>object=<OBJECT>/run_id=<run>/``, the Glue tables' partitions. Also the pattern of them all:
    the tables' location template passes ``${object}`` and ``${run_id}``, the local SQL a glob's ``*``."""
    return f"{prefix}object={object_name}/run_id={run_id}/"


def run_prefix(object_name: str, run_id: str) -> str:
    """Prefix of one run's data parts: exports/object=<OBJECT>/run_id=<run>/."""
    return partition_prefix(EXPORTS_PREFIX, object_name, run_id)


def part_key(object_name: str, run_id: str, segment: int, seq: int) -> str:
    """Deterministic per (segment, sequence), so a retried page overwrites instead of duplicating."""
    return f"{run_prefix(object_name, run_id)}part-s{segment:03d}-p{seq:06d}.ndjson.gz"


def manifest_key(object_name: str, run_id: str) -> str:
    """The run's manifest; the leading underscore keeps Athena from reading it as data."""
    return f"{run_prefix(object_name, run_id)}_manifest.json"


def summaries_prefix(object_name: str, run_id: str) -> str:
    """Prefix of a run's part summary objects: under _meta/, not exports/, so Athena never reads them."""
    return partition_prefix("_meta/summaries/", object_name, run_id)


def summaries_key(object_name: str, run_id: str, segment: int, first_seq: int) -> str:
    """The summary object of the page Task whose first part is (segment, first_seq): a retried Task
    overwrites its own instead of adding another."""
    return f"{summaries_prefix(object_name, run_id)}s{segment:03d}-p{first_seq:06d}.json"


def deletes_key(object_name: str, run_id: str) -> str:
    """Tombstones of deleted records, beside (not inside) the data prefix."""
    return f"{partition_prefix(DELETES_PREFIX, object_name, run_id)}part-000000.ndjson.gz"


def field_cache_key(object_name: str, entity: str | None) -> str:
    """Cached `lookup` result, so discovering 'all fields' costs a transaction once, not every run."""
    return f"_meta/fields/{object_name}/{entity or '-'}.json"


def run_state_key(run_id: str) -> str:
    """What a run was asked to do (effective spec, window, first task), kept so a failed run can resume."""
    return f"_meta/runs/{run_id}.json"


def part_position(key: str) -> tuple[int, int]:
    """(segment, sequence) of a part key written by part_key()."""
    name = key.rsplit("/", 1)[-1]
    segment, seq = name[len("part-s") :].split(".", 1)[0].split("-p")
    return int(segment), int(seq)


def plan_key(run_id: str) -> str:
    """Where each segment of a run continues (written when segments are planned), read by the first page
    Task of each segment, so the state machine carries segment numbers, not cursors."""
    return f"_meta/plans/{run_id}.json"


def table_schema_key(object_name: str) -> str:
    """An object's columns and their types (``export.tables.TableSchema``), for Glue and local SQL."""
    return f"_meta/tables/object={object_name}/schema.json"


def succeeded_runs_key(object_name: str, entity: str | None) -> str:
    """The runs of an object (top level or one entity) that succeeded: what the current views read
    (``export.current``). Only these runs are ever read by the views."""
    return f"_meta/succeeded/object={object_name}/entity={entity or '-'}/runs.json"


def sync_key(sync_id: str) -> str:
    """A sync of several objects: its request, objects and runs, then its summary or plan
    (``export.sync``). Under _meta/, so Athena never reads it."""
    return f"_meta/syncs/{sync_id}.json"
