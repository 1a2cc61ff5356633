"""The catalogue of exportable objects: which Intacct objects this deployment offers, and their key and
modified fields.

CUSTOMER, VENDOR and GLACCOUNT by default. The `EXPORT_OBJECTS` environment variable replaces the list
with a JSON array whose items are either an object name or
`{"object": "APBILL", "key_field"?: "RECORDNO", "modified_field"?: "WHENMODIFIED", "fields"?: [...],
"filter"?: {...}, "description"?: "...", "frequency"?: "PT1H"}`; `fields` are the default fields (empty = all,
found with `lookup`), `filter` is ANDed with every export's own filter, `frequency` syncs the object more
often than the nightly sync of everything (``export.sync``: an ISO-8601 duration or hourly/daily).
It is validated at cold start; a bad value raises SettingsError naming the problem.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, replace
from typing import Any

from intacct_sync.errors import InvalidExportRequest, SettingsError
from intacct_sync.export.spec import ExportSpec, validate_fields
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
    """One exportable object and how it is paged (key field) and windowed (modified field)."""

    name: str
    key_field: str = "RECORDNO"
    modified_field: str = "WHENMODIFIED"
    description: str = ""
    # Where never-modified records' creation is ("" for none), and the unique name field AUDITHISTORY
    # names deleted records by (CUSTOMERID...; PROTOCOL.md §9).
    created_field: str = "WHENCREATED"
    id_field: str | None = None
    fields: tuple[str, ...] = ()
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
            "modified_field": self.modified_field,
            "created_field": self.created_field,
            "id_field": self.id_field,
            "description": self.description,
            "fields": list(self.fields),
            "filter": self.filter,
            "frequency": self.frequency,
        }


DEFAULT_OBJECTS = (
    ExportObject("CUSTOMER", description="Customers (accounts receivable)", id_field="CUSTOMERID"),
    ExportObject("VENDOR", description="Vendors (accounts payable)", id_field="VENDORID"),
    ExportObject(
        "GLACCOUNT", description="General ledger accounts (chart of accounts)", id_field="ACCOUNTNO"
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
        it is: any Intacct object can be exported directly, with RECORDNO / WHENMODIFIED."""
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
        key_field=_name(item.get("key_field", "RECORDNO"), f"{where} key_field"),
        modified_field=_name(item.get("modified_field", "WHENMODIFIED"), f"{where} modified_field"),
        created_field=_name(item["created_field"], f"{where} created_field")
        if item.get("created_field")
        else ("" if "created_field" in item else "WHENCREATED"),
        id_field=_name(item["id_field"], f"{where} id_field") if item.get("id_field") else None,
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
