"""The ``lookup`` answer: an object definition's fields, types and valid values."""

from __future__ import annotations

from .query import FieldInfo
from .response import ParsedResult, child_text

_TRUE = {"true", "t", "1", "yes", "y"}


def field_infos(result: ParsedResult) -> list[FieldInfo]:
    """The ``<Field>`` entries of a successful ``lookup`` result, in Intacct's order."""
    data = result.data
    if data is None:
        return []
    infos = []
    for element in data.iter("Field"):
        name = child_text(element, "ID")
        if not name:
            continue
        valid = element.find("VALIDVALUES")
        infos.append(
            FieldInfo(
                name=name,
                label=child_text(element, "LABEL"),
                data_type=child_text(element, "DATATYPE"),
                required=child_text(element, "REQUIRED").lower() in _TRUE,
                read_only=child_text(element, "READONLY").lower() in _TRUE,
                is_custom=child_text(element, "ISCUSTOM").lower() in _TRUE,
                description=child_text(element, "DESCRIPTION"),
                valid_values=tuple((v.text or "") for v in valid.findall("VALIDVALUE"))
                if valid is not None
                else (),
            )
        )
    return infos
