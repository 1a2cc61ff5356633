"""The ``lookup`` answer: an object definition's fields and their types."""

from __future__ import annotations

from .query import FieldInfo
from .response import ParsedResult, child_text


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
        infos.append(FieldInfo(name=name, data_type=child_text(element, "DATATYPE")))
    return infos
