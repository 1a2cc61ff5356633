"""The simulated objects: their real field lists, lookup types, record counts and relationships.

Field lists, in order, are the select lists a production tap sent to a real tenant (``realobjects.py``,
generated from docs/intacct/real-objects). Objects without a recorded list say where theirs
comes from. ``ObjectMeta`` carries what generation needs: how many records per ``--records``, the key,
the "name" field, header/line relationships and the date-only quirks.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field

from .realobjects import CUSTOM_FIELD, ITEM_OMITTED, PROFILES


@dataclass(frozen=True)
class FieldSpec:
    """One queryable field. ``datatype`` uses Intacct's lookup names (TEXT, INTEGER, DECIMAL, ...).

    ``fill`` (share of records with a value), ``length`` (typical text length) and ``hint`` (recorded
    boolean) steer generation of fields no dedicated generator covers.
    """

    name: str
    label: str
    datatype: str
    readonly: bool = False
    required: bool = False
    custom: bool = False
    description: str = ""
    valid_values: tuple[str, ...] = ()
    fill: float = 0.9
    length: int = 0
    hint: str = ""

    @property
    def element(self) -> str:
        """The element/key name a query answers with: real tenants drop a ``#`` (LIABACCT# -> LIABACCT)."""
        return self.name.replace("#", "")


@dataclass(frozen=True)
class ObjectMeta:
    """How an object's records are generated."""

    name: str
    ratio: float  # records per --records
    minimum: int = 0  # at least this many (when --records > 0)
    key_field: str = "RECORDNO"
    name_field: str | None = None  # readByName key; OBJECTKEY of AUDITHISTORY in 'name' form
    header: str | None = None  # line objects: the header object
    header_field: str | None = None  # the line field holding the header's key
    lines: tuple[int, int] = (1, 1)  # lines per header, inclusive range
    mirror: str | None = None  # GLDETAIL: one row per row of this object
    created_field: str = "WHENCREATED"
    modified_field: str = "WHENMODIFIED"
    created_date_only: bool = False
    modified_date_only: bool = False
    audited: bool = True  # generated AUDITHISTORY history refers to it
    references: tuple[tuple[str, str], ...] = ()  # (field, object): the field holds that object's key


@dataclass(frozen=True)
class ObjectSpec:
    """An object: its name, its fields in lookup order, and whether entity scoping applies."""

    name: str
    fields: tuple[FieldSpec, ...]
    entity_scoped: bool = True
    meta: ObjectMeta = field(default_factory=lambda: ObjectMeta("", 0.0))
    _index: dict[str, FieldSpec] = field(default_factory=dict, compare=False, repr=False)

    def __post_init__(self) -> None:
        self._index.update({f.name.upper(): f for f in self.fields})

    def field(self, name: str) -> FieldSpec | None:
        """Find a field case-insensitively."""
        return self._index.get(name.upper())

    @property
    def key_field(self) -> str:
        return self.meta.key_field


def _label(name: str) -> str:
    words = re.sub(r"[._#]+", " ", name).strip()
    return words[:1].upper() + words[1:].lower() if words.isupper() else words


def _f(
    name: str,
    label: str = "",
    datatype: str = "TEXT",
    *,
    readonly: bool = False,
    required: bool = False,
    custom: bool = False,
    description: str = "",
    valid_values: tuple[str, ...] = (),
    fill: float = 0.9,
    length: int = 0,
    hint: str = "",
) -> FieldSpec:
    return FieldSpec(
        name,
        label or _label(name),
        datatype,
        readonly,
        required,
        custom,
        description,
        valid_values,
        fill,
        length,
        hint,
    )


_BOOL = ("true", "false")
_STATUS_VALUES = ("active", "inactive")
# Lookup valid values the simulator knows (from the old hand-written specs and the docs' examples).
_ENUMS: dict[str, tuple[str, ...]] = {
    "STATUS": _STATUS_VALUES,
    "ACCOUNTTYPE": ("balancesheet", "incomestatement"),
    "NORMALBALANCE": ("debit", "credit"),
    "CLOSINGTYPE": ("non-closing account", "closing account"),
    "ALTERNATIVEACCOUNT": ("None", "Payables account", "Receivables account"),
    "OBJECTRESTRICTION": ("Unrestricted", "RootOnly", "Restricted"),
}
_READONLY = {
    "RECORDNO",
    "WHENCREATED",
    "WHENMODIFIED",
    "CREATEDBY",
    "MODIFIEDBY",
    "AUWHENCREATED",
    "RECORD_URL",
}
_DESCRIPTIONS = {
    "WHENCREATED": "timestamp marking last time this was created.",
    "WHENMODIFIED": "timestamp marking last time this was changed.",
    "CREATEDBY": "User who created this.",
    "MODIFIEDBY": "User who modified this.",
}
_CUSTOM = re.compile(CUSTOM_FIELD)
# The simulator's own tenant custom field on CUSTOMER (the docs' query example names CUSTOMER_HEALTH).
_EXTRA: dict[str, tuple[FieldSpec, ...]] = {
    "CUSTOMER": (
        _f(
            "CUSTOMER_HEALTH",
            "Customer health",
            "ENUM",
            custom=True,
            valid_values=("Good", "At risk", "Churned"),
        ),
    ),
}
# Labels the old hand-written specs used (kept: tests and users read them).
_LABELS = {"RECORDNO": "Record number", "WHENCREATED": "When created", "WHENMODIFIED": "When modified"}


def _from_profile(obj: str, profile: tuple[tuple[str, str, float, int, str], ...]) -> tuple[FieldSpec, ...]:
    out = []
    for name, datatype, fill, length, hint in profile:
        valid = _ENUMS.get(name, _BOOL if datatype == "BOOLEAN" else ())
        if valid and datatype == "TEXT":
            datatype = "ENUM"
        out.append(
            _f(
                name,
                _LABELS.get(name, ""),
                datatype,
                readonly=name in _READONLY,
                required=name in ("NAME",) or (name.endswith("ID") and name == obj + "ID"),
                custom=bool(_CUSTOM.search(name)),
                description=_DESCRIPTIONS.get(name, ""),
                valid_values=valid,
                fill=fill,
                length=length,
                hint=hint,
            )
        )
    return tuple(out) + _EXTRA.get(obj, ())


def _renamed(
    profile: tuple[tuple[str, str, float, int, str], ...],
) -> tuple[tuple[str, str, float, int, str], ...]:
    """ARPYMT has no recorded field list: it is APPYMT's with the vendor fields as customer fields and
    the AP-only payment-service fields left out (an assumption, documented in the README)."""
    ap_only = ("JOINTPAYEENAME", "JOINTPAYEEPRINTAS", "PAYMENTSUBMITTER", "FILEPAYMENTSERVICE", "BANKFILEKEY")
    out = []
    for name, datatype, fill, length, hint in profile:
        if name in ap_only:
            continue
        out.append((name.replace("VENDOR", "CUSTOMER"), datatype, fill, length, hint))
    return tuple(out)


# Minimal lists for objects the recording only probed (select RECORDNO, filter on WHENMODIFIED, both
# answered empty): the probed fields plus the audit fields every object has.
_MINIMAL = (
    ("RECORDNO", "INTEGER", 0.9, 3, ""),
    ("NAME", "TEXT", 0.9, 12, ""),
    ("WHENCREATED", "TIMESTAMP", 0.9, 19, ""),
    ("WHENMODIFIED", "TIMESTAMP", 0.9, 19, ""),
    ("CREATEDBY", "INTEGER", 0.9, 2, ""),
    ("MODIFIEDBY", "INTEGER", 0.9, 2, ""),
)

# Ratios: master data scales down from --records, transactions and their lines up. CUSTOMER and VENDOR
# keep exactly --records (the unit everything else is measured in).
META: tuple[ObjectMeta, ...] = (
    ObjectMeta("CUSTOMER", 1.0, name_field="CUSTOMERID"),
    ObjectMeta("VENDOR", 1.0, name_field="VENDORID"),
    ObjectMeta("GLACCOUNT", 0.05, 10, name_field="ACCOUNTNO"),
    ObjectMeta("DEPARTMENT", 0.005, 5, name_field="DEPARTMENTID"),
    ObjectMeta("LOCATION", 0.005, 5, name_field="LOCATIONID"),
    ObjectMeta("CLASS", 0.005, 5, name_field="CLASSID"),
    ObjectMeta("PROJECT", 0.02, 5, name_field="PROJECTID"),
    ObjectMeta("TASK", 0.05, 5, name_field="TASKID"),
    ObjectMeta("ITEM", 0.1, 10, name_field="ITEMID"),
    ObjectMeta("WAREHOUSE", 0.002, 3, name_field="WAREHOUSEID"),
    ObjectMeta("EMPLOYEE", 0.02, 5, name_field="EMPLOYEEID"),
    ObjectMeta("FIXEDASSET", 0.01, 3, created_date_only=True, modified_date_only=True),
    ObjectMeta("CREDITCARD", 0.001, 2, name_field="CARDID"),
    ObjectMeta("CHECKINGACCOUNT", 0.001, 2, name_field="BANKACCOUNTID"),
    ObjectMeta("SAVINGSACCOUNT", 0.001, 1, name_field="BANKACCOUNTID"),
    ObjectMeta("GLBUDGETHEADER", 0.002, 3, name_field="BUDGETID"),
    ObjectMeta("GLBATCH", 0.5),
    ObjectMeta("GLENTRY", 0.0, header="GLBATCH", header_field="BATCHNO", lines=(2, 6)),
    ObjectMeta("GLDETAIL", 0.0, mirror="GLENTRY", created_date_only=True, audited=False),
    ObjectMeta("ARINVOICE", 0.5, created_date_only=True),
    ObjectMeta("ARINVOICEITEM", 0.0, header="ARINVOICE", header_field="RECORDKEY", lines=(1, 10)),
    ObjectMeta("ARPYMT", 0.2, created_date_only=True),
    ObjectMeta("APBILL", 0.3, created_date_only=True),
    ObjectMeta("APBILLITEM", 0.0, header="APBILL", header_field="RECORDKEY", lines=(1, 10)),
    ObjectMeta("APPYMT", 0.2, created_date_only=True),
    ObjectMeta(
        "APPYMTDETAIL",
        0.0,
        header="APPYMT",
        header_field="PAYMENTKEY",
        lines=(1, 5),
        references=(("RECORDKEY", "APBILL"),),  # the bill a payment line pays
    ),
    ObjectMeta("APADJUSTMENT", 0.05, created_date_only=True),
    ObjectMeta("APADJUSTMENTITEM", 0.0, header="APADJUSTMENT", header_field="RECORDKEY", lines=(1, 5)),
    ObjectMeta("PODOCUMENT", 0.1, created_date_only=True),
    # User-defined dimensions: key 'id', camelCase timestamps, no RECORDNO (recorded DIMENSION record).
    # CUSTOM_EVENT, DONOR and ORDER_NUMBER answered empty in the recording, so they stay empty.
    *(
        ObjectMeta(
            name,
            ratio,
            minimum,
            key_field="id",
            name_field="name",
            created_field="createdAt",
            modified_field="updatedAt",
        )
        for name, ratio, minimum in (
            ("DIMENSION", 0.01, 3),
            ("CUSTOM_EVENT", 0.0, 0),
            ("DONOR", 0.0, 0),
            ("ORDER_NUMBER", 0.0, 0),
            ("SALES_CHANNEL", 0.002, 2),
            ("SECTOR", 0.002, 2),
        )
    ),
    ObjectMeta("AFFILIATEENTITY", 0.0),
    ObjectMeta("LOCATIONENTITY", 0.0),
)
OBJECT_META: dict[str, ObjectMeta] = {m.name: m for m in META}
USER_DEFINED_DIMENSIONS = ("DIMENSION", "CUSTOM_EVENT", "DONOR", "ORDER_NUMBER", "SALES_CHANNEL", "SECTOR")


# PROJECT's first recorded data query asked for 139 fields and failed on these 10, which the tenant's
# lookup listed but its query refused (PROJECT.first-attempt.fields; Estuary's FORBIDDEN_FIELDS lists the
# same 10). They sit after ROOTPARENTNAME in that list. Never filled.
PROJECT_REFUSED = (
    "CFDA",
    "FUNDEDNAME",
    "AGENCY",
    "PAYER",
    "FUNDINGOTHERID",
    "ASSISTANCETYPE",
    "REVRESTRICTION",
    "RESTRICTIONEXPIRY",
    "RESTRICTIONEXPIRATIONDATE",
    "TIMESATISFACTIONSCHEDULED",
)


def _project_with_refused() -> tuple[tuple[str, str, float, int, str], ...]:
    out = []
    for row in PROFILES["PROJECT"]:
        out.append(row)
        if row[0] == "ROOTPARENTNAME":
            out += [(n, "DATE" if n.endswith("DATE") else "TEXT", 0.0, 0, "") for n in PROJECT_REFUSED]
    return tuple(out)


def _profile(name: str) -> tuple[tuple[str, str, float, int, str], ...]:
    if name == "PROJECT":
        return _project_with_refused()
    if name in PROFILES:
        return PROFILES[name]
    if name in USER_DEFINED_DIMENSIONS:
        return PROFILES["DIMENSION"]
    if name == "ARPYMT":
        return _renamed(PROFILES["APPYMT"])
    return _MINIMAL


def _fix_relationship_types(meta: ObjectMeta, fields: tuple[FieldSpec, ...]) -> tuple[FieldSpec, ...]:
    """A line's header field (and a reference) holds a RECORDNO: an INTEGER (the scrubbed value looked
    textual)."""
    keyed = {meta.header_field, *(f for f, _ in meta.references)} - {None}
    return tuple(
        _f(f.name, f.label, "INTEGER", readonly=True, fill=1.0) if f.name in keyed else f for f in fields
    )


def _spec(meta: ObjectMeta) -> ObjectSpec:
    fields = _fix_relationship_types(meta, _from_profile(meta.name, _profile(meta.name)))
    scoped = any(f.name == "MEGAENTITYID" for f in fields)
    return ObjectSpec(meta.name, fields, entity_scoped=scoped, meta=meta)


_AUDIT_FIELDS = (
    _f("WHENCREATED", "When created", "TIMESTAMP", readonly=True, description=_DESCRIPTIONS["WHENCREATED"]),
    _f(
        "WHENMODIFIED", "When modified", "TIMESTAMP", readonly=True, description=_DESCRIPTIONS["WHENMODIFIED"]
    ),
    _f("CREATEDBY", "Created by", "INTEGER", readonly=True, description=_DESCRIPTIONS["CREATEDBY"]),
    _f("MODIFIEDBY", "Modified by", "INTEGER", readonly=True, description=_DESCRIPTIONS["MODIFIEDBY"]),
)
_RECORDNO = _f("RECORDNO", "Record number", "INTEGER", readonly=True)

# AUDITHISTORY rows are keyed by ID: production connectors select OBJECTKEY, ACCESSTIME and ID and
# break ties by ``ID > last`` ordered by ID; Estuary types ID as TEXT (sage.py deletion model). RECORDNO:
# see the audit_recordno setting.
AUDITHISTORY = ObjectSpec(
    "AUDITHISTORY",
    (
        _RECORDNO,
        _f("ID", "ID", readonly=True),
        _f("OBJECTTYPE", "Object type", readonly=True),
        _f("OBJECTKEY", "Object key", readonly=True),
        _f("ACCESSMODE", "Access mode", "ENUM", readonly=True, valid_values=("C", "M", "D")),
        _f("ACCESSTIME", "Access time", "TIMESTAMP", readonly=True),
        _f("USERID", "User ID", readonly=True),
        _f("WORKFLOWACTION", "Workflow action", readonly=True),
        _f("STATUS", "Status", "ENUM", valid_values=_STATUS_VALUES),
        *_AUDIT_FIELDS,
    ),
    entity_scoped=False,
    meta=ObjectMeta("AUDITHISTORY", 1.0, key_field="ID", audited=False),
)

# The fields the official "Users" page documents for USERINFO (developer.intacct.com/api/company-console/
# users/: lookup/query/create examples and the USERINFO table), plus the audit fields every object has.
USERINFO = ObjectSpec(
    "USERINFO",
    (
        _RECORDNO,
        _f("LOGINID", "User ID", required=True),
        _f("DESCRIPTION", "User name"),
        _f(
            "USERTYPE",
            "User type",
            "ENUM",
            valid_values=("business user", "employee user", "view only user", "platform user"),
        ),
        _f("ADMIN", "Admin privileges", "ENUM", valid_values=("Off", "Limited", "Full")),
        _f("STATUS", "Status", "ENUM", valid_values=("active", "lockedout")),
        _f("LOGINDISABLED", "Web services only", "BOOLEAN", valid_values=_BOOL),
        _f("SSO_ENABLED", "Single sign on enabled", "BOOLEAN", valid_values=_BOOL),
        _f("SSO_FEDERATED_ID", "SSO federated ID"),
        _f("CONTACTINFO.CONTACTNAME", "Contact name"),
        _f("CONTACTINFO.FIRSTNAME", "First name"),
        _f("CONTACTINFO.LASTNAME", "Last name"),
        _f("CONTACTINFO.EMAIL1", "Primary email address"),
        *_AUDIT_FIELDS,
    ),
    entity_scoped=False,
    meta=ObjectMeta("USERINFO", 0.0, name_field="LOGINID", audited=False),
)

OBJECTS: dict[str, ObjectSpec] = {m.name: _spec(m) for m in META}
OBJECTS["AUDITHISTORY"] = AUDITHISTORY
OBJECTS["USERINFO"] = USERINFO
GENERATED_OBJECTS = tuple(m.name for m in META)  # the objects with generated records
# Module-level names kept for callers that imported the original three objects.
CUSTOMER = OBJECTS["CUSTOMER"]
VENDOR = OBJECTS["VENDOR"]
GLACCOUNT = OBJECTS["GLACCOUNT"]
# ITEM answers without these requested fields (recorded: no error, the elements are simply absent).
ITEM_SILENTLY_OMITTED = ITEM_OMITTED

# getDimensions as recorded (real-objects/README.md): 16 standard dimensions, userDefinedDimension false,
# then the 6 user-defined ones. (objectName, objectLabel, termLabel, userDefinedDimension, enabledInGL)
DIMENSIONS: tuple[tuple[str, str, str, bool, bool], ...] = (
    *(
        (name, label, label, False, enabled)
        for name, label, enabled in (
            ("DEPARTMENT", "Department", True),
            ("LOCATION", "Location", True),
            ("PROJECT", "Project", True),
            ("CUSTOMER", "Customer", True),
            ("VENDOR", "Vendor", True),
            ("EMPLOYEE", "Employee", True),
            ("ITEM", "Item", True),
            ("CLASS", "Class", True),
            ("CONTRACT", "Contract", False),
            ("TASK", "Task", True),
            ("WAREHOUSE", "Warehouse", True),
            ("COSTTYPE", "Cost type", False),
            ("AFFILIATEENTITY", "Affiliate entity", False),
            ("WORKORDER", "Work order", False),
            ("FIXEDASSET", "Asset", True),
            ("LOANACCOUNT", "Loan account", False),
        )
    ),
    *(
        (name, label, label, True, True)
        for name, label in (
            ("DIMENSION", "Dimension"),
            ("CUSTOM_EVENT", "Custom event"),
            ("DONOR", "Donor"),
            ("ORDER_NUMBER", "Order number"),
            ("SALES_CHANNEL", "Sales channel"),
            ("SECTOR", "Sector"),
        )
    ),
)


# Tenant custom fields added by the ``custom_fields`` setting. Their names follow the recorded ones
# (VENDOR_CF_BOOL, VENDOR_CF_TEXT, VENDOR_CF_NUMBER, BILL_CF_*: the object, _CF_, the kind), so the
# CUSTOM_FIELD pattern marks them custom like the recorded ones; the kinds cycle through the recorded
# kinds plus a date, with the recorded fill and length of VC_CF_TEXT / VC_CF_NUMBER / VC_CF_BOOL.
_CUSTOM_KINDS: tuple[tuple[str, str, float, int, str], ...] = (
    ("TEXT", "TEXT", 0.67, 16, ""),
    ("NUMBER", "DECIMAL", 0.67, 17, ""),
    ("BOOL", "BOOLEAN", 0.9, 5, "false"),
    ("DATE", "DATE", 0.5, 10, ""),
)


def custom_field_names(obj: str, count: int, name_length: int | None = None) -> list[str]:
    """The names of ``count`` generated custom fields of ``obj``: ``<OBJECT>_CF_<KIND>_<n>``, or exactly
    ``name_length`` characters with ``X`` between the kind and the number (ValueError when that is too
    short for every name)."""
    width = len(str(count))
    names = []
    for i in range(1, count + 1):
        kind = _CUSTOM_KINDS[(i - 1) % len(_CUSTOM_KINDS)][0]
        head, number = f"{obj}_CF_{kind}_", f"{i:0{width}d}"
        if name_length is not None:
            pad = name_length - len(head) - len(number)
            if pad < 0:
                raise ValueError(
                    f"custom_fields: name_length {name_length} is too short for {obj}'s custom field names "
                    f"(at least {len(head) + len(number)} characters, e.g. {head}{number})"
                )
            number = "X" * pad + number
        names.append(head + number)
    return names


def with_custom_fields(spec: ObjectSpec, count: int, name_length: int | None = None) -> ObjectSpec:
    """``spec`` with ``count`` tenant custom fields after its own (``custom_field_names``), ISCUSTOM true,
    typed TEXT, DECIMAL, BOOLEAN and DATE in turn; their values are generated like any other field's."""
    added = []
    for i, name in enumerate(custom_field_names(spec.name, count, name_length)):
        _, datatype, fill, length, hint = _CUSTOM_KINDS[i % len(_CUSTOM_KINDS)]
        valid = _BOOL if datatype == "BOOLEAN" else ()
        added.append(
            _f(name, datatype=datatype, custom=True, valid_values=valid, fill=fill, length=length, hint=hint)
        )
    return ObjectSpec(spec.name, spec.fields + tuple(added), entity_scoped=spec.entity_scoped, meta=spec.meta)


def objects_with_custom_fields(
    custom_fields: Mapping[str, Mapping[str, int | None]],
) -> dict[str, ObjectSpec]:
    """Every object, those named in ``custom_fields`` (the setting, normalised: {object: {"count",
    "name_length"}}) widened by ``with_custom_fields``. With none named: OBJECTS itself."""
    if not custom_fields:
        return OBJECTS
    widened = dict(OBJECTS)
    for name, shape in custom_fields.items():
        widened[name] = with_custom_fields(OBJECTS[name], int(shape["count"] or 0), shape.get("name_length"))
    return widened


def record_count(meta: ObjectMeta, records: int) -> int:
    """How many records a (non-line) object gets for ``--records``."""
    if records <= 0 or meta.ratio <= 0:
        return 0
    return max(meta.minimum, round(meta.ratio * records))
