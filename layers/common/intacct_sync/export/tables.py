"""Each object's tables: the columns its typed records have, kept in the bucket, and the Glue table inputs
Athena reads them with.

The schema (``layout.table_schema_key``) is the one record of an object's columns, written by the product
when a run succeeds: the run's fields with their ``lookup`` types (``typed``), widened where a part had to
(``PartSummary.widened``). Columns are only ever added or widened, never dropped or narrowed: a field that
leaves the lookup keeps its column (null from then on) and the run says so. Both readers are built from
it: Glue tables (``records_table_input``, ``tombstones_table_input``) and the local DuckDB tables
(``intacct_local.sql``), with the same column names and types.

Column names are Athena's: lower case, the dots of related fields as underscores (the OpenX JSON SerDe's
``dots.in.keys``: ``DISPLAYCONTACT.EMAIL1`` -> ``displaycontact_email1``), any other character that is
not a letter, digit or underscore as an underscore (with a SerDe ``mapping.<column>`` to the field), and a
``_2``... suffix when two fields would share one.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from intacct_sync.export import layout
from intacct_sync.export.typed import (
    DELETED_AT_COLUMN,
    EXTRACTED_AT_COLUMN,
    GLUE_TYPES,
    KINDS,
    RUN_ID_COLUMN,
    STRING,
    TIMESTAMP,
    kind_of,
    wider,
)

SCHEMA_VERSION = 1
_NOT_A_NAME_CHARACTER = re.compile(r"[^a-z0-9_]")
# The metadata columns every typed record carries, after the object's own.
RECORD_METADATA = ((RUN_ID_COLUMN, STRING), (EXTRACTED_AT_COLUMN, TIMESTAMP))
# What a tombstone says besides the key and id fields (``export.audit.tombstone``).
TOMBSTONE_COLUMNS = (
    ("deleted_at", TIMESTAMP),
    ("deleted_at_tenant_local", STRING),
    ("deleted_by", STRING),
    ("audit_id", STRING),
    (RUN_ID_COLUMN, STRING),
    (EXTRACTED_AT_COLUMN, TIMESTAMP),
    (DELETED_AT_COLUMN, TIMESTAMP),
)
# Presto (Athena engine) names of the Glue types, for views.
PRESTO_TYPES = {"string": "varchar"}
OPENX_SERDE = "org.openx.data.jsonserde.JsonSerDe"


def column_name(name: str) -> str:
    """The Athena column of a field or key (before collisions are resolved)."""
    return _NOT_A_NAME_CHARACTER.sub("_", name.lower().replace(".", "_"))


def table_name(object_name: str, suffix: str = "") -> str:
    return f"{object_name.lower()}{suffix}"


@dataclass(frozen=True)
class Column:
    """One column: the field (JSON key) it reads, its name and kind (``typed.KINDS``)."""

    field: str
    name: str
    kind: str

    @property
    def glue_type(self) -> str:
        return GLUE_TYPES[self.kind]

    @property
    def presto_type(self) -> str:
        return PRESTO_TYPES.get(self.glue_type, self.glue_type)

    def to_dict(self) -> dict[str, str]:
        return {"field": self.field, "name": self.name, "kind": self.kind, "type": self.glue_type}


@dataclass(frozen=True)
class TableSchema:
    """An object's columns (its fields in first-seen order, then the metadata columns) and the fields
    the current view needs: the key, the id field tombstones may name records by, and the modified and
    created fields that say when a version was written (docs/intacct/PROTOCOL.md §9)."""

    object: str
    key_field: str
    columns: tuple[Column, ...] = ()
    id_field: str | None = None
    modified_field: str = ""
    created_field: str = ""

    @property
    def record_columns(self) -> tuple[Column, ...]:
        return self.columns + tuple(Column(name, name, kind) for name, kind in RECORD_METADATA)

    def column(self, field_name: str | None) -> Column | None:
        return next((c for c in self.columns if c.field == field_name), None) if field_name else None

    @property
    def tombstone_columns(self) -> tuple[Column, ...]:
        """The tombstones' columns: the key and id fields typed as in the records, then the rest."""
        named = [
            self.column(name) or Column(name, column_name(name), STRING)
            for name in dict.fromkeys(f for f in (self.key_field, self.id_field) if f)
        ]
        return tuple(named) + tuple(Column(name, name, kind) for name, kind in TOMBSTONE_COLUMNS)

    def to_document(self) -> dict[str, Any]:
        return {
            "version": SCHEMA_VERSION,
            "object": self.object,
            "key_field": self.key_field,
            "id_field": self.id_field,
            "modified_field": self.modified_field,
            "created_field": self.created_field,
            "columns": [c.to_dict() for c in self.columns],
        }

    @classmethod
    def from_document(cls, document: Mapping[str, Any]) -> TableSchema:
        """The schema from its stored document; ValueError when it is not one."""
        try:
            columns = tuple(
                Column(str(c["field"]), str(c["name"]), str(c["kind"])) for c in document["columns"]
            )
            if any(c.kind not in KINDS for c in columns):
                raise ValueError("unknown column kind")
            return cls(
                object=str(document["object"]),
                key_field=str(document["key_field"]),
                columns=columns,
                id_field=document.get("id_field") or None,
                modified_field=str(document.get("modified_field") or ""),
                created_field=str(document.get("created_field") or ""),
            )
        except (KeyError, TypeError) as exc:
            raise ValueError(f"not a table schema document ({exc})") from None


@dataclass
class SchemaChange:
    """What merging a run into an object's schema did."""

    schema: TableSchema
    added: list[str] = field(default_factory=list)
    widened: dict[str, str] = field(default_factory=dict)  # field -> new kind
    missing: list[str] = field(default_factory=list)  # columns the run's lookup no longer lists

    @property
    def changed(self) -> bool:
        return bool(self.added or self.widened)


def merge_schema(
    existing: TableSchema | None,
    object_name: str,
    key_field: str,
    fields: Sequence[str],
    types: Mapping[str, str],
    widened: Mapping[str, str] = {},
    *,
    id_field: str | None = None,
    modified_field: str = "",
    created_field: str = "",
) -> SchemaChange:
    """The schema after a run of ``fields`` typed ``types`` (lookup DATATYPEs) whose parts widened
    ``widened`` (field -> kind): new fields are added as columns, kinds only ever widen."""
    base = existing or TableSchema(object_name, key_field)
    columns = list(base.columns)
    by_field = {c.field: i for i, c in enumerate(columns)}
    taken = {c.name for c in columns} | {name for name, _ in RECORD_METADATA} | {"object", "run_id"}
    change = SchemaChange(base)
    for name in dict.fromkeys(fields):
        kind = kind_of(types.get(name))
        if name in widened:
            kind = wider(kind, widened[name])
        if name in by_field:
            column = columns[by_field[name]]
            merged = wider(column.kind, kind)
            if merged != column.kind:
                columns[by_field[name]] = replace(column, kind=merged)
                change.widened[name] = merged
            continue
        columns.append(Column(name, _free_name(column_name(name), taken), kind))
        taken.add(columns[-1].name)
        by_field[name] = len(columns) - 1
        change.added.append(name)
    present = set(fields)
    change.missing = [c.field for c in base.columns if c.field not in present]
    change.schema = TableSchema(
        object=object_name,
        key_field=key_field,
        columns=tuple(columns),
        id_field=id_field or base.id_field,
        modified_field=modified_field or base.modified_field,
        created_field=created_field or base.created_field,
    )
    return change


def _free_name(name: str, taken: Iterable[str]) -> str:
    used = set(taken)
    if name not in used:
        return name
    number = 2
    while f"{name}_{number}" in used:
        number += 1
    return f"{name}_{number}"


# ------------------------------------------------------------------------------------------ Glue inputs


def _serde_parameters(columns: Sequence[Column]) -> dict[str, str]:
    """OpenX SerDe settings: dotted keys read as underscores, keys matched case-insensitively, and a
    ``mapping.<column>`` for each column whose name is not its field's dotted key lower-cased."""
    parameters = {"dots.in.keys": "true", "case.insensitive": "true"}
    for column in columns:
        if column.name != column.field.lower().replace(".", "_"):
            parameters[f"mapping.{column.name}"] = column.field
    return parameters


def _glue_columns(columns: Sequence[Column]) -> list[dict[str, str]]:
    return [{"Name": c.name, "Type": c.glue_type} for c in columns]


def _partitioned_table(
    name: str, description: str, bucket: str, prefix: str, columns: Sequence[Column]
) -> dict[str, Any]:
    """A table over ``<prefix>object=<OBJECT>/run_id=<run>/``: gzip NDJSON read with the OpenX SerDe,
    partitioned by object and run with partition projection (both injected: no crawler, no partitions
    to manage; queries name the runs, as the views do)."""
    partitions = layout.partition_prefix(prefix, "${object}", "${run_id}")  # Athena fills them in
    return {
        "Name": name,
        "Description": description,
        "TableType": "EXTERNAL_TABLE",
        "Parameters": {
            "classification": "json",
            "compressionType": "gzip",
            "projection.enabled": "true",
            "projection.object.type": "injected",
            "projection.run_id.type": "injected",
            "storage.location.template": f"s3://{bucket}/{partitions}",
        },
        "PartitionKeys": [{"Name": "object", "Type": "string"}, {"Name": "run_id", "Type": "string"}],
        "StorageDescriptor": {
            "Columns": _glue_columns(columns),
            "Location": f"s3://{bucket}/{prefix}",
            "InputFormat": "org.apache.hadoop.mapred.TextInputFormat",
            "OutputFormat": "org.apache.hadoop.hive.ql.io.HiveIgnoreKeyTextOutputFormat",
            "SerdeInfo": {"SerializationLibrary": OPENX_SERDE, "Parameters": _serde_parameters(columns)},
        },
    }


def records_table_input(schema: TableSchema, bucket: str) -> dict[str, Any]:
    """The Glue TableInput of an object's typed records, every run (``<object>``)."""
    return _partitioned_table(
        table_name(schema.object),
        f"{schema.object} records of every run (typed); query with WHERE object = '{schema.object}' AND "
        f"run_id = '<run id>', or use {table_name(schema.object, '_current')}",
        bucket,
        layout.EXPORTS_PREFIX,
        schema.record_columns,
    )


def tombstones_table_input(schema: TableSchema, bucket: str) -> dict[str, Any]:
    """The Glue TableInput of an object's tombstones, every run (``<object>_tombstones``)."""
    return _partitioned_table(
        table_name(schema.object, "_tombstones"),
        f"{schema.object} records deleted at Intacct, as incremental runs found them in AUDITHISTORY; "
        f"query with WHERE object = '{schema.object}' AND run_id = '<run id>', or use "
        f"{table_name(schema.object, '_deletes')}",
        bucket,
        layout.DELETES_PREFIX,
        schema.tombstone_columns,
    )
