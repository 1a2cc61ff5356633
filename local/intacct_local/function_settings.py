"""The function settings a local user sets: the documented ones, from their own environment, by the names
the functions read them under (``EXPORT_OBJECTS``, ``MONTHLY_TRANSACTION_BUDGET``...).

Locally there is no deployment to give parameters to. `intacct-sync run` and `intacct-sync api` deploy
template.yaml with its defaults, the command's own options (``--page-size``, ``--concurrency``,
``--gateway-url``, ``--timezone``), and the settings below when the user's environment sets them. They are
checked before anything starts, so a bad one is one line naming it. No other variable of the user's
environment reaches the emulated functions: ``emulated_aws.local_aws`` removes these names from the
process's environment while it runs, so only what the command passes on reaches them.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from intacct_local.layer import Catalogue, Settings, SettingsError
from intacct_local.template import Template

# The deployment parameters a command option does not cover, by the function variable each sets.
PARAMETERS = {
    "EXPORT_OBJECTS": "ExportObjects",
    "MONTHLY_TRANSACTION_BUDGET": "MonthlyTransactionBudget",
    "INCREMENTAL_LOOKBACK_MINUTES": "IncrementalLookbackMinutes",
    "STRICT_RECONCILIATION": "StrictReconciliation",
    "FILTER_DATE_FORMAT": "FilterDateFormat",
}
# The function variables the template does not set (the README's second settings table). EVENT_BUS_NAME
# is not among them: locally there is only the default bus.
UNSET_BY_THE_TEMPLATE = (
    "INTACCT_MAX_ATTEMPTS",
    "INTACCT_RETRY_BASE_DELAY_MS",
    "INTACCT_READ_TIMEOUT_SECONDS",
    "LEASE_SECONDS",
    "SESSION_REFRESH_MARGIN_SECONDS",
    "SESSION_CACHE_MAX_AGE_SECONDS",
    "SYNC_OBJECT_CONCURRENCY",
    "SYNC_FOLLOW_SECONDS",
    "HISTORY_EVENT_BUDGET",
)
FROM_ENVIRONMENT = (*PARAMETERS, *UNSET_BY_THE_TEMPLATE)
# What the functions' settings need that the stack gives them (only so they can be checked here).
_STACK_NAMES = ("EXPORT_BUCKET", "STATE_TABLE", "CREDENTIALS_SECRET_ID", "SESSION_PARAMETER_NAME")


class SettingsProblem(Exception):
    """A function setting the user's environment gives, or a template.yaml default, is not valid."""


@dataclass(frozen=True)
class LocalSettings:
    """The settings the user gave (passed on to every emulated function) and the catalogue in effect."""

    env: dict[str, str]
    catalogue: Catalogue


def from_environment(environ: Mapping[str, str], template: Template | None = None) -> LocalSettings:
    """The documented settings ``environ`` sets, checked with template.yaml's defaults for the others
    (SettingsProblem names the setting, where it came from, and what is wrong)."""
    given = {name: environ[name] for name in FROM_ENVIRONMENT if environ.get(name, "").strip()}
    defaults = (template or Template.load()).parameters
    effective = {name: str(defaults.get(parameter, "")) for name, parameter in PARAMETERS.items()}
    effective.update(given)
    try:
        Settings.from_env({**dict.fromkeys(_STACK_NAMES, "local"), **effective})
    except SettingsError as exc:
        message = str(exc)
        for name, parameter in PARAMETERS.items():
            if name not in given:
                message = message.replace(
                    f"environment variable {name}", f"the {parameter} parameter's default in template.yaml"
                )
        for name in given:
            message = message.replace(f"environment variable {name}", f"{name} (from your environment)")
        raise SettingsProblem(" ".join(message.split())) from None
    return LocalSettings(given, Catalogue.from_env(effective))
