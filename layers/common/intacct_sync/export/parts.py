"""Page parts: gzip NDJSON bodies and the summary each one carries as S3 metadata."""

from __future__ import annotations

import gzip
import hashlib
import json
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from typing import Any

import orjson

from intacct_sync.export.typed import RecordTyper, widened_text

Record = Mapping[str, Any]

# zlib levels 1-3 use the fast deflate strategy, 4-9 lazy matching: on a page Task's CPU level 3 is much
# quicker than 6 for somewhat larger parts (figures: benchmarks/RESULTS.md).
COMPRESS_LEVEL = 3


def _line_encoder() -> Callable[[Any], str]:
    """Compact UTF-8 JSON for one record, as ``json.dumps(r, ensure_ascii=False, separators=(",", ":"))``.

    ``JSONEncoder.encode`` builds a new C encoder on every call; for 2000 records a page that is a
    third of the encoding time, so the C encoder is built once (the pure-Python one is the fallback).
    """
    encoder = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"))
    make = getattr(json.encoder, "c_make_encoder", None)
    if make is None:
        return encoder.encode
    try:
        # (markers, default, encoder, indent, key_separator, item_separator, sort_keys, skipkeys, allow_nan)
        one_shot = make(
            None, encoder.default, json.encoder.encode_basestring, None, ":", ",", False, False, True
        )

        def encode(record: Any) -> str:
            return "".join(one_shot(record, 0))

        sample = {"a": 'ü\n"', "b": None, "c": [1, 2.5, True]}
        if encode(sample) != encoder.encode(sample):
            return encoder.encode
    except (TypeError, ValueError):  # a Python whose C encoder takes other arguments
        return encoder.encode
    return encode


_encode_line = _line_encoder()


def key_order(value: str, text: bool = False) -> tuple[int, int, str]:
    """Sort order of key values: numbers numerically (as Intacct compares an INTEGER RECORDNO), then text;
    with ``text`` (a TEXT key, as GLDETAIL's RECORDNO) every value as text, digits or not."""
    stripped = value.strip()
    if not text and stripped.isdigit():
        return (0, int(stripped), "")
    return (1, 0, stripped)


@dataclass(frozen=True)
class PartSummary:
    """What the manifest needs to know about one part, without reading it."""

    key: str
    records: int
    sha256: str
    first_key: str
    last_key: str
    max_modified: str  # the largest modified-field value in the part, as Intacct wrote it ('' if none)
    bytes: int = 0
    segment_done: bool = False  # Intacct reported nothing after this page in its segment (for resuming)
    # Records after this page in its (unbounded) query, as Intacct reported them: a segment's first page
    # read by offset tells planning how many records its range holds. None when not reported (JSON).
    num_remaining: int | None = None
    # Fields whose values did not fit their lookup type on this page, and the kind that holds them
    # (``typed.widened_text``: "decimal:QTY;string:F2"); '' when none did.
    widened: str = ""

    def to_metadata(self) -> dict[str, str]:
        metadata = {
            "records": str(self.records),
            "sha256": self.sha256,
            "first-key": self.first_key,
            "last-key": self.last_key,
            "max-modified": self.max_modified,
            "segment-done": "true" if self.segment_done else "false",
        }
        if self.num_remaining is not None:
            metadata["num-remaining"] = str(self.num_remaining)
        if self.widened:
            metadata["widened"] = self.widened
        return metadata

    @classmethod
    def from_metadata(cls, key: str, metadata: Mapping[str, str], size: int) -> PartSummary:
        return cls(
            key=key,
            records=int(metadata.get("records", "0")),
            sha256=metadata.get("sha256", ""),
            first_key=metadata.get("first-key", ""),
            last_key=metadata.get("last-key", ""),
            max_modified=metadata.get("max-modified", ""),
            bytes=size,
            segment_done=metadata.get("segment-done") == "true",
            num_remaining=int(metadata["num-remaining"]) if metadata.get("num-remaining") else None,
            widened=metadata.get("widened", ""),
        )

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def encode_part(
    key: str,
    records: Iterable[Record],
    key_field: str,
    modified_sort_key: Any = None,
    modified_field: str = "",
    lines: Sequence[bytes] | None = None,
    created_field: str = "",
    typer: RecordTyper | None = None,
    extracted_at: datetime | None = None,
) -> tuple[PartSummary, bytes]:
    """Serialise records as gzip NDJSON (one JSON object per line, UTF-8) and summarise them.

    `modified_sort_key` turns a modified-field value into something comparable (Intacct's dates in the
    user's format do not sort as text); without it max_modified stays empty. A record whose modified
    field is empty (created, never modified) counts with its `created_field` value instead. `lines`, one UTF-8
    JSON text per record (``QueryPage.lines``), are written as they are instead of encoding the records.
    With a `typer` (``typed.RecordTyper``) the records are typed in place after they are summarised
    (keys and dates as Intacct wrote them), stamped with the run and `extracted_at` (default now), and
    encoded again (`lines` unused); the fields it widened go in the summary.
    """
    rows = records if isinstance(records, list) else list(records)
    if lines is not None and len(lines) != len(rows):
        raise ValueError(f"{len(lines)} lines for {len(rows)} records")
    count = len(rows)
    first = str(rows[0].get(key_field) or "") if rows else ""
    last = str(rows[-1].get(key_field) or "") if rows else ""
    max_modified, max_sort = "", None
    if modified_sort_key and modified_field:
        # Each distinct value once, in first-seen order (a page often repeats a bulk load's timestamp).
        changed = (r.get(modified_field) or (r.get(created_field) if created_field else None) for r in rows)
        for modified in dict.fromkeys(changed):
            if modified:
                sort = modified_sort_key(modified)
                if sort is not None and (max_sort is None or sort > max_sort):
                    max_sort, max_modified = sort, str(modified)
    widened = ""
    if typer is not None:
        typer.type_records(rows, extracted_at or datetime.now(UTC))  # type: ignore[arg-type]
        widened = widened_text(typer.widened)
        # orjson: UTF-8 bytes directly, several times quicker than the json module on wide records
        # (figures: benchmarks/RESULTS.md).
        lines = [orjson.dumps(row) for row in rows]
    # Lines joined as UTF-8 bytes: one joined str would take up to 4 bytes a character (any non-Latin-1
    # character widens all of it), several times the peak of bytes (benchmarks/RESULTS.md).
    if lines is None:
        lines = [_encode_line(row).encode("utf-8") for row in rows]
    raw = b"\n".join([*lines, b""]) if lines else b""  # the last line's newline without another copy
    # mtime=0 keeps the bytes (and so the checksum) identical when a retried page is rewritten.
    body = gzip.compress(raw, compresslevel=COMPRESS_LEVEL, mtime=0)
    summary = PartSummary(
        key=key,
        records=count,
        sha256=hashlib.sha256(body).hexdigest(),
        first_key=first,
        last_key=last,
        max_modified=max_modified,
        bytes=len(body),
        widened=widened,
    )
    return summary, body


def decode_part(body: bytes) -> list[dict[str, Any]]:
    """The records of a gzip NDJSON part."""
    text = gzip.decompress(body).decode("utf-8")
    return [json.loads(line) for line in text.splitlines() if line]
