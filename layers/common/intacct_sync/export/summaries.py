"""Part summary objects: each page Task's index of the parts it landed.

Every part carries its summary as S3 metadata, and that stays the source of truth. Reading it takes one
HEAD per part, so each page Task also writes one small object listing the metadata of the parts it
landed; finalising and resuming read those instead, and HEAD only parts that no summary object vouches
for (a Task that died before writing it, a part rewritten since).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any, Protocol

from intacct_sync.export.parts import PartSummary

SUMMARIES_VERSION = 1


@dataclass(frozen=True)
class ListedObject:
    """An object as S3 lists it."""

    key: str
    size: int
    etag: str


@dataclass(frozen=True)
class LandedPart:
    """A part as its writer landed it: the summary it carries and the ETag S3 gave it."""

    summary: PartSummary
    etag: str


class PartWriter(Protocol):
    def put_part(self, summary: PartSummary, body: bytes) -> str: ...


class LandedParts:
    """A page Task's part sink: lands each part through the writer and remembers it for the Task's
    summary object."""

    def __init__(self, writer: PartWriter) -> None:
        self._writer = writer
        self.landed: list[LandedPart] = []

    def put_part(self, summary: PartSummary, body: bytes) -> None:
        etag = self._writer.put_part(summary, body)
        self.landed.append(LandedPart(summary, etag))

    def document(self) -> dict[str, Any]:
        """The summary object: each part's key, size, ETag and the metadata it was written with."""
        return {
            "version": SUMMARIES_VERSION,
            "parts": [
                {
                    "key": part.summary.key,
                    "bytes": part.summary.bytes,
                    "etag": part.etag,
                    "metadata": part.summary.to_metadata(),
                }
                for part in self.landed
            ],
        }


def vouched_summaries(
    listed: Iterable[ListedObject], documents: Iterable[Mapping[str, Any] | None]
) -> dict[str, PartSummary]:
    """Summaries, by part key, that the summary objects vouch for.

    An entry counts only when its part is listed with the same size and ETag (the same bytes as written).
    The ETag catches a rewrite of equal size, such as a trimmed first page; a part that several entries
    describe differently (its bytes rewritten unchanged under other metadata) is left out, as is any
    entry that cannot be read. Parts left out are read from their own metadata.
    """
    by_key = {part.key: part for part in listed}
    found: dict[str, dict[str, str]] = {}
    disputed: set[str] = set()
    for document in documents:
        entries = document.get("parts") if isinstance(document, Mapping) else None
        for entry in entries if isinstance(entries, list) else []:
            try:
                key, size, etag = str(entry["key"]), int(entry["bytes"]), str(entry["etag"])
                metadata = {str(k): str(v) for k, v in entry["metadata"].items()}
            except (KeyError, TypeError, ValueError, AttributeError):
                continue
            part = by_key.get(key)
            if part is None or part.size != size or part.etag != etag:
                continue
            if found.setdefault(key, metadata) != metadata:
                disputed.add(key)
    vouched = {}
    for key, metadata in found.items():
        if key in disputed:
            continue
        try:
            vouched[key] = PartSummary.from_metadata(key, metadata, by_key[key].size)
        except ValueError:
            continue
    return vouched
