"""What Intacct accepts as an object or field name, and the name it answers a field under: the one copy
of the rules, for requests, filters, the catalogue, queries and responses alike."""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

from .errors import InvalidQueryError

# \Z, not $: "$" also matches before a trailing newline, which would let "CUSTOMER\n" through.
OBJECT_NAME = re.compile(r"^[A-Za-z][A-Za-z0-9_]{0,99}\Z")
# Dots reach related objects' fields (DISPLAYCONTACT.MAILADDRESS.CITY). A '#' is part of real field names
# (CREDITCARD's LIABACCT#, DEPT#, LOCATION#; CHECKINGACCOUNT's and SAVINGSACCOUNT's DEPT#, LOCATION#:
# docs/intacct/real-objects/*.fields, sent by a production tap and accepted by a real tenant).
# User-defined dimensions name theirs in camelCase (id, createdAt, updatedAt: DIMENSION.fields).
_OWN_FIELD = r"[A-Za-z][A-Za-z0-9_#]*"
FIELD_NAME = re.compile(rf"^{_OWN_FIELD}(\.{_OWN_FIELD})*\Z")
MAX_FIELD_NAME_LENGTH = 256


def check_object_name(name: Any, what: str = "object") -> str:
    """Return ``name`` if it is a valid Intacct object name, else raise ``InvalidQueryError``."""
    if not isinstance(name, str) or not OBJECT_NAME.match(name):
        raise InvalidQueryError(
            f"{what} must be an Intacct name (a letter, then letters, digits or underscores), "
            f"got {str(name)[:80]!r}"
        )
    return name


def check_field_name(name: Any, what: str = "field", related: bool = True) -> str:
    """Return ``name`` if it is a valid Intacct field name (dots for related fields, '#' as Intacct has
    it in LIABACCT#), else raise ``InvalidQueryError``. The name is kept as spelled (``updatedAt``).

    ``related=False``: the name must be a field of the object itself, not a dotted related field. That is
    the rule for the fields that key, window and name an object's records (key, modified, created and id
    fields; ``export.keyfields``): dot notation is documented for ``select`` and ``filter`` only, not for
    ``orderby``, and it reaches a *many-to-one* related object (docs/intacct/PROTOCOL.md §3), so such a
    value repeats across records (no key) and changes when the related record does (no modified or
    created time), and AUDITHISTORY names a deleted record by its own unique name field (§9)."""
    if not isinstance(name, str):
        raise InvalidQueryError(f"{what} name must be a string, got {type(name).__name__}")
    if len(name) > MAX_FIELD_NAME_LENGTH or not FIELD_NAME.match(name):
        raise InvalidQueryError(
            f"{what} name {name[:80]!r} is not a valid Intacct name "
            "(letters, digits, underscores and '#', starting with a letter; dots separate related fields)"
        )
    if not related and "." in name:
        raise InvalidQueryError(
            f"{what} {name[:80]!r} must be a field of the object itself, not of a related object (no dots)"
        )
    return name


def answered_name(field: str) -> str:
    """The element (XML) or key (JSON) a ``query`` answers ``field`` under: the name without its ``#``.

    Recorded from a real tenant (docs/intacct/real-objects/README.md, CREDITCARD, CHECKINGACCOUNT,
    SAVINGSACCOUNT): ``LIABACCT#`` comes back as ``<LIABACCT>``, and a request naming both ``DEPT`` and
    ``DEPT#`` gets two sibling ``<DEPT>`` elements that only their position tells apart."""
    return field.replace("#", "")


def answered_by_position(fields: Sequence[str]) -> bool:
    """Whether a page of ``fields`` must be read by position: some field is answered under another name
    (``answered_name``), so names alone cannot say which value is whose."""
    return any("#" in field for field in fields)
