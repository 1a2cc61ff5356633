"""End-to-end helpers: reading what an export landed (simulators come from the shared make_sim fixture)."""

from __future__ import annotations

import gzip
import json
from pathlib import Path
from typing import Any


def exported_records(out: Path, object_name: str, run_id: str) -> list[dict[str, Any]]:
    """Every record in the run's parts, as mirrored to the local out directory."""
    folder = out / "exports" / f"object={object_name}" / f"run_id={run_id}"
    records: list[dict[str, Any]] = []
    for part in sorted(folder.glob("part-*.ndjson.gz")):
        records.extend(json.loads(line) for line in gzip.decompress(part.read_bytes()).decode().splitlines())
    return records
