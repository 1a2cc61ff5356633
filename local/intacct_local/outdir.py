"""``--out``: the user's folder, where a local run leaves what it exported and what the next run needs.

The emulated bucket's objects land as files (keys as paths), so runs sit side by side under
``exports/object=…/run_id=…/``. The runner's own state lives under ``_local/``: the state table's items
(watermarks, run progress, the month's ledger), an index of the objects it wrote (with the metadata S3
kept for them), each run's options and log. The next run loads that state back into emulated AWS, so an
incremental run continues from the last watermark and a stopped run can be resumed.

Nothing here deletes a file, and a file the runner did not write is never overwritten.
"""

from __future__ import annotations

import fcntl
import json
import os
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import boto3

from intacct_local.emulated_aws import REGION, LocalStack
from intacct_local.errors import RunError
from intacct_local.layer import PartSummary

STATE_DIR = "_local"
# An index entry for a file about to be written: the runner's, not yet (or not known to be) on disk.
WRITING = "writing"
# Concurrency leases belong to calls in flight: a later run must never wait for one a stopped run held.
_TRANSIENT_ITEMS = ("lease#",)


def _write_atomically(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


@dataclass
class OutDir:
    root: Path
    warnings: list[str] = field(default_factory=list)
    _seen: dict[str, str] = field(default_factory=dict)  # key -> ETag on disk (loaded back or written)
    _skipped: set[str] = field(default_factory=set)  # keys not written (a file of the user's in the way)
    _objects: dict[str, dict[str, Any]] | None = None  # the index, read once

    @property
    def state_dir(self) -> Path:
        return self.root / STATE_DIR

    def log_path(self, name: str) -> Path:
        return self.state_dir / "logs" / f"{name}.log"

    def run_folder(self, key_prefix: str) -> Path:
        return self.root / key_prefix

    @contextmanager
    def locked(self) -> Iterator[OutDir]:
        """One run at a time per folder: two would each write the state the other reads."""
        try:
            self.state_dir.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise RunError(f"cannot write to --out {self.root}: {exc.strerror or exc}") from None
        with open(self.state_dir / "lock", "a") as handle:
            try:
                fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                raise RunError(
                    f"another intacct-sync run is using {self.root}: wait for it, or give this one "
                    "another --out"
                ) from None
            yield self

    # --- the runner's state ------------------------------------------------------------------------

    def _read_json(self, name: str, default: Any) -> Any:
        path = self.state_dir / name
        if not path.is_file():
            return default
        try:
            return json.loads(path.read_text())
        except (OSError, ValueError):
            raise RunError(
                f"{path} is unreadable: it holds the local state between runs; move it away to start afresh"
            ) from None

    def _write_json(self, name: str, document: Any) -> None:
        _write_atomically(self.state_dir / name, json.dumps(document, indent=1, sort_keys=True).encode())

    def _index(self) -> dict[str, dict[str, Any]]:
        if self._objects is None:
            self._objects = self._read_json("objects.json", {})
        assert self._objects is not None
        return self._objects

    def landed(self, run_prefix: str) -> dict[str, int]:
        """The pages (parts) and records written to this folder under a run's prefix."""
        pages = records = 0
        for key, entry in self._index().items():
            if entry.get(WRITING):
                continue
            if key.startswith(run_prefix) and key.rsplit("/", 1)[-1].startswith("part-"):
                size = (self.root / key).stat().st_size if (self.root / key).is_file() else 0
                pages += 1
                records += PartSummary.from_metadata(key, entry.get("metadata") or {}, size).records
        return {"pages": pages, "records": records}

    def save_run(self, name: str, settings: dict[str, Any]) -> None:
        """What a run was started with (to resume it with the same source and options)."""
        self._write_json(f"runs/{name}.json", settings)

    def load_run(self, run_id: str) -> dict[str, Any] | None:
        settings: dict[str, Any] | None = self._read_json(f"runs/{run_id}.json", None)
        return settings

    def known_runs(self) -> list[str]:
        return sorted(p.stem for p in (self.state_dir / "runs").glob("*.json"))

    # --- into emulated AWS and back ----------------------------------------------------------------

    def restore(self, stack: LocalStack, wanted: Callable[[str], bool]) -> None:
        """Load the state table's items and the objects `wanted` selects (that are still on disk) back."""
        dynamodb = boto3.client("dynamodb", region_name=REGION)
        for item in self._read_json("table.json", []):
            dynamodb.put_item(TableName=stack.table, Item=item)
        s3 = boto3.client("s3", region_name=REGION)
        for key, entry in self._index().items():
            path = self.root / key
            if not wanted(key) or not path.is_file() or entry.get(WRITING):
                continue
            response = s3.put_object(
                Bucket=stack.bucket,
                Key=key,
                Body=path.read_bytes(),
                Metadata=entry.get("metadata") or {},
                ContentType=entry.get("content_type") or "binary/octet-stream",
            )
            self._seen[key] = response["ETag"]

    def sync(self, stack: LocalStack) -> list[Path]:
        """Write the bucket's objects that are new or changed since the last sync as files; returns them.
        Called while a run goes on, so that a stop has little left to write. A file in the way that the
        runner did not write is kept, with a warning.

        Each call leaves the folder as the next run reads it, whenever the process is killed (``kill -9``,
        a second Ctrl-C): the index names the files about to be written as the runner's before they are
        written (``WRITING``: never loaded back, but the runner's to overwrite), then as written; and the
        state table is kept too, so the run can be resumed from what had landed."""
        s3 = boto3.client("s3", region_name=REGION)
        index = self._index()
        fetched: list[tuple[Path, str, bytes, dict[str, Any]]] = []
        written: list[Path] = []
        root = self.root.resolve()
        for page in s3.get_paginator("list_objects_v2").paginate(Bucket=stack.bucket):
            for item in page.get("Contents", []):
                key, etag = item["Key"], item["ETag"]
                if self._seen.get(key) == etag or key in self._skipped:
                    continue
                target = self.root / key
                if not target.resolve().is_relative_to(root) or key.startswith(f"{STATE_DIR}/"):
                    self._skipped.add(key)
                    self.warnings.append(f"bucket key {key[:200]!r} not written: it is not a plain path")
                    continue
                if target.exists() and key not in index:
                    self._skipped.add(key)
                    self.warnings.append(f"kept {target}: the runner did not write it, so it stays")
                    continue
                response = s3.get_object(Bucket=stack.bucket, Key=key)
                entry = {
                    "etag": etag,
                    "metadata": response.get("Metadata") or {},
                    "content_type": response.get("ContentType"),
                }
                fetched.append((target, key, response["Body"].read(), entry))
        if fetched:
            for _, key, _, entry in fetched:
                index[key] = {**entry, WRITING: True}
            self._write_json("objects.json", index)
        for target, key, body, entry in fetched:
            try:
                _write_atomically(target, body)
            except OSError as exc:
                raise RunError(f"cannot write {target}: {exc.strerror or exc}") from None
            index[key] = entry
            self._seen[key] = str(entry["etag"])
            written.append(target)
        if fetched:
            self._write_json("objects.json", index)
        self._write_json("table.json", self._table_items(stack))
        return written

    def save(self, stack: LocalStack) -> list[Path]:
        """Sync the objects, then keep the index and the state table's items for the next run."""
        try:
            return self.sync(stack)
        finally:
            self._write_json("objects.json", self._index())
            self._write_json("table.json", self._table_items(stack))

    @staticmethod
    def _table_items(stack: LocalStack) -> list[dict[str, Any]]:
        dynamodb = boto3.client("dynamodb", region_name=REGION)
        items: list[dict[str, Any]] = []
        for page in dynamodb.get_paginator("scan").paginate(TableName=stack.table, ConsistentRead=True):
            items.extend(i for i in page["Items"] if not i["pk"]["S"].startswith(_TRANSIENT_ITEMS))
        return sorted(items, key=lambda i: str(i["pk"]["S"]))
