"""Helpers for the simulator tests: raw XML envelopes over real HTTP and response accessors."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from dataclasses import dataclass, field
from typing import Any
from xml.sax.saxutils import escape

import requests

from intacct_sim import Simulator

SENDER_ID = "intacct-sim"
SENDER_PASSWORD = "intacct-sim-pw"
COMPANY = "SIMCO"
USER = "sim-user"
USER_PASSWORD = "sim-user-pw"


def login_xml(
    userid: str = USER,
    companyid: str = COMPANY,
    password: str = USER_PASSWORD,
    locationid: str | None = None,
) -> str:
    """An <authentication> body with <login>."""
    location = f"<locationid>{escape(locationid)}</locationid>" if locationid is not None else ""
    return (
        f"<login><userid>{escape(userid)}</userid><companyid>{escape(companyid)}</companyid>"
        f"<password>{escape(password)}</password>{location}</login>"
    )


def envelope(
    functions: str | list[str],
    *,
    auth: str | None = None,
    sessionid: str | None = None,
    sender_id: str = SENDER_ID,
    sender_password: str = SENDER_PASSWORD,
    controlid: str = "ctl-1",
    uniqueid: str = "false",
    transaction: str | None = None,
    control_extra: str = "",
    pretty: bool = False,
) -> bytes:
    """A complete DTD 3.0 request. ``auth`` is raw <authentication> content (default: login)."""
    if sessionid is not None:
        auth = f"<sessionid>{escape(sessionid)}</sessionid>"
    auth = auth if auth is not None else login_xml()
    content = "".join(functions) if isinstance(functions, list) else functions
    tx = f' transaction="{transaction}"' if transaction is not None else ""
    return (
        '<?xml version="1.0" encoding="UTF-8"?>\n<request><control>'
        f"<senderid>{escape(sender_id)}</senderid><password>{escape(sender_password)}</password>"
        f"<controlid>{escape(controlid)}</controlid><uniqueid>{uniqueid}</uniqueid><dtdversion>3.0</dtdversion>"
        f"<includewhitespace>{'true' if pretty else 'false'}</includewhitespace>{control_extra}</control>"
        f"<operation{tx}><authentication>{auth}</authentication><content>{content}</content></operation></request>"
    ).encode()


def function(inner: str, controlid: str = "f1") -> str:
    """One <function controlid>."""
    return f'<function controlid="{escape(controlid)}">{inner}</function>'


def query_xml(
    obj: str,
    fields: list[str],
    *,
    filter_xml: str = "",
    order: list[tuple[str, str]] | None = None,
    pagesize: int | None = None,
    offset: int | None = None,
    options: str = "",
    showprivate: bool = True,
) -> str:
    """A <query> element. Like the production taps (hotglue, Meltano), it asks for the entities' private
    records with <showprivate>true</showprivate> unless told not to."""
    if showprivate and "showprivate" not in options:
        options += "<showprivate>true</showprivate>"
    select = "".join(f"<field>{escape(f)}</field>" for f in fields)
    orderby = ""
    if order:
        orderby = (
            "<orderby>" + "".join(f"<order><field>{f}</field><{d}/></order>" for f, d in order) + "</orderby>"
        )
    parts = [f"<object>{obj}</object><select>{select}</select>"]
    if filter_xml:
        parts.append(f"<filter>{filter_xml}</filter>")
    parts.append(orderby)
    if options:
        parts.append(f"<options>{options}</options>")
    if pagesize is not None:
        parts.append(f"<pagesize>{pagesize}</pagesize>")
    if offset is not None:
        parts.append(f"<offset>{offset}</offset>")
    return "<query>" + "".join(parts) + "</query>"


def cmp(op: str, field_name: str, *values: str) -> str:
    """A filter operator element."""
    vals = "".join(f"<value>{escape(v)}</value>" for v in values)
    return f"<{op}><field>{field_name}</field>{vals}</{op}>"


def parse_bytes(body: bytes) -> ET.Element:
    """Parse a simulator document."""
    return ET.fromstring(body)  # noqa: S314 - our own simulator's output


def parse(response: requests.Response) -> ET.Element:
    """The XML document of a response (bytes: the Content-Type header carries no charset)."""
    return parse_bytes(response.content)


def results(doc: ET.Element) -> list[ET.Element]:
    """Every <result> of the first operation."""
    return doc.findall("./operation/result")


def error_of(element: ET.Element) -> dict[str, str]:
    """The first <error> below an element as a dict."""
    err = element.find(".//errormessage/error")
    assert err is not None, ET.tostring(element, encoding="unicode")
    return {child.tag: child.text or "" for child in err}


def records_of(result: ET.Element) -> list[dict[str, str]]:
    """Records of a result's <data> (element text, '' for empty elements)."""
    data = result.find("data")
    assert data is not None
    return [{child.tag: child.text or "" for child in record} for record in data]


@dataclass
class Gateway:
    """A tiny raw-XML client for one simulator (a keep-alive requests.Session)."""

    sim: Simulator
    http: requests.Session = field(default_factory=requests.Session)
    sessionid: str | None = None

    def post(self, body: bytes, url: str | None = None, **kwargs: Any) -> requests.Response:
        """POST raw bytes to the gateway."""
        return self.http.post(
            url or self.sim.url, data=body, headers={"Content-Type": "application/xml"}, **kwargs
        )

    def login(self, locationid: str | None = None) -> str:
        """getAPISession with the default login; remembers and returns the session id."""
        response = self.post(envelope(function("<getAPISession/>"), auth=login_xml(locationid=locationid)))
        assert response.status_code == 200, response.text
        sessionid = parse(response).findtext("./operation/result/data/api/sessionid")
        assert sessionid
        self.sessionid = sessionid
        return sessionid

    def call(self, *functions: str, **kwargs: Any) -> ET.Element:
        """Run functions with the current session (logging in first if needed); returns the document."""
        if self.sessionid is None:
            self.login()
        response = self.post(envelope(list(functions), sessionid=self.sessionid, **kwargs))
        assert response.status_code == 200, response.text
        return parse(response)

    def result(self, inner: str, **kwargs: Any) -> ET.Element:
        """Run one function and return its <result>."""
        return results(self.call(function(inner), **kwargs))[0]

    def query(self, obj: str, fields: list[str], **kwargs: Any) -> ET.Element:
        """Run one query and return its <result>."""
        return self.result(query_xml(obj, fields, **kwargs))

    def raw(self, inner: str) -> requests.Response:
        """Run one function with the session and return the HTTP response (for json/csv bodies)."""
        if self.sessionid is None:
            self.login()
        return self.post(envelope(function(inner), sessionid=self.sessionid))


def top_level(records: list[dict[str, str]]) -> list[dict[str, str]]:
    """The records a top-level readByQuery sees: those created at the top level (no MEGAENTITYID)."""
    return [r for r in records if r.get("MEGAENTITYID", "") == ""]


def data_attrs(result: ET.Element) -> dict[str, str]:
    """Attributes of a result's <data>."""
    data = result.find("data")
    assert data is not None, ET.tostring(result, encoding="unicode")
    return dict(data.attrib)
