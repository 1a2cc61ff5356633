"""The local tool's AWS settings: fake credentials, one region, and nothing that could lead anywhere else.

botocore takes endpoints, profiles, config and credential files, FIPS and dual-stack endpoints, a CA
bundle, credential processes and more from ``AWS_*`` variables and from the files they name (or
``~/.aws/``), and moto's own import builds a boto3 session. So the environment is made safe *before*
boto3 or moto is imported (``isolate``, the first thing the ``intacct-sync`` command does) and again for
every emulated stack (``emulated_aws.local_aws``): every ``AWS_*`` variable is removed, whatever it is
(one botocore learns later included), then only the fake settings below are set; the config and
credentials files are the empty ``os.devnull``; moto's switches that send its requests to a server
instead of answering them are removed too. Standard library only, so importing it imports nothing else.
"""

from __future__ import annotations

import os
from collections.abc import MutableMapping

REGION = "us-east-1"
FAKE_AWS_ENV = {
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_SESSION_TOKEN": "testing",
    "AWS_DEFAULT_REGION": REGION,
    "AWS_REGION": REGION,
    # No instance-metadata credential lookups: the fake keys above are the only credentials.
    "AWS_EC2_METADATA_DISABLED": "true",
    # No profile, config or credentials file: nothing in ~/.aws/ (endpoint_url, services, ca_bundle,
    # credential_process, sso...) can reach the tool.
    "AWS_CONFIG_FILE": os.devnull,
    "AWS_SHARED_CREDENTIALS_FILE": os.devnull,
    # Each service's standard endpoint, which the emulator answers; none configured elsewhere.
    "AWS_IGNORE_CONFIGURED_ENDPOINT_URLS": "true",
    "AWS_USE_FIPS_ENDPOINT": "false",
    "AWS_USE_DUALSTACK_ENDPOINT": "false",
}
# moto's switches that forward requests to a moto server (localhost:5000 by default) instead of answering
# them in this process.
MOTO_SERVER_ENV = ("TEST_SERVER_MODE", "TEST_SERVER_MODE_ENDPOINT", "TEST_PROXY_MODE")


def is_aws_setting(name: str) -> bool:
    """Whether an environment variable may change where or how an AWS call goes (removed by ``isolate``)."""
    return name.upper().startswith("AWS_") or name.upper() in MOTO_SERVER_ENV


def isolate(environ: MutableMapping[str, str] | None = None) -> None:
    """Remove every AWS and moto-server setting from ``environ`` (the process's by default) and set the
    fake ones (``FAKE_AWS_ENV``)."""
    env = os.environ if environ is None else environ
    for name in [name for name in env if is_aws_setting(name)]:
        del env[name]
    env.update(FAKE_AWS_ENV)
