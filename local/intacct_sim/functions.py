"""The gateway functions: getAPISession, query, readByQuery, readMore, lookup.

Each handler takes the parsed ``<function>`` and the caller's authentication and returns an Outcome;
it never raises for bad input: problems become function-level failures (PROTOCOL §5.4) so the other
functions of the request still run.
"""

from __future__ import annotations

import csv
import io
import json
import secrets
import threading
import time
import xml.etree.ElementTree as ET
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from .config import SimulatorConfig
from .dataset import Dataset, Table
from .engine import AGGREGATES, Order, QueryCache, SelectItem, Visibility, aggregate_rows, matching_rows
from .envelope import FunctionCall
from .filters import FilterError, Node, parse_xml_filter, referenced_fields
from .formats import gmt_offset
from .readbyquery_parser import parse_query_string
from .schema import DIMENSIONS, ObjectSpec
from .sessions import Session, SessionStore
from .stats import Stats
from .xmlwriter import XmlWriter

QUERY_MAX_PAGESIZE = 2000
READBYQUERY_MAX_PAGESIZE = 1000
DEFAULT_PAGESIZE = 100
RETURN_FORMATS = ("xml", "json", "csv")
QUERY_FUNCTIONS = ("query", "readByQuery", "readMore")
JSON_CONTENT_TYPE = "application/json"

Error = tuple[str, str, str, str]

# The "name" field readByName looks records up by (official docs: USERINFO keys are LOGINIDs).
NAME_FIELDS = {
    "USERINFO": "LOGINID",
    "CUSTOMER": "CUSTOMERID",
    "VENDOR": "VENDORID",
    "GLACCOUNT": "ACCOUNTNO",
}


class FunctionFailure(Exception):
    """Raised inside handlers; becomes a failed <result>."""

    def __init__(
        self, description2: str, errorno: str = "Query Failed", description: str = "", correction: str = ""
    ):
        super().__init__(description2)
        self.error: Error = (errorno, description, description2, correction)


PROCESSING_ERROR = "There was an error processing the request."


def support_id() -> str:
    """A Support ID like the ones real error texts end with (54 characters, '~' written as %7E)."""
    return (
        f"{secrets.token_urlsafe(4)[:5]}EBXMLGW{secrets.randbelow(10**9):09d}-AG%7E"
        f"{secrets.token_urlsafe(24)[:27]}"
    )


def invalid_date(field_name: str, value: str, expected: str) -> FunctionFailure:
    """A date/timestamp filter value that does not parse in the active format.

    errorno DL02000001: a production connector saw Intacct reject ISO-8601 WHENMODIFIED filter values
    with DL02000001 (MemberJunction CHANGELOG 5.30.0, Sage Intacct connector). The wording after the
    generic DL02000001 text is the simulator's own (no real text naming the value was found).
    """
    return FunctionFailure(
        f"{PROCESSING_ERROR} Invalid date '{value}' for field {field_name}: expected {expected} "
        f"[Support ID: {support_id()}]",
        errorno="DL02000001",
    )


def invalid_fields(spec: ObjectSpec, names: list[str]) -> FunctionFailure:
    """Fields the object does not have, or has but refuses to query.

    The shape is the recorded PROJECT failure's: errorno of 10 characters, description empty, a 292-
    character description2 for the 10 refused PROJECT fields (the scrubber kept lengths). fylein's SDK
    parses the list with ``\\n\\t<object>: \\[(.*?)\\]`` (allocation_entry.py, PR #85) and hotglue's tap
    (PR #7) takes the names from character 70 on, which both fit: 58 characters of text, then
    ``\\n\\tproject: [F1, F2]``, then `` [Support ID: ...]`` (54 characters, like real Support IDs).
    DL02000001 is the errorno a production importer documents for "a field that did not exist on an
    Intacct object" (Invoiced's Sage Intacct docs). The 58-character wording itself is the simulator's.
    """
    return FunctionFailure(
        f"{PROCESSING_ERROR} Invalid fields:\n\t{spec.name.lower()}: [{', '.join(names)}] "
        f"[Support ID: {support_id()}]",
        errorno="DL02000001",
    )


@dataclass
class Auth:
    """Who is calling: from a login or a session."""

    userid: str
    companyid: str
    locationid: str  # '' = top level
    session: Session | None = None


@dataclass
class Outcome:
    """The result of one function."""

    function: str
    controlid: str
    status: str = "success"
    errors: list[Error] = field(default_factory=list)
    write_data: Callable[[XmlWriter], None] | None = None
    raw: tuple[str, bytes] | None = None  # (content type, body) for returnformat json/csv
    records: int = 0
    object: str | None = None


@dataclass
class _Cursor:
    """A readByQuery result set kept for readMore."""

    table: str
    spec: ObjectSpec
    rows: np.ndarray
    fields: list[str]
    labels: list[str]
    pagesize: int
    returnformat: str
    position: int
    owner: tuple[str, str]
    expires: float


class ResultStore:
    """readByQuery cursors by resultId (snapshot of matching rows; values render as of readMore)."""

    def __init__(self, ttl: Callable[[], float], capacity: int = 500) -> None:
        self._ttl = ttl
        self._capacity = capacity
        self._cursors: dict[str, _Cursor] = {}
        self._last_by_object: dict[tuple[str, str, str], str] = {}
        self._lock = threading.Lock()

    def add(self, cursor: _Cursor) -> str:
        """Store a cursor; returns its resultId."""
        result_id = secrets.token_hex(10) + "WU1hh8CoA4QAAHxI9i8AAAAA5"
        with self._lock:
            self._cursors[result_id] = cursor
            self._last_by_object[(*cursor.owner, cursor.table)] = result_id
            while len(self._cursors) > self._capacity:
                self._cursors.pop(next(iter(self._cursors)))
        return result_id

    def get(self, result_id: str) -> _Cursor | None:
        """A live cursor (expired ones are dropped)."""
        with self._lock:
            cursor = self._cursors.get(result_id)
            if cursor is not None and cursor.expires < time.time():
                del self._cursors[result_id]
                return None
            if cursor is not None:
                cursor.expires = time.time() + self._ttl()
            return cursor

    def last_for(self, owner: tuple[str, str], table: str) -> str | None:
        """resultId of the caller's latest readByQuery on an object."""
        with self._lock:
            return self._last_by_object.get((*owner, table))

    def drop(self, result_id: str) -> None:
        """Forget a finished cursor."""
        with self._lock:
            self._cursors.pop(result_id, None)


class FunctionRunner:
    """Executes functions against the dataset."""

    def __init__(
        self,
        dataset: Dataset,
        config: SimulatorConfig,
        sessions: SessionStore,
        stats: Stats,
        endpoint: Callable[[], str],
    ) -> None:
        self.dataset = dataset
        self.config = config
        self.sessions = sessions
        self.stats = stats
        self.endpoint = endpoint
        self.cache = QueryCache()
        self.results = ResultStore(lambda: self.config.readmore_ttl_seconds)

    def run(self, call: FunctionCall, auth: Auth) -> Outcome:
        """Execute one function; every problem becomes a failed Outcome."""
        outcome = Outcome(call.name, call.controlid)
        handler = {
            "getAPISession": self._get_api_session,
            "query": self._query,
            "readByQuery": self._read_by_query,
            "readMore": self._read_more,
            "lookup": self._lookup,
            "readByName": self._read_by_name,
            "readUserFormatting": self._read_user_formatting,
            "getDimensions": self._get_dimensions,
        }.get(call.name)
        try:
            if handler is None:
                raise FunctionFailure(
                    f"Function {call.name} is not supported by the Intacct simulator",
                    errorno="DL02000001",
                    description="There was an error processing the request.",
                )
            handler(call.element, auth, outcome)
        except FunctionFailure as failure:
            outcome.status = "failure"
            outcome.errors.append(failure.error)
            outcome.write_data = None
            outcome.raw = None
            outcome.records = 0
        return outcome

    # ----- getAPISession ----------------------------------------------------------------------

    def _get_api_session(self, element: ET.Element, auth: Auth, outcome: Outcome) -> None:
        location_el = element.find("locationid")
        target = auth.locationid if location_el is None else (location_el.text or "").strip()
        if target and self.dataset.entity(target) is None:
            raise FunctionFailure(f"Invalid location ID '{target}'", errorno="Get API Session Failed")
        if auth.session is not None and auth.session.locationid == target:
            session = auth.session
        else:
            session = self.sessions.create(auth.userid, auth.companyid, target)
            self.stats.session_created()
        endpoint = self.endpoint()

        def write(w: XmlWriter) -> None:
            w.start("data")
            w.start("api")
            w.leaf("sessionid", session.sessionid)
            w.leaf("endpoint", endpoint)
            w.leaf("locationid", session.locationid)
            w.end()
            w.end()

        outcome.write_data = write

    # ----- lookup -----------------------------------------------------------------------------

    def _lookup(self, element: ET.Element, auth: Auth, outcome: Outcome) -> None:
        spec = self._object(element)
        outcome.object = spec.name
        hidden = self._hidden(spec)

        def write(w: XmlWriter) -> None:
            w.start("data", {"listtype": "All", "count": "1"})
            w.start("Type", {"Name": spec.name, "DocumentType": ""})
            w.start("Fields")
            for f in spec.fields:
                if f.name in hidden:
                    continue
                w.start("Field")
                w.leaf("ID", f.name)
                w.leaf("LABEL", f.label)
                w.leaf("DESCRIPTION", f.description or f.label)
                w.leaf("REQUIRED", "true" if f.required else "false")
                w.leaf("READONLY", "true" if f.readonly else "false")
                w.leaf("DATATYPE", f.datatype)
                w.leaf("ISCUSTOM", "true" if f.custom else "false")
                if f.valid_values:
                    w.start("VALIDVALUES")
                    for value in f.valid_values:
                        w.leaf("VALIDVALUE", value)
                    w.end()
                w.end()
            w.end()
            w.end()
            w.end()

        outcome.write_data = write

    # ----- getDimensions ----------------------------------------------------------------------

    def _get_dimensions(self, element: ET.Element, auth: Auth, outcome: Outcome) -> None:
        """The dimensions list, shaped as recorded: ``<data>`` without attributes, then
        ``<dimensions><dimension>`` with camelCase children (real-objects/README.md, getDimensions)."""

        def write(w: XmlWriter) -> None:
            w.start("data")
            w.start("dimensions")
            for name, label_text, term, user_defined, enabled in DIMENSIONS:
                w.start("dimension")
                w.leaf("objectName", name)
                w.leaf("objectLabel", label_text)
                w.leaf("termLabel", term)
                w.leaf("userDefinedDimension", "true" if user_defined else "false")
                w.leaf("enabledInGL", "true" if enabled else "false")
                w.end()
            w.end()
            w.end()

        outcome.write_data = write

    # ----- readByName / readUserFormatting ---------------------------------------------------

    def _read_by_name(self, element: ET.Element, auth: Auth, outcome: Outcome) -> None:
        """``readByName``: records by their name field (USERINFO: LOGINID), e.g. Estuary's start-up call
        ``<readByName><object>USERINFO</object><keys>{userid}</keys><fields>RECORDNO</fields>``."""
        allowed = {"object", "keys", "fields", "returnFormat", "docparid"}
        for child in element:
            if child.tag not in allowed:
                raise FunctionFailure(f"Unexpected element <{child.tag}> in readByName")
        spec = self._object(element)
        self._check_permission(spec, "READ_BY_NAME")
        name_field = spec.meta.name_field  # official docs: USERINFO keys are LOGINIDs
        if name_field is None:
            raise FunctionFailure(f"readByName is not supported for object {spec.name}")
        outcome.object = spec.name
        keys = [k.strip() for k in (element.findtext("keys") or "").split(",") if k.strip()]
        if not keys:
            raise FunctionFailure("Required element <keys> is missing or empty")
        fields_text = (element.findtext("fields") or "").strip()
        if fields_text in ("", "*"):
            fields = self._all_fields(spec)
        else:
            fields = self._present(
                spec, self._fields(spec, [n.strip() for n in fields_text.split(",") if n.strip()])
            )
        labels = [label(f) for f in fields]
        returnformat = (element.findtext("returnFormat") or "xml").strip().lower() or "xml"
        if returnformat not in RETURN_FORMATS:
            raise FunctionFailure(f"Invalid returnFormat '{returnformat}'; use xml, json or csv")
        with self.dataset.lock:
            table = self.dataset.table(spec.name)
            rows = self.dataset.find_by_name(spec.name, name_field, keys)
            visible = Visibility(auth.locationid, False, self.config.private_needs_showprivate).mask(table)
            if visible is not None:
                rows = rows[visible[rows]]
            columns = table.render_columns(rows, fields)
        outcome.records = len(rows)
        if returnformat != "xml":
            outcome.raw = _bare(returnformat, labels, columns)
            return
        attrs = {"listtype": spec.name, "count": str(len(rows))}
        outcome.write_data = _data_writer(attrs, spec.name, labels, columns, len(rows))

    def _read_user_formatting(self, element: ET.Element, auth: Auth, outcome: Outcome) -> None:
        """The user's date/time preferences, shaped as the official "Users" page documents:
        ``<userformatting><recordno/><locale/><dateformat/><gmtoffset/><clock/></userformatting>``."""
        key = (element.findtext("key") or "").strip()
        login = (element.findtext("userId") or "").strip()
        if not key and not login:
            raise FunctionFailure("readUserFormatting needs a <key> (user RECORDNO) or a <userId> (LOGINID)")
        with self.dataset.lock:
            table = self.dataset.table("USERINFO")
            if key:
                row = table.find_row(int(key)) if key.isdigit() else None
            else:
                found = self.dataset.find_by_name("USERINFO", "LOGINID", [login])
                row = int(found[0]) if len(found) else None
            if row is None:
                raise FunctionFailure(
                    f"No user found for {'key ' + key if key else 'userId ' + login}",
                    errorno="DL02000001",
                    description="There was an error processing the request.",
                )
            recordno = table.columns["RECORDNO"].value(row)
        formats = self.dataset.formats
        user = formats.user
        offset = gmt_offset(self.dataset.tz, self.config.gmtoffset_style)

        def write(w: XmlWriter) -> None:
            w.start("data")
            w.start("userformatting")
            w.leaf("recordno", recordno)
            w.leaf("locale", formats.locale)
            w.leaf("dateformat", user.dateformat)
            w.leaf("gmtoffset", offset)
            w.leaf("clock", str(user.clock))
            w.end()
            w.end()

        outcome.write_data = write

    # ----- query ------------------------------------------------------------------------------

    def _query(self, element: ET.Element, auth: Auth, outcome: Outcome) -> None:
        allowed = {"object", "select", "filter", "orderby", "options", "pagesize", "offset", "docparid"}
        for child in element:
            if child.tag not in allowed:
                raise FunctionFailure(f"Unexpected element <{child.tag}> in query")
        spec = self._object(element)
        self._check_permission(spec, "QUERY")
        table = self.dataset.table(spec.name)
        outcome.object = spec.name
        items = self._select(element.find("select"), spec)
        node = None
        filter_el = element.find("filter")
        if filter_el is not None:
            node = self._filter(lambda: parse_xml_filter(filter_el), spec)
        order = self._orderby(element.find("orderby"), spec)
        options = element.find("options")
        case_insensitive = self._option_bool(options, "caseinsensitive")
        showprivate = self._option_bool(options, "showprivate")
        returnformat = self._option_text(options, "returnformat", "xml").lower()
        if returnformat not in RETURN_FORMATS:
            raise FunctionFailure(f"Invalid returnformat '{returnformat}'; use xml, json or csv")
        pagesize = self._int(element, "pagesize", DEFAULT_PAGESIZE, 1, QUERY_MAX_PAGESIZE)
        offset = self._int(element, "offset", 0, 0, None)
        aggregated = any(i.kind != "field" for i in items)

        with self.dataset.lock:
            rows = self._matching(table, node, order, auth, case_insensitive, showprivate)
            if aggregated:
                try:
                    groups = aggregate_rows(table, rows, items)
                except ValueError as exc:
                    raise FunctionFailure(str(exc)) from None
                total = len(groups)
                page = groups[offset : offset + pagesize]
                count = len(page)
                columns = [list(c) for c in zip(*page, strict=True)] if page else [[] for _ in items]
            else:
                total = len(rows)
                page_rows = rows[offset : offset + pagesize]
                count = len(page_rows)
                columns = table.render_columns(page_rows, [i.field for i in items])
        labels = [i.label for i in items]
        outcome.records = count
        if returnformat != "xml":
            outcome.raw = _bare(returnformat, labels, columns)
            return
        attrs = {
            "listtype": spec.name,
            "totalcount": str(total),
            "offset": str(offset),
            "count": str(count),
            "numremaining": str(max(0, total - offset - count)),
        }
        outcome.write_data = _data_writer(attrs, spec.name, labels, columns, count)

    def _matching(
        self,
        table: Table,
        node: Node | None,
        order: tuple[Order, ...],
        auth: Auth,
        ci: bool,
        showprivate: bool = False,
    ) -> np.ndarray:
        visibility = Visibility(auth.locationid, showprivate, self.config.private_needs_showprivate)
        try:
            return matching_rows(table, node, order, visibility, ci, self.cache)
        except FilterError as exc:
            if exc.bad_date is not None:
                raise invalid_date(*exc.bad_date) from None
            raise FunctionFailure(str(exc)) from None

    def _object(self, element: ET.Element) -> ObjectSpec:
        name = (element.findtext("object") or "").strip()
        if not name:
            raise FunctionFailure("Required element <object> is missing or empty")
        spec = self.dataset.find_object(name)
        if spec is None:
            raise FunctionFailure(f"Object definition {name} not found")
        return spec

    def _refused(self, spec: ObjectSpec) -> set[str]:
        return {f.upper() for f in self.config.refused_fields.get(spec.name, [])}

    def _hidden(self, spec: ObjectSpec) -> set[str]:
        """Fields that do not exist in this configuration (AUDITHISTORY RECORDNO when 'absent')."""
        if spec.name == "AUDITHISTORY" and self.config.audit_recordno == "absent":
            return {"RECORDNO"}
        return set()

    def _check_permission(self, spec: ObjectSpec, operation: str) -> None:
        """PL04000005 for objects the user may not query (denied_objects). Real text, for readByQuery:
        "You do not have permission for API operation READ_BY_QUERY on objects of type arinvoice
        [Support ID: ...]"; Estuary probes every object this way and skips the denied ones. AUDITHISTORY
        denials carry no errorno in Estuary's experience ("AUDITHISTORY denials arrive without an errorno",
        models.py), only text containing "do not have permission to view audit history"."""
        if spec.name not in self.config.denied_objects:
            return
        if spec.name == "AUDITHISTORY":
            raise FunctionFailure(
                f"You do not have permission to view audit history. [Support ID: {support_id()}]",
                errorno=self.config.audit_denial_errorno,
            )
        raise FunctionFailure(
            f"You do not have permission for API operation {operation} on objects of type "
            f"{spec.name.lower()} [Support ID: {support_id()}]",
            errorno="PL04000005",
        )

    def _omitted(self, spec: ObjectSpec) -> set[str]:
        return {f.upper() for f in self.config.omitted_fields.get(spec.name, [])}

    def _fields(self, spec: ObjectSpec, names: list[str]) -> list[str]:
        """Canonical names of requested fields; every unknown or refused one fails the function at once."""
        refused = self._refused(spec) | self._hidden(spec)
        bad = [n for n in names if spec.field(n) is None or n.upper() in refused]
        if bad:
            raise invalid_fields(spec, bad)
        return [spec.field(n).name for n in names]  # type: ignore[union-attr]

    def _field(self, spec: ObjectSpec, name: str, where: str) -> str:
        return self._fields(spec, [name])[0]

    def _all_fields(self, spec: ObjectSpec) -> list[str]:
        """What ``*`` means: the fields the tenant really has (refused and omitted ones excluded)."""
        hidden = self._refused(spec) | self._omitted(spec) | self._hidden(spec)
        return [f.name for f in spec.fields if f.name.upper() not in hidden]

    def _present(self, spec: ObjectSpec, fields: list[str]) -> list[str]:
        """The requested fields minus those every record silently lacks (ITEM's replenishment fields)."""
        omitted = self._omitted(spec)
        return [f for f in fields if f.upper() not in omitted]

    def _select(self, select: ET.Element | None, spec: ObjectSpec) -> list[SelectItem]:
        if select is None or len(select) == 0:
            raise FunctionFailure("Required element <select> is missing or empty")
        for child in select:
            if child.tag != "field" and child.tag not in AGGREGATES:
                raise FunctionFailure(f"Unexpected element <{child.tag}> in select")
            if (child.text or "").strip() == "*":
                raise FunctionFailure(
                    "Returning all fields with '*' is not supported by query; list the fields"
                )
        names = [(child.text or "").strip() for child in select]
        canonical = self._fields(spec, names)
        omitted = self._omitted(spec)
        items = []
        for child, name, column in zip(select, names, canonical, strict=True):
            if child.tag == "field" and column.upper() in omitted:
                continue  # recorded ITEM: requested, yet absent from every record, no error
            # Real tenants answer a field named with '#' under the name without it (LIABACCT# ->
            # <LIABACCT>), so DEPT and DEPT# give two sibling <DEPT> elements (real-objects/README.md).
            element = name.replace("#", "")
            items.append(
                SelectItem(
                    child.tag, column, element if child.tag == "field" else f"{child.tag.upper()}.{element}"
                )
            )
        return items

    def _filter(self, parse: Callable[[], Node | None], spec: ObjectSpec) -> Node | None:
        try:
            node = parse()
        except FilterError as exc:
            raise FunctionFailure(str(exc)) from None
        if node is not None:
            self._fields(spec, list(dict.fromkeys(referenced_fields(node))))
        return node

    def _orderby(self, orderby: ET.Element | None, spec: ObjectSpec) -> tuple[Order, ...]:
        if orderby is None:
            return ()
        terms = []
        for order in orderby:
            if order.tag != "order":
                raise FunctionFailure(f"Unexpected element <{order.tag}> in orderby")
            name = (order.findtext("field") or "").strip()
            column = self._field(spec, name, "orderby")
            descending = order.find("descending") is not None
            if descending and order.find("ascending") is not None:
                raise FunctionFailure(f"Order on {name} cannot be both ascending and descending")
            terms.append(Order(column, descending))
        if not terms:
            raise FunctionFailure("orderby needs at least one <order>")
        return tuple(terms)

    @staticmethod
    def _option_text(options: ET.Element | None, name: str, default: str) -> str:
        if options is None or options.find(name) is None:
            return default
        return (options.findtext(name) or "").strip() or default

    def _option_bool(self, options: ET.Element | None, name: str) -> bool:
        value = self._option_text(options, name, "false").lower()
        if value not in ("true", "false", "1", "0"):
            raise FunctionFailure(f"Option {name} must be true or false, got '{value}'")
        return value in ("true", "1")

    @staticmethod
    def _int(element: ET.Element, name: str, default: int, low: int, high: int | None) -> int:
        text = element.findtext(name)
        if text is None or not text.strip():
            return default
        try:
            value = int(text.strip())
        except ValueError:
            raise FunctionFailure(f"{name} must be an integer, got '{text.strip()}'") from None
        if value < low or (high is not None and value > high):
            bound = f"between {low} and {high}" if high is not None else f"at least {low}"
            raise FunctionFailure(f"{name} must be {bound}, got {value}")
        return value

    # ----- readByQuery / readMore -------------------------------------------------------------

    def _read_by_query(self, element: ET.Element, auth: Auth, outcome: Outcome) -> None:
        allowed = {"object", "query", "fields", "pagesize", "returnFormat", "docparid"}
        for child in element:
            if child.tag not in allowed:
                raise FunctionFailure(f"Unexpected element <{child.tag}> in readByQuery")
        spec = self._object(element)
        self._check_permission(spec, "READ_BY_QUERY")
        table = self.dataset.table(spec.name)
        outcome.object = spec.name
        fields_text = (element.findtext("fields") or "").strip()
        if fields_text in ("", "*"):
            fields = self._all_fields(spec)
        else:
            names = [name.strip() for name in fields_text.split(",") if name.strip()]
            fields = self._present(spec, self._fields(spec, names))
        labels = [label(f) for f in fields]  # readByQuery answers with the canonical names
        node = (
            self._filter(lambda: parse_query_string(element.findtext("query")), spec)
            if (element.findtext("query") or "").strip()
            else None
        )
        pagesize = self._int(element, "pagesize", DEFAULT_PAGESIZE, 1, READBYQUERY_MAX_PAGESIZE)
        returnformat = (element.findtext("returnFormat") or "xml").strip().lower() or "xml"
        if returnformat not in RETURN_FORMATS:
            raise FunctionFailure(f"Invalid returnFormat '{returnformat}'; use xml, json or csv")
        with self.dataset.lock:
            rows = self._matching(table, node, (), auth, False)
        cursor = _Cursor(
            table=spec.name,
            spec=spec,
            rows=rows,
            fields=fields,
            labels=labels,
            pagesize=pagesize,
            returnformat=returnformat,
            position=0,
            owner=(auth.companyid, auth.userid),
            expires=time.time() + self.config.readmore_ttl_seconds,
        )
        self._page(cursor, None, outcome, "readByQuery")

    def _read_more(self, element: ET.Element, auth: Auth, outcome: Outcome) -> None:
        result_id = (element.findtext("resultId") or "").strip()
        owner = (auth.companyid, auth.userid)
        if not result_id and (element.findtext("object") or "").strip():
            spec = self._object(element)
            result_id = self.results.last_for(owner, spec.name) or ""
        if not result_id:
            raise FunctionFailure("readMore needs a <resultId> (or an <object> with an open readByQuery)")
        cursor = self.results.get(result_id)
        if cursor is None or cursor.owner != owner:
            raise FunctionFailure(
                f"Attempt to readMore with an invalid or expired resultId: {result_id}",
                errorno="Query Failed",
                correction="Run readByQuery again.",
            )
        self._check_permission(cursor.spec, "READ_BY_QUERY")
        self._page(cursor, result_id, outcome, "readMore")

    def _page(self, cursor: _Cursor, result_id: str | None, outcome: Outcome, function: str) -> None:
        table = self.dataset.table(cursor.table)
        outcome.object = cursor.table
        with self.dataset.lock:  # also serialises two readMore calls on the same resultId
            page = cursor.rows[cursor.position : cursor.position + cursor.pagesize]
            columns = table.render_columns(page, cursor.fields)
            count = len(page)
            cursor.position += count
            remaining = len(cursor.rows) - cursor.position
        if result_id is None and remaining > 0:
            result_id = self.results.add(cursor)
        elif result_id is not None and remaining == 0:
            self.results.drop(result_id)
        outcome.records = count
        if cursor.returnformat != "xml":
            outcome.raw = _bare(cursor.returnformat, cursor.labels, columns)
            return
        element = cursor.spec.name.lower()
        attrs = {
            "listtype": element,
            "count": str(count),
            "totalcount": str(len(cursor.rows)),
            "numremaining": str(remaining),
            "resultId": result_id or "",
        }
        outcome.write_data = _data_writer(attrs, element, cursor.labels, columns, count)


def _data_writer(
    attrs: dict[str, str], element: str, labels: list[str], columns: list[list[str]], count: int
) -> Callable[[XmlWriter], None]:
    def write(w: XmlWriter) -> None:
        if count == 0:
            w.empty("data", attrs)
            return
        w.start("data", attrs)
        w.records(element, labels, columns)
        w.end()

    return write


def label(field_name: str) -> str:
    """The element/key a field answers under: the name without '#' (real tenants drop it)."""
    return field_name.replace("#", "")


def _bare(returnformat: str, labels: list[str], columns: list[list[str]]) -> tuple[str, bytes]:
    """JSON array of flat string objects, or CSV with a header (empty body when there are no rows).

    Two fields can answer under one name (DEPT and DEPT#); JSON then repeats the key, as the XML repeats
    the element, rather than silently keeping one (the harsher case: no JSON evidence was recorded).
    """
    rows = list(zip(*columns, strict=True))
    if returnformat == "json":
        keys = [json.dumps(name, ensure_ascii=False) for name in labels]
        objects = [
            "{"
            + ", ".join(f"{k}: {json.dumps(v, ensure_ascii=False)}" for k, v in zip(keys, row, strict=True))
            + "}"
            for row in rows
        ]
        return JSON_CONTENT_TYPE, ("[" + ", ".join(objects) + "]").encode("utf-8")
    if not rows:
        return "text/csv; charset=UTF-8", b""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(labels)
    writer.writerows(rows)
    return "text/csv; charset=UTF-8", buffer.getvalue().encode("utf-8")
