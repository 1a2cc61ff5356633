"""Part summary objects: each page Task's index of the parts it landed.

Every part carries its summary as S3 metadata, and that stays the source of truth. Reading it takes one
HEAD per part, so each page Task also writes one small object listing the metadata of the parts it
landed; finalising and resuming read those instead, and HEAD only parts that no summary object vouches
for (a Task that died before writing it, a part rewritten since).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any, Protocol

from intacct_sync.export import layout
from intacct_sync.export.parts import PartSummary
from intacct_sync.observability import logger

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


class PartListing(Protocol):
    """What reading landed parts needs from the bucket."""

    def list_objects(self, prefix: str) -> Iterable[ListedObject]: ...

    def head_part(self, key: str) -> PartSummary: ...

    def get_json(self, key: str) -> dict[str, Any] | None: ...


# Parallel S3 reads when a run has many parts or summary objects.
_READERS = 16


def landed_parts(store: PartListing, object_name: str, run_id: str) -> list[PartSummary]:
    """Every part the run has landed, in key order, with its summary: from the page Tasks' summary
    objects where they vouch for the part as listed (``vouched_summaries``), else from the part's own
    metadata (one HEAD each)."""
    prefix = layout.run_prefix(object_name, run_id)
    parts = [p for p in store.list_objects(prefix) if p.key.rsplit("/", 1)[-1].startswith("part-")]
    if not parts:
        return []
    with ThreadPoolExecutor(max_workers=_READERS) as pool:
        keys = [d.key for d in store.list_objects(layout.summaries_prefix(object_name, run_id))]
        vouched = vouched_summaries(parts, list(pool.map(lambda key: _readable(store, key), keys)))
        unvouched = [p.key for p in parts if p.key not in vouched]
        headed = dict(zip(unvouched, pool.map(store.head_part, unvouched), strict=True))
    if unvouched:
        logger.info(
            "parts read by HEAD, not from summary objects",
            extra={"prefix": prefix, "parts": len(parts), "headed": len(unvouched)},
        )
    return [vouched[p.key] if p.key in vouched else headed[p.key] for p in parts]


def _readable(store: PartListing, key: str) -> Mapping[str, Any] | None:
    """A summary object, or None when it is gone or unreadable (its parts are then HEADed)."""
    try:
        return store.get_json(key)
    except ValueError:
        return None
