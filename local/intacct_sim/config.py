"""Simulator configuration (constructor arguments, CLI flags and ``POST /__sim__/config``)."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any

from .formats import FILTER_DATE_FORMATS, validate_clock, validate_dateformat
from .schema import GENERATED_OBJECTS, ITEM_SILENTLY_OMITTED, PROJECT_REFUSED, custom_field_names

# Fields that can change while the simulator runs; the rest shape the data or the socket.
RUNTIME_FIELDS = {
    "latency_ms",
    "latency_per_record_ms",
    "concurrency_limit",
    "session_seconds",
    "mutations_per_query",
    "readmore_ttl_seconds",
    "sender_id",
    "sender_password",
    "company_id",
    "user_id",
    "user_password",
    "endpoint_url",
    "date_format",
    "clock",
    "locale",
    "gmtoffset_style",
    "filter_date_format",
    "private_needs_showprivate",
    "refused_fields",
    "omitted_fields",
    "denied_objects",
    "audit_denial_errorno",
}
AUDIT_OBJECTKEY_FORMS = ("name", "rec")
AUDIT_RECORDNO_MODES = ("empty", "absent", "present")
GMTOFFSET_STYLES = ("colon", "compact")


@dataclass
class SimulatorConfig:
    """Everything the simulator can be told. Defaults are the documented ones.

    ``mutations_per_query``: list of ``{"object", "inserts", "updates", "deletes", "every"}``; after
    every ``every``-th (default 1) successful query/readByQuery/readMore of ``object`` the changes are
    applied, to reproduce offset drift during an export. A single dict is accepted too.
    """

    records: int = 10_000
    seed: int = 42
    port: int = 0
    host: str = "127.0.0.1"
    latency_ms: float = 0.0
    latency_per_record_ms: float = 0.0
    concurrency_limit: int | None = None
    session_seconds: float = 3600.0
    session_minutes: float | None = None  # convenience: when given, overrides session_seconds
    timezone: str = "America/Los_Angeles"
    sender_id: str = "intacct-sim"
    sender_password: str = "intacct-sim-pw"
    company_id: str = "SIMCO"
    user_id: str = "sim-user"
    user_password: str = "sim-user-pw"
    entities: tuple[str, ...] = ("US", "UK", "DE")
    faults: list[dict[str, Any]] = field(default_factory=list)
    mutations_per_query: list[dict[str, Any]] = field(default_factory=list)
    readmore_ttl_seconds: float = 1800.0
    endpoint_url: str | None = None  # what getAPISession returns; default: this simulator's gateway URL
    verbose: bool = False
    # The API user's preferences (readUserFormatting); every TIMESTAMP/DATE value is written in them.
    date_format: str = "/mdY"
    clock: int = 24
    locale: str = "en_US"
    gmtoffset_style: str = "colon"  # '+hh:mm' as the official docs show, or 'compact' ('-0800')
    # Share of generated records created and never modified: their WHENMODIFIED is empty (Estuary's
    # connector reads them with WHENMODIFIED isnull). 0 turns it off. Shapes the data: start-up only.
    never_modified_percent: float = 2.0
    # Multi-entity: share of generated records created at the top level (MEGAENTITY* empty); the rest
    # belong to an entity. Start-up only.
    top_level_percent: float = 40.0
    # A top-level session sees entity-owned ("private") records only with <showprivate>true</showprivate>
    # (query) and never through readByQuery/readByName, which have no such option. False: sees all.
    private_needs_showprivate: bool = True
    # Fields lookup lists but query refuses (the query fails with DL02000001 naming them): object ->
    # fields. Default: the 10 recorded PROJECT fields.
    refused_fields: dict[str, list[str]] = field(default_factory=lambda: {"PROJECT": list(PROJECT_REFUSED)})
    # Fields a query may name but every record silently lacks (no element, no error): object -> fields.
    # Default: the 7 recorded ITEM fields.
    omitted_fields: dict[str, list[str]] = field(
        default_factory=lambda: {"ITEM": list(ITEM_SILENTLY_OMITTED)}
    )
    # Tenant custom fields added to objects (lookup lists them ISCUSTOM, queries answer them with generated
    # values): object -> {"count": n, "name_length": characters (optional)}, e.g. {"CUSTOMER": {"count":
    # 1000, "name_length": 40}}. Default: none. Shapes the data: start-up only.
    custom_fields: dict[str, dict[str, int | None]] = field(default_factory=dict)
    # AUDITHISTORY OBJECTKEY: 'name' = the object's unique name field (CUSTOMERID, VENDORID, ACCOUNTNO...;
    # estuary/connectors PR #5217) and '<RECORDNO>--REC' for objects without one; 'rec' = always
    # '<RECORDNO>--REC' (the only form Estuary's first model accepted). Start-up only.
    audit_objectkey: str = "name"
    # Share of '<RECORDNO>--REC' keys written as a bare RECORDNO instead (Estuary: "bare, or as
    # '<RECORDNO>--REC'"). Start-up only.
    audit_bare_key_percent: float = 0.0
    # AUDITHISTORY RECORDNO: 'empty' (selectable, never filled: no usable RECORDNO), 'absent' (not a
    # field: naming it fails like any unknown field) or 'present' (numbered like ID). Start-up only.
    audit_recordno: str = "empty"
    # Objects the API user may not query (PL04000005 'You do not have permission for API operation ...').
    denied_objects: list[str] = field(default_factory=list)
    # errorno of an AUDITHISTORY denial: '' as Estuary's connector meets it ("AUDITHISTORY denials arrive
    # without an errorno"), or 'PL04000005' like other objects.
    audit_denial_errorno: str = ""
    # How date/timestamp filter values are read: 'standard' (MM/DD/YYYY [HH:MM:SS], 24 h) or 'user'.
    filter_date_format: str = "standard"

    def __post_init__(self) -> None:
        self.mutations_per_query = normalise_mutations(self.mutations_per_query)
        self.refused_fields = normalise_field_map(self.refused_fields, "refused_fields")
        self.omitted_fields = normalise_field_map(self.omitted_fields, "omitted_fields")
        self.custom_fields = normalise_custom_fields(self.custom_fields)
        if self.session_minutes is not None:
            self.session_seconds = float(self.session_minutes) * 60
            self.session_minutes = None
        if self.records < 0:
            raise ValueError("records must be >= 0")
        if not 0 <= self.never_modified_percent <= 100:
            raise ValueError("never_modified_percent must be within 0..100")
        if self.audit_objectkey not in AUDIT_OBJECTKEY_FORMS:
            raise ValueError(f"audit_objectkey must be one of {list(AUDIT_OBJECTKEY_FORMS)}")
        if self.audit_recordno not in AUDIT_RECORDNO_MODES:
            raise ValueError(f"audit_recordno must be one of {list(AUDIT_RECORDNO_MODES)}")
        if not 0 <= self.audit_bare_key_percent <= 100:
            raise ValueError("audit_bare_key_percent must be within 0..100")
        self.denied_objects = [str(o).upper() for o in self.denied_objects]
        if not 0 <= self.top_level_percent <= 100:
            raise ValueError("top_level_percent must be within 0..100")
        validate_dateformat(self.date_format)
        self.clock = validate_clock(self.clock)
        if self.filter_date_format not in FILTER_DATE_FORMATS:
            raise ValueError(f"filter_date_format must be one of {list(FILTER_DATE_FORMATS)}")
        if self.gmtoffset_style not in GMTOFFSET_STYLES:
            raise ValueError(f"gmtoffset_style must be one of {list(GMTOFFSET_STYLES)}")

    def to_dict(self) -> dict[str, Any]:
        """JSON-friendly view (passwords included: this is a local test double)."""
        data = dataclasses.asdict(self)
        data["entities"] = list(self.entities)
        return data


def normalise_mutations(value: Any) -> list[dict[str, Any]]:
    """Accept None, one dict or a list of dicts; validate keys and fill defaults."""
    if not value:
        return []
    rules = [value] if isinstance(value, dict) else list(value)
    out = []
    for rule in rules:
        unknown = set(rule) - {"object", "inserts", "updates", "deletes", "every"}
        if unknown or "object" not in rule:
            raise ValueError(f"bad mutations_per_query entry {rule!r}")
        out.append(
            {
                "object": str(rule["object"]).upper(),
                "inserts": int(rule.get("inserts", 0)),
                "updates": int(rule.get("updates", 0)),
                "deletes": int(rule.get("deletes", 0)),
                "every": max(1, int(rule.get("every", 1))),
            }
        )
    return out


def normalise_field_map(value: Any, name: str) -> dict[str, list[str]]:
    """{object: [field, ...]} with upper-case object names (None or {} for none)."""
    if not value:
        return {}
    if not isinstance(value, dict) or not all(isinstance(v, list | tuple) for v in value.values()):
        raise ValueError(f"{name} must map object names to lists of field names")
    return {str(k).upper(): [str(f) for f in v] for k, v in value.items()}


def normalise_custom_fields(value: Any) -> dict[str, dict[str, int | None]]:
    """{OBJECT: {"count": n, "name_length": characters or None}} from the setting (None or {} for none);
    the object must be a generated one, and ``name_length`` long enough for every name."""
    if not value:
        return {}
    if not isinstance(value, dict) or not all(isinstance(v, dict) for v in value.values()):
        raise ValueError('custom_fields must map object names to {"count": n, "name_length": characters}')
    out: dict[str, dict[str, int | None]] = {}
    for obj, shape in value.items():
        name = str(obj).upper()
        unknown = set(shape) - {"count", "name_length"}
        if unknown or "count" not in shape:
            raise ValueError(
                f'custom_fields[{name}] takes "count" and optionally "name_length"; got {shape!r}'
            )
        if name not in GENERATED_OBJECTS:
            raise ValueError(
                f"custom_fields: {name} is not a generated object; choose from {sorted(GENERATED_OBJECTS)}"
            )
        count = int(shape["count"])
        length = None if shape.get("name_length") is None else int(shape["name_length"])
        if count < 0:
            raise ValueError(f"custom_fields[{name}]: count must be >= 0")
        custom_field_names(name, count, length)  # a name_length too short fails here, at start-up
        out[name] = {"count": count, "name_length": length}
    return out


def _boolean(value: Any) -> bool:
    if isinstance(value, bool):
        return value
    if str(value).lower() in ("true", "1", "on", "yes"):
        return True
    if str(value).lower() in ("false", "0", "off", "no"):
        return False
    raise ValueError(f"expected a boolean, got {value!r}")


def apply_runtime_changes(config: SimulatorConfig, changes: dict[str, Any]) -> None:
    """Validate and apply run-time changes (``session_minutes`` is accepted as well)."""
    changes = dict(changes)
    if "session_minutes" in changes:
        changes["session_seconds"] = float(changes.pop("session_minutes")) * 60
    unknown = set(changes) - RUNTIME_FIELDS
    if unknown:
        raise ValueError(f"cannot change {sorted(unknown)} at run time; allowed: {sorted(RUNTIME_FIELDS)}")
    for key, value in changes.items():
        if key == "mutations_per_query":
            value = normalise_mutations(value)
        elif key == "concurrency_limit":
            value = None if value in (None, 0) else int(value)
        elif key == "date_format":
            value = validate_dateformat(value)
        elif key == "clock":
            value = validate_clock(value)
        elif key == "denied_objects":
            if not isinstance(value, list | tuple):
                raise ValueError("denied_objects must be a list of object names")
            value = [str(o).upper() for o in value]
        elif key in ("refused_fields", "omitted_fields"):
            value = normalise_field_map(value, key)
        elif key == "private_needs_showprivate":
            value = _boolean(value)
        elif key == "filter_date_format" and value not in FILTER_DATE_FORMATS:
            raise ValueError(f"filter_date_format must be one of {list(FILTER_DATE_FORMATS)}")
        elif key == "gmtoffset_style" and value not in GMTOFFSET_STYLES:
            raise ValueError(f"gmtoffset_style must be one of {list(GMTOFFSET_STYLES)}")
        elif key in ("latency_ms", "latency_per_record_ms", "session_seconds", "readmore_ttl_seconds"):
            value = float(value)
            if value < 0:
                raise ValueError(f"{key} must be >= 0")
        setattr(config, key, value)
