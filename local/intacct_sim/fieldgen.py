"""Generated values for fields without a dedicated generator, steered by the field's profile.

Each field becomes a LazyColumn: a value is a hash of (seed, object, field, record), so a page of 2000
records renders only its own values and a million-record object costs nothing until a filter or sort
needs a whole column. The kind of value follows the lookup DATATYPE and, for TEXT, the field's name
(e-mail, phone, ZIP with leading zeros, city, currency code, URL, login, free text...). How often a
field is filled and how long its text runs come from the recorded real records (``FieldSpec.fill``,
``FieldSpec.length``), which keeps record sizes near the recorded ones.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from .columns import CategoryColumn, Column, LazyColumn, NumberColumn, TextColumn, TimeColumn
from .formats import Formats
from .hashing import below, stream, uniform
from .schema import FieldSpec
from .vocab import (
    ADDRESS2,
    BOOL_ALIASES,
    COMMENTS,
    COMPANY_BASES,
    COMPANY_SUFFIXES,
    FIRST_ASCII,
    FIRST_NAMES,
    LAST_ASCII,
    LAST_NAMES,
    LOCATIONS,
    STREETS,
    USERS,
)

POOL = 97  # distinct values per pooled text field
CURRENCIES = ("USD", "EUR", "GBP", "CAD", "JPY", "CHF", "AUD")
STATES = ("CA", "NY", "TX", "WA", "MA", "BY", "NW", "ZH", "SP", "")
TRANSACTION_STATES = ("Posted", "Draft", "Approved", "Paid", "Partially Paid", "Submitted", "Reversed")
WORDS = (
    "net", "terms", "standard", "default", "review", "batch", "north", "south", "region", "main", "Müller",
    "retail", "service", "support", "annual", "monthly", "accrual", "cash", "deferred", "R&D", "Zürich",
    "operations", "<legacy>", "\"priority\"", "O'Neil", "東京", "project", "contract", "revenue", "expense",
)  # fmt: skip
PREFIXES = ("", "", "", "Mr.", "Ms.", "Dr.")


@dataclass
class FieldContext:
    """What generic fields of one object need: the seed, the object name, per-row hash indexes, keys
    and creation times (tenant-local naive seconds), and the formats time columns write with."""

    seed: int
    obj: str
    index: np.ndarray  # per row: the value fed to the hash (slot, or a fresh-row number)
    key: np.ndarray  # per row: RECORDNO / id
    created: np.ndarray  # per row: local naive creation time
    formats: Formats

    @property
    def n(self) -> int:
        return len(self.index)


def _last(name: str) -> str:
    return name.split(".")[-1].rstrip("#")


def _pool_words(salt: int, length: int, count: int = POOL) -> list[str]:
    """``count`` texts of about ``length`` characters made of WORDS."""
    length = max(3, length)
    picks = below(0, salt, np.arange(count * 12, dtype=np.int64), len(WORDS)).reshape(count, 12)
    out = []
    for row in picks.tolist():
        text = ""
        for word_index in row:
            candidate = f"{text} {WORDS[word_index]}" if text else WORDS[word_index]
            if len(candidate) > length and text:
                break
            text = candidate
        out.append(text[:length].rstrip() or "x")
    return out


def _company(i: int, j: int) -> str:
    suffix = COMPANY_SUFFIXES[j % len(COMPANY_SUFFIXES)]
    base = COMPANY_BASES[i % len(COMPANY_BASES)]
    return f"{base} {suffix}".strip()


def _pooled(name: str, spec: FieldSpec, salt: int) -> list[str] | None:
    """A fixed pool of plausible values for a TEXT field, or None when values must be unique."""
    last = _last(name)
    n = POOL
    r = range(n)
    if name.endswith("#"):
        # LIABACCT#, LOCATION#, DEPT#: recorded values are all digits (7710, 9806, 3417, 8846, 3979)
        width = max(2, min(spec.length or 4, 12))
        return [f"{1 + (i * 7919 + salt) % (10**width - 1)}" for i in r]
    if "EMAIL" in last:
        return [
            f"{FIRST_ASCII[i % len(FIRST_ASCII)]}.{LAST_ASCII[i % len(LAST_ASCII)]}{i}@example.com" for i in r
        ]
    if last in ("PHONE1", "PHONE2", "CELLPHONE", "PAGER", "FAX") or last.endswith("PHONE"):
        return [f"+1 {200 + i * 7 % 700:03d} 555 {1000 + i * 37 % 9000:04d}" for i in r]
    if last == "ZIP" or last.endswith("ZIPCODE"):
        return [f"{i * 7919 % 100000:05d}" for i in r]  # leading zeros kept, as recorded ('06969')
    if last == "CITY":
        return [place[0] for place in LOCATIONS]
    if last == "STATE" and "MAILADDRESS" in name:
        return list(STATES)
    if last in ("STATE", "RAWSTATE", "DISPLAYSTATE") or last.endswith("_STATE"):
        return list(TRANSACTION_STATES)
    if last in ("COUNTRYCODE", "ISOCOUNTRYCODE", "PYMTCOUNTRYCODE"):
        return [place[2] for place in LOCATIONS]
    if last == "COUNTRY":
        return [place[3] for place in LOCATIONS]
    if last == "ADDRESS1":
        return [f"{100 + i * 13} {STREETS[i % len(STREETS)]}" for i in r]
    if last in ("ADDRESS2", "ADDRESS3"):
        return list(ADDRESS2)
    if last == "FIRSTNAME":
        return list(FIRST_NAMES)
    if last == "LASTNAME":
        return list(LAST_NAMES)
    if last == "PREFIX":
        return list(PREFIXES)
    if last == "INITIAL":
        return [chr(65 + i % 26) for i in r]
    if last in ("CONTACTNAME", "PRINTAS") or last.endswith("CONTACTNAME"):
        return [f"{LAST_NAMES[i % len(LAST_NAMES)]}, {FIRST_NAMES[(i * 7) % len(FIRST_NAMES)]}" for i in r]
    if last in ("COMPANYNAME", "NAME") or last.endswith(("NAME", "TITLE")):
        return [_company(i, i // len(COMPANY_BASES)) for i in r]
    if (
        last in CURRENCIES
        or last in ("CURRENCY", "BASECURR", "CURRENCY_R")
        or last.endswith(("CURRENCY", "CURR"))
    ):
        return list(CURRENCIES)
    if last.startswith(("DESCRIPTION", "MEMO", "COMMENT", "MESSAGE", "NOTE")) or last.endswith("MESSAGE"):
        return list(COMMENTS) + _pool_words(salt, spec.length or 30, 20)
    if last.endswith("LOGINID") or last == "USERID":
        return [login for _, login in USERS]
    if last.endswith(("URL", "URL1", "URL2")):
        return None
    if last.endswith(("NO", "NUMBER", "NUM")) and not last.endswith("MEMO"):
        width = max(3, min(spec.length or 5, 12))
        return [f"{(i * 7919 + salt) % 10**width:0{width}d}" for i in r]  # digits, leading zeros kept
    if last.endswith(("ID", "CODE", "KEY")) or last in ("DEPT", "LOCATION"):  # DEPT/LOCATION: the ID
        width = max(2, min(spec.length or 6, 20))
        return [f"{last[:2]}{(i * 7919 + salt) % 10 ** (width - 2):0{width - 2}d}" for i in r]
    return _pool_words(salt, spec.length or 10)


def _url(key: np.ndarray, salt: int, length: int) -> list[str]:
    """Record links like the recorded RECORD_URL (about 90-100 characters)."""
    base = "https://www.intacct.com/ia/acct/ur.phtml?.r="
    tokens = below(0, salt, key, 36**6)
    out = []
    for k, t in zip(key.tolist(), tokens.tolist(), strict=True):
        token = np.base_repr(t, 36).lower() + np.base_repr(int(k), 36).lower()
        text = base + token
        out.append((text + "Q" * max(0, length - len(text)))[: max(length, len(text))])
    return out


def generic_column(ctx: FieldContext, spec: FieldSpec) -> LazyColumn:
    """A lazily generated column for ``spec`` over the rows of ``ctx``."""
    salt = stream(ctx.obj, spec.name)
    return LazyColumn(spec.name, ctx.n, lambda rows: build_values(ctx, spec, salt, rows))


def build_values(ctx: FieldContext, spec: FieldSpec, salt: int, rows: np.ndarray) -> Column:
    """The concrete column of ``spec``'s values for ``rows``."""
    seed, index = ctx.seed, ctx.index[rows]
    filled = uniform(seed, salt ^ 11, index) < spec.fill
    m = len(rows)
    kind = spec.datatype
    name = spec.name
    if kind == "BOOLEAN":
        share = 0.85 if spec.hint == "true" else 0.15 if spec.hint == "false" else 0.3
        truth = uniform(seed, salt ^ 12, index) < share
        codes = np.where(filled, np.where(truth, 2, 1), 0).astype(np.int32)
        return CategoryColumn(name, codes, ("", "false", "true"), BOOL_ALIASES)
    if kind == "INTEGER":
        values = (1 + below(seed, salt ^ 13, index, 9999)).astype(np.float64)
        return NumberColumn(name, np.where(filled, values, np.nan), integer=True)
    if kind in ("CURRENCY", "DECIMAL", "PERCENT"):
        u = uniform(seed, salt ^ 14, index)
        if kind == "PERCENT":
            values = np.round(u * 100, 2)
            places = 2
        elif kind == "DECIMAL":
            values = np.round(0.01 + u * 150, 10)
            places = 10
        else:
            values = np.round(np.power(10.0, 1 + u * 5) * uniform(seed, salt ^ 15, index), 2)
            values = np.where(uniform(seed, salt ^ 16, index) < 0.05, -values, values)
            places = 2
        return NumberColumn(name, np.where(filled, values, np.nan), integer=False, places=places)
    if kind in ("DATE", "TIMESTAMP"):
        created = ctx.created[rows]
        offset = below(seed, salt ^ 17, index, 400) * 86_400
        if kind == "TIMESTAMP":
            offset = offset + below(seed, salt ^ 18, index, 86_400)
        values = np.where(filled, created // 86_400 * 86_400 + offset, np.iinfo(np.int64).min)
        return TimeColumn(name, values, date_only=kind == "DATE", formats=ctx.formats)
    if spec.valid_values:
        codes = np.where(filled, 1 + below(seed, salt ^ 19, index, len(spec.valid_values)), 0).astype(
            np.int32
        )
        return CategoryColumn(name, codes, ("", *spec.valid_values))
    pool = _pooled(name, spec, salt)
    if pool is not None:
        codes = np.where(filled, 1 + below(seed, salt ^ 20, index, len(pool)), 0).astype(np.int32)
        return CategoryColumn(name, codes, ("", *pool))
    urls = _url(ctx.key[rows], salt, spec.length or 90)
    texts = [u if f else "" for u, f in zip(urls, filled.tolist(), strict=True)]
    return TextColumn(name, m, lambda sel: [texts[i] for i in sel.tolist()])


def text_column(name: str, n: int, values: Callable[[np.ndarray], list[str]]) -> TextColumn:
    """A TextColumn of ``n`` rows computed by ``values(rows)``."""
    return TextColumn(name, n, values)
