"""Sender (Web Services) and user credentials; their reprs never show a password."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from .errors import CredentialsError

# The variable names the official Intacct SDKs read (PHP EnvironmentCredentialProvider and friends).
ENV_SENDER_ID = "INTACCT_SENDER_ID"
ENV_SENDER_PASSWORD = "INTACCT_SENDER_PASSWORD"  # noqa: S105 - a variable name, not a password
ENV_COMPANY_ID = "INTACCT_COMPANY_ID"
ENV_ENTITY_ID = "INTACCT_ENTITY_ID"
ENV_USER_ID = "INTACCT_USER_ID"
ENV_USER_PASSWORD = "INTACCT_USER_PASSWORD"  # noqa: S105 - a variable name, not a password


@dataclass(frozen=True)
class SenderCredentials:
    """The Web Services sender id and password sent in every request's ``<control>`` block."""

    sender_id: str
    sender_password: str = field(repr=False)


@dataclass(frozen=True)
class UserCredentials:
    """The company user that logs in; ``entity_id`` selects an entity of a multi-entity company."""

    company_id: str
    user_id: str
    user_password: str = field(repr=False)
    entity_id: str | None = None


def credentials_from_env(env: Mapping[str, str] | None = None) -> tuple[SenderCredentials, UserCredentials]:
    """Read ``INTACCT_SENDER_ID``, ``INTACCT_SENDER_PASSWORD``, ``INTACCT_COMPANY_ID``, ``INTACCT_USER_ID``,
    ``INTACCT_USER_PASSWORD`` and the optional ``INTACCT_ENTITY_ID``.

    Raises ``CredentialsError`` naming every missing (or empty) variable at once.
    """
    source = os.environ if env is None else env
    required = (ENV_SENDER_ID, ENV_SENDER_PASSWORD, ENV_COMPANY_ID, ENV_USER_ID, ENV_USER_PASSWORD)
    missing = [name for name in required if not source.get(name)]
    if missing:
        raise CredentialsError(f"missing Intacct credential environment variables: {', '.join(missing)}")
    sender = SenderCredentials(source[ENV_SENDER_ID], source[ENV_SENDER_PASSWORD])
    user = UserCredentials(
        company_id=source[ENV_COMPANY_ID],
        user_id=source[ENV_USER_ID],
        user_password=source[ENV_USER_PASSWORD],
        entity_id=source.get(ENV_ENTITY_ID) or None,
    )
    return sender, user


_MAPPING_KEYS = ("sender_id", "sender_password", "company_id", "user_id", "user_password")


def credentials_mapping(sender: SenderCredentials, user: UserCredentials) -> dict[str, str]:
    """The credentials as the JSON secret holds them (the inverse of ``credentials_from_mapping``)."""
    mapping = {
        "sender_id": sender.sender_id,
        "sender_password": sender.sender_password,
        "company_id": user.company_id,
        "user_id": user.user_id,
        "user_password": user.user_password,
    }
    if user.entity_id:
        mapping["entity_id"] = user.entity_id
    return mapping


def credentials_from_mapping(data: Mapping[str, Any]) -> tuple[SenderCredentials, UserCredentials]:
    """Both credential sets from a mapping such as the JSON secret kept in Secrets Manager.

    Keys: ``sender_id``, ``sender_password``, ``company_id``, ``user_id``, ``user_password`` and the optional
    ``entity_id``. Raises ``CredentialsError`` naming each missing, empty or non-string key (never
    a value).
    """
    missing = [key for key in _MAPPING_KEYS if not isinstance(data.get(key), str) or not data[key]]
    if missing:
        raise CredentialsError(f"missing or empty credential keys: {', '.join(missing)}")
    entity = data.get("entity_id")
    if entity is not None and not isinstance(entity, str):
        raise CredentialsError("credential key entity_id must be a string when present")
    sender = SenderCredentials(data["sender_id"], data["sender_password"])
    user = UserCredentials(
        company_id=data["company_id"],
        user_id=data["user_id"],
        user_password=data["user_password"],
        entity_id=entity or None,
    )
    return sender, user
