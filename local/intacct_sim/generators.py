"""Deterministic, vectorised generation of realistic record values.

Every builder takes a numpy Generator and the row count and returns one Column per field. Numbers,
timestamps and categories are numpy arrays; free text is generated lazily from small index arrays
(see columns.TextColumn). Values deliberately include unicode, ``&``, ``<``, quotes, newlines and
empty fields, because those are what break exporters.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from .columns import CategoryColumn, Column, LazyColumn, NumberColumn, TextColumn, TimeColumn
from .fieldgen import FieldContext, generic_column
from .formats import Formats
from .schema import ObjectSpec
from .timeutil import NULL_TIME
from .vocab import (
    ADDRESS2,
    BOOL_ALIASES,
    COMMENTS,
    COMPANY_BASES,
    COMPANY_SUFFIXES,
    FIRST_ASCII,
    FIRST_NAMES,
    GL_CATEGORIES,
    GL_QUALIFIERS,
    GL_TITLES,
    LAST_ASCII,
    LAST_NAMES,
    LOCATIONS,
    STATUS_ALIASES,
    STREETS,
    USERS,
    Entity,
)


@dataclass
class RowBasis:
    """What every object's rows share: keys, timestamps (tenant-local naive seconds), entity codes.

    ``index`` feeds the per-field hashes (the record's slot, or a fresh number for run-time inserts);
    ``header_key``/``line_no`` are set for line objects.
    """

    recordno: np.ndarray
    created: np.ndarray
    modified: np.ndarray
    entity: np.ndarray
    index: np.ndarray | None = None
    fresh: bool = False  # generated for run-time inserts: no parent links into existing rows
    header_key: np.ndarray | None = None
    line_no: np.ndarray | None = None
    created_exact: np.ndarray | None = None  # the creation timestamp when WHENCREATED is date-only
    private: np.ndarray | None = None  # owned by its entity (else a top-level record); None: all owned

    def __post_init__(self) -> None:
        if self.index is None:
            self.index = np.arange(len(self.recordno), dtype=np.int64)

    @property
    def n(self) -> int:
        return len(self.recordno)

    @property
    def hash_index(self) -> np.ndarray:
        assert self.index is not None
        return self.index


def _pick(rng: np.random.Generator, n: int, weights: list[float]) -> np.ndarray:
    """Category codes drawn with the given relative weights (faster than rng.choice with p)."""
    draws = rng.random(n)
    codes = np.zeros(n, dtype=np.int32)
    for threshold in (np.cumsum(weights) / sum(weights))[:-1]:
        codes += draws >= threshold  # a few vectorised comparisons beat searchsorted for tiny tables
    return codes


def _cat(
    name: str, codes: np.ndarray, cats: tuple[str, ...] | list[str], aliases: dict[str, str] | None = None
) -> CategoryColumn:
    return CategoryColumn(name, codes.copy(), cats, aliases)


def _text(name: str, n: int, fn: Callable[[np.ndarray], list[str]]) -> TextColumn:
    return TextColumn(name, n, fn)


USER_NUMBERS = np.array([u for u, _ in USERS], dtype=np.float64)
USER_LOGINS = tuple(login for _, login in USERS)


def common_columns(
    spec: ObjectSpec,
    basis: RowBasis,
    rng: np.random.Generator,
    entities: tuple[Entity, ...],
    formats: Formats,
) -> dict[str, Column]:
    """The key, creation/modification times and users, STATUS and the MEGAENTITY fields."""
    meta = spec.meta
    n = basis.n
    created_by = USER_NUMBERS[_pick(rng, n, [5, 3, 2, 1, 4])]
    changed = (basis.modified != basis.created) & (basis.modified != NULL_TIME)
    modified_by = np.where(changed, USER_NUMBERS[_pick(rng, n, [4, 3, 2, 2, 5])], created_by)
    by_created, by_modified = (
        ("createdBy", "updatedBy") if meta.key_field == "id" else ("CREATEDBY", "MODIFIEDBY")
    )
    cols: dict[str, Column] = {
        meta.key_field: NumberColumn(meta.key_field, basis.recordno, integer=True),
        meta.created_field: TimeColumn(meta.created_field, basis.created, meta.created_date_only, formats),
        meta.modified_field: TimeColumn(
            meta.modified_field, basis.modified, meta.modified_date_only, formats
        ),
        by_created: NumberColumn(by_created, created_by, integer=True),
        by_modified: NumberColumn(by_modified, modified_by, integer=True),
    }
    if spec.field("STATUS") is not None:
        cols["STATUS"] = _cat(
            "STATUS", (rng.random(n) < 0.1).astype(np.int32), ("active", "inactive"), STATUS_ALIASES
        )
    if spec.entity_scoped:
        # Top-level records carry empty MEGAENTITY fields (recorded: CLASS 7 filled, 4 and 6 empty).
        owned = basis.private if basis.private is not None else np.ones(n, dtype=bool)
        codes = np.where(owned, basis.entity + 1, 0).astype(np.int32)
        keys = np.array([np.nan, *(e.key for e in entities)], dtype=np.float64)
        cols["MEGAENTITYKEY"] = NumberColumn("MEGAENTITYKEY", keys[codes], integer=True)
        cols["MEGAENTITYID"] = _cat("MEGAENTITYID", codes, ["", *(e.id for e in entities)])
        cols["MEGAENTITYNAME"] = _cat("MEGAENTITYNAME", codes, ["", *(e.name for e in entities)])
    return cols


def _company_names(rng: np.random.Generator, n: int) -> Callable[[np.ndarray], list[str]]:
    base = rng.integers(0, len(COMPANY_BASES), n, dtype=np.int16)
    suffix = rng.integers(0, len(COMPANY_SUFFIXES), n, dtype=np.int16)
    number = np.where(rng.random(n) < 0.5, rng.integers(1, 1000, n), 0).astype(np.int16)

    def gen(rows: np.ndarray) -> list[str]:
        out = []
        for b, s, k in zip(base[rows].tolist(), suffix[rows].tolist(), number[rows].tolist(), strict=True):
            name = COMPANY_BASES[b]
            if COMPANY_SUFFIXES[s]:
                name = f"{name} {COMPANY_SUFFIXES[s]}"
            out.append(f"{name} {k}" if k else name)
        return out

    return gen


def _money(
    rng: np.random.Generator, n: int, zero_share: float, null_share: float, scale: float
) -> np.ndarray:
    cents = np.round(rng.lognormal(np.log(scale), 1.2, n) * 100) / 100
    cents[rng.random(n) < zero_share] = 0.0
    cents[rng.random(n) < null_share] = np.nan
    return cents


def _locations(rng: np.random.Generator, entity: np.ndarray, entities: tuple[Entity, ...]) -> np.ndarray:
    """Location index per row, mostly within the country of the row's entity."""
    loc = np.empty(len(entity), dtype=np.int32)
    anywhere = np.arange(len(LOCATIONS), dtype=np.int32)
    for e in np.unique(entity).tolist():
        rows = np.flatnonzero(entity == e)
        own = np.array(
            [i for i, place in enumerate(LOCATIONS) if place[2] == entities[e].country], dtype=np.int32
        )
        loc[rows] = rng.choice(own if len(own) else anywhere, size=len(rows))
    stray = rng.random(len(entity)) < 0.08
    loc[stray] = rng.choice(anywhere, size=int(stray.sum()))
    return loc


def contact_columns(
    prefix: str,
    basis: RowBasis,
    rng: np.random.Generator,
    entities: tuple[Entity, ...],
    company: Callable[[np.ndarray], list[str]],
    extended: bool,
) -> dict[str, Column]:
    """DISPLAYCONTACT.* fields, flat with dotted names as query returns them."""
    n = basis.n
    first = rng.integers(0, len(FIRST_NAMES), n, dtype=np.int16)
    last = rng.integers(0, len(LAST_NAMES), n, dtype=np.int16)
    loc = _locations(rng, basis.entity, entities)
    phone_digits = rng.integers(0, 10_000_000, n, dtype=np.int32)
    has_phone = rng.random(n) >= 0.15
    has_phone2 = rng.random(n) < 0.2
    email_kind = _pick(rng, n, [80, 10, 10])  # 0 normal, 1 empty, 2 plus-addressing
    email2 = rng.random(n) < 0.15
    house = rng.integers(1, 2000, n, dtype=np.int16)
    street = rng.integers(0, len(STREETS), n, dtype=np.int16)
    addr2 = np.where(rng.random(n) < 0.3, rng.integers(0, len(ADDRESS2), n), -1).astype(np.int16)
    zips = rng.integers(0, 100_000, n, dtype=np.int32)
    initial = np.where(rng.random(n) < 0.3, rng.integers(0, 26, n), -1).astype(np.int8)
    recno = basis.recordno
    domains = ("example.com", "example.co.uk", "beispiel.de", "example.org")
    dialing = {"US": "+1", "GB": "+44", "DE": "+49", "JP": "+81", "CH": "+41", "BR": "+55"}

    def firsts(rows: np.ndarray) -> list[str]:
        return [FIRST_NAMES[i] for i in first[rows].tolist()]

    def lasts(rows: np.ndarray) -> list[str]:
        return [LAST_NAMES[i] for i in last[rows].tolist()]

    def contact_name(rows: np.ndarray) -> list[str]:
        return [
            f"{LAST_NAMES[b]}, {FIRST_NAMES[a]}"
            for a, b in zip(first[rows].tolist(), last[rows].tolist(), strict=True)
        ]

    def print_as(rows: np.ndarray) -> list[str]:
        return [
            f"{FIRST_NAMES[a]} {LAST_NAMES[b]}"
            for a, b in zip(first[rows].tolist(), last[rows].tolist(), strict=True)
        ]

    def phone(mask: np.ndarray, salt: int) -> Callable[[np.ndarray], list[str]]:
        def gen(rows: np.ndarray) -> list[str]:
            out = []
            for ok, d, li in zip(
                mask[rows].tolist(), phone_digits[rows].tolist(), loc[rows].tolist(), strict=True
            ):
                if not ok:
                    out.append("")
                    continue
                d = (d + salt) % 10_000_000
                out.append(f"{dialing[LOCATIONS[li][2]]} {d // 10_000:03d} {d % 10_000:04d}")
            return out

        return gen

    def email(rows: np.ndarray) -> list[str]:
        out = []
        for kind, a, b, r in zip(
            email_kind[rows].tolist(),
            first[rows].tolist(),
            last[rows].tolist(),
            recno[rows].tolist(),
            strict=True,
        ):
            if kind == 1:
                out.append("")
            else:
                tag = "+billing" if kind == 2 else ""
                out.append(f"{FIRST_ASCII[a]}.{LAST_ASCII[b]}{tag}{int(r) % 1000}@{domains[int(r) % 4]}")
        return out

    def email_2(rows: np.ndarray) -> list[str]:
        return [
            f"ap{int(r)}@{domains[int(r) % 4]}" if ok else ""
            for ok, r in zip(email2[rows].tolist(), recno[rows].tolist(), strict=True)
        ]

    def address1(rows: np.ndarray) -> list[str]:
        return [f"{h} {STREETS[s]}" for h, s in zip(house[rows].tolist(), street[rows].tolist(), strict=True)]

    def address2(rows: np.ndarray) -> list[str]:
        return [ADDRESS2[i] if i >= 0 else "" for i in addr2[rows].tolist()]

    def zipcode(rows: np.ndarray) -> list[str]:
        out = []
        for z, li in zip(zips[rows].tolist(), loc[rows].tolist(), strict=True):
            country = LOCATIONS[li][2]
            out.append(
                f"{z % 90 + 10}{chr(65 + z % 26)} {z % 9}{chr(66 + z % 20)}{chr(65 + z % 23)}"
                if country == "GB"
                else f"{z:05d}"
            )
        return out

    def initials(rows: np.ndarray) -> list[str]:
        return [chr(65 + i) if i >= 0 else "" for i in initial[rows].tolist()]

    p = prefix
    cols: dict[str, Column] = {
        f"{p}.CONTACTNAME": _text(f"{p}.CONTACTNAME", n, contact_name),
        f"{p}.PRINTAS": _text(f"{p}.PRINTAS", n, print_as),
        f"{p}.COMPANYNAME": _text(f"{p}.COMPANYNAME", n, company),
        f"{p}.FIRSTNAME": _cat(f"{p}.FIRSTNAME", first, FIRST_NAMES),
        f"{p}.LASTNAME": _cat(f"{p}.LASTNAME", last, LAST_NAMES),
        f"{p}.PHONE1": _text(f"{p}.PHONE1", n, phone(has_phone, 0)),
        f"{p}.PHONE2": _text(f"{p}.PHONE2", n, phone(has_phone2, 4242)),
        f"{p}.EMAIL1": _text(f"{p}.EMAIL1", n, email),
        f"{p}.EMAIL2": _text(f"{p}.EMAIL2", n, email_2),
        f"{p}.MAILADDRESS.ADDRESS1": _text(f"{p}.MAILADDRESS.ADDRESS1", n, address1),
        f"{p}.MAILADDRESS.ADDRESS2": _text(f"{p}.MAILADDRESS.ADDRESS2", n, address2),
        f"{p}.MAILADDRESS.CITY": _cat(f"{p}.MAILADDRESS.CITY", loc, [place[0] for place in LOCATIONS]),
        f"{p}.MAILADDRESS.STATE": _cat(f"{p}.MAILADDRESS.STATE", loc, [place[1] for place in LOCATIONS]),
        f"{p}.MAILADDRESS.ZIP": _text(f"{p}.MAILADDRESS.ZIP", n, zipcode),
        f"{p}.MAILADDRESS.COUNTRY": _cat(f"{p}.MAILADDRESS.COUNTRY", loc, [place[3] for place in LOCATIONS]),
        f"{p}.MAILADDRESS.COUNTRYCODE": _cat(
            f"{p}.MAILADDRESS.COUNTRYCODE", loc, [place[2] for place in LOCATIONS]
        ),
    }
    if extended:
        cols[f"{p}.INITIAL"] = _text(f"{p}.INITIAL", n, initials)
    return cols


def _parent_columns(
    basis: RowBasis, rng: np.random.Generator, id_prefix: str, names: Callable[[np.ndarray], list[str]]
) -> dict[str, Column]:
    """PARENTKEY/PARENTID/PARENTNAME: about 5% of rows belong to an earlier row."""
    n = basis.n
    rows = np.arange(n)
    has_parent = (rng.random(n) < 0.05) & (rows > 0) & (not basis.fresh)
    parent = np.where(has_parent, (rng.random(n) * rows).astype(np.int64), -1)
    parent_key = np.where(has_parent, basis.recordno[np.maximum(parent, 0)], np.nan)

    def parent_ids(sel: np.ndarray) -> list[str]:
        return [f"{id_prefix}-{int(basis.recordno[p]):07d}" if p >= 0 else "" for p in parent[sel].tolist()]

    def parent_names(sel: np.ndarray) -> list[str]:
        ps = parent[sel]
        found = iter(names(ps[ps >= 0])) if (ps >= 0).any() else iter(())
        return [next(found) if p >= 0 else "" for p in ps.tolist()]

    return {
        "PARENTKEY": NumberColumn("PARENTKEY", parent_key, integer=True),
        "PARENTID": _text("PARENTID", n, parent_ids),
        "PARENTNAME": _text("PARENTNAME", n, parent_names),
    }


def name_value(obj: str, key: int) -> str:
    """The generated value of an object's name field for a record key (the ID a deleted record had)."""
    if obj == "CUSTOMER":
        return f"C-{key:07d}"
    if obj == "VENDOR":
        return f"V-{key:07d}"
    if obj == "GLACCOUNT":
        return str(10_000 + key)
    return f"{_name_prefix(obj)}-{key:06d}"


def _name_prefix(obj: str) -> str:
    return "".join(ch for ch in obj if ch.isalpha())[:4]


def _id_column(name: str, basis: RowBasis, prefix: str) -> TextColumn:
    recno = basis.recordno
    return _text(name, basis.n, lambda rows: [f"{prefix}-{int(r):07d}" for r in recno[rows].tolist()])


def _currency(rng: np.random.Generator, basis: RowBasis, entities: tuple[Entity, ...]) -> CategoryColumn:
    currencies = sorted({e.currency for e in entities} | {"USD", "EUR", "GBP", "JPY", "CHF"})
    own = np.array([currencies.index(e.currency) for e in entities], dtype=np.int32)[basis.entity]
    other = rng.integers(0, len(currencies), basis.n, dtype=np.int32)
    return _cat("CURRENCY", np.where(rng.random(basis.n) < 0.9, own, other), currencies)


def _tax_ids(rng: np.random.Generator, basis: RowBasis, entities: tuple[Entity, ...]) -> TextColumn:
    digits = rng.integers(0, 1_000_000_000, basis.n, dtype=np.int64)
    present = rng.random(basis.n) < 0.5
    countries = [e.country for e in entities]
    ent = basis.entity

    def gen(rows: np.ndarray) -> list[str]:
        out = []
        for ok, d, e in zip(present[rows].tolist(), digits[rows].tolist(), ent[rows].tolist(), strict=True):
            if not ok:
                out.append("")
            elif countries[e] == "US":
                out.append(f"{d // 10_000_000 % 100:02d}-{d % 10_000_000:07d}")
            else:
                out.append(f"{countries[e]}{d:09d}")
        return out

    return _text("TAXID", basis.n, gen)


def _comments(rng: np.random.Generator, n: int) -> CategoryColumn:
    codes = np.where(rng.random(n) < 0.12, rng.integers(1, len(COMMENTS) + 1, n), 0).astype(np.int32)
    return _cat("COMMENTS", codes, ("", *COMMENTS))


def build_customer(
    basis: RowBasis, rng: np.random.Generator, entities: tuple[Entity, ...]
) -> dict[str, Column]:
    """Columns of CUSTOMER."""
    n = basis.n
    names = _company_names(rng, n)
    reps = _pick(rng, n, [3, 3, 2, 2])
    glgrp = _pick(rng, n, [6, 1, 3])
    cols: dict[str, Column] = {}
    cols.update(
        {
            "CUSTOMERID": _id_column("CUSTOMERID", basis, "C"),
            "NAME": _text("NAME", n, names),
            "ENTITY": _cat("ENTITY", basis.entity, [e.id for e in entities]),
            **_parent_columns(basis, rng, "C", names),
            "CUSTTYPE": _cat(
                "CUSTTYPE",
                _pick(rng, n, [5, 3, 1, 1, 2]),
                ("Corporate", "Retail", "Government", "Non-profit", ""),
            ),
            "CUSTREPID": _cat("CUSTREPID", reps, ("EMP-001", "EMP-002", "EMP-003", "")),
            "CUSTREPNAME": _cat("CUSTREPNAME", reps, ("Smith, Alice", "Müller, Jörg", "O'Neil, Pat", "")),
            "TERMNAME": _cat(
                "TERMNAME",
                _pick(rng, n, [5, 2, 1, 1, 1]),
                ("Net 30", "Net 60", "Net 15", "Due on receipt", ""),
            ),
            "TERRITORYID": _cat(
                "TERRITORYID", _pick(rng, n, [3, 3, 2, 2, 2]), ("WEST", "EAST", "EMEA", "DACH", "")
            ),
            "GLGRPKEY": NumberColumn("GLGRPKEY", np.array([1.0, 2.0, np.nan])[glgrp], integer=True),
            "GLGROUP": _cat("GLGROUP", glgrp, ("Trade", "Intercompany", "")),
            "TOTALDUE": NumberColumn("TOTALDUE", _money(rng, n, 0.3, 0.0, 2500.0), integer=False),
            "CREDITLIMIT": NumberColumn(
                "CREDITLIMIT", np.round(_money(rng, n, 0.0, 0.4, 20000.0), -3), integer=False
            ),
            "CURRENCY": _currency(rng, basis, entities),
            "TAXID": _tax_ids(rng, basis, entities),
            "RESALENO": _text("RESALENO", n, _optional_codes(rng, n, 0.2, "RS")),
            "COMMENTS": _comments(rng, n),
            "ONETIME": _cat(
                "ONETIME", (rng.random(n) < 0.05).astype(np.int32), ("false", "true"), BOOL_ALIASES
            ),
            "ONHOLD": _cat(
                "ONHOLD", (rng.random(n) < 0.03).astype(np.int32), ("false", "true"), BOOL_ALIASES
            ),
            "OBJECTRESTRICTION": _cat(
                "OBJECTRESTRICTION", _pick(rng, n, [8, 1, 1]), ("Unrestricted", "RootOnly", "Restricted")
            ),
            **contact_columns("DISPLAYCONTACT", basis, rng, entities, names, extended=False),
            "CUSTOMER_HEALTH": _cat(
                "CUSTOMER_HEALTH", _pick(rng, n, [6, 2, 1, 3]), ("Good", "At risk", "Churned", "")
            ),
        }
    )
    return cols


def build_vendor(
    basis: RowBasis, rng: np.random.Generator, entities: tuple[Entity, ...]
) -> dict[str, Column]:
    """Columns of VENDOR."""
    n = basis.n
    names = _company_names(rng, n)
    ap = _pick(rng, n, [8, 2])
    cols: dict[str, Column] = {}
    cols.update(
        {
            "VENDORID": _id_column("VENDORID", basis, "V"),
            "NAME": _text("NAME", n, names),
            **_parent_columns(basis, rng, "V", names),
            **contact_columns("DISPLAYCONTACT", basis, rng, entities, names, extended=True),
            "VENDORACCOUNTNO": _text("VENDORACCOUNTNO", n, _optional_codes(rng, n, 0.6, "ACCT")),
            "VENDTYPE": _cat(
                "VENDTYPE", _pick(rng, n, [5, 2, 1, 2]), ("Supplier", "Contractor", "Utility", "")
            ),
            "ACCOUNTLABEL": _cat(
                "ACCOUNTLABEL", _pick(rng, n, [6, 2, 2]), ("", "Office supplies", "Professional services")
            ),
            "APACCOUNT": _cat("APACCOUNT", ap, ("2000", "2100")),
            "APACCOUNTTITLE": _cat(
                "APACCOUNTTITLE", ap, ("Accounts Payable", "Accounts Payable - Intercompany")
            ),
            "TERMNAME": _cat(
                "TERMNAME",
                _pick(rng, n, [5, 2, 1, 1, 1]),
                ("Net 30", "Net 60", "Net 15", "Due on receipt", ""),
            ),
            "TOTALDUE": NumberColumn("TOTALDUE", _money(rng, n, 0.4, 0.0, 1800.0), integer=False),
            "CREDITLIMIT": NumberColumn(
                "CREDITLIMIT", np.round(_money(rng, n, 0.0, 0.6, 15000.0), -3), integer=False
            ),
            "CURRENCY": _currency(rng, basis, entities),
            "TAXID": _tax_ids(rng, basis, entities),
            "COMMENTS": _comments(rng, n),
            "ONETIME": _cat(
                "ONETIME", (rng.random(n) < 0.05).astype(np.int32), ("false", "true"), BOOL_ALIASES
            ),
            "ONHOLD": _cat(
                "ONHOLD", (rng.random(n) < 0.05).astype(np.int32), ("false", "true"), BOOL_ALIASES
            ),
        }
    )
    return cols


def build_glaccount(
    basis: RowBasis, rng: np.random.Generator, entities: tuple[Entity, ...]
) -> dict[str, Column]:
    """Columns of GLACCOUNT."""
    n = basis.n
    income = (rng.random(n) < 0.4).astype(np.int32)
    title = rng.integers(0, len(GL_TITLES), n, dtype=np.int16)
    qualifier = rng.integers(0, len(GL_QUALIFIERS), n, dtype=np.int16)
    recno = basis.recordno

    def titles(rows: np.ndarray) -> list[str]:
        out = []
        for t, q in zip(title[rows].tolist(), qualifier[rows].tolist(), strict=True):
            out.append(f"{GL_TITLES[t]} - {GL_QUALIFIERS[q]}" if GL_QUALIFIERS[q] else GL_TITLES[t])
        return out

    cols: dict[str, Column] = {}
    cols.update(
        {
            "ACCOUNTNO": _text(
                "ACCOUNTNO", n, lambda rows: [str(10_000 + int(r)) for r in recno[rows].tolist()]
            ),
            "TITLE": _text("TITLE", n, titles),
            "ACCOUNTTYPE": _cat("ACCOUNTTYPE", income, ("balancesheet", "incomestatement")),
            "NORMALBALANCE": _cat(
                "NORMALBALANCE", (rng.random(n) < 0.45).astype(np.int32), ("debit", "credit")
            ),
            "CLOSINGTYPE": _cat("CLOSINGTYPE", income, ("non-closing account", "closing account")),
            "CLOSINGACCOUNTNO": _cat("CLOSINGACCOUNTNO", income, ("", "3900")),
            "CATEGORY": _cat(
                "CATEGORY", rng.integers(0, len(GL_CATEGORIES), n).astype(np.int32), GL_CATEGORIES
            ),
            "ALTERNATIVEACCOUNT": _cat(
                "ALTERNATIVEACCOUNT",
                _pick(rng, n, [8, 1, 1]),
                ("None", "Payables account", "Receivables account"),
            ),
            "REQUIREDEPT": _cat(
                "REQUIREDEPT", (rng.random(n) < 0.3).astype(np.int32), ("false", "true"), BOOL_ALIASES
            ),
            "REQUIRELOC": _cat(
                "REQUIRELOC", (rng.random(n) < 0.2).astype(np.int32), ("false", "true"), BOOL_ALIASES
            ),
            "TAXABLE": _cat(
                "TAXABLE", (rng.random(n) < 0.1).astype(np.int32), ("false", "true"), BOOL_ALIASES
            ),
        }
    )
    return cols


def _optional_codes(
    rng: np.random.Generator, n: int, share: float, prefix: str
) -> Callable[[np.ndarray], list[str]]:
    digits = rng.integers(0, 1_000_000, n, dtype=np.int32)
    present = rng.random(n) < share
    return lambda rows: [
        f"{prefix}{d:06d}" if ok else ""
        for ok, d in zip(present[rows].tolist(), digits[rows].tolist(), strict=True)
    ]


@dataclass
class AuditEvents:
    """Raw audit events before they become AUDITHISTORY rows."""

    object_type: np.ndarray  # index into the object type names
    object_key: np.ndarray  # int64 record numbers
    access_mode: np.ndarray  # index into ACCESS_MODES
    access_time: np.ndarray  # naive seconds
    user: np.ndarray  # index into USERS


ACCESS_MODES = ("C", "M", "D")
WORKFLOW_ACTIONS = ("", "Submit", "Approve")


def build_audithistory(
    basis: RowBasis,
    rng: np.random.Generator,
    events: AuditEvents,
    object_types: tuple[str, ...],
    formats: Formats,
    object_keys: list[str],
    recordno: str,
) -> dict[str, Column]:
    """Columns of AUDITHISTORY from events already sorted by time (``basis.recordno``: the IDs, which
    ascend with time). ``object_keys``: the OBJECTKEY texts; ``recordno``: 'present' numbers RECORDNO
    like the ID, otherwise it is empty."""
    n = basis.n
    ids = basis.recordno
    user_nos = USER_NUMBERS[events.user]
    stamp = TimeColumn("ACCESSTIME", events.access_time, formats=formats)
    numbers = ids.astype(np.float64) if recordno == "present" else np.full(n, np.nan)
    return {
        "RECORDNO": NumberColumn("RECORDNO", numbers, integer=True),
        "ID": _text("ID", n, lambda rows: [str(int(i)) for i in ids[rows].tolist()]),
        "OBJECTTYPE": _cat("OBJECTTYPE", events.object_type, object_types),
        "OBJECTKEY": _text("OBJECTKEY", n, lambda rows: [object_keys[r] for r in rows.tolist()]),
        "ACCESSMODE": _cat("ACCESSMODE", events.access_mode, ACCESS_MODES),
        "ACCESSTIME": stamp,
        "USERID": _cat("USERID", events.user, USER_LOGINS),
        "WORKFLOWACTION": _cat("WORKFLOWACTION", _pick(rng, n, [18, 1, 1]), WORKFLOW_ACTIONS),
        "STATUS": _cat("STATUS", np.zeros(n, dtype=np.int32), ("active", "inactive"), STATUS_ALIASES),
        "WHENCREATED": TimeColumn("WHENCREATED", events.access_time, formats=formats),
        "WHENMODIFIED": TimeColumn("WHENMODIFIED", events.access_time.copy(), formats=formats),
        "CREATEDBY": NumberColumn("CREATEDBY", user_nos, integer=True),
        "MODIFIEDBY": NumberColumn("MODIFIEDBY", user_nos.copy(), integer=True),
    }


SemanticBuilder = Callable[[RowBasis, np.random.Generator, tuple[Entity, ...]], dict[str, Column]]
# Hand-written generators for the fields the old simulator modelled in detail (names with unicode and
# markup, contacts, entity-consistent currencies...): every other field of these objects, and every field
# of every other object, comes from fieldgen.
SEMANTIC: dict[str, SemanticBuilder] = {
    "CUSTOMER": build_customer,
    "VENDOR": build_vendor,
    "GLACCOUNT": build_glaccount,
}
# Address blocks that repeat the display contact (the recorded CUSTOMER shows identical values).
CONTACT_COPIES = ("CONTACTINFO", "SHIPTO", "BILLTO", "PAYTO", "RETURNTO")


def _copy_of(name: str, source: Column, n: int) -> LazyColumn:
    def build(rows: np.ndarray) -> Column:
        values = source.render(rows)
        return TextColumn(name, len(rows), lambda sel: [values[i] for i in sel.tolist()])

    return LazyColumn(name, n, build)


def build_object(
    spec: ObjectSpec,
    basis: RowBasis,
    rng: np.random.Generator,
    entities: tuple[Entity, ...],
    formats: Formats,
    seed: int,
) -> dict[str, Column]:
    """Every column of ``spec`` over ``basis``: common, hand-written, derived, then generic."""
    meta = spec.meta
    n = basis.n
    cols = common_columns(spec, basis, rng, entities, formats)
    if spec.name in SEMANTIC:
        cols.update(SEMANTIC[spec.name](basis, rng, entities))
    wanted = {f.name for f in spec.fields}
    for name in list(wanted - set(cols)):
        prefix, _, rest = name.partition(".")
        source = cols.get(f"DISPLAYCONTACT.{rest}")
        if prefix in CONTACT_COPIES and source is not None:
            cols[name] = _copy_of(name, source, n)
    by_created = "createdBy" if meta.key_field == "id" else "CREATEDBY"
    by_modified = "updatedBy" if meta.key_field == "id" else "MODIFIEDBY"
    for field, users in (("CREATEDBYLOGINID", by_created), ("MODIFIEDBYLOGINID", by_modified)):
        if field in wanted:
            numbers = cols[users]
            assert isinstance(numbers, NumberColumn)
            codes = np.searchsorted(USER_NUMBERS, numbers.values[:n]).astype(np.int32)
            cols[field] = _cat(field, codes, USER_LOGINS)
    if "AUWHENCREATED" in wanted:
        exact = basis.created_exact if basis.created_exact is not None else basis.created
        cols["AUWHENCREATED"] = TimeColumn("AUWHENCREATED", exact.copy(), formats=formats)
    if "MODIFIED" in wanted:
        cols["MODIFIED"] = TimeColumn("MODIFIED", basis.modified.copy(), formats=formats)
    if meta.header_field and basis.header_key is not None:
        cols[meta.header_field] = NumberColumn(
            meta.header_field, basis.header_key.astype(np.float64), integer=True
        )
    if "LINE_NO" in wanted and basis.line_no is not None:
        cols["LINE_NO"] = NumberColumn("LINE_NO", basis.line_no.astype(np.float64), integer=True)
    if meta.name_field and meta.name_field in wanted and meta.name_field not in cols:
        prefix = _name_prefix(spec.name)
        keys = basis.recordno
        cols[meta.name_field] = _text(
            meta.name_field, n, lambda rows: [f"{prefix}-{int(k):06d}" for k in keys[rows].tolist()]
        )
    context = FieldContext(seed, spec.name, basis.hash_index, basis.recordno, basis.created, formats)
    for field_spec in spec.fields:
        if field_spec.name not in cols:
            cols[field_spec.name] = generic_column(context, field_spec)
    return {f.name: cols[f.name] for f in spec.fields}


# USERINFO rows: the USERS above. (record number, first name, last name, user type, admin, web-services only)
USER_DETAILS = {
    1: ("Ada", "Admin", "business user", "Full", "false"),
    3: ("Sim", "Integration", "business user", "Full", "true"),
    7: ("John", "Doe", "business user", "Limited", "false"),
    12: ("Monika", "Schmidt", "employee user", "Off", "false"),
    28: ("Integration", "Bot", "business user", "Full", "true"),
}


def build_userinfo(
    sim_login: str, created: np.ndarray, modified: np.ndarray, formats: Formats
) -> dict[str, Column]:
    """Columns of USERINFO: one row per USERS entry; the simulator's own user carries ``sim_login``."""
    logins = [sim_login if number == 3 else login for number, login in USERS]
    details = [USER_DETAILS[number] for number, _ in USERS]
    n = len(USERS)
    rows = np.arange(n, dtype=np.int32)

    def texts(values: list[str]) -> TextColumn:
        return TextColumn("", n, lambda sel: [values[i] for i in sel.tolist()])

    columns: dict[str, Column] = {
        "RECORDNO": NumberColumn("RECORDNO", np.array([u for u, _ in USERS], dtype=np.float64), integer=True),
        "LOGINID": texts(logins),
        "DESCRIPTION": texts([f"{first} {last}" for first, last, *_ in details]),
        "USERTYPE": _cat("USERTYPE", rows, [d[2] for d in details]),
        "ADMIN": _cat("ADMIN", rows, [d[3] for d in details]),
        "STATUS": _cat("STATUS", np.zeros(n, dtype=np.int32), ("active", "lockedout"), STATUS_ALIASES),
        "LOGINDISABLED": _cat("LOGINDISABLED", rows, [d[4] for d in details], BOOL_ALIASES),
        "SSO_ENABLED": _cat("SSO_ENABLED", np.zeros(n, dtype=np.int32), ("false", "true"), BOOL_ALIASES),
        "SSO_FEDERATED_ID": texts([""] * n),
        "CONTACTINFO.CONTACTNAME": texts([f"{last}, {first}" for first, last, *_ in details]),
        "CONTACTINFO.FIRSTNAME": texts([d[0] for d in details]),
        "CONTACTINFO.LASTNAME": texts([d[1] for d in details]),
        "CONTACTINFO.EMAIL1": texts([f"{login}@example.com" for login in logins]),
        "WHENCREATED": TimeColumn("WHENCREATED", created, formats=formats),
        "WHENMODIFIED": TimeColumn("WHENMODIFIED", modified, formats=formats),
        "CREATEDBY": NumberColumn("CREATEDBY", np.ones(n, dtype=np.float64), integer=True),
        "MODIFIEDBY": NumberColumn("MODIFIEDBY", np.ones(n, dtype=np.float64), integer=True),
    }
    for name, column in columns.items():
        column.name = name
    return columns
