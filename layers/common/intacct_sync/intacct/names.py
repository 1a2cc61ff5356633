"""What Intacct accepts as an object or field name: the one copy of the rules, for requests, filters,
the catalogue and queries alike."""

from __future__ import annotations

import re
from typing import Any

from .errors import InvalidQueryError

# \Z, not $: "$" also matches before a trailing newline, which would let "CUSTOMER\n" through.
OBJECT_NAME = re.compile(r"^[A-Za-z][A-Za-z0-9_]{0,99}\Z")
# Dots reach related objects' fields (DISPLAYCONTACT.MAILADDRESS.CITY).
FIELD_NAME = re.compile(r"^[A-Za-z][A-Za-z0-9_]*(\.[A-Za-z][A-Za-z0-9_]*)*\Z")
MAX_FIELD_NAME_LENGTH = 256


def check_object_name(name: Any, what: str = "object") -> str:
    """Return ``name`` if it is a valid Intacct object name, else raise ``InvalidQueryError``."""
    if not isinstance(name, str) or not OBJECT_NAME.match(name):
        raise InvalidQueryError(
            f"{what} must be an Intacct name (a letter, then letters, digits or underscores), "
            f"got {str(name)[:80]!r}"
        )
    return name


def check_field_name(name: Any, what: str = "field") -> str:
    """Return ``name`` if it is a valid Intacct field name (dots for related fields)."""
    if not isinstance(name, str):
        raise InvalidQueryError(f"{what} name must be a string, got {type(name).__name__}")
    if len(name) > MAX_FIELD_NAME_LENGTH or not FIELD_NAME.match(name):
        raise InvalidQueryError(
            f"{what} name {name[:80]!r} is not a valid Intacct name "
            "(letters, digits and underscores, starting with a letter; dots separate related fields)"
        )
    return name
