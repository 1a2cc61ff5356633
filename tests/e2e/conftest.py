"""End-to-end helpers: reading what an export landed, and the events it announced (simulators come from the
shared make_sim fixture)."""

from __future__ import annotations

import gzip
import json
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import boto3

from intacct_local.emulated_aws import REGION
from intacct_local.runner import LocalPipeline
from intacct_sync.export import layout
from intacct_sync.export.events import SOURCE
from intacct_sync.export.parts import decode_part

ZONE = ZoneInfo("America/Los_Angeles")  # the simulator's default tenant zone, as the runs are told


def exported_records(out: Path, object_name: str, run_id: str) -> list[dict[str, Any]]:
    """Every record in the run's parts, as mirrored to the local out directory."""
    folder = out / "exports" / f"object={object_name}" / f"run_id={run_id}"
    records: list[dict[str, Any]] = []
    for part in sorted(folder.glob("part-*.ndjson.gz")):
        records.extend(json.loads(line) for line in gzip.decompress(part.read_bytes()).decode().splitlines())
    return records


class EventTap:
    """The bus's intacct-sync events, through a rule to a queue (as a consumer would see them)."""

    def __init__(self, bus: str = "default") -> None:
        self.sqs = boto3.client("sqs", region_name=REGION)
        name = f"tap-{time.time_ns()}"
        self.queue = self.sqs.create_queue(QueueName=name)["QueueUrl"]
        arn = self.sqs.get_queue_attributes(QueueUrl=self.queue, AttributeNames=["QueueArn"])["Attributes"][
            "QueueArn"
        ]
        events = boto3.client("events", region_name=REGION)
        events.put_rule(Name=name, EventBusName=bus, EventPattern=json.dumps({"source": [SOURCE]}))
        events.put_targets(Rule=name, EventBusName=bus, Targets=[{"Id": "tap", "Arn": arn}])
        self.received: list[dict[str, Any]] = []

    def drain(self) -> list[dict[str, Any]]:
        while messages := self.sqs.receive_message(QueueUrl=self.queue, MaxNumberOfMessages=10).get(
            "Messages"
        ):
            for message in messages:
                self.received.append(json.loads(message["Body"]))
                self.sqs.delete_message(QueueUrl=self.queue, ReceiptHandle=message["ReceiptHandle"])
        return self.received

    def of_type(self, detail_type: str) -> list[dict[str, Any]]:
        return [e for e in self.drain() if e["detail-type"] == detail_type]


def landed_records(pipeline: LocalPipeline, object_name: str, run_id: str) -> list[dict[str, Any]]:
    """Every record in the run's parts, read from the pipeline's emulated bucket."""
    s3 = boto3.client("s3", region_name=REGION)
    prefix = layout.run_prefix(object_name, run_id)
    keys = sorted(
        item["Key"]
        for page in s3.get_paginator("list_objects_v2").paginate(Bucket=pipeline.stack.bucket, Prefix=prefix)
        for item in page.get("Contents", [])
        if item["Key"].rsplit("/", 1)[-1].startswith("part-")
    )
    return [
        record
        for key in keys
        for record in decode_part(s3.get_object(Bucket=pipeline.stack.bucket, Key=key)["Body"].read())
    ]


def lands_as(text: str, landed: Any, datatype: str) -> bool:
    """Whether a landed (typed) value is Intacct's text read as its lookup DATATYPE; a value its type
    cannot hold (a scrubbed recording's) lands as the text. Derived here, not by the product's typing."""
    if text == "":
        return landed is None
    if landed == text:
        return True
    if datatype == "BOOLEAN":
        return landed is {"true": True, "false": False}.get(text)
    if isinstance(landed, bool) or not isinstance(landed, int | float | str):
        return False
    if isinstance(landed, int):
        return text.lstrip("-").isdigit() and landed == int(text)
    if isinstance(landed, float):
        return landed == float(text)
    if datatype == "DATE":
        return landed == datetime.strptime(text, "%m/%d/%Y").date().isoformat()
    if datatype == "TIMESTAMP":  # a date-only value (AR/AP headers' WHENCREATED) is midnight, tenant-local
        form = "%m/%d/%Y %H:%M:%S" if " " in text else "%m/%d/%Y"
        instant = datetime.strptime(text, form).replace(tzinfo=ZONE).astimezone(UTC)
        return landed == instant.strftime("%Y-%m-%dT%H:%M:%SZ")
    return False
