"""The export bucket: page parts, manifests and small JSON documents."""

from __future__ import annotations

import json
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from botocore.exceptions import ClientError

from intacct_sync.export.parts import PartSummary


class ExportStore:
    """Reads and writes export artefacts in one bucket; knows nothing about Intacct."""

    def __init__(self, s3: Any, bucket: str) -> None:
        self._s3, self.bucket = s3, bucket

    def put_part(self, summary: PartSummary, body: bytes) -> None:
        """Write one gzip NDJSON part; its summary travels as object metadata for the manifest."""
        self._s3.put_object(
            Bucket=self.bucket,
            Key=summary.key,
            Body=body,
            ContentType="application/x-ndjson",
            Metadata=summary.to_metadata(),
        )

    def delete(self, key: str) -> None:
        self._s3.delete_object(Bucket=self.bucket, Key=key)

    def get_bytes(self, key: str) -> bytes:
        body: bytes = self._s3.get_object(Bucket=self.bucket, Key=key)["Body"].read()
        return body

    def keys(self, prefix: str) -> Iterator[str]:
        """Every key under a prefix, in key order."""
        paginator = self._s3.get_paginator("list_objects_v2")
        for page in paginator.paginate(Bucket=self.bucket, Prefix=prefix):
            for item in page.get("Contents", []):
                yield item["Key"]

    def part_summaries(self, prefix: str) -> list[PartSummary]:
        """Summaries of every part under a prefix (from their metadata), in key order."""
        keys = [k for k in self.keys(prefix) if k.rsplit("/", 1)[-1].startswith("part-")]

        def head(key: str) -> PartSummary:
            response = self._s3.head_object(Bucket=self.bucket, Key=key)
            return PartSummary.from_metadata(
                key, response.get("Metadata", {}), int(response["ContentLength"])
            )

        with ThreadPoolExecutor(max_workers=16) as pool:
            return list(pool.map(head, keys))

    def put_json(self, key: str, document: dict[str, Any]) -> None:
        self._s3.put_object(
            Bucket=self.bucket,
            Key=key,
            Body=json.dumps(document, indent=2, sort_keys=True).encode(),
            ContentType="application/json",
        )

    def get_json(self, key: str) -> dict[str, Any] | None:
        """A JSON document, or None when the key does not exist."""
        try:
            raw = self._s3.get_object(Bucket=self.bucket, Key=key)["Body"].read()
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") in ("NoSuchKey", "404"):
                return None
            raise
        document: dict[str, Any] = json.loads(raw)
        return document
