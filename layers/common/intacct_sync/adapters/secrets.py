"""Intacct credentials from Secrets Manager (a JSON secret); values never leave this module in messages."""

from __future__ import annotations

import json
from typing import Any

from botocore.exceptions import ClientError

from intacct_sync.intacct import (
    CredentialsError,
    SenderCredentials,
    UserCredentials,
    credentials_from_mapping,
)


def load_credentials(secrets_client: Any, secret_id: str) -> tuple[SenderCredentials, UserCredentials]:
    """Read the credentials secret; raise CredentialsError naming the problem (never a value)."""
    try:
        raw = secrets_client.get_secret_value(SecretId=secret_id)["SecretString"]
    except ClientError as exc:
        code = exc.response.get("Error", {}).get("Code", "ClientError")
        raise CredentialsError(f"cannot read the credentials secret {secret_id!r}: {code}") from None
    try:
        mapping = json.loads(raw)
    except json.JSONDecodeError:
        raise CredentialsError(f"the credentials secret {secret_id!r} is not a JSON object") from None
    if not isinstance(mapping, dict):
        raise CredentialsError(f"the credentials secret {secret_id!r} is not a JSON object")
    try:
        return credentials_from_mapping(mapping)
    except CredentialsError as exc:
        raise CredentialsError(f"the credentials secret {secret_id!r} is incomplete: {exc}") from None
