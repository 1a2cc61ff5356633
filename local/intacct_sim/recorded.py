"""The recorded real records (docs/intacct/real-objects/records/<OBJECT>.xml), read back as the fields the
recorded request named (<OBJECT>.fields), for replaying them (``Simulator.replay``).

Each recorded line is one record element exactly as a real tenant answered it: its children are the
requested fields, in request order, each named without its ``#`` (so CREDITCARD's DEPT and DEPT# are two
``<DEPT>``), and ITEM's leave out its 7 replenishment fields (records/README.md).
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from pathlib import Path

from .realobjects import ITEM_OMITTED

REAL_OBJECTS = Path(__file__).resolve().parents[2] / "docs" / "intacct" / "real-objects"
# Fields a recorded object's records leave out although its request named them.
OMITTED = {"ITEM": ITEM_OMITTED}


def recorded_objects(folder: Path = REAL_OBJECTS) -> list[str]:
    """The objects with recorded records."""
    return sorted(p.stem for p in (folder / "records").glob("*.xml"))


def requested_fields(obj: str, folder: Path = REAL_OBJECTS) -> list[str]:
    """The fields the recorded request for ``obj`` named, in order, spelled as sent."""
    lines = (folder / f"{obj}.fields").read_text(encoding="utf-8").splitlines()
    return [line.strip() for line in lines if line.strip()]


def recorded_lines(obj: str, folder: Path = REAL_OBJECTS) -> list[str]:
    """The recorded record elements of ``obj``, one per line, as answered."""
    text = (folder / "records" / f"{obj}.xml").read_text(encoding="utf-8")
    return [line for line in text.splitlines() if line.strip()]


def recorded_records(obj: str, folder: Path = REAL_OBJECTS) -> list[dict[str, str]]:
    """Each recorded record as {requested field: text} ('' when empty; omitted fields absent). Raises
    ValueError when a record's elements are not the requested fields in order."""
    fields = [f for f in requested_fields(obj, folder) if f not in OMITTED.get(obj, ())]
    records = []
    for line in recorded_lines(obj, folder):
        element = ET.fromstring(line)  # noqa: S314 - the repository's own recorded file
        tags = [child.tag for child in element]
        if tags != [f.replace("#", "") for f in fields]:
            raise ValueError(f"a recorded {obj} record does not answer its requested fields in order")
        records.append({f: child.text or "" for f, child in zip(fields, element, strict=True)})
    return records
