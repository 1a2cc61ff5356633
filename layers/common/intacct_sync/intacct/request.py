"""Request documents for the XML gateway, built with xmltodict (every value escaped).

``build_request`` wraps one function in the DTD 3.0 envelope (``<control>``, ``<authentication>``,
``<content><function>``); the ``*_body`` functions build each function's element content.
"""

from __future__ import annotations

import uuid
from typing import Any

import xmltodict

from .credentials import SenderCredentials, UserCredentials
from .errors import CredentialsError
from .filters import check_text
from .query import Query

DTD_VERSION = "3.0"
# Where a first login goes (the official SDKs' default); later calls go to the session's endpoint.
DEFAULT_GATEWAY_URL = "https://api.intacct.com/ia/xml/xmlgw.phtml"


def new_control_id() -> str:
    """A random id for ``<controlid>`` / ``function@controlid`` (uniqueid is false, so it is not checked)."""
    return uuid.uuid4().hex


def login_auth(user: UserCredentials) -> dict[str, Any]:
    """The ``<authentication>`` content for a login (``locationid`` selects the entity)."""
    login: dict[str, Any] = {
        "userid": _secret_text(user.user_id, "user id"),
        "companyid": _secret_text(user.company_id, "company id"),
        "password": _secret_text(user.user_password, "user password"),
    }
    if user.entity_id:
        login["locationid"] = _secret_text(user.entity_id, "entity id")
    return {"login": login}


def session_auth(session_id: str) -> dict[str, Any]:
    """The ``<authentication>`` content for a session call."""
    return {"sessionid": _secret_text(session_id, "session id")}


def _secret_text(value: str, what: str) -> str:
    # The message names the problem and the code point only, never the value.
    try:
        return check_text(value, what)
    except ValueError as exc:
        raise CredentialsError(str(exc)) from None


def build_request(
    sender: SenderCredentials,
    auth: dict[str, Any],
    function_name: str,
    function_body: Any,
    *,
    control_id: str | None = None,
    function_control_id: str | None = None,
) -> bytes:
    """The complete request document as UTF-8 bytes."""
    document = {
        "request": {
            "control": {
                "senderid": _secret_text(sender.sender_id, "sender id"),
                "password": _secret_text(sender.sender_password, "sender password"),
                "controlid": control_id or new_control_id(),
                "uniqueid": "false",
                "dtdversion": DTD_VERSION,
                "includewhitespace": "false",
            },
            "operation": {
                "@transaction": "false",
                "authentication": auth,
                "content": {
                    "function": {
                        "@controlid": function_control_id or new_control_id(),
                        function_name: function_body,
                    }
                },
            },
        }
    }
    text: str = xmltodict.unparse(document, encoding="utf-8", full_document=True)
    return text.encode("utf-8")


def query_body(query: Query) -> dict[str, Any]:
    """The ``<query>`` element content."""
    body: dict[str, Any] = {
        "object": query.object,
        "select": {"field": list(query.fields)},
    }
    if query.filter is not None:
        body["filter"] = query.filter.to_xml_dict()
    if query.order_by:
        body["orderby"] = {
            "order": [
                {"field": order.field, ("descending" if order.descending else "ascending"): None}
                for order in query.order_by
            ]
        }
    body["options"] = {
        "caseinsensitive": "true" if query.case_insensitive else "false",
        "showprivate": "true" if query.show_private else "false",
        "returnformat": query.return_format,
    }
    body["pagesize"] = str(query.page_size)
    body["offset"] = str(query.offset)
    return body


def read_by_name_body(object_name: str, keys: str, fields: str) -> dict[str, Any]:
    """The ``<readByName>`` element content (e.g. USERINFO by login id, to learn the user's RECORDNO)."""
    return {"object": object_name, "keys": check_text(keys, "readByName keys"), "fields": fields}


def read_user_formatting_body(user_recordno: str) -> dict[str, Any]:
    """The ``<readUserFormatting>`` element content: the user's RECORDNO."""
    return {"key": check_text(user_recordno, "user RECORDNO")}
