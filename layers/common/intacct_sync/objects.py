"""The catalogue of exportable objects: which Intacct objects this deployment offers, and for each its key,
modified, created and id fields, default fields and filter.

By default the objects a finance team reports on (``DEFAULT_OBJECTS``): the chart of accounts, journal
entries and their lines, GL detail, budgets, customers and AR invoices, lines and payments, vendors and AP
bills, lines, payments and adjustments, the cash accounts, employees, the dimensions and fixed assets.
Each entry's fields are the ones a real tenant has (docs/intacct/real-objects: the field lists a
production tap sent to a real tenant, and the records it got back); every choice that is not
RECORDNO / WHENMODIFIED / WHENCREATED names its evidence. The `EXPORT_OBJECTS` environment variable
replaces the list with a JSON array whose items are either an object name or
`{"object": "APBILL", "key_field"?: "RECORDNO", "modified_field"?: "WHENMODIFIED", "created_field"?: ...,
"id_field"?: ..., "fields"?: [...], "filter"?: {...}, "description"?: "...", "frequency"?: "PT1H"}`;
`fields` are the default fields (empty = all, found with `lookup`), `filter` is ANDed with every export's
own filter, `frequency` syncs the object more often than the nightly sync of everything (``export.sync``:
an ISO-8601 duration or hourly/daily), and a
`modified_field` of `""` or null marks an object with none: every export of it is a full snapshot (an
incremental request reads everything and says so). Field names are spelled as Intacct spells them
(`updatedAt`); when a run starts each is checked against the object's `lookup`, and one the object does
not have is replaced by the object's own (`export.keyfields`): an object named without fields (say a
user-defined dimension, keyed by `id`) gets all of its own.
It is validated at cold start; a bad value raises SettingsError naming the problem.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, replace
from typing import Any

from intacct_sync.errors import InvalidExportRequest, SettingsError
from intacct_sync.export.spec import ExportSpec, validate_fields, validate_key_field
from intacct_sync.export.sync import parse_frequency
from intacct_sync.export.window import combine_filters
from intacct_sync.intacct import InvalidQueryError, check_object_name, filter_from_dict

ENV_VAR = "EXPORT_OBJECTS"
MAX_OBJECTS = 100
_ITEM_KEYS = {
    "object",
    "key_field",
    "modified_field",
    "created_field",
    "id_field",
    "fields",
    "filter",
    "description",
    "frequency",
}


@dataclass(frozen=True)
class ExportObject:
    """One exportable object: how it is paged (key field), windowed (modified field; "" = none, so full
    snapshots only), how records never modified are found (created field; "" = none), and the unique
    name field AUDITHISTORY names deleted records by (CUSTOMERID...; docs/intacct/PROTOCOL.md §9; None = by
    key)."""

    name: str
    key_field: str = "RECORDNO"
    modified_field: str = "WHENMODIFIED"
    description: str = ""
    created_field: str = "WHENCREATED"
    id_field: str | None = None
    fields: tuple[str, ...] = ()  # the default fields; empty = every field lookup lists
    filter: dict[str, Any] | None = None
    # How often the scheduled sync of due objects syncs it (``export.sync.parse_frequency``); None: only
    # with the nightly sync of everything.
    frequency: str | None = None

    @property
    def incremental(self) -> bool:
        """Whether the object can be synced incrementally: it has a modified field to window on (an object
        without one is synced by full snapshots only)."""
        return bool(self.modified_field)

    def to_dict(self) -> dict[str, Any]:
        return {
            "object": self.name,
            "key_field": self.key_field,
            "modified_field": self.modified_field or None,
            "incremental": self.incremental,
            "created_field": self.created_field or None,
            "id_field": self.id_field,
            "description": self.description,
            "fields": list(self.fields),
            "filter": self.filter,
            "frequency": self.frequency,
        }


# Evidence, per object, in docs/intacct/real-objects (README.md's table and records/<OBJECT>.xml):
# - every one has RECORDNO and WHENMODIFIED (a timestamp, but FIXEDASSET's is a date);
# - WHENCREATED is a date on the AR/AP headers and GLDETAIL, whose creation timestamp is AUWHENCREATED,
#   so records never modified are found by AUWHENCREATED there (the recorded PODOCUMENT's WHENCREATED is
#   even later than its WHENMODIFIED: a document's date, not when the record was created);
# - GLDETAIL's RECORDNO is text (`3220-55186-27292--accrual`): its exports read one key range;
# - lines hold their header's RECORDNO: GLENTRY.BATCHNO, ARINVOICEITEM/APBILLITEM/APADJUSTMENTITEM
#   .RECORDKEY, APPYMTDETAIL.PAYMENTKEY (and RECORDKEY, the bill it pays);
# - CREDITCARD, CHECKINGACCOUNT and SAVINGSACCOUNT have '#' fields (LIABACCT#, DEPT#, LOCATION#).
# id_field is the object's unique name field where it has one (estuary/connectors PR #5217: AUDITHISTORY's
# OBJECTKEY is "the unique name field, which differs based on the object type"); objects without one
# (documents, lines) are named by "<RECORDNO>--REC". Default fields are empty: lookup lists the tenant's
# own fields, custom ones included (the recorded lists carry that tenant's *_CF_* and GLDIM* fields, which
# another tenant's query would refuse). Tenant-defined objects (user-defined dimensions such as the
# recorded DIMENSION, keyed by `id` with `createdAt`/`updatedAt`) are not here: add them with
# ExportObjects, by name alone.
DEFAULT_OBJECTS = (
    # General ledger
    ExportObject("GLACCOUNT", description="Chart of accounts: general ledger accounts", id_field="ACCOUNTNO"),
    ExportObject(
        "GLBATCH",
        description="Journal entries (headers); their lines are GLENTRY (BATCHNO = this RECORDNO)",
    ),
    ExportObject(
        "GLENTRY", description="Journal entry lines; BATCHNO is the GLBATCH (journal entry) RECORDNO"
    ),
    ExportObject(
        "GLDETAIL",
        description="General ledger detail: every posted line with its account, dimensions and source; "
        "RECORDNO is text",
        created_field="AUWHENCREATED",
    ),
    ExportObject("GLBUDGETHEADER", description="Budgets (headers)", id_field="BUDGETID"),
    # Accounts receivable
    ExportObject("CUSTOMER", description="Customers (accounts receivable)", id_field="CUSTOMERID"),
    ExportObject(
        "ARINVOICE",
        description="AR invoices (headers); their lines are ARINVOICEITEM (RECORDKEY = this RECORDNO)",
        created_field="AUWHENCREATED",
    ),
    ExportObject("ARINVOICEITEM", description="AR invoice lines; RECORDKEY is the ARINVOICE RECORDNO"),
    # AR payments: object ARPYMT (fylein/sageintacct-sdk-py ar_payments.py; intacct-sdk-php creates ARPYMT).
    # No field list was recorded for it: lookup gives the tenant's, and AUWHENCREATED (APPYMT's) gives way
    # to WHENCREATED if this tenant's ARPYMT has none (export.keyfields).
    ExportObject(
        "ARPYMT",
        description="AR payments received (no field list was recorded: fields come from lookup)",
        created_field="AUWHENCREATED",
    ),
    # Accounts payable
    ExportObject("VENDOR", description="Vendors (accounts payable)", id_field="VENDORID"),
    ExportObject(
        "APBILL",
        description="AP bills (headers); their lines are APBILLITEM (RECORDKEY = this RECORDNO)",
        created_field="AUWHENCREATED",
    ),
    ExportObject("APBILLITEM", description="AP bill lines; RECORDKEY is the APBILL RECORDNO"),
    ExportObject(
        "APPYMT",
        description="AP payments (headers); their lines are APPYMTDETAIL (PAYMENTKEY = this RECORDNO)",
        created_field="AUWHENCREATED",
    ),
    ExportObject(
        "APPYMTDETAIL",
        description="AP payment lines; PAYMENTKEY is the APPYMT RECORDNO, RECORDKEY the APBILL paid",
    ),
    ExportObject(
        "APADJUSTMENT",
        description="AP adjustments (headers); their lines are APADJUSTMENTITEM (RECORDKEY)",
        created_field="AUWHENCREATED",
    ),
    ExportObject(
        "APADJUSTMENTITEM", description="AP adjustment lines; RECORDKEY is the APADJUSTMENT RECORDNO"
    ),
    # Cash
    ExportObject("CHECKINGACCOUNT", description="Checking (bank) accounts", id_field="BANKACCOUNTID"),
    ExportObject("SAVINGSACCOUNT", description="Savings accounts", id_field="BANKACCOUNTID"),
    ExportObject("CREDITCARD", description="Credit card accounts", id_field="CARDID"),
    # People, dimensions and assets
    ExportObject("EMPLOYEE", description="Employees", id_field="EMPLOYEEID"),
    ExportObject("DEPARTMENT", description="Departments (dimension)", id_field="DEPARTMENTID"),
    ExportObject("LOCATION", description="Locations (dimension)", id_field="LOCATIONID"),
    ExportObject("CLASS", description="Classes (dimension)", id_field="CLASSID"),
    # Estuary's connector snapshots PROJECT (resources.py SNAPSHOT_OBJECTS, no reason given); the recorded
    # tap filtered PROJECT on WHENMODIFIED and got its record, and an incremental export here only filters
    # on it (ordered by RECORDNO), so PROJECT stays incremental.
    ExportObject("PROJECT", description="Projects (dimension)", id_field="PROJECTID"),
    ExportObject("ITEM", description="Items: products and services (dimension)", id_field="ITEMID"),
    ExportObject(
        "FIXEDASSET", description="Fixed assets; WHENMODIFIED is a date, so each run re-reads its day"
    ),
)


@dataclass(frozen=True)
class Catalogue:
    """The configured objects, in the order they were configured."""

    objects: tuple[ExportObject, ...] = DEFAULT_OBJECTS

    def __iter__(self) -> Iterator[ExportObject]:
        return iter(self.objects)

    def __len__(self) -> int:
        return len(self.objects)

    def get(self, name: str) -> ExportObject | None:
        """The object called `name` (case-insensitive), or None when it is not configured."""
        wanted = name.upper()
        return next((o for o in self.objects if o.name == wanted), None)

    def names(self) -> list[str]:
        return [o.name for o in self.objects]

    def apply(self, spec: ExportSpec, named: Iterable[str] = ()) -> ExportSpec:
        """The spec with its catalogued object's defaults: the key and modified fields (unless ``named``,
        the keys the request gave, includes them), the default fields (when the request names none) and
        the object's filter (ANDed with the request's). An object not in the catalogue keeps the spec as
        it is: any Intacct object can be exported directly, keyed and windowed by its own fields, which
        the run finds in its lookup (``export.keyfields``)."""
        entry = self.get(spec.object)
        if entry is None:
            return spec
        given = set(named)
        return replace(
            spec,
            key_field=spec.key_field if "key_field" in given else entry.key_field,
            modified_field=spec.modified_field if "modified_field" in given else entry.modified_field,
            created_field=spec.created_field if "created_field" in given else entry.created_field,
            id_field=spec.id_field if "id_field" in given else entry.id_field,
            fields=spec.fields or entry.fields,
            filter=combine_filters(entry.filter, spec.filter),
        )

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> Catalogue:
        """The catalogue from EXPORT_OBJECTS, or the default one when the variable is unset or empty."""
        env = os.environ if env is None else env
        raw = env.get(ENV_VAR, "").strip()
        return cls.from_json(raw) if raw else cls()

    @classmethod
    def from_json(cls, raw: str) -> Catalogue:
        try:
            document = json.loads(raw)
        except json.JSONDecodeError as exc:
            raise SettingsError(f"environment variable {ENV_VAR} is not valid JSON: {exc.msg}") from None
        if not isinstance(document, list) or not document:
            raise SettingsError(f"environment variable {ENV_VAR} must be a non-empty JSON array")
        if len(document) > MAX_OBJECTS:
            raise SettingsError(f"environment variable {ENV_VAR} may list at most {MAX_OBJECTS} objects")
        objects = tuple(_parse_item(item, index) for index, item in enumerate(document))
        seen: set[str] = set()
        for obj in objects:
            if obj.name in seen:
                raise SettingsError(f"environment variable {ENV_VAR} lists {obj.name} more than once")
            seen.add(obj.name)
        return cls(objects)


def _name(value: Any, where: str) -> str:
    try:
        return check_object_name(value, where).upper()
    except InvalidQueryError as exc:
        raise SettingsError(f"environment variable {ENV_VAR}: {exc}"[:300]) from None


def _parse_item(item: Any, index: int) -> ExportObject:
    where = f"item {index}"
    if isinstance(item, str):
        return ExportObject(_name(item, where))
    if not isinstance(item, dict):
        raise SettingsError(
            f"environment variable {ENV_VAR}: {where} must be an object name or a JSON object"
        )
    unknown = sorted(set(item) - _ITEM_KEYS)
    if unknown:
        raise SettingsError(
            f"environment variable {ENV_VAR}: {where} has unknown key(s) {', '.join(unknown)}; "
            f"allowed: {', '.join(sorted(_ITEM_KEYS))}"[:300]
        )
    if "object" not in item:
        raise SettingsError(f"environment variable {ENV_VAR}: {where} needs an 'object' name")
    description = item.get("description", "")
    if not isinstance(description, str) or len(description) > 200:
        raise SettingsError(
            f"environment variable {ENV_VAR}: {where} description must be text of at most 200 characters"
        )
    try:
        fields = validate_fields(item.get("fields"))
        filt = filter_from_dict(item["filter"]).to_dict() if item.get("filter") is not None else None
    except (InvalidExportRequest, InvalidQueryError, TypeError, AttributeError) as exc:
        raise SettingsError(
            f"environment variable {ENV_VAR}: {where} fields or filter: {exc}"[:300]
        ) from None
    return ExportObject(
        name=_name(item["object"], f"{where} object"),
        fields=fields,
        filter=filt,
        key_field=_field(item.get("key_field", "RECORDNO"), f"{where} key_field"),
        modified_field=_field(item["modified_field"], f"{where} modified_field")
        if item.get("modified_field")
        else ("" if "modified_field" in item else "WHENMODIFIED"),
        created_field=_field(item["created_field"], f"{where} created_field")
        if item.get("created_field")
        else ("" if "created_field" in item else "WHENCREATED"),
        id_field=_field(item["id_field"], f"{where} id_field") if item.get("id_field") else None,
        description=description,
        frequency=_frequency(item.get("frequency"), where),
    )


def _frequency(value: Any, where: str) -> str | None:
    if value is None:
        return None
    try:
        parse_frequency(value)
    except InvalidExportRequest as exc:
        raise SettingsError(f"environment variable {ENV_VAR}: {where} frequency: {exc}"[:300]) from None
    return str(value)


def _field(value: Any, where: str) -> str:
    """A key, modified, created or id field name, by the request's rule (``spec.validate_key_field``)."""
    try:
        return validate_key_field(value, where)
    except InvalidExportRequest as exc:
        raise SettingsError(f"environment variable {ENV_VAR}: {exc}"[:300]) from None
