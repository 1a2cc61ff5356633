"""The DTD 3.0 request envelope: parsing, structural checks, and the gateway-level error documents.

Requests are parsed with ElementTree rather than xmltodict because operator trees and ``select``
lists need document order of mixed child elements. DOCTYPE/ENTITY declarations are refused before
parsing, so entity-expansion attacks cannot reach the parser.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from dataclasses import dataclass, field

from .xmlwriter import XmlWriter

CONTROL_CHILDREN = {
    "appid",
    "senderid",
    "password",
    "controlid",
    "uniqueid",
    "dtdversion",
    "policyid",
    "debug",
    "includewhitespace",
    "showadditionalerrorinfo",
}
IMPLEMENTED_FUNCTIONS = {
    "getAPISession",
    "query",
    "readByQuery",
    "readMore",
    "lookup",
    "readByName",
    "readUserFormatting",
    "getDimensions",
}
# Valid 3.0 functions the simulator does not implement: they fail as functions, not as schema errors.
KNOWN_FUNCTIONS = IMPLEMENTED_FUNCTIONS | {
    "read",
    "readRelated",
    "readView",
    "readReport",
    "readEntityDetails",
    "inspect",
    "create",
    "update",
    "delete",
    "getUserPermissions",
    "getDimensionRestrictedData",
    "getFinancialSetup",
    "installApp",
    "consolidate",
    "create_customer",
    "update_customer",
    "delete_customer",
    "get_list",
}
BOOLEANS = {"true": True, "false": False, "1": True, "0": False}


class EnvelopeError(Exception):
    """A control-level failure (malformed XML, schema problem, bad sender...)."""

    def __init__(
        self, errorno: str, description: str, description2: str, control: dict[str, str] | None = None
    ):
        super().__init__(f"{errorno} {description2}")
        self.errorno = errorno
        self.description = description
        self.description2 = description2
        self.control = control or {}


def schema_error(detail: str, control: dict[str, str] | None = None) -> EnvelopeError:
    """XL03000003: the request is not valid XML or does not match the 3.0 schema."""
    return EnvelopeError("XL03000003", "XML Parse schema error", detail, control)


@dataclass
class Login:
    """``<login>`` credentials."""

    userid: str
    companyid: str
    password: str
    clientid: str | None = None
    locationid: str | None = None


@dataclass
class FunctionCall:
    """One ``<function controlid>`` and its single inner element."""

    controlid: str
    name: str
    element: ET.Element


@dataclass
class Operation:
    """One ``<operation>``: its authentication and functions."""

    transaction: bool
    login: Login | None
    sessionid: str | None
    functions: list[FunctionCall]


@dataclass
class Request:
    """A parsed, structurally valid request."""

    control: dict[str, str]  # raw control values echoed back (senderid, controlid, uniqueid, dtdversion)
    sender_password: str | None
    uniqueid: bool
    pretty: bool
    policyid: str | None
    operations: list[Operation] = field(default_factory=list)

    def function_names(self) -> list[str]:
        """Names of every function in the request."""
        return [f.name for op in self.operations for f in op.functions]

    def objects(self) -> list[str]:
        """Upper-case object names referenced by ``<object>`` children of the functions."""
        names = []
        for op in self.operations:
            for f in op.functions:
                obj = f.element.find("object")
                if obj is not None and obj.text:
                    names.append(obj.text.strip().upper())
        return names


def _text(element: ET.Element | None) -> str | None:
    if element is None:
        return None
    return (element.text or "").strip()


def _bool(value: str | None, name: str, default: bool, control: dict[str, str]) -> bool:
    if value is None:
        return default
    if value.lower() not in BOOLEANS:
        raise schema_error(
            f"Element '{name}': '{value}' is not a valid value of the atomic type 'xs:boolean'.", control
        )
    return BOOLEANS[value.lower()]


def parse_request(body: bytes) -> Request:
    """Parse and structurally validate a request; raise EnvelopeError for control-level failures."""
    head = body[:4096].upper()
    if b"<!DOCTYPE" in head or b"<!ENTITY" in head:
        raise schema_error("DOCTYPE and ENTITY declarations are not allowed")
    try:
        root = ET.fromstring(body)  # noqa: S314 - DTDs refused above; loopback test server
    except ET.ParseError as exc:
        raise schema_error(f"XML parse error: {exc}") from None
    if root.tag != "request":
        raise schema_error(
            f"Element '{root.tag}': No matching global declaration available for the validation root."
        )
    control_el = root.find("control")
    if control_el is None:
        raise schema_error("Element 'request': Missing child element(s). Expected is ( control ).")
    control = {
        "senderid": _text(control_el.find("senderid")) or "",
        "controlid": _text(control_el.find("controlid")) or "",
        "uniqueid": _text(control_el.find("uniqueid")) or "false",
        "dtdversion": _text(control_el.find("dtdversion")) or "",
    }
    for child in control_el:
        if child.tag not in CONTROL_CHILDREN:
            raise schema_error(f"Element '{child.tag}': This element is not expected.", control)
    for required in ("senderid", "controlid"):
        if control_el.find(required) is None:
            raise schema_error(
                f"Element 'control': Missing child element(s). Expected is ( {required} ).", control
            )
    if len(control["controlid"]) > 256:
        raise schema_error("Element 'controlid': [facet 'maxLength'] The value is longer than 256.", control)
    if control_el.find("dtdversion") is None:
        raise schema_error(
            "Element 'control': Missing child element(s). Expected is ( dtdversion ).", control
        )
    if control["dtdversion"] != "3.0":
        raise schema_error(
            f"dtdversion '{control['dtdversion']}' is not supported by this gateway; use 3.0", control
        )
    request = Request(
        control=control,
        sender_password=_text(control_el.find("password")),
        uniqueid=_bool(_text(control_el.find("uniqueid")), "uniqueid", False, control),
        pretty=_bool(_text(control_el.find("includewhitespace")), "includewhitespace", True, control),
        policyid=_text(control_el.find("policyid")) or None,
    )
    operations = root.findall("operation")
    if not operations:
        raise schema_error("Element 'request': Missing child element(s). Expected is ( operation ).", control)
    for child in root:
        if child.tag not in ("control", "operation"):
            raise schema_error(f"Element '{child.tag}': This element is not expected.", control)
    for op_el in operations:
        request.operations.append(_parse_operation(op_el, control))
    return request


def _parse_operation(op_el: ET.Element, control: dict[str, str]) -> Operation:
    transaction = _bool(op_el.get("transaction"), "transaction", False, control)
    auth = op_el.find("authentication")
    if auth is None:
        raise schema_error(
            "Element 'operation': Missing child element(s). Expected is ( authentication ).", control
        )
    login_el, session_el = auth.find("login"), auth.find("sessionid")
    if (login_el is None) == (session_el is None) or len(auth) != 1:
        raise schema_error("Element 'authentication': Expected exactly one of ( login, sessionid ).", control)
    login = None
    if login_el is not None:
        values = {}
        for name in ("userid", "companyid", "password"):
            if login_el.find(name) is None:
                raise schema_error(
                    f"Element 'login': Missing child element(s). Expected is ( {name} ).", control
                )
            values[name] = _text(login_el.find(name)) or ""
        login = Login(
            **values,
            clientid=_text(login_el.find("clientid")) or None,
            locationid=_text(login_el.find("locationid")) or None,
        )
    content = op_el.find("content")
    if content is None or len(content) == 0:
        raise schema_error("Element 'content': Missing child element(s). Expected is ( function ).", control)
    functions = []
    for fn_el in content:
        if fn_el.tag != "function":
            raise schema_error(
                f"Element '{fn_el.tag}': This element is not expected. Expected is ( function ).", control
            )
        controlid = fn_el.get("controlid")
        if controlid is None:
            raise schema_error(
                "Element 'function': The attribute 'controlid' is required but missing.", control
            )
        if len(controlid) > 256:
            raise schema_error(
                "Attribute 'controlid': [facet 'maxLength'] The value is longer than 256.", control
            )
        inner = list(fn_el)
        if len(inner) != 1:
            raise schema_error("Element 'function': Expected exactly one function element.", control)
        if inner[0].tag not in KNOWN_FUNCTIONS:
            raise schema_error(f"Element '{inner[0].tag}': This element is not expected.", control)
        functions.append(FunctionCall(controlid, inner[0].tag, inner[0]))
    return Operation(
        transaction=transaction,
        login=login,
        sessionid=_text(session_el) if session_el is not None else None,
        functions=functions,
    )


# ----- gateway-level documents --------------------------------------------------------------------


def write_control(w: XmlWriter, status: str, control: dict[str, str]) -> None:
    """The response ``<control>`` block echoing the request's control values."""
    w.start("control")
    w.leaf("status", status)
    w.leaf("senderid", control.get("senderid", ""))
    w.leaf("controlid", control.get("controlid", ""))
    w.leaf("uniqueid", control.get("uniqueid", "false"))
    w.leaf("dtdversion", control.get("dtdversion") or "3.0")
    w.end()


def write_errors(w: XmlWriter, errors: list[tuple[str, str, str, str]]) -> None:
    """``<errormessage>`` with (errorno, description, description2, correction) entries."""
    w.start("errormessage")
    for errorno, description, description2, correction in errors:
        w.start("error")
        w.leaf("errorno", errorno)
        w.leaf("description", description)
        w.leaf("description2", description2)
        w.leaf("correction", correction)
        w.end()
    w.end()


def control_failure(error: EnvelopeError, pretty: bool = True) -> bytes:
    """HTTP 200 control-level failure (PROTOCOL 5.1)."""
    w = XmlWriter(pretty)
    w.start("response")
    write_control(w, "failure", error.control)
    write_errors(w, [(error.errorno, error.description, error.description2, "")])
    w.end()
    return w.to_bytes()


def gateway_failure(errorno: str, description: str) -> bytes:
    """Gateway-level failure with a bare control block (PROTOCOL 5.3 / 5.5: HTTP 401, 429...)."""
    w = XmlWriter(pretty=True)
    w.start("response")
    w.start("control")
    w.leaf("status", "failure")
    w.end()
    w.start("errormessage")
    w.start("error")
    w.leaf("errorno", errorno)
    w.leaf("description", description)
    w.end()
    w.end()
    w.end()
    return w.to_bytes()
