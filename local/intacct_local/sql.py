"""``intacct-sync sql``: the same tables and views as Athena, over the files local runs landed in ``--out``.

DuckDB (a development dependency, never in the Lambda layer) reads the gzip NDJSON parts where they lie.
Each object the runs exported gets, from the schema and the succeeded-runs index the runs keep in the
bucket (and so in ``--out``, under ``_meta/``):

- ``<object>``: its typed records, every run (with ``object`` and ``run_id`` columns, as Athena's
  partitions);
- ``<object>_tombstones``: its tombstones, every run;
- ``<object>_current``, ``<object>_deletes`` (``_<entity>`` for an entity's runs): the views, from the
  very SQL the Glue views hold (``intacct_sync.export.current``).

Every value is read as JSON text and cast to its column's type: DuckDB's reader parses JSON numbers as
doubles, so reading them as decimals directly would give ``72.32967426886169...``, not the
``72.3296742688617`` that was written.

Athena's SQL names tables in the stack's Glue database, ``intacct_sync_<stage>.customer_current``
(docs/API.md): a query that does reads the same tables here, whatever the stage.

Output (``write``): decimals in plain notation with the digits they need (``0``, ``0.1``, ``1500``; never
``0E-16`` or ``0.1000000000000000``); in JSON lines a DECIMAL is a number when a double reads it back
exactly (what most JSON readers parse numbers into), else that plain text, so no reader rounds an amount
silently.
"""

from __future__ import annotations

import csv
import json
import re
from collections.abc import Sequence
from decimal import Decimal
from pathlib import Path
from typing import Any, TextIO

from intacct_local.errors import RunError
from intacct_local.layer import RunIndex, TableSchema, layout, view_names, views

DUCKDB_TYPES = {
    "string": "VARCHAR",
    "bigint": "BIGINT",
    "decimal(38,16)": "DECIMAL(38,16)",
    "boolean": "BOOLEAN",
    "date": "DATE",
    "timestamp": "TIMESTAMP",
}


# A schema named like the stack's Glue database (template.yaml: intacct_sync_<stage>), before a dot.
_DATABASE = re.compile(r'(?<![\w."])"?(intacct_sync_[a-z0-9_]+)"?\s*\.', re.IGNORECASE)


class EmptyQuery(RunError):
    """The query holds no statement: empty, blank, or only comments."""


def _q(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _literal(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def _duckdb() -> Any:
    try:
        import duckdb
    except ImportError:
        raise RunError(
            "intacct-sync sql needs DuckDB, a development dependency: pip install -e '.[dev]'"
        ) from None
    return duckdb


def _table_sql(out: Path, prefix: str, schema: TableSchema, columns: Sequence[Any]) -> str:
    """A query over every run's files of one object under ``prefix`` (exports/ or deletes/), with each
    column cast to its type; no rows (but the columns) when there are no files."""
    parts = layout.partition_prefix(prefix, schema.object, "*") + "part-*.ndjson.gz"
    casts = [f"CAST({_q(c.field)} AS {DUCKDB_TYPES[c.glue_type]}) AS {_q(c.name)}" for c in columns]
    if not any(out.glob(parts)):
        nulls = ", ".join(f"CAST(NULL AS {DUCKDB_TYPES[c.glue_type]})" for c in columns)
        names = ", ".join(_q(c.name) for c in columns)
        return (
            f"SELECT *, CAST(NULL AS VARCHAR) AS object, CAST(NULL AS VARCHAR) AS run_id "
            f"FROM (VALUES ({nulls})) AS t({names}) WHERE 1 = 0"
        )
    keys = ", ".join(f"{_literal(c.field)}: 'VARCHAR'" for c in columns)
    path = _literal(str(out / parts))
    return (
        f"SELECT {', '.join(casts)}, object, run_id FROM read_json({path}, format = 'newline_delimited', "
        f"compression = 'gzip', hive_partitioning = true, hive_types_autocast = false, columns = {{{keys}}})"
    )


def _schemas(out: Path) -> dict[str, TableSchema]:
    found = {}
    for path in sorted(out.glob(layout.table_schema_key("*"))):
        try:
            schema = TableSchema.from_document(json.loads(path.read_text()))
        except (OSError, ValueError) as exc:
            raise RunError(f"{path} is not a table schema ({exc})") from None
        found[schema.object] = schema
    return found


def _indexes(out: Path) -> list[RunIndex]:
    found = []
    for path in sorted(out.glob(layout.succeeded_runs_key("*", "*"))):
        object_name = path.parent.parent.name.split("=", 1)[1]
        entity = path.parent.name.split("=", 1)[1]
        scope = None if entity == "-" else entity
        if path.relative_to(out).as_posix() != layout.succeeded_runs_key(object_name, scope):
            continue
        try:
            found.append(RunIndex.from_document(json.loads(path.read_text()), object_name, scope))
        except (OSError, ValueError, KeyError, TypeError) as exc:
            raise RunError(f"{path} is not an index of succeeded runs ({exc})") from None
    return found


def connect(out: Path) -> Any:
    """An in-memory DuckDB connection with the tables and views of what ``out`` holds. RunError when
    ``out`` holds no exported object yet."""
    duckdb = _duckdb()
    schemas = _schemas(out)
    if not schemas:
        raise RunError(
            f"{out} holds no exported tables yet: run an export into it first (intacct-sync run --out {out})"
        )
    con = duckdb.connect()
    for schema in schemas.values():
        records = _table_sql(out, layout.EXPORTS_PREFIX, schema, schema.record_columns)
        con.execute(f"CREATE VIEW {_q(schema.object.lower())} AS {records}")
        tombstones = _table_sql(out, layout.DELETES_PREFIX, schema, schema.tombstone_columns)
        con.execute(f"CREATE VIEW {_q(schema.object.lower() + '_tombstones')} AS {tombstones}")
    for index in _indexes(out):
        indexed = schemas.get(index.object)
        if indexed is None:
            continue
        for view in views(indexed, index):
            con.execute(f"CREATE VIEW {_q(view.name)} AS {view.sql}")
    return con


def tables(con: Any) -> list[str]:
    """The tables and views a connection from ``connect`` offers."""
    return [
        row[0]
        for row in con.execute(
            "SELECT view_name FROM duckdb_views() WHERE NOT internal AND schema_name = 'main'"
        ).fetchall()
    ]


def _databases(con: Any, sql: str) -> None:
    """Offer the tables under each Athena database name ``sql`` gives them (``intacct_sync_dev.``...)."""
    names = tables(con)
    for database in sorted({m.group(1).lower() for m in _DATABASE.finditer(sql)}):
        con.execute(f"CREATE SCHEMA IF NOT EXISTS {_q(database)}")
        for name in names:
            con.execute(f"CREATE VIEW {_q(database)}.{_q(name)} AS SELECT * FROM main.{_q(name)}")


def _no_statement(duckdb: Any, sql: str) -> bool:
    try:
        return not duckdb.extract_statements(sql)
    except duckdb.Error:
        return False  # not SQL: running it gives DuckDB's own message


def query(out: Path, sql: str) -> tuple[list[str], list[tuple[Any, ...]]]:
    """Run ``sql`` over ``out``'s tables: (column names, rows). RunError with DuckDB's message when the
    query fails (naming the tables there are when it names one that is not); EmptyQuery when it holds
    no statement."""
    duckdb = _duckdb()
    empty = EmptyQuery(
        'the query is empty (blank or only comments): give one, e.g. "SELECT count(*) FROM customer_current"'
    )
    if _no_statement(duckdb, sql):
        raise empty
    con = connect(out)
    try:
        _databases(con, sql)
        result = con.execute(sql)
        if result is None:
            raise empty
        names = [d[0] for d in result.description or ()]
        return names, result.fetchall()
    except duckdb.Error as exc:
        message = str(exc).splitlines()[0][:500]
        if isinstance(exc, duckdb.CatalogException):
            message += f" (tables here: {', '.join(sorted(tables(con)))})"
        raise RunError(message) from None
    finally:
        con.close()


def render(names: Sequence[str], rows: Sequence[Sequence[Any]], limit: int = 40) -> str:
    """Rows as an aligned text table (at most ``limit`` of them), each line indented two spaces."""
    shown = [[text_value(v) for v in row] for row in rows[:limit]]
    widths = [max([len(n)] + [min(len(r[i]), 60) for r in shown]) for i, n in enumerate(names)]
    lines = ["  " + "  ".join(n.ljust(w) for n, w in zip(names, widths, strict=True)).rstrip()]
    for row in shown:
        cells = [(v if len(v) <= 60 else v[:57] + "...").ljust(w) for v, w in zip(row, widths, strict=True)]
        lines.append("  " + "  ".join(cells).rstrip())
    if len(rows) > limit:
        lines.append(f"  ... {len(rows) - limit:,} more rows")
    return "\n".join(lines)


def text_value(value: Any) -> str:
    """A value as the table and CSV outputs print it (NULL as nothing, decimals in plain notation)."""
    if value is None:
        return ""
    if isinstance(value, Decimal):
        return _plain(value)
    return str(value)


def json_value(value: Any) -> Any:
    """A value as JSON lines give it: a DECIMAL as a number when a double reads it back exactly (an
    integer as an integer), else as its plain text; anything else as it is."""
    if isinstance(value, Decimal):
        number = float(value)
        if Decimal(repr(number)) != value:
            return _plain(value)  # more digits than a double holds
        return int(value) if value == value.to_integral_value() else number
    return value


def _plain(value: Decimal) -> str:
    """``0`` for every zero, else the digits the value needs, never an exponent (``1500``, ``0.1``)."""
    return "0" if value.is_zero() else format(value.normalize(), "f")


def write(names: Sequence[str], rows: Sequence[Sequence[Any]], form: str, stream: TextIO) -> None:
    """Rows in one of ``sql``'s output forms: ``table`` (aligned text), ``csv`` (a header line, then
    the rows), ``json`` (one object per row; dates and timestamps as text)."""
    if form == "table":
        stream.write(render(names, rows, limit=len(rows)) + "\n")
    elif form == "json":
        for row in rows:
            values = {n: json_value(v) for n, v in zip(names, row, strict=True)}
            stream.write(json.dumps(values, default=str, ensure_ascii=False) + "\n")
    else:
        writer = csv.writer(stream)
        writer.writerow(names)
        writer.writerows([text_value(v) for v in row] for row in rows)


def current_state_query(object_name: str, out: Path) -> str:
    """A first query of an object's current view: how many records, and its latest change (column names
    are [a-z0-9_], so the query needs no quotes and can be pasted into a shell)."""
    schema = _schemas(out).get(object_name)
    modified = schema.column(schema.modified_field) if schema is not None else None
    latest = f", max({modified.name}) AS last_modified_utc" if modified is not None else ""
    current, _ = view_names(object_name, None)
    return f"SELECT count(*) AS records{latest}, count(DISTINCT _sdc_run_id) AS runs FROM {current}"
