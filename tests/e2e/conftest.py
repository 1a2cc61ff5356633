"""End-to-end helpers: reading what an export landed, and the events it announced (simulators come from the
shared make_sim fixture)."""

from __future__ import annotations

import gzip
import json
import time
from pathlib import Path
from typing import Any

import boto3

from intacct_local.emulated_aws import REGION
from intacct_sync.export.events import SOURCE


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
