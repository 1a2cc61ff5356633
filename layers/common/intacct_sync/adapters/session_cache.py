"""The shared Intacct session cache: one SSM SecureString parameter that every function reads."""

from __future__ import annotations

import json
from typing import Any

from aws_lambda_powertools.utilities.parameters import SSMProvider
from aws_lambda_powertools.utilities.parameters.exceptions import GetParameterError

from intacct_sync.intacct import ApiSession


class SsmSessionCache:
    """SessionCache backed by an SSM SecureString, read through Powertools with a short max_age."""

    def __init__(self, ssm_client: Any, parameter_name: str, max_age_seconds: int = 60) -> None:
        self._ssm = ssm_client
        self._provider = SSMProvider(boto3_client=ssm_client)
        self._name = parameter_name
        self._max_age = max_age_seconds

    def get(self, *, fresh: bool = False) -> ApiSession | None:
        """The cached session, or None when there is none or it cannot be read. Reads are cached in memory
        for max_age seconds unless `fresh` is asked for."""
        try:
            raw = self._provider.get(self._name, decrypt=True, max_age=self._max_age, force_fetch=fresh)
        except GetParameterError:
            return None
        try:
            return ApiSession.from_cache_dict(json.loads(str(raw)))
        except (ValueError, KeyError, TypeError):
            return None  # a corrupt entry is treated as no session: the next login overwrites it

    def put(self, session: ApiSession) -> None:
        """Store a fresh session (encrypted) and drop the in-memory copy so readers see it at once."""
        self._ssm.put_parameter(
            Name=self._name,
            Value=json.dumps(session.to_cache_dict()),
            Type="SecureString",
            Overwrite=True,
        )
        self._provider.clear_cache()
