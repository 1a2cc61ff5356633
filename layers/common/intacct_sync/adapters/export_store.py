"""The export bucket: page parts, manifests and small JSON documents."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from intacct_sync.export.parts import PartSummary
from intacct_sync.export.summaries import ListedObject
from intacct_sync.observability import logger


class ExportStore:
    """Reads and writes export artefacts in one bucket; knows nothing about Intacct."""

    def __init__(self, s3: Any, bucket: str) -> None:
        self._s3, self.bucket = s3, bucket

    def put_part(self, summary: PartSummary, body: bytes) -> str:
        """Write one gzip NDJSON part; its summary travels as object metadata for the manifest.
        Returns the part's ETag."""
        response = self._s3.put_object(
            Bucket=self.bucket,
            Key=summary.key,
            Body=body,
            ContentType="application/x-ndjson",
            Metadata=summary.to_metadata(),
        )
        etag: str = response["ETag"]
        return etag

    def delete(self, key: str) -> None:
        self._s3.delete_object(Bucket=self.bucket, Key=key)

    def get_bytes(self, key: str) -> bytes:
        body: bytes = self._s3.get_object(Bucket=self.bucket, Key=key)["Body"].read()
        return body

    def list_objects(self, prefix: str) -> Iterator[ListedObject]:
        """Every object under a prefix, in key order."""
        paginator = self._s3.get_paginator("list_objects_v2")
        for page in paginator.paginate(Bucket=self.bucket, Prefix=prefix):
            for item in page.get("Contents", []):
                yield ListedObject(item["Key"], int(item["Size"]), item["ETag"])

    def head_part(self, key: str) -> PartSummary:
        """A part's summary from its own metadata (one HEAD)."""
        response = self._s3.head_object(Bucket=self.bucket, Key=key)
        return PartSummary.from_metadata(key, response.get("Metadata", {}), int(response["ContentLength"]))

    def put_summaries(self, key: str, document: dict[str, Any]) -> None:
        """Write a page Task's summary object. Best effort: it only saves HEADs when finalising, while
        failing the Task would fetch (and pay for) its pages again."""
        try:
            self.put_json(key, document)
        except (BotoCoreError, ClientError) as exc:
            logger.warning("part summary object not written", extra={"key": key, "error": type(exc).__name__})

    def put_json(self, key: str, document: dict[str, Any]) -> None:
        self._s3.put_object(
            Bucket=self.bucket,
            Key=key,
            Body=json.dumps(document, indent=2, sort_keys=True).encode(),
            ContentType="application/json",
        )

    def get_json_tagged(self, key: str) -> tuple[dict[str, Any] | None, str | None]:
        """A JSON document and its ETag, or (None, None) when the key does not exist."""
        try:
            response = self._s3.get_object(Bucket=self.bucket, Key=key)
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") in ("NoSuchKey", "404"):
                return None, None
            raise
        document: dict[str, Any] = json.loads(response["Body"].read())
        return document, str(response["ETag"])

    def put_json_if(self, key: str, document: dict[str, Any], etag: str | None) -> bool:
        """Write a JSON document only if the object still has ``etag`` (None: only if it does not exist);
        False when another writer changed it first (S3 conditional writes: PreconditionFailed, or
        ConditionalRequestConflict when two race)."""
        condition = {"IfMatch": etag} if etag else {"IfNoneMatch": "*"}
        try:
            self._s3.put_object(
                Bucket=self.bucket,
                Key=key,
                Body=json.dumps(document, indent=2, sort_keys=True).encode(),
                ContentType="application/json",
                **condition,
            )
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") in (
                "PreconditionFailed",
                "ConditionalRequestConflict",
            ):
                return False
            raise
        return True

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
