"""Query execution: matching, ordering, caching and aggregates over a Table.

Matching rows for a (filter, order, entity, case) signature are cached per table version, so the
pages of an offset export are slices of one array. Full-table sort permutations are cached per order
signature, so a keyset page (``WHENMODIFIED > x ORDER BY WHENMODIFIED, RECORDNO``) costs one
vectorised filter pass plus ``perm[mask[perm]]`` instead of a sort.
"""

from __future__ import annotations

import math
import threading
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from .columns import CategoryColumn, NumberColumn, TextColumn, TimeColumn, decimal_text
from .dataset import Table
from .filters import Node, evaluate
from .timeutil import NULL_TIME

AGGREGATES = ("count", "min", "max", "sum", "avg")


@dataclass(frozen=True)
class Order:
    """One ORDER BY term (field name upper-cased)."""

    field: str
    descending: bool = False


@dataclass(frozen=True)
class SelectItem:
    """A selected field or aggregate; ``label`` is the result element/key name."""

    kind: str  # "field" or an aggregate name
    field: str  # upper-case column name
    label: str


class QueryCache:
    """Small LRU of matching-row arrays and sort permutations (bounded by total elements)."""

    def __init__(self, max_elements: int = 20_000_000) -> None:
        self._items: OrderedDict[tuple, np.ndarray] = OrderedDict()
        self._elements = 0
        self._max = max_elements
        self._lock = threading.Lock()

    def get(self, key: tuple) -> np.ndarray | None:
        """Cached array or None."""
        with self._lock:
            value = self._items.get(key)
            if value is not None:
                self._items.move_to_end(key)
            return value

    def put(self, key: tuple, value: np.ndarray) -> None:
        """Store an array, evicting least recently used ones beyond the size bound."""
        with self._lock:
            old = self._items.pop(key, None)
            if old is not None:
                self._elements -= len(old)
            self._items[key] = value
            self._elements += len(value)
            while self._elements > self._max and len(self._items) > 1:
                _, evicted = self._items.popitem(last=False)
                self._elements -= len(evicted)

    def clear(self) -> None:
        """Drop everything."""
        with self._lock:
            self._items.clear()
            self._elements = 0


def _sort_permutation(table: Table, order: tuple[Order, ...], cache: QueryCache) -> np.ndarray:
    key = ("perm", table.name, table.version, order)
    perm = cache.get(key)
    if perm is None:
        keys = [table.columns[o.field].sort_key(o.descending) for o in reversed(order)]
        if not table.recordno_sorted:
            keys.insert(0, table.keys[: table.n])  # deterministic tie-break by RECORDNO
        perm = np.lexsort(keys) if len(keys) > 1 else np.argsort(keys[0], kind="stable")
        cache.put(key, perm)
    return perm


@dataclass(frozen=True)
class Visibility:
    """Which records a caller may see in a multi-entity company.

    ``entity``: the session's entity ('' = top level). ``showprivate``: the query's option.
    ``hide_private``: the simulator setting ``private_needs_showprivate``.
    """

    entity: str = ""
    showprivate: bool = False
    hide_private: bool = False

    def mask(self, table: Table) -> np.ndarray | None:
        """Visible rows, or None for all. Entity sessions see their entity's records and the top-level
        ones not restricted to the top (OBJECTRESTRICTION RootOnly/Restricted); top-level sessions see
        entity-owned ("private") records only with showprivate (official docs: "set the showprivate
        element to true to query data in private entities")."""
        if table.spec.entity_scoped:
            owner = table.columns["MEGAENTITYID"]
            top = owner.null_mask()
            own = owner.compare("equalto", [self.entity], False) if self.entity else top
        elif table.owner is not None:  # lines: their header's owner
            top = table.owner_mask("")
            own = table.owner_mask(self.entity) if self.entity else top
        else:
            return None
        if self.entity:
            restriction = table.columns.get("OBJECTRESTRICTION")
            if restriction is not None:
                top = top & ~restriction.compare("in", ["RootOnly", "Restricted"], False)
            return own | top
        if self.hide_private and not self.showprivate:
            return top
        return None

    def cache_key(self, table: Table) -> tuple[str, bool]:
        if not table.spec.entity_scoped and table.owner is None:
            return ("", False)
        return (self.entity, bool(self.hide_private and not self.showprivate))


def matching_rows(
    table: Table,
    node: Node | None,
    order: tuple[Order, ...],
    visibility: Visibility,
    case_insensitive: bool,
    cache: QueryCache,
) -> np.ndarray:
    """Ordered row numbers of visible live records matching the filter (cached per table version)."""
    formats = next((c.formats.version for c in table.columns.values() if isinstance(c, TimeColumn)), 0)
    key = (
        "rows",
        table.name,
        table.version,
        repr(node),
        order,
        visibility.cache_key(table),
        case_insensitive,
        formats,
    )
    rows = cache.get(key)
    if rows is not None:
        return rows
    mask = table.live_mask()
    if node is not None:
        mask = mask & evaluate(node, table, case_insensitive)
    visible = visibility.mask(table)
    if visible is not None:
        mask = mask & visible
    by_key = Order(table.key_field)
    if not order and not table.recordno_sorted:
        order = (by_key,)
    if not order or (order == (by_key,) and table.recordno_sorted and not table.text_key):
        rows = np.flatnonzero(mask)  # physical order is key order: no sort needed
    elif order == (Order(table.key_field, True),) and table.recordno_sorted and not table.text_key:
        rows = np.flatnonzero(mask)[::-1].copy()
    else:
        perm = _sort_permutation(table, order, cache)
        rows = perm[mask[perm]]
    cache.put(key, rows)
    return rows


def aggregate_rows(table: Table, rows: np.ndarray, items: list[SelectItem]) -> list[list[str]]:
    """Aggregate results: one row per group of the plain fields (one row overall without them)."""
    group_fields = [i.field for i in items if i.kind == "field"]
    if group_fields:
        rendered = table.render(rows, group_fields)
        groups: dict[tuple[str, ...], list[int]] = {}
        for position, values in enumerate(rendered):
            groups.setdefault(tuple(values), []).append(position)
        ordered = list(groups.items())  # first appearance: follows the query order
    else:
        ordered = [((), list(range(len(rows))))]
    out = []
    for group_key, positions in ordered:
        sub = rows[np.asarray(positions, dtype=np.int64)]
        values_iter = iter(group_key)
        out.append([next(values_iter) if i.kind == "field" else _aggregate(table, sub, i) for i in items])
    return out


def _aggregate(table: Table, rows: np.ndarray, item: SelectItem) -> str:
    column = table.columns[item.field].concrete()
    non_null = rows[~column.null_mask()[rows]] if len(rows) else rows
    if item.kind == "count":
        return str(len(non_null))
    if len(non_null) == 0:
        return ""
    if isinstance(column, NumberColumn):
        values = column.numeric(non_null)
        reducers: dict[str, Callable[[np.ndarray], float]] = {
            "min": np.min,
            "max": np.max,
            "sum": np.sum,
            "avg": np.mean,
        }
        result = float(reducers[item.kind](values))
        if column.integer and item.kind != "avg":
            return str(int(result))
        return decimal_text(result) if item.kind != "avg" else _average_text(result)
    if item.kind in ("sum", "avg"):
        raise ValueError(f"{item.kind.upper()} needs a numeric field; {item.field} is not numeric")
    if isinstance(column, TimeColumn):
        values = column.values[non_null]
        values = values[values != NULL_TIME]
        return column.formats.render_one(
            int(values.min() if item.kind == "min" else values.max()), column.date_only
        )
    assert isinstance(column, CategoryColumn | TextColumn)
    strings = column.render(non_null)
    return min(strings) if item.kind == "min" else max(strings)


def _average_text(value: float) -> str:
    if math.isnan(value):
        return ""
    text = f"{value:.10f}".rstrip("0").rstrip(".")
    return text or "0"
