"""Sage Intacct XML gateway client: sessions, queries, typed errors, retries.

Typical use::

    sender, user = credentials_from_env()
    client = IntacctClient(sender)
    sessions = SessionManager(client, user, cache=my_cache)
    query = Query("CUSTOMER", ("RECORDNO", "NAME"), filter=ge("WHENMODIFIED", since),
                  order_by=(OrderBy("RECORDNO"),), page_size=2000)
    page = sessions.call(lambda session: client.query(session, query))
"""

from . import filters
from .client import DEFAULT_GATEWAY_URL, DEFAULT_SESSION_LIFETIME, IntacctClient, TransactionTally
from .credentials import SenderCredentials, UserCredentials, credentials_from_env, credentials_from_mapping
from .envelope import last_json_text_value
from .errors import (
    AuthenticationError,
    ControlError,
    ErrorDetail,
    FunctionError,
    GatewayError,
    IntacctError,
    InvalidQueryError,
    InvalidResponseError,
    MissingCredentialsError,
    NotRetriedError,
    PossiblyStillRunningError,
    RateLimitError,
    SessionExpiredError,
    TransportError,
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
from .query import FieldInfo, OrderBy, Query, QueryPage, ReadPage, Record
from .retry import RetryPolicy, Timeouts
from .session import ApiSession, SessionCache, SessionManager

__all__ = [
    "DEFAULT_GATEWAY_URL",
    "DEFAULT_SESSION_LIFETIME",
    "ApiSession",
    "AuthenticationError",
    "Condition",
    "ControlError",
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
    "MissingCredentialsError",
    "NotRetriedError",
    "OrderBy",
    "PossiblyStillRunningError",
    "Query",
    "QueryPage",
    "RateLimitError",
    "ReadPage",
    "Record",
    "RetryPolicy",
    "SenderCredentials",
    "SessionCache",
    "SessionExpiredError",
    "SessionManager",
    "Timeouts",
    "TransactionTally",
    "TransportError",
    "UserCredentials",
    "and_",
    "between",
    "credentials_from_env",
    "credentials_from_mapping",
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
]
