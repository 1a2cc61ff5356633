"""The simulated company's data: one columnar Table per object, plus mutations and the audit trail."""

from __future__ import annotations

import re
import threading
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import numpy as np

from .columns import Column, NumberColumn, TimeColumn
from .formats import Formats, iso_text
from .generators import (
    AUDIT_OBJECT_TYPES,
    BUILDERS,
    DEFAULT_ENTITIES,
    USERS,
    AuditEvents,
    Entity,
    RowBasis,
    build_audithistory,
    build_userinfo,
)
from .schema import OBJECTS, ObjectSpec
from .timeutil import now_naive, utc_to_local_naive

# Generated history spans these UTC instants; run-time changes happen "now", after all of it.
HISTORY_START = int(datetime(2015, 1, 1, tzinfo=UTC).timestamp())
HISTORY_END = int(datetime(2025, 6, 30, tzinfo=UTC).timestamp())
BULK_UPDATE_AT = HISTORY_END - 30 * 86_400
SIM_USER_RECORDNO = 3  # CREATEDBY/MODIFIEDBY of run-time changes (USERS entry "sim-user")

_XML_ILLEGAL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff\ud800-\udfff]")

# Fields a run-time update changes besides WHENMODIFIED/MODIFIEDBY.
_UPDATABLE = {
    "CUSTOMER": ("NAME", "DISPLAYCONTACT.EMAIL1", "CREDITLIMIT", "DISPLAYCONTACT.PHONE1", "STATUS"),
    "VENDOR": ("NAME", "DISPLAYCONTACT.EMAIL1", "CREDITLIMIT", "VENDTYPE", "STATUS"),
    "GLACCOUNT": ("TITLE", "CATEGORY", "STATUS"),
}


class Table:
    """One object's rows. Append-only storage; ``live`` marks rows that have not been deleted."""

    def __init__(self, spec: ObjectSpec, columns: dict[str, Column]) -> None:
        missing = {f.name for f in spec.fields} ^ set(columns)
        if missing:
            raise ValueError(f"{spec.name}: column/spec mismatch {sorted(missing)}")
        self.spec = spec
        self.name = spec.name
        self.columns = columns
        self.n = columns["RECORDNO"].n
        self.live = np.ones(self.n, dtype=bool)
        self.version = 0  # bumped on every change; part of every cache key
        self.recordno_sorted = True  # physical order == RECORDNO order (false after out-of-order upserts)
        self.queries = 0  # successful queries, for mutations_per_query

    @property
    def recordno(self) -> NumberColumn:
        column = self.columns["RECORDNO"]
        assert isinstance(column, NumberColumn)
        return column

    def timestamp(self, field: str, row: int) -> int:
        """Naive seconds of a timestamp field at a row."""
        column = self.columns[field]
        assert isinstance(column, TimeColumn)
        return int(column.values[row])

    def live_mask(self) -> np.ndarray:
        """Boolean mask of rows that exist."""
        return self.live[: self.n]

    def live_rows(self) -> np.ndarray:
        """Row numbers of existing records in RECORDNO order."""
        rows = np.flatnonzero(self.live_mask())
        if not self.recordno_sorted:
            rows = rows[np.argsort(self.recordno.values[rows], kind="stable")]
        return rows

    def share_formats(self, formats: Formats) -> None:
        """Make every time column write and read through ``formats``."""
        for column in self.columns.values():
            if isinstance(column, TimeColumn):
                column.formats = formats

    def max_recordno(self) -> int:
        """Highest RECORDNO ever used (deleted rows included: keys are never reused)."""
        return int(np.nanmax(self.recordno.values[: self.n])) if self.n else 0

    def find_row(self, recordno: int) -> int | None:
        """Row of the live record with this RECORDNO."""
        hits = np.flatnonzero((self.recordno.values[: self.n] == recordno) & self.live_mask())
        return int(hits[0]) if len(hits) else None

    def render_columns(self, rows: np.ndarray, fields: Iterable[str]) -> list[list[str]]:
        """API strings per field (column-major), in ``fields`` order."""
        return [self.columns[f].render(rows) for f in fields]

    def render(self, rows: np.ndarray, fields: Iterable[str]) -> list[list[str]]:
        """Rows as lists of API strings, in ``fields`` order."""
        columns = self.render_columns(rows, fields)
        return [list(values) for values in zip(*columns, strict=True)] if columns else [[] for _ in rows]

    def row_dicts(self, rows: np.ndarray, canonical: bool = False) -> list[dict[str, str]]:
        """Rows as {field: string} with every field (``canonical``: times as ISO, for internal copies)."""
        names = [f.name for f in self.spec.fields]
        columns = [
            column.render_iso(rows) if canonical and isinstance(column, TimeColumn) else column.render(rows)
            for column in (self.columns[name] for name in names)
        ]
        return [dict(zip(names, values, strict=True)) for values in zip(*columns, strict=True)]

    def append(self, records: list[dict[str, str]]) -> list[int]:
        """Append rows (string values, missing fields NULL); returns their row numbers."""
        start = self.n
        for column in self.columns.values():
            column.extend(len(records))
        self.n += len(records)
        if self.n > len(self.live):  # grow by half so per-row appends stay cheap at a million rows
            live = np.zeros(max(self.n, int(len(self.live) * 1.5) + 16), dtype=bool)
            live[:start] = self.live[:start]
            self.live = live
        self.live[start : self.n] = True
        top = self.max_recordno_before(start)
        self.version += 1
        try:
            for offset, record in enumerate(records):
                for field, value in record.items():
                    self.columns[field].set_value(start + offset, value)
                if int(self.recordno.values[start + offset]) <= top:
                    self.recordno_sorted = False
                top = max(top, int(self.recordno.values[start + offset]))
        except ValueError:
            self.live[start : self.n] = False  # a bad value: the half-written rows never existed
            raise
        return list(range(start, self.n))

    def max_recordno_before(self, end: int) -> int:
        """Highest RECORDNO among rows [0, end)."""
        return int(np.nanmax(self.recordno.values[:end])) if end else -1

    def update(self, row: int, values: Mapping[str, str]) -> None:
        """Overwrite fields of one row (all or nothing: a bad value restores the old ones)."""
        old = {field: self.columns[field].value(row) for field in values}
        self.version += 1
        try:
            for field, value in values.items():
                self.columns[field].set_value(row, value)
        except ValueError:
            for field, value in old.items():
                self.columns[field].set_value(row, value)
            raise

    def delete(self, row: int) -> None:
        """Mark a row deleted."""
        self.live[row] = False
        self.version += 1


class Dataset:
    """All tables, generated deterministically from (records, seed, timezone, entities).

    One re-entrant lock guards every table: queries hold it while selecting and rendering, mutations
    while changing rows and appending AUDITHISTORY entries.
    """

    def __init__(
        self,
        records: int,
        seed: int,
        timezone: str = "America/Los_Angeles",
        entities: tuple[Entity, ...] = DEFAULT_ENTITIES,
        sim_login: str = "sim-user",
        formats: Formats | None = None,
    ) -> None:
        self.tz = ZoneInfo(timezone)
        self.formats = formats if formats is not None else Formats()
        self.sim_login = sim_login
        self.entities = entities
        self.seed = seed
        self.lock = threading.RLock()
        self.tables: dict[str, Table] = {}
        self._mutation_rng = np.random.default_rng([seed, 7_777])
        bases: dict[str, RowBasis] = {}
        gaps: dict[str, np.ndarray] = {}
        for index, name in enumerate(BUILDERS):
            rng = np.random.default_rng([seed, index])
            basis, gaps[name] = self._history_basis(rng, records, start_key=int(rng.integers(1, 60)))
            bases[name] = basis
            self.tables[name] = Table(OBJECTS[name], BUILDERS[name](basis, rng, entities))
        rng = np.random.default_rng([seed, len(BUILDERS)])
        events = self._audit_events(rng, records, bases, gaps)
        audit_basis = RowBasis(
            recordno=self._recordnos(rng, records, start_key=1000),
            created=events.access_time,
            modified=events.access_time,
            entity=np.zeros(records, dtype=np.int32),
        )
        self.tables["AUDITHISTORY"] = Table(
            OBJECTS["AUDITHISTORY"], build_audithistory(audit_basis, rng, events)
        )
        user_times = utc_to_local_naive(
            HISTORY_START + np.arange(len(USERS), dtype=np.int64) * 86_400 * 40, self.tz
        )
        self.tables["USERINFO"] = Table(
            OBJECTS["USERINFO"], build_userinfo(sim_login, user_times, user_times)
        )
        for table in self.tables.values():
            table.share_formats(self.formats)

    def rename_sim_user(self, login: str) -> None:
        """The simulator's own user (USERINFO RECORDNO 3) signs in as ``login`` (credentials changed)."""
        with self.lock:
            table = self.tables["USERINFO"]
            row = table.find_row(SIM_USER_RECORDNO)
            if row is not None:
                table.update(row, {"LOGINID": login, "CONTACTINFO.EMAIL1": f"{login}@example.com"})
            self.sim_login = login

    def find_by_name(self, name: str, field: str, values: list[str]) -> np.ndarray:
        """Rows (live, in the order of ``values``) whose ``field`` equals one of ``values``."""
        with self.lock:
            table = self.table(name)
            rendered = table.columns[field].render(table.live_rows())
            by_value: dict[str, int] = {}
            for row, value in zip(table.live_rows().tolist(), rendered, strict=True):
                by_value.setdefault(value, row)
            return np.array([by_value[v] for v in values if v in by_value], dtype=np.int64)

    # ----- generation -------------------------------------------------------------------------

    @staticmethod
    def _recordnos(rng: np.random.Generator, n: int, start_key: int) -> np.ndarray:
        """Ascending keys with gaps (about 10% of steps skip 1..5 numbers, like deleted records)."""
        steps = 1 + (rng.random(n) < 0.1) * rng.integers(1, 6, n)
        if n:
            steps[0] = 0
        return (start_key + np.cumsum(steps)).astype(np.int64)

    def _history_basis(self, rng: np.random.Generator, n: int, start_key: int) -> tuple[RowBasis, np.ndarray]:
        recordno = self._recordnos(rng, n, start_key)
        gaps = np.zeros(0, np.int64)
        if n:
            present = np.zeros(int(recordno[-1] - recordno[0]) + 1, dtype=bool)
            present[recordno - recordno[0]] = True
            gaps = np.flatnonzero(~present) + recordno[0]  # the "deleted" keys, for AUDITHISTORY 'D' rows
        steps = np.cumsum(rng.exponential(1.0, n))
        increments = (steps - steps[0]) / (steps[-1] - steps[0]) if n > 1 else np.zeros(n)
        created = HISTORY_START + (increments * (HISTORY_END - HISTORY_START) * 0.98).astype(np.int64)
        changed = rng.random(n) >= 0.45
        modified = np.where(
            changed, created + (rng.random(n) * (HISTORY_END - created)).astype(np.int64), created
        )
        # A bulk update: many records share one WHENMODIFIED second (keyset paging must tie-break).
        eligible = np.flatnonzero(created < BULK_UPDATE_AT)
        bulk = rng.choice(eligible, size=min(len(eligible), 2500, n // 10), replace=False)
        modified[bulk] = BULK_UPDATE_AT
        basis = RowBasis(
            recordno=recordno,
            created=utc_to_local_naive(created, self.tz),
            modified=utc_to_local_naive(modified, self.tz),
            entity=rng.integers(0, len(self.entities), n).astype(np.int32),
        )
        return basis, gaps

    @staticmethod
    def _audit_events(
        rng: np.random.Generator, n: int, bases: dict[str, RowBasis], gaps: dict[str, np.ndarray]
    ) -> AuditEvents:
        """C/M events of existing records and D events of the key gaps, sorted by time."""
        object_type = rng.integers(0, len(AUDIT_OBJECT_TYPES), n).astype(np.int32)
        mode = rng.choice(3, size=n, p=[0.6, 0.3, 0.1]).astype(np.int32)
        key = np.zeros(n, dtype=np.int64)
        when = np.zeros(n, dtype=np.int64)
        for t, name in enumerate(BUILDERS):
            basis = bases[name]
            if basis.n == 0:
                continue
            mine = object_type == t
            deleted = mine & (mode == 2)
            if len(gaps[name]) == 0:
                mode[deleted] = 1
                deleted[:] = False
            kept = np.flatnonzero(mine & ~deleted)
            rows = rng.integers(0, basis.n, len(kept))
            key[kept] = basis.recordno[rows]
            when[kept] = np.where(mode[kept] == 0, basis.created[rows], basis.modified[rows])
            gone = np.flatnonzero(deleted)
            key[gone] = rng.choice(gaps[name], size=len(gone))
            lo, hi = int(basis.created.min()), int(basis.modified.max())
            when[gone] = rng.integers(lo, hi + 1, len(gone))
        order = np.argsort(when, kind="stable")
        return AuditEvents(
            object_type=object_type[order],
            object_key=key[order],
            access_mode=mode[order],
            access_time=when[order],
            user=rng.integers(0, len(USERS), n).astype(np.int32),
        )

    def _fresh_rows(self, name: str, count: int, recordnos: np.ndarray, now: int) -> list[dict[str, str]]:
        """Realistic new records for run-time inserts (same generators, mutation RNG)."""
        basis = RowBasis(
            recordno=recordnos,
            created=np.full(count, now, dtype=np.int64),
            modified=np.full(count, now, dtype=np.int64),
            entity=self._mutation_rng.integers(0, len(self.entities), count).astype(np.int32),
            fresh=True,
        )
        columns = BUILDERS[name](basis, self._mutation_rng, self.entities)
        table = Table(OBJECTS[name], columns)
        table.share_formats(self.formats)
        rows = table.row_dicts(np.arange(count), canonical=True)
        for row in rows:
            row["CREATEDBY"] = row["MODIFIEDBY"] = str(SIM_USER_RECORDNO)
        return rows

    # ----- access -------------------------------------------------------------------------------

    def table(self, name: str) -> Table:
        """The table of an object (KeyError if unknown)."""
        return self.tables[name.upper()]

    def entity(self, entity_id: str) -> Entity | None:
        """Entity by id."""
        return next((e for e in self.entities if e.id == entity_id), None)

    def records(self, name: str, entity: str | None = None) -> list[dict[str, str]]:
        """Every live record as the API returns it (all fields, strings), in RECORDNO order."""
        with self.lock:
            table = self.table(name)
            rows = table.live_rows()
            if entity and table.spec.entity_scoped:
                rows = rows[table.columns["MEGAENTITYID"].compare("equalto", [entity], False)[rows]]
            return table.row_dicts(rows)

    # ----- mutations ----------------------------------------------------------------------------

    def mutate(self, name: str, inserts: int = 0, updates: int = 0, deletes: int = 0) -> dict[str, list[int]]:
        """Random inserts/updates/deletes 'now', each with its AUDITHISTORY entry; returns the keys."""
        name = name.upper()
        if name not in BUILDERS:
            raise ValueError(f"cannot mutate {name}; choose one of {sorted(BUILDERS)}")
        with self.lock:
            table = self.table(name)
            now = now_naive(self.tz)
            rng = self._mutation_rng
            live = table.live_rows()
            victims = rng.choice(live, size=min(len(live), updates + deletes), replace=False)
            to_update, to_delete = victims[:updates], victims[updates:]
            updated = []
            if len(to_update):
                fresh = self._fresh_rows(name, len(to_update), np.zeros(len(to_update), np.int64), now)
                for row, source in zip(to_update.tolist(), fresh, strict=True):
                    fields = rng.choice(
                        _UPDATABLE[name], size=int(rng.integers(1, 3)), replace=False
                    ).tolist()
                    change = {f: source[f] for f in fields}
                    if "TOTALDUE" in table.columns:
                        change["TOTALDUE"] = source["TOTALDUE"]
                    self._update_row(table, row, change, now)
                    updated.append(int(table.recordno.values[row]))
            deleted = []
            for row in to_delete.tolist():
                deleted.append(int(table.recordno.values[row]))
                self._delete_row(table, row, now)
            inserted = []
            if inserts:
                steps = 1 + (rng.random(inserts) < 0.1) * rng.integers(1, 6, inserts)
                keys = table.max_recordno() + np.cumsum(steps)
                fresh = self._fresh_rows(name, inserts, keys.astype(np.int64), now)
                table.append(fresh)
                inserted = [int(k) for k in keys]
                for key in inserted:
                    self._audit(name, key, "C", now)
            return {"inserted": inserted, "updated": updated, "deleted": deleted}

    def upsert(self, name: str, record: Mapping[str, object]) -> int:
        """Insert or update one record from API-style values; returns its RECORDNO.

        An existing live RECORDNO is updated (only the given fields; WHENMODIFIED defaults to now).
        Otherwise a realistic random record is created and the given fields override it.
        """
        values = {k.upper(): "" if v is None else str(v) for k, v in record.items()}
        for field, text in values.items():
            if _XML_ILLEGAL.search(text):
                raise ValueError(f"{field} contains characters XML 1.0 cannot carry: {text!r}")
        with self.lock:
            table = self.table(name)
            unknown = set(values) - set(table.columns)
            if unknown:
                raise ValueError(f"unknown fields for {table.name}: {sorted(unknown)}")
            self._fill_entity(table, values)
            now = now_naive(self.tz)
            key = int(values["RECORDNO"]) if values.get("RECORDNO") else None
            row = table.find_row(key) if key is not None else None
            if key is not None and row is not None:
                values.pop("RECORDNO")
                self._update_row(table, row, values, now)
                return key
            if key is None:
                key = table.max_recordno() + 1
            if name.upper() in BUILDERS:
                base = self._fresh_rows(table.name, 1, np.array([key], dtype=np.int64), now)[0]
            else:
                base = {"RECORDNO": str(key), "STATUS": "active"}
                base["WHENCREATED"] = base["WHENMODIFIED"] = iso_text(now)
            base.update(values)
            base["RECORDNO"] = str(key)
            if "WHENMODIFIED" in values and "WHENCREATED" not in values:
                base["WHENCREATED"] = values["WHENMODIFIED"]
            table.append([base])
            if table.name in BUILDERS:
                self._audit(table.name, key, "C", table.timestamp("WHENCREATED", table.n - 1))
            return key

    def delete(self, name: str, recordno: int) -> bool:
        """Delete a live record (AUDITHISTORY gets an ACCESSMODE 'D' row); False if it does not exist."""
        with self.lock:
            table = self.table(name)
            row = table.find_row(int(recordno))
            if row is None:
                return False
            self._delete_row(table, row, now_naive(self.tz))
            return True

    def _fill_entity(self, table: Table, values: dict[str, str]) -> None:
        """Keep MEGAENTITYKEY/NAME (and CUSTOMER.ENTITY) consistent with a given MEGAENTITYID."""
        entity = self.entity(values.get("MEGAENTITYID", "")) if table.spec.entity_scoped else None
        if entity is None:
            return
        values.setdefault("MEGAENTITYKEY", str(entity.key))
        values.setdefault("MEGAENTITYNAME", entity.name)
        if "ENTITY" in table.columns:
            values.setdefault("ENTITY", entity.id)

    def _update_row(self, table: Table, row: int, values: Mapping[str, str], now: int) -> None:
        change = dict(values)
        change.setdefault("WHENMODIFIED", iso_text(now))
        change.setdefault("MODIFIEDBY", str(SIM_USER_RECORDNO))
        table.update(row, change)
        if table.name in BUILDERS:
            stamp = table.timestamp("WHENMODIFIED", row)
            self._audit(table.name, int(table.recordno.values[row]), "M", stamp)

    def _delete_row(self, table: Table, row: int, now: int) -> None:
        table.delete(row)
        if table.name in BUILDERS:
            self._audit(table.name, int(table.recordno.values[row]), "D", now)

    def _audit(self, name: str, key: int, mode: str, when: int) -> None:
        audit = self.tables["AUDITHISTORY"]
        stamp = iso_text(when)
        user_no, login = SIM_USER_RECORDNO, self.sim_login
        audit.append(
            [
                {
                    "RECORDNO": str(audit.max_recordno() + 1),
                    "OBJECTTYPE": name.lower(),
                    "OBJECTKEY": str(key),
                    "ACCESSMODE": mode,
                    "ACCESSTIME": stamp,
                    "USERID": login,
                    "WORKFLOWACTION": "",
                    "STATUS": "active",
                    "WHENCREATED": stamp,
                    "WHENMODIFIED": stamp,
                    "CREATEDBY": str(user_no),
                    "MODIFIEDBY": str(user_no),
                }
            ]
        )
