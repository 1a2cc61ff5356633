"""Columnar storage for simulated objects.

Every column stores its values in numpy arrays (or lazily generated text), renders rows as the API
strings and evaluates filter comparisons for all rows at once. Rows are append-only: deletion only
clears the table's ``live`` flag, so row numbers stay stable for cached indexes and readMore cursors.
"""

from __future__ import annotations

import math
import re
from abc import ABC, abstractmethod
from collections.abc import Callable, Sequence

import numpy as np

from .formats import Formats, iso_text
from .timeutil import NULL_TIME


class FilterValueError(ValueError):
    """A filter value cannot be compared with a field (bad number, bad date...).

    ``kind`` 'date' marks a date/timestamp value that does not parse in the active filter format.
    """

    def __init__(
        self, message: str, field: str = "", value: str = "", kind: str = "", expected: str = ""
    ) -> None:
        super().__init__(message)
        self.field = field
        self.value = value
        self.kind = kind
        self.expected = expected


def like_regex(pattern: str, case_insensitive: bool) -> re.Pattern[str]:
    """Translate a SQL LIKE pattern (``%`` any run, ``_`` one character) into a compiled regex."""
    parts = []
    for ch in pattern:
        if ch == "%":
            parts.append(".*")
        elif ch == "_":
            parts.append(".")
        else:
            parts.append(re.escape(ch))
    flags = re.DOTALL | (re.IGNORECASE if case_insensitive else 0)
    return re.compile("".join(parts), flags)


def _grow(arr: np.ndarray, needed: int, fill: object) -> np.ndarray:
    if needed <= len(arr):
        return arr
    new = np.empty(max(needed, int(len(arr) * 1.5) + 16), dtype=arr.dtype)
    new[: len(arr)] = arr
    new[len(arr) :] = fill
    return new


class Column(ABC):
    """One field of an object: storage, rendering, comparison and sorting."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.n = 0

    @abstractmethod
    def render(self, rows: np.ndarray) -> list[str]:
        """API string values (``''`` for NULL) of the given rows."""

    @abstractmethod
    def compare(self, op: str, values: Sequence[str], ci: bool) -> np.ndarray:
        """Boolean mask over rows [0, n) for a comparison; NULL rows never match (SQL semantics)."""

    @abstractmethod
    def null_mask(self) -> np.ndarray:
        """Boolean mask of NULL rows."""

    @abstractmethod
    def sort_key(self, descending: bool) -> np.ndarray:
        """Numeric key for np.lexsort; NULLs last ascending and first descending (Oracle default)."""

    @abstractmethod
    def set_value(self, row: int, text: str) -> None:
        """Store an API string value (parsed to the column type) at a row."""

    @abstractmethod
    def extend(self, count: int) -> None:
        """Append ``count`` NULL rows."""

    def value(self, row: int) -> str:
        """The API string value of one row."""
        return self.render(np.array([row], dtype=np.int64))[0]

    def concrete(self) -> Column:
        """The column holding every value (a LazyColumn materialises itself)."""
        return self


class NumberColumn(Column):
    """Integer or decimal values; float64 storage with NaN for NULL (integers up to 2**53 are exact)."""

    def __init__(self, name: str, values: np.ndarray, integer: bool, places: int = 2) -> None:
        super().__init__(name)
        self.values = values.astype(np.float64, copy=False)
        self.n = len(values)
        self.integer = integer
        self.places = places

    def render(self, rows: np.ndarray) -> list[str]:
        data = self.values[rows]
        nulls = np.isnan(data)
        if self.integer:
            texts = list(map(str, np.where(nulls, 0, data).astype(np.int64).tolist()))
        elif self.places == 2:
            texts = [decimal_text(v) for v in data.tolist()]
        else:
            texts = [decimal_text(v, self.places) for v in data.tolist()]
        if nulls.any():
            for i in np.flatnonzero(nulls).tolist():
                texts[i] = ""
        return texts

    def _parse(self, text: str) -> float:
        try:
            value = float(text)
        except ValueError:
            raise FilterValueError(f"'{text}' is not a valid number for field {self.name}") from None
        if math.isnan(value):
            raise FilterValueError(f"'{text}' is not a valid number for field {self.name}")
        return value

    def compare(self, op: str, values: Sequence[str], ci: bool) -> np.ndarray:
        data = self.values[: self.n]
        nums = [self._parse(v) for v in values]
        return _compare_ordered(data, op, nums) & ~np.isnan(data)

    def null_mask(self) -> np.ndarray:
        return np.isnan(self.values[: self.n])

    def sort_key(self, descending: bool) -> np.ndarray:
        data = self.values[: self.n]
        if descending:
            return np.where(np.isnan(data), -np.inf, -data)
        return np.where(np.isnan(data), np.inf, data)

    def set_value(self, row: int, text: str) -> None:
        self.values[row] = math.nan if text.strip() == "" else self._parse(text)

    def extend(self, count: int) -> None:
        self.values = _grow(self.values, self.n + count, math.nan)
        self.values[self.n : self.n + count] = math.nan
        self.n += count

    def numeric(self, rows: np.ndarray) -> np.ndarray:
        """Raw float values (NaN = NULL) for aggregates."""
        return self.values[rows]


def decimal_text(value: float, places: int = 2) -> str:
    """Intacct-style decimal: plain digits, no thousands separators, no trailing zeros (``1234.5``,
    ``3797``, ``72.3296742688617``: real-objects/README.md "Value forms")."""
    if value != value:  # NaN = NULL
        return ""
    text = f"{value:.{places}f}".rstrip("0").rstrip(".")
    return "0" if text == "-0" else text


def _compare_ordered(data: np.ndarray, op: str, vals: list) -> np.ndarray:
    """Comparison on an array whose elements support <, ==, etc. (numbers or naive seconds)."""
    if op == "equalto":
        return data == vals[0]
    if op == "notequalto":
        return data != vals[0]
    if op == "lessthan":
        return data < vals[0]
    if op == "lessthanorequalto":
        return data <= vals[0]
    if op == "greaterthan":
        return data > vals[0]
    if op == "greaterthanorequalto":
        return data >= vals[0]
    if op == "between":
        return (data >= vals[0]) & (data <= vals[1])
    if op == "in":
        return np.isin(data, np.asarray(vals, dtype=data.dtype))
    if op == "notin":
        return ~np.isin(data, np.asarray(vals, dtype=data.dtype))
    raise FilterValueError(f"Operator {op} is not supported for field type")


class TimeColumn(Column):
    """Timestamps or dates as tenant-local naive seconds (see timeutil).

    Values are written and filter values read through ``formats`` (the API user's preferences), which
    the dataset shares between all its time columns so a change applies everywhere at once.
    """

    def __init__(
        self, name: str, values: np.ndarray, date_only: bool = False, formats: Formats | None = None
    ) -> None:
        super().__init__(name)
        self.values = values.astype(np.int64, copy=False)
        self.n = len(values)
        self.date_only = date_only
        self.formats = formats if formats is not None else Formats()

    def render(self, rows: np.ndarray) -> list[str]:
        return self.formats.render(self.values[rows], self.date_only)

    def render_iso(self, rows: np.ndarray) -> list[str]:
        """Canonical 'YYYY-MM-DD HH:MM:SS' values (internal round trips only)."""
        return ["" if v == NULL_TIME else iso_text(v, self.date_only) for v in self.values[rows].tolist()]

    def _parse(self, text: str) -> int:
        try:
            return self.formats.parse_filter(text)
        except ValueError as exc:
            raise FilterValueError(
                str(exc), field=self.name, value=text, kind="date", expected=self.formats.filter_format()
            ) from None

    def compare(self, op: str, values: Sequence[str], ci: bool) -> np.ndarray:
        if op in ("like", "notlike"):
            raise FilterValueError(f"Operator {op} cannot be used with date field {self.name}")
        data = self.values[: self.n]
        return _compare_ordered(data, op, [self._parse(v) for v in values]) & (data != NULL_TIME)

    def null_mask(self) -> np.ndarray:
        return self.values[: self.n] == NULL_TIME

    def sort_key(self, descending: bool) -> np.ndarray:
        data = self.values[: self.n].astype(np.float64)
        nulls = self.values[: self.n] == NULL_TIME
        if descending:
            return np.where(nulls, -np.inf, -data)
        return np.where(nulls, np.inf, data)

    def set_value(self, row: int, text: str) -> None:
        if text.strip() == "":
            self.values[row] = NULL_TIME
            return
        try:
            self.values[row] = self.formats.parse_stored(text)
        except ValueError as exc:
            raise ValueError(f"{self.name}: {exc}") from None

    def extend(self, count: int) -> None:
        self.values = _grow(self.values, self.n + count, NULL_TIME)
        self.values[self.n : self.n + count] = NULL_TIME
        self.n += count


def string_mask(strings: np.ndarray, op: str, values: Sequence[str], ci: bool) -> np.ndarray:
    """Comparison mask over an object array of strings; '' is NULL and never matches."""
    data = strings
    if ci:
        data = np.empty(len(strings), dtype=object)
        data[:] = [s.lower() for s in strings]
    vals = [v.lower() for v in values] if ci else list(values)
    non_null = strings != ""
    if op in ("like", "notlike"):
        regex = like_regex(values[0], ci)
        hits = np.fromiter((regex.fullmatch(s) is not None for s in strings), bool, len(strings))
        result = hits if op == "like" else ~hits
    elif op in ("in", "notin"):
        wanted = set(vals)
        hits = np.fromiter((s in wanted for s in data), bool, len(data))
        result = hits if op == "in" else ~hits
    else:
        result = np.asarray(_compare_ordered(data, op, vals), dtype=bool)
    return result & non_null


class CategoryColumn(Column):
    """Low-cardinality text: int codes into a category list, so filters run on the categories only.

    ``aliases`` maps alternative filter spellings to stored values (Intacct accepts ``STATUS = 'T'`` in
    readByQuery although results say ``active``).
    """

    def __init__(
        self,
        name: str,
        codes: np.ndarray,
        categories: Sequence[str],
        aliases: dict[str, str] | None = None,
    ) -> None:
        super().__init__(name)
        self.categories: list[str] = list(categories)
        self._index = {c: i for i, c in enumerate(self.categories)}
        self.codes = codes.astype(np.int32, copy=False)
        self.n = len(codes)
        self.aliases = aliases or {}

    def _code(self, text: str) -> int:
        code = self._index.get(text)
        if code is None:
            code = len(self.categories)
            self.categories.append(text)
            self._index[text] = code
        return code

    def render(self, rows: np.ndarray) -> list[str]:
        cats = self.categories
        return [cats[c] for c in self.codes[rows].tolist()]

    def compare(self, op: str, values: Sequence[str], ci: bool) -> np.ndarray:
        values = [self.aliases.get(v, v) for v in values]
        cats = np.empty(len(self.categories), dtype=object)
        cats[:] = self.categories
        per_category = string_mask(cats, op, values, ci)
        return per_category[self.codes[: self.n]]

    def null_mask(self) -> np.ndarray:
        empty = np.array([c == "" for c in self.categories], dtype=bool)
        return empty[self.codes[: self.n]]

    def sort_key(self, descending: bool) -> np.ndarray:
        order = sorted(range(len(self.categories)), key=lambda i: self.categories[i])
        rank = np.empty(len(self.categories), dtype=np.float64)
        rank[order] = np.arange(len(order), dtype=np.float64)
        empty = np.array([c == "" for c in self.categories], dtype=bool)
        key = rank[self.codes[: self.n]]
        nulls = empty[self.codes[: self.n]]
        if descending:
            return np.where(nulls, -np.inf, -key)
        return np.where(nulls, np.inf, key)

    def set_value(self, row: int, text: str) -> None:
        self.codes[row] = self._code(text)

    def extend(self, count: int) -> None:
        null = self._code("")
        self.codes = _grow(self.codes, self.n + count, null)
        self.codes[self.n : self.n + count] = null
        self.n += count


class TextColumn(Column):
    """High-cardinality text generated lazily from compact arrays.

    ``generate(rows)`` produces the original values of rows < base_n; later writes live in
    ``overrides``. A full object array is only built (and cached) when a filter or sort needs every
    value, which keeps start-up at a million records to a few seconds.
    """

    def __init__(self, name: str, n: int, generate: Callable[[np.ndarray], list[str]]) -> None:
        super().__init__(name)
        self.n = n
        self.base_n = n
        self._generate = generate
        self.overrides: dict[int, str] = {}
        self._full: np.ndarray | None = None
        self._rank_cache: np.ndarray | None = None

    def render(self, rows: np.ndarray) -> list[str]:
        if self._full is not None:
            return list(self._full[rows])
        if not self.overrides and (len(rows) == 0 or rows.max() < self.base_n):
            return self._generate(rows) if len(rows) else []
        base_rows = rows[rows < self.base_n] if len(rows) else rows
        generated = iter(self._generate(base_rows)) if len(base_rows) else iter(())
        out = []
        overrides = self.overrides
        for row in rows.tolist():
            value = next(generated) if row < self.base_n else ""
            out.append(overrides.get(row, value))
        return out

    def full(self) -> np.ndarray:
        """All values as an object array (built once, then kept in sync by set_value)."""
        if self._full is None:
            arr = np.empty(self.n, dtype=object)
            arr[: self.base_n] = self._generate(np.arange(self.base_n, dtype=np.int64))
            arr[self.base_n :] = ""
            for row, value in self.overrides.items():
                arr[row] = value
            self._full = arr
        return self._full[: self.n]

    def compare(self, op: str, values: Sequence[str], ci: bool) -> np.ndarray:
        return string_mask(self.full(), op, values, ci)

    def null_mask(self) -> np.ndarray:
        return self.full() == ""

    def sort_key(self, descending: bool) -> np.ndarray:
        if self._rank_cache is None or len(self._rank_cache) != self.n:
            data = self.full()
            uniques, inverse = np.unique(data, return_inverse=True)
            rank = inverse.astype(np.float64)
            if len(uniques) and uniques[0] == "":
                rank[rank == 0] = np.inf  # '' sorts first in np.unique; NULL must sort last
            self._rank_cache = rank
        rank = self._rank_cache
        if descending:
            return np.where(np.isinf(rank), -np.inf, -rank)
        return rank

    def set_value(self, row: int, text: str) -> None:
        self.overrides[row] = text
        self._rank_cache = None
        if self._full is not None and row < len(self._full):
            self._full[row] = text

    def extend(self, count: int) -> None:
        self.n += count
        self._rank_cache = None
        if self._full is not None and len(self._full) < self.n:
            self._full = _grow(self._full, self.n, "")


class LazyColumn(Column):
    """A column computed on demand from a pure function of the row number.

    ``build(rows)`` returns a concrete column holding the values of exactly those rows (rows below
    ``base_n``, the generated records). A page renders only its own rows; a filter, sort or aggregate
    materialises the whole column once. Later rows (run-time inserts) and changed rows live in
    ``overrides`` (API strings), like TextColumn.
    """

    def __init__(self, name: str, n: int, build: Callable[[np.ndarray], Column]) -> None:
        super().__init__(name)
        self.n = n
        self.base_n = n
        self._build = build
        self.overrides: dict[int, str] = {}
        self._full: Column | None = None

    def concrete(self) -> Column:
        if self._full is None:
            full = self._build(np.arange(self.base_n, dtype=np.int64))
            full.extend(self.n - self.base_n)
            for row, text in self.overrides.items():
                full.set_value(row, text)
            self._full = full
        return self._full

    def render(self, rows: np.ndarray) -> list[str]:
        if self._full is not None:
            return self._full.render(rows)
        if len(rows) == 0:
            return []
        if not self.overrides and rows.max() < self.base_n:
            return self._build(rows).render(np.arange(len(rows), dtype=np.int64))
        base = rows < self.base_n
        generated = (
            iter(self._build(rows[base]).render(np.arange(int(base.sum()), dtype=np.int64)))
            if base.any()
            else iter(())
        )
        overrides = self.overrides
        out = []
        for row, is_base in zip(rows.tolist(), base.tolist(), strict=True):
            value = next(generated) if is_base else ""
            out.append(overrides.get(row, value))
        return out

    def compare(self, op: str, values: Sequence[str], ci: bool) -> np.ndarray:
        return self.concrete().compare(op, values, ci)

    def null_mask(self) -> np.ndarray:
        return self.concrete().null_mask()

    def sort_key(self, descending: bool) -> np.ndarray:
        return self.concrete().sort_key(descending)

    def set_value(self, row: int, text: str) -> None:
        if self._full is not None:
            self._full.set_value(row, text)
        # Validated, and kept as the API writes it, like the real column would (run-time inserts arrive
        # with canonical ISO times, which the API writes in the user's format).
        probe = self._build(np.zeros(1, dtype=np.int64))
        probe.set_value(0, text)
        self.overrides[row] = probe.render(np.zeros(1, dtype=np.int64))[0]

    def extend(self, count: int) -> None:
        self.n += count
        if self._full is not None:
            self._full.extend(count)
