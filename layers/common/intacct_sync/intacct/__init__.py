"""Sage Intacct XML gateway client: sessions, queries, typed errors, retries.

Typical use::

    sender, user = credentials_from_env()
    client = IntacctClient(sender)
    sessions = SessionManager(lambda: client.get_api_session(user), cache=my_cache)
    query = Query("CUSTOMER", ("RECORDNO", "NAME"), filter=ge("WHENMODIFIED", since),
                  order_by=(OrderBy("RECORDNO"),), page_size=2000)
    page = sessions.call(lambda session: client.query(session, query))
"""

from typing import TYPE_CHECKING, Any

from . import filters
from .classify import refused_fields
from .credentials import (
    SenderCredentials,
    UserCredentials,
    credentials_from_env,
    credentials_from_mapping,
    credentials_mapping,
)
from .errors import (
    RETRYABLE_BY_THE_WORKFLOW,
    AuthenticationError,
    ControlError,
    CredentialsError,
    ErrorDetail,
    FunctionError,
    GatewayError,
    IntacctError,
    InvalidQueryError,
    InvalidResponseError,
    NotRetriedError,
    PossiblyStillRunningError,
    RateLimitError,
    SessionExpiredError,
    ThrottledError,
    TransportError,
    UnreadableFormattingError,
)
from .filters import (
    Condition,
    Filter,
    Group,
    and_,
    between,
    eq,
    filter_from_dict,
    ge,
    gt,
    in_,
    is_not_null,
    is_null,
    le,
    like,
    lt,
    ne,
    not_in,
    not_like,
    or_,
)
from .formatting import STANDARD, DateFormat, UserFormatting
from .json_page import last_json_text_value
from .names import answered_by_position, answered_name, check_field_name, check_object_name
from .policy import RemainingMs, RetryPolicy, Timeouts
from .query import MAX_QUERY_PAGE_SIZE, FieldInfo, OrderBy, Query, QueryPage, Record
from .request import DEFAULT_GATEWAY_URL
from .session import ApiSession, SessionCache, SessionManager
from .tally import TransactionTally

if TYPE_CHECKING:
    from .client import DEFAULT_SESSION_LIFETIME, IntacctClient

# The HTTP client (requests, urllib3: a large part of a cold start) is imported on first use, so code
# that only builds filters or validates queries (the API function) never loads it.
_FROM_CLIENT = frozenset(("DEFAULT_SESSION_LIFETIME", "IntacctClient"))


def __getattr__(name: str) -> Any:
    if name in _FROM_CLIENT:
        from . import client

        return getattr(client, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = [
    "DEFAULT_GATEWAY_URL",
    "DEFAULT_SESSION_LIFETIME",
    "MAX_QUERY_PAGE_SIZE",
    "RETRYABLE_BY_THE_WORKFLOW",
    "STANDARD",
    "ApiSession",
    "AuthenticationError",
    "Condition",
    "ControlError",
    "CredentialsError",
    "DateFormat",
    "ErrorDetail",
    "FieldInfo",
    "Filter",
    "FunctionError",
    "GatewayError",
    "Group",
    "IntacctClient",
    "IntacctError",
    "InvalidQueryError",
    "InvalidResponseError",
    "NotRetriedError",
    "OrderBy",
    "PossiblyStillRunningError",
    "Query",
    "QueryPage",
    "RateLimitError",
    "Record",
    "RemainingMs",
    "RetryPolicy",
    "SenderCredentials",
    "SessionCache",
    "SessionExpiredError",
    "SessionManager",
    "ThrottledError",
    "Timeouts",
    "TransactionTally",
    "TransportError",
    "UnreadableFormattingError",
    "UserCredentials",
    "UserFormatting",
    "and_",
    "answered_by_position",
    "answered_name",
    "between",
    "check_field_name",
    "check_object_name",
    "credentials_from_env",
    "credentials_from_mapping",
    "credentials_mapping",
    "eq",
    "filter_from_dict",
    "filters",
    "ge",
    "gt",
    "in_",
    "is_not_null",
    "is_null",
    "last_json_text_value",
    "le",
    "like",
    "lt",
    "ne",
    "not_in",
    "not_like",
    "or_",
    "refused_fields",
]
