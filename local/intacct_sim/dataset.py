"""The simulated company's data: one columnar Table per object, plus mutations and the audit trail.

Tables are built lazily, the first time an object is touched: which records exist and when they were
created and changed is closed form (keyspace.py), so starting the simulator costs nothing per object and
AUDITHISTORY can describe every object's history without building them.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Iterable, Mapping, Sequence
from zoneinfo import ZoneInfo

import numpy as np

from .columns import Column, NumberColumn, TextColumn, TimeColumn
from .formats import Formats, iso_text
from .generators import (
    ACCESS_MODES,
    AuditEvents,
    RowBasis,
    build_audithistory,
    build_object,
    build_userinfo,
    name_value,
)
from .hashing import below, stream, uniform
from .keyspace import HISTORY_END, HISTORY_START, KeySpace, LineSpace, Space, to_local
from .schema import GENERATED_OBJECTS, OBJECT_META, OBJECTS, ObjectSpec, record_count
from .timeutil import NULL_TIME, now_naive, utc_to_local_naive
from .vocab import DEFAULT_ENTITIES, USERS, Entity

SIM_USER_RECORDNO = 3  # CREATEDBY/MODIFIEDBY of run-time changes (USERS entry "sim-user")
GLDETAIL_SUFFIX = "--accrual"  # recorded GLDETAIL RECORDNO: '<batch>-<entry>-<n>--accrual'

_XML_ILLEGAL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff\ud800-\udfff]")

# Fields a run-time update changes besides WHENMODIFIED/MODIFIEDBY (others: chosen from the profile).
_UPDATABLE = {
    "CUSTOMER": ("NAME", "DISPLAYCONTACT.EMAIL1", "CREDITLIMIT", "DISPLAYCONTACT.PHONE1", "STATUS"),
    "VENDOR": ("NAME", "DISPLAYCONTACT.EMAIL1", "CREDITLIMIT", "VENDTYPE", "STATUS"),
    "GLACCOUNT": ("TITLE", "CATEGORY", "STATUS"),
}

Key = int | str


class Table:
    """One object's rows. Append-only storage; ``live`` marks rows that have not been deleted.

    ``keys`` holds every row's key as an integer (RECORDNO, or ``id`` for user-defined dimensions;
    GLDETAIL's text RECORDNO carries its integer key in the middle part).
    """

    def __init__(self, spec: ObjectSpec, columns: dict[str, Column], keys: np.ndarray | None = None) -> None:
        missing = {f.name for f in spec.fields} ^ set(columns)
        if missing:
            raise ValueError(f"{spec.name}: column/spec mismatch {sorted(missing)}")
        self.spec = spec
        self.name = spec.name
        self.columns = columns
        self.key_field = spec.key_field
        key_spec = spec.field(spec.key_field)
        self.text_key = key_spec is not None and key_spec.datatype == "TEXT"
        self.n = columns[self.key_field].n
        if keys is None:
            column = columns[self.key_field]
            assert isinstance(column, NumberColumn)
            keys = column.values[: self.n].astype(np.int64)
        self.keys = np.asarray(keys, dtype=np.int64).copy()
        self.live = np.ones(self.n, dtype=bool)
        self.version = 0  # bumped on every change; part of every cache key
        self.recordno_sorted = bool(np.all(np.diff(self.keys) > 0)) if self.n > 1 else True
        self.queries = 0  # successful queries, for mutations_per_query
        # Line objects have no MEGAENTITY fields of their own: they belong to their header's owner
        # (owner_ids[code], '' = top level), which decides who may see them.
        self.owner: np.ndarray | None = None
        self.owner_ids: tuple[str, ...] = ("",)

    def owner_mask(self, entity: str) -> np.ndarray:
        """Rows owned by ``entity`` ('' = created at the top level)."""
        assert self.owner is not None
        code = self.owner_ids.index(entity) if entity in self.owner_ids else -1
        return self.owner[: self.n] == code

    def key_of(self, row: int) -> Key:
        """The API key of a row (text for GLDETAIL)."""
        if self.text_key:
            return self.columns[self.key_field].value(row)
        return int(self.keys[row])

    @staticmethod
    def int_key(value: object) -> int:
        """The integer key of an API key value ('3220-55186-27292--accrual' -> 55186)."""
        text = str(value)
        if text.endswith(GLDETAIL_SUFFIX):
            return int(text[: -len(GLDETAIL_SUFFIX)].split("-")[1])
        return int(text)

    def timestamp(self, field: str, row: int) -> int:
        """Naive seconds of a timestamp field at a row."""
        column = self.columns[field].concrete()
        assert isinstance(column, TimeColumn)
        return int(column.values[row])

    def share_formats(self, formats: Formats) -> None:
        """Make every (already concrete) time column write and read through ``formats``."""
        for column in self.columns.values():
            if isinstance(column, TimeColumn):
                column.formats = formats

    def live_mask(self) -> np.ndarray:
        """Boolean mask of rows that exist."""
        return self.live[: self.n]

    def live_rows(self) -> np.ndarray:
        """Row numbers of existing records in key order."""
        rows = np.flatnonzero(self.live_mask())
        if not self.recordno_sorted:
            rows = rows[np.argsort(self.keys[rows], kind="stable")]
        return rows

    def max_recordno(self) -> int:
        """Highest key ever used (deleted rows included: keys are never reused)."""
        return int(self.keys[: self.n].max()) if self.n else 0

    def find_row(self, key: object) -> int | None:
        """Row of the live record with this key."""
        try:
            wanted = self.int_key(key)
        except (ValueError, IndexError):
            return None
        hits = np.flatnonzero((self.keys[: self.n] == wanted) & self.live_mask())
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
        columns = []
        for name in names:
            column = self.columns[name]
            if canonical and isinstance(column.concrete(), TimeColumn):
                time_column = column.concrete()
                assert isinstance(time_column, TimeColumn)
                columns.append(time_column.render_iso(rows))
            else:
                columns.append(column.render(rows))
        return [dict(zip(names, values, strict=True)) for values in zip(*columns, strict=True)]

    def append(self, records: list[dict[str, str]]) -> list[int]:
        """Append rows (string values, missing fields NULL); returns their row numbers."""
        start = self.n
        for column in self.columns.values():
            column.extend(len(records))
        self.n += len(records)
        if self.n > len(self.live):  # grow by half so per-row appends stay cheap at a million rows
            grown = max(self.n, int(len(self.live) * 1.5) + 16)
            live = np.zeros(grown, dtype=bool)
            live[:start] = self.live[:start]
            self.live = live
            keys = np.zeros(grown, dtype=np.int64)
            keys[:start] = self.keys[:start]
            self.keys = keys
            if self.owner is not None:
                owner = np.zeros(grown, dtype=np.int32)
                owner[:start] = self.owner[:start]
                self.owner = owner
        self.live[start : self.n] = True
        top = self.max_recordno_before(start)
        self.version += 1
        try:
            for offset, record in enumerate(records):
                for field, value in record.items():
                    self.columns[field].set_value(start + offset, value)
                key = self.int_key(record[self.key_field])
                self.keys[start + offset] = key
                if key <= top:
                    self.recordno_sorted = False
                top = max(top, key)
        except ValueError:
            self.live[start : self.n] = False  # a bad value: the half-written rows never existed
            raise
        return list(range(start, self.n))

    def max_recordno_before(self, end: int) -> int:
        """Highest key among rows [0, end)."""
        return int(self.keys[:end].max()) if end else -1

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
    while changing rows and appending AUDITHISTORY entries, and first use while building a table.
    """

    def __init__(
        self,
        records: int,
        seed: int,
        timezone: str = "America/Los_Angeles",
        entities: tuple[Entity, ...] = DEFAULT_ENTITIES,
        sim_login: str = "sim-user",
        formats: Formats | None = None,
        never_modified_percent: float = 0.0,
        top_level_percent: float = 0.0,
        audit_objectkey: str = "rec",
        audit_bare_key_percent: float = 0.0,
        audit_recordno: str = "present",
        specs: Mapping[str, ObjectSpec] = OBJECTS,
    ) -> None:
        self.records_base = records
        # This simulator's objects: the module's, or some widened by tenant custom fields (config
        # custom_fields, schema.objects_with_custom_fields).
        self.specs = specs
        self.audit_objectkey = audit_objectkey
        self.audit_bare = audit_bare_key_percent / 100
        self.audit_recordno = audit_recordno
        self.never_modified = never_modified_percent / 100
        self.top_level = top_level_percent / 100
        self.tz = ZoneInfo(timezone)
        self.entities = entities
        self.seed = seed
        self.formats = formats if formats is not None else Formats()
        self.sim_login = sim_login
        self.lock = threading.RLock()
        self._tables: dict[str, Table] = {}
        self._spaces: dict[str, Space] = {}
        self._mutation_rng = np.random.default_rng([seed, 7_777])
        self._fresh_counter = 0

    # ----- generation -------------------------------------------------------------------------

    def space(self, name: str) -> Space:
        """The closed-form record space of a generated object."""
        with self.lock:
            if name not in self._spaces:
                meta = OBJECT_META[name]
                space: Space
                if meta.mirror:
                    space = self.space(meta.mirror)
                elif meta.header:
                    header = self.space(meta.header)
                    assert isinstance(header, KeySpace)
                    space = LineSpace(self.seed, name, header, meta.lines)
                else:
                    space = KeySpace(
                        self.seed,
                        name,
                        record_count(meta, self.records_base),
                        len(self.entities),
                        never_modified=self.never_modified,
                        top_level=self.top_level,
                    )
                self._spaces[name] = space
            return self._spaces[name]

    def count(self, name: str) -> int:
        """How many records an object was generated with."""
        if name == "AUDITHISTORY":
            return self.records_base
        if name == "USERINFO":
            return len(USERS)
        return self.space(name).count

    def _basis(self, name: str) -> RowBasis:
        meta = OBJECT_META[name]
        space = self.space(name)
        rows = space.materialise()
        created = to_local(rows.created_utc, self.tz)
        header_key = None
        if isinstance(space, LineSpace) and rows.header_slot is not None:
            header_key = space.header.key(rows.header_slot)
        return RowBasis(
            recordno=rows.key,
            created=created // 86_400 * 86_400 if meta.created_date_only else created,
            modified=to_local(rows.modified_utc, self.tz, meta.modified_date_only),
            entity=rows.entity,
            index=rows.slot,
            header_key=header_key,
            line_no=rows.line_no,
            created_exact=created,
            private=rows.private,
        )

    def _build(self, name: str) -> Table:
        if name == "AUDITHISTORY":
            return self._build_audit()
        if name == "USERINFO":
            user_times = utc_to_local_naive(
                HISTORY_START + np.arange(len(USERS), dtype=np.int64) * 86_400 * 40, self.tz
            )
            columns = build_userinfo(self.sim_login, user_times, user_times, self.formats)
            return Table(self.specs["USERINFO"], columns)
        spec = self.specs[name]
        basis = self._basis(name)
        rng = np.random.default_rng([self.seed, stream(name) & 0xFFFF_FFFF])
        columns = build_object(spec, basis, rng, self.entities, self.formats, self.seed)
        if name == "GLDETAIL":
            columns.update(self._gldetail_columns(basis))
        columns.update(self._reference_columns(spec, basis))
        table = Table(spec, columns, keys=basis.recordno)
        if (spec.meta.header or spec.meta.mirror) and basis.private is not None:
            table.owner = np.where(basis.private, basis.entity + 1, 0).astype(np.int32)
            table.owner_ids = ("", *(e.id for e in self.entities))
        return table

    def _reference_columns(self, spec: ObjectSpec, basis: RowBasis) -> dict[str, Column]:
        """Fields holding another object's key: an existing record of it, chosen by hash."""
        out: dict[str, Column] = {}
        for field, target in spec.meta.references:
            space = self.space(target)
            slots = space.present_slots() if isinstance(space, KeySpace) else space.materialise().slot
            if len(slots) == 0:
                values = np.full(basis.n, np.nan)
            else:
                picks = below(self.seed, stream(spec.name, field, "ref"), basis.hash_index, len(slots))
                values = space.key(slots[picks]).astype(np.float64)
            out[field] = NumberColumn(field, values, integer=True)
        return out

    def _gldetail_columns(self, basis: RowBasis) -> dict[str, Column]:
        """GLDETAIL mirrors GLENTRY: one row per entry line, RECORDNO '<batch>-<entry>-<n>--accrual'
        (recorded form; the middle number is the GLENTRY RECORDNO, the first the GLBATCH one)."""
        assert basis.header_key is not None
        batch, entry = basis.header_key, basis.recordno
        n = basis.n
        seq = 20_000 + below(self.seed, stream("GLDETAIL", "seq"), basis.hash_index, 80_000)

        def numbers(rows: np.ndarray) -> list[str]:
            return [
                f"{b}-{e}-{s}{GLDETAIL_SUFFIX}"
                for b, e, s in zip(
                    batch[rows].tolist(), entry[rows].tolist(), seq[rows].tolist(), strict=True
                )
            ]

        return {
            "RECORDNO": TextColumn("RECORDNO", n, numbers),
            "BATCHKEY": NumberColumn("BATCHKEY", batch.astype(np.float64), integer=True),
            "GLENTRYKEY": NumberColumn("GLENTRYKEY", entry.astype(np.float64), integer=True),
        }

    def _build_audit(self) -> Table:
        """AUDITHISTORY: C/M events of existing records and D events of deleted ones, sorted by time."""
        n = self.records_base
        audited = [m.name for m in (OBJECT_META[o] for o in GENERATED_OBJECTS) if m.audited]
        counts = np.array([self.count(name) for name in audited], dtype=np.float64)
        object_types = tuple(name.lower() for name in audited)
        seed = self.seed
        salt = stream("AUDITHISTORY")
        events = np.arange(n, dtype=np.int64)
        if counts.sum() > 0:
            weights = np.sqrt(counts) / np.sqrt(counts).sum()
            object_type = np.searchsorted(np.cumsum(weights), uniform(seed, salt ^ 1, events), side="right")
            object_type = np.minimum(object_type, len(audited) - 1).astype(np.int32)
        else:
            object_type = np.zeros(n, dtype=np.int32)
        draw = uniform(seed, salt ^ 2, events)
        mode = np.where(draw < 0.6, 0, np.where(draw < 0.9, 1, 2)).astype(np.int32)
        key = np.zeros(n, dtype=np.int64)
        when_utc = np.zeros(n, dtype=np.int64)
        for t, name in enumerate(audited):
            mine = np.flatnonzero(object_type == t)
            if len(mine) == 0:
                continue
            space = self.space(name)
            present, gaps = self._sample_slots(space)
            if len(present) == 0:
                continue  # (weights make this impossible: an empty object gets no events)
            deleted = mine[mode[mine] == 2]
            if len(gaps) == 0:
                mode[deleted] = 1
                deleted = deleted[:0]
            kept = np.setdiff1d(mine, deleted, assume_unique=True)
            slots = present[below(seed, salt ^ 3, kept, len(present))]
            key[kept] = space.key(slots)
            created, modified = space.created_utc(slots), space.modified_utc(slots)
            mode[kept] = np.where(modified == NULL_TIME, 0, mode[kept])  # never modified: no 'M' event
            when_utc[kept] = np.where(mode[kept] == 0, created, modified)
            gone = gaps[below(seed, salt ^ 4, deleted, len(gaps))]
            key[deleted] = space.key(gone)
            lo = space.created_utc(gone)
            when_utc[deleted] = lo + (uniform(seed, salt ^ 5, deleted) * (HISTORY_END - lo)).astype(np.int64)
        valid = key > 0
        when = utc_to_local_naive(when_utc, self.tz)
        order = np.flatnonzero(valid)[np.argsort(when[valid], kind="stable")]
        # IDs ascend with time and have gaps; they start low, so they grow by digits (as TEXT, '999' sorts
        # after '1000': a client comparing them as numbers against the server's text order goes wrong).
        ids = (
            1
            + np.arange(len(order), dtype=np.int64)
            + np.cumsum((uniform(seed, salt ^ 6, order) < 0.1) * (1 + below(seed, salt ^ 7, order, 5)))
        )
        bare = uniform(seed, salt ^ 9, order) < self.audit_bare
        object_keys = [
            self._object_key(audited[t], int(k), bool(b))
            for t, k, b in zip(object_type[order].tolist(), key[order].tolist(), bare.tolist(), strict=True)
        ]
        audit = AuditEvents(
            object_type=object_type[order],
            object_key=key[order],
            access_mode=mode[order],
            access_time=when[order],
            user=below(seed, salt ^ 8, order, len(USERS)).astype(np.int32),
        )
        basis = RowBasis(
            recordno=ids,
            created=audit.access_time,
            modified=audit.access_time,
            entity=np.zeros(len(order), dtype=np.int32),
        )
        rng = np.random.default_rng([seed, stream("AUDITHISTORY") & 0xFFFF_FFFF])
        columns = build_audithistory(
            basis, rng, audit, object_types, self.formats, object_keys, self.audit_recordno
        )
        return Table(self.specs["AUDITHISTORY"], columns, keys=ids)

    def _object_key(self, obj: str, key: int, bare: bool = False, name: str | None = None) -> str:
        """AUDITHISTORY OBJECTKEY of a record: its unique name field ('name' form, objects having one;
        estuary/connectors PR #5217: VENDORID for a vendor, CUSTOMERID for a customer), else
        '<RECORDNO>--REC' (Estuary's model), or the bare RECORDNO for a share of rows."""
        name_field = OBJECT_META[obj].name_field if obj in OBJECT_META else None
        if self.audit_objectkey == "name" and name_field:
            return name if name is not None else name_value(obj, key)
        return str(key) if bare else f"{key}--REC"

    @staticmethod
    def _sample_slots(space: Space) -> tuple[np.ndarray, np.ndarray]:
        """Existing and deleted slots to draw audit events from (headers' only for line objects)."""
        if isinstance(space, LineSpace):
            present = space.materialise().slot if space.header.count <= 200_000 else np.zeros(0, np.int64)
            if len(present) == 0 and space.header.count:
                headers = space.header.present_slots()
                present = headers * space.stride  # first lines: enough for a huge tenant's history
            return present, space.gap_slots()
        return space.present_slots(), space.gap_slots()

    def _fresh_rows(self, name: str, count: int, recordnos: np.ndarray, now: int) -> list[dict[str, str]]:
        """Realistic new records for run-time inserts (same generators, mutation RNG)."""
        spec = self.specs[name]
        self._fresh_counter += count
        header_key = None
        header_name = spec.meta.header or (OBJECT_META[spec.meta.mirror].header if spec.meta.mirror else None)
        if header_name:
            header = self.table(header_name)
            live = header.live_rows()
            picks = self._mutation_rng.integers(0, max(1, len(live)), count)
            header_key = header.keys[live[picks]] if len(live) else np.zeros(count, dtype=np.int64)
        basis = RowBasis(
            recordno=recordnos,
            created=np.full(count, now, dtype=np.int64),
            modified=np.full(count, now, dtype=np.int64),
            entity=self._mutation_rng.integers(0, len(self.entities), count).astype(np.int32),
            private=self._mutation_rng.random(count) >= self.top_level,
            index=(1 << 40) + self._fresh_counter + np.arange(count, dtype=np.int64),
            fresh=True,
            header_key=header_key,
            line_no=np.ones(count, dtype=np.int64),
        )
        columns = build_object(spec, basis, self._mutation_rng, self.entities, self.formats, self.seed)
        if name == "GLDETAIL":
            columns.update(self._gldetail_columns(basis))
        columns.update(self._reference_columns(spec, basis))
        table = Table(spec, columns, keys=recordnos)
        rows = table.row_dicts(np.arange(count), canonical=True)
        by_created, by_modified = (
            ("createdBy", "updatedBy") if spec.key_field == "id" else ("CREATEDBY", "MODIFIEDBY")
        )
        for row in rows:
            row[by_created] = row[by_modified] = str(SIM_USER_RECORDNO)
            for login in ("CREATEDBYLOGINID", "MODIFIEDBYLOGINID"):
                if login in row:
                    row[login] = self.sim_login
        return rows

    # ----- access -------------------------------------------------------------------------------

    def table(self, name: str) -> Table:
        """The table of an object, built on first use (KeyError if unknown)."""
        name = name.upper()
        with self.lock:
            table = self._tables.get(name)
            if table is None:
                if name not in self.specs:
                    raise KeyError(name)
                table = self._build(name)
                self._tables[name] = table
            return table

    @property
    def tables(self) -> dict[str, Table]:
        """Every object's table (builds them all: tests and tools only)."""
        return {name: self.table(name) for name in self.specs}

    def find_object(self, name: str) -> ObjectSpec | None:
        """This simulator's object of that name, case-insensitively (Intacct accepts ``customer``)."""
        return self.specs.get(name.strip().upper())

    def entity(self, entity_id: str) -> Entity | None:
        """Entity by id."""
        return next((e for e in self.entities if e.id == entity_id), None)

    def records(self, name: str, entity: str | None = None) -> list[dict[str, str]]:
        """Every live record as the API returns it (all fields, strings), in key order."""
        with self.lock:
            table = self.table(name)
            rows = table.live_rows()
            if entity and table.spec.entity_scoped:
                rows = rows[table.columns["MEGAENTITYID"].compare("equalto", [entity], False)[rows]]
            return table.row_dicts(rows)

    def replay(self, name: str, records: Sequence[Mapping[str, str]]) -> None:
        """Replace an object's records by ``records`` ({field: text}; recorded real responses:
        ``recorded.recorded_records``), answered exactly as given. Every value is kept as its text; only
        an integer key and the date and time fields whose every value is one are typed, so that key
        ranges, ordering and windows work on them. Missing fields are empty. No AUDITHISTORY rows."""
        with self.lock:
            spec = self.specs[name.upper()]
            old = self._tables.get(spec.name)
            columns = {
                f.name: self._replayed_column(
                    f.name, f.datatype, [str(r.get(f.name) or "") for r in records], f.name == spec.key_field
                )
                for f in spec.fields
            }
            key_texts = [str(r.get(spec.key_field) or "") for r in records]
            keys = [
                int(t) if t.isdigit() else Table.int_key(t) if t.endswith(GLDETAIL_SUFFIX) else i
                for i, t in enumerate(key_texts)
            ]
            table = Table(spec, columns, keys=np.asarray(keys, dtype=np.int64))
            table.version = old.version + 1 if old is not None else 0  # no cached answer of the old one
            if spec.meta.header or spec.meta.mirror:  # lines of headers no replay holds: the top level's
                table.owner = np.zeros(len(records), dtype=np.int32)
                table.owner_ids = ("", *(e.id for e in self.entities))
            self._tables[spec.name] = table

    def _replayed_column(self, name: str, datatype: str, texts: list[str], key: bool) -> Column:
        present = [t for t in texts if t]
        if key and datatype == "INTEGER" and all(t.isdigit() for t in texts):
            return NumberColumn(name, np.asarray([float(t) for t in texts]), integer=True)
        date_only = all(len(t) <= 10 for t in present)
        if datatype in ("TIMESTAMP", "DATE") and (date_only or all(len(t) > 10 for t in present)):
            try:
                values = [self.formats.parse_stored(t) if t else NULL_TIME for t in texts]
            except ValueError:
                pass  # not a date (a scrubbed value): kept as text
            else:
                return TimeColumn(name, np.asarray(values, dtype=np.int64), date_only, self.formats)
        return TextColumn(name, len(texts), lambda rows: [texts[i] for i in rows.tolist()])

    def rename_sim_user(self, login: str) -> None:
        """The simulator's own user (USERINFO RECORDNO 3) signs in as ``login`` (credentials changed)."""
        with self.lock:
            table = self.table("USERINFO")
            row = table.find_row(SIM_USER_RECORDNO)
            if row is not None:
                table.update(row, {"LOGINID": login, "CONTACTINFO.EMAIL1": f"{login}@example.com"})
            self.sim_login = login

    def find_by_name(self, name: str, field: str, values: list[str]) -> np.ndarray:
        """Rows (live, in the order of ``values``) whose ``field`` equals one of ``values``."""
        with self.lock:
            table = self.table(name)
            live = table.live_rows()
            rendered = table.columns[field].render(live)
            by_value: dict[str, int] = {}
            for row, value in zip(live.tolist(), rendered, strict=True):
                by_value.setdefault(value, row)
            return np.array([by_value[v] for v in values if v in by_value], dtype=np.int64)

    # ----- mutations ----------------------------------------------------------------------------

    def mutable(self, name: str) -> str:
        """The canonical name of an object that run-time changes may touch (ValueError otherwise)."""
        name = name.upper()
        if name not in OBJECT_META:
            raise ValueError(f"cannot mutate {name}; choose one of {sorted(OBJECT_META)}")
        return name

    def _updatable(self, table: Table) -> tuple[str, ...]:
        if table.name in _UPDATABLE:
            return _UPDATABLE[table.name]
        skip = {table.key_field, table.spec.meta.created_field, table.spec.meta.modified_field}
        names = [
            f.name
            for f in table.spec.fields
            if f.datatype in ("TEXT", "CURRENCY", "ENUM")
            and f.name not in skip
            and f.name != table.spec.meta.header_field
            and not f.name.startswith("MEGAENTITY")
            and not f.name.endswith("LOGINID")
        ]
        return tuple(names[:6]) or tuple(f.name for f in table.spec.fields if f.name not in skip)[:1]

    def mutate(self, name: str, inserts: int = 0, updates: int = 0, deletes: int = 0) -> dict[str, list[Key]]:
        """Random inserts/updates/deletes 'now', each with its AUDITHISTORY entry; returns the keys."""
        name = self.mutable(name)
        with self.lock:
            table = self.table(name)
            now = now_naive(self.tz)
            rng = self._mutation_rng
            live = table.live_rows()
            victims = rng.choice(live, size=min(len(live), updates + deletes), replace=False)
            to_update, to_delete = victims[:updates], victims[updates:]
            updated: list[Key] = []
            if len(to_update):
                fresh = self._fresh_rows(name, len(to_update), np.zeros(len(to_update), np.int64), now)
                choices = self._updatable(table)
                for row, source in zip(to_update.tolist(), fresh, strict=True):
                    fields = rng.choice(
                        choices, size=min(len(choices), int(rng.integers(1, 3))), replace=False
                    )
                    change = {f: source[f] for f in fields.tolist()}
                    if "TOTALDUE" in table.columns and "TOTALDUE" in source:
                        change["TOTALDUE"] = source["TOTALDUE"]
                    self._update_row(table, row, change, now)
                    updated.append(table.key_of(row))
            deleted: list[Key] = []
            for row in to_delete.tolist():
                deleted.append(table.key_of(row))
                self._delete_row(table, row, now)
            inserted: list[Key] = []
            if inserts:
                steps = 1 + (rng.random(inserts) < 0.1) * rng.integers(1, 6, inserts)
                keys = table.max_recordno() + np.cumsum(steps)
                fresh = self._fresh_rows(name, inserts, keys.astype(np.int64), now)
                rows = table.append(fresh)
                self._inherit_owner(table, rows)
                for row in rows:
                    inserted.append(table.key_of(row))
                    self._audit(table, row, "C", now)
            return {"inserted": inserted, "updated": updated, "deleted": deleted}

    def upsert(self, name: str, record: Mapping[str, object]) -> Key:
        """Insert or update one record from API-style values; returns its key.

        An existing live key is updated (only the given fields; the modification time defaults to now).
        Otherwise a realistic random record is created and the given fields override it.
        """
        values = {k.upper(): "" if v is None else str(v) for k, v in record.items()}
        for field, text in values.items():
            if _XML_ILLEGAL.search(text):
                raise ValueError(f"{field} contains characters XML 1.0 cannot carry: {text!r}")
        with self.lock:
            table = self.table(name)
            canonical = {f.name.upper(): f.name for f in table.spec.fields}
            unknown = set(values) - set(canonical)
            if unknown:
                raise ValueError(f"unknown fields for {table.name}: {sorted(unknown)}")
            values = {canonical[k]: v for k, v in values.items()}
            self._fill_entity(table, values)
            now = now_naive(self.tz)
            key_field = table.key_field
            given = values.get(key_field)
            row = table.find_row(given) if given else None
            if given and row is not None:
                values.pop(key_field)
                self._update_row(table, row, values, now)
                return table.key_of(row)
            key = table.int_key(given) if given else table.max_recordno() + 1
            if table.name in OBJECT_META:
                base = self._fresh_rows(table.name, 1, np.array([key], dtype=np.int64), now)[0]
            else:
                base = {key_field: str(key), "STATUS": "active"}
                base["WHENCREATED"] = base["WHENMODIFIED"] = iso_text(now)
            base.update(values)
            if not table.text_key:
                base[key_field] = str(key)
            modified, created = table.spec.meta.modified_field, table.spec.meta.created_field
            if modified in values and created not in values:
                base[created] = values[modified]
            rows = table.append([base])
            self._inherit_owner(table, rows)
            if table.name in OBJECT_META:
                self._audit(table, rows[0], "C", table.timestamp(created, rows[0]))
            return table.key_of(rows[0])

    def delete(self, name: str, key: object) -> bool:
        """Delete a live record (AUDITHISTORY gets an ACCESSMODE 'D' row); False if it does not exist."""
        with self.lock:
            table = self.table(name)
            row = table.find_row(key)
            if row is None:
                return False
            self._delete_row(table, row, now_naive(self.tz))
            return True

    def _inherit_owner(self, table: Table, rows: list[int]) -> None:
        """New lines belong to their header's owner."""
        meta = table.spec.meta
        header_name = meta.header or (OBJECT_META[meta.mirror].header if meta.mirror else None)
        if table.owner is None or header_name is None:
            return
        header = self.table(header_name)
        field = meta.header_field or "BATCHKEY"
        for row in rows:
            header_row = header.find_row(table.columns[field].value(row))
            owner = header.columns["MEGAENTITYID"].value(header_row) if header_row is not None else ""
            table.owner[row] = table.owner_ids.index(owner) if owner in table.owner_ids else 0

    def _fill_entity(self, table: Table, values: dict[str, str]) -> None:
        """Keep MEGAENTITYKEY/NAME (and CUSTOMER.ENTITY) consistent with a given MEGAENTITYID ('' makes
        a top-level record)."""
        if table.spec.entity_scoped and values.get("MEGAENTITYID") == "":
            values.setdefault("MEGAENTITYKEY", "")
            values.setdefault("MEGAENTITYNAME", "")
            return
        entity = self.entity(values.get("MEGAENTITYID", "")) if table.spec.entity_scoped else None
        if entity is None:
            return
        values.setdefault("MEGAENTITYKEY", str(entity.key))
        values.setdefault("MEGAENTITYNAME", entity.name)
        if "ENTITY" in table.columns:
            values.setdefault("ENTITY", entity.id)

    def _update_row(self, table: Table, row: int, values: Mapping[str, str], now: int) -> None:
        meta = table.spec.meta
        change = dict(values)
        change.setdefault(meta.modified_field, iso_text(now))
        by_modified = "updatedBy" if table.key_field == "id" else "MODIFIEDBY"
        if by_modified in table.columns:
            change.setdefault(by_modified, str(SIM_USER_RECORDNO))
        if "MODIFIEDBYLOGINID" in table.columns:
            change.setdefault("MODIFIEDBYLOGINID", self.sim_login)
        table.update(row, change)
        if table.name in OBJECT_META:
            self._audit(table, row, "M", table.timestamp(meta.modified_field, row))

    def _delete_row(self, table: Table, row: int, now: int) -> None:
        table.delete(row)
        if table.name in OBJECT_META:
            self._audit(table, row, "D", now)

    def _audit(self, table: Table, row: int, mode: str, when: int) -> None:
        audit = self.table("AUDITHISTORY")
        stamp = iso_text(when)
        name_field = table.spec.meta.name_field
        name = table.columns[name_field].value(row) if name_field and name_field in table.columns else None
        bare = bool(self._mutation_rng.random() < self.audit_bare)
        if table.text_key:
            # GLDETAIL (text RECORDNO, no name field): Estuary's "<RECORDNO>--REC" with the text RECORDNO,
            # an extrapolation: no recorded or documented AUDITHISTORY row shows a GLDETAIL deletion
            # (Estuary's model splits on "--" and would refuse it; docs/intacct/PROTOCOL.md §9,
            # real-objects/README.md).
            object_key = f"{table.key_of(row)}--REC"
        else:
            object_key = self._object_key(table.name, int(table.keys[row]), bare, name)
        audit_id = audit.max_recordno() + 1
        audit.append(
            [
                {
                    "RECORDNO": str(audit_id) if self.audit_recordno == "present" else "",
                    "ID": str(audit_id),
                    "OBJECTTYPE": table.name.lower(),
                    "OBJECTKEY": object_key,
                    "ACCESSMODE": mode,
                    "ACCESSTIME": stamp,
                    "USERID": self.sim_login,
                    "WORKFLOWACTION": "",
                    "STATUS": "active",
                    "WHENCREATED": stamp,
                    "WHENMODIFIED": stamp,
                    "CREATEDBY": str(SIM_USER_RECORDNO),
                    "MODIFIEDBY": str(SIM_USER_RECORDNO),
                }
            ]
        )


__all__ = ["ACCESS_MODES", "Dataset", "Table"]
