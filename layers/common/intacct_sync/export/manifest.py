"""The manifest that closes a run: what was exported, where, and whether it reconciles."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from itertools import pairwise
from typing import Any

from intacct_sync.export.parts import PartSummary, key_order

MANIFEST_VERSION = 1


@dataclass(frozen=True)
class Reconciliation:
    """Records written against what Intacct reported: an exact count, or bounds when the source changed."""

    records_written: int
    expected: int | None
    overlapping_parts: tuple[tuple[str, str], ...]
    bounds: tuple[int, int] | None = None  # (lowest, highest) plausible count given the changes seen
    # The source changed during the run and nothing could account for it (no AUDITHISTORY): every record
    # present throughout was written once (key ranges), but the count cannot be checked.
    unverified: bool = False

    @property
    def ok(self) -> bool:
        if self.overlapping_parts:
            return False
        if self.unverified:
            return True
        if self.bounds is not None:
            return self.bounds[0] <= self.records_written <= self.bounds[1]
        return self.expected is None or self.records_written == self.expected

    def problem(self) -> str:
        """A sentence for users saying why the run does not reconcile ('' when it does)."""
        if self.overlapping_parts:
            a, b = self.overlapping_parts[0]
            return f"parts {a} and {b} overlap in key range: records would be duplicated"
        if self.bounds is not None and not self.ok:
            low, high = self.bounds
            return (
                f"wrote {self.records_written} records, outside the {low}..{high} that Intacct's count and "
                f"the changes recorded during the export allow: records were lost or duplicated"
            )
        if self.expected is not None and self.records_written != self.expected:
            return (
                f"wrote {self.records_written} records but Intacct reported {self.expected} "
                f"matching records: the export is incomplete or duplicated"
            )
        return ""


def reconcile(
    parts: Sequence[PartSummary],
    expected: int | None,
    bounds: tuple[int, int] | None = None,
    text_key: bool = False,
) -> Reconciliation:
    """Count records and check that no two parts share a key (parts are key ranges by construction; keys
    compared as ``parts.key_order`` does, ``text_key`` for a TEXT key)."""

    def order(value: str) -> tuple[int, int, str]:
        return key_order(value, text_key)

    ordered = sorted((p for p in parts if p.records), key=lambda p: order(p.first_key))
    overlaps = tuple((a.key, b.key) for a, b in pairwise(ordered) if order(b.first_key) <= order(a.last_key))
    return Reconciliation(sum(p.records for p in parts), expected, overlaps, bounds)


def build_manifest(
    *,
    spec: dict[str, Any],
    run_id: str,
    status: str,
    started_at: str,
    finished_at: str,
    parts: Sequence[PartSummary],
    reconciliation: Reconciliation,
    total_count_first_page: int | None,
    transactions: int,
    window: dict[str, Any] | None = None,
    deletes: dict[str, Any] | None = None,
    warnings: Sequence[str] = (),
    error: dict[str, str] | None = None,
) -> dict[str, Any]:
    """The manifest document (JSON-ready)."""
    return {
        "manifest_version": MANIFEST_VERSION,
        "run_id": run_id,
        "status": status,
        "object": spec.get("object"),
        "entity": spec.get("entity"),
        "mode": spec.get("mode"),
        "fields": spec.get("fields"),
        "filter": spec.get("filter"),
        "key_field": spec.get("key_field"),
        "page_size": spec.get("page_size"),
        "started_at": started_at,
        "finished_at": finished_at,
        "pages": sum(1 for p in parts if p.records),
        "records_written": reconciliation.records_written,
        "total_count": total_count_first_page,
        "expected_records": reconciliation.expected,
        "expected_bounds": list(reconciliation.bounds) if reconciliation.bounds else None,
        "reconciled": reconciliation.ok and status == "succeeded",
        "count_verified": not reconciliation.unverified,
        "intacct_transactions": transactions,
        "window": window,
        "deletes": deletes,
        "warnings": list(warnings),
        "error": error,
        "parts": [
            {
                "key": p.key,
                "records": p.records,
                "sha256": p.sha256,
                "bytes": p.bytes,
                "first_key": p.first_key,
                "last_key": p.last_key,
            }
            for p in sorted(parts, key=lambda p: p.key)
        ],
    }
