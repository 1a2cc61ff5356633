"""Shared fixture of the adapter tests: emulated AWS (moto) with the export bucket."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from moto import mock_aws

REGION = "us-east-1"


@pytest.fixture
def s3() -> Iterator[Any]:
    """An S3 client on emulated AWS (moto, active for the whole test) that has the bucket ``exports``."""
    with mock_aws():
        client = boto3.client("s3", region_name=REGION)
        client.create_bucket(Bucket="exports")
        yield client
