"""AWS clients, created once per execution environment and passed explicitly to adapters."""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

import boto3
from botocore.config import Config

# Adaptive retries absorb S3/DynamoDB throttling during wide Map fan-outs.
_CONFIG = Config(retries={"max_attempts": 8, "mode": "adaptive"}, max_pool_connections=32)


@dataclass
class AwsClients:
    """Lazily created boto3 clients; tests and the local runner build one under moto."""

    session: Any = field(default_factory=boto3.session.Session)

    def _client(self, name: str) -> Any:
        return self.session.client(name, config=_CONFIG)

    @cached_property
    def s3(self) -> Any:
        return self._client("s3")

    @cached_property
    def ssm(self) -> Any:
        return self._client("ssm")

    @cached_property
    def secrets(self) -> Any:
        return self._client("secretsmanager")

    @cached_property
    def dynamodb(self) -> Any:
        return self._client("dynamodb")

    @cached_property
    def events(self) -> Any:
        return self._client("events")

    @cached_property
    def stepfunctions(self) -> Any:
        return self._client("stepfunctions")

    @cached_property
    def glue(self) -> Any:
        return self._client("glue")
