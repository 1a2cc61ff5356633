"""What the emulated functions read from the environment of whoever runs them locally: the documented
settings the command passes on (``function_settings``), nothing else."""

from __future__ import annotations

import os
from typing import Any

import pytest

from intacct_local import function_settings
from intacct_local.emulated_aws import local_aws
from intacct_local.runner import SIM_CREDENTIALS
from intacct_sync.settings import Settings

GATEWAY = {"GatewayUrl": "http://127.0.0.1:9/ia/xml/xmlgw.phtml"}


def settings_seen(extra_env: dict[str, str] | None = None) -> dict[str, Any]:
    """What a function reads at cold start, in a stack given `extra_env`."""

    def read(event: dict[str, Any], context: Any) -> dict[str, Any]:
        settings = Settings.from_env()
        return {
            "objects": settings.objects.names(),
            "budget": settings.monthly_transaction_budget,
            "history": settings.history_event_budget,
        }

    with local_aws(dict(SIM_CREDENTIALS), GATEWAY, extra_env) as stack:
        stack.overrides["StartSyncFunction"] = read
        ok, seen = stack.invoke("StartSyncFunction", {})
    assert ok, seen
    return dict(seen)


def test_a_users_function_settings_reach_the_functions_only_when_passed_on(monkeypatch):
    # Given a user whose environment sets the catalogue, the budget and a history budget
    monkeypatch.setenv("EXPORT_OBJECTS", '["VENDOR", "SALES_CHANNEL"]')
    monkeypatch.setenv("MONTHLY_TRANSACTION_BUDGET", "40")
    monkeypatch.setenv("HISTORY_EVENT_BUDGET", "300")
    # Then a stack nobody passed them to runs with the template's settings (tests are not swayed)
    untouched = settings_seen()
    assert untouched["objects"][:2] == ["GLACCOUNT", "GLBATCH"]
    assert (untouched["budget"], untouched["history"]) == (0, 20_000)
    # And the command passes on exactly the documented ones the user set
    passed = function_settings.from_environment(os.environ)
    assert passed.env == {
        "EXPORT_OBJECTS": '["VENDOR", "SALES_CHANNEL"]',
        "MONTHLY_TRANSACTION_BUDGET": "40",
        "HISTORY_EVENT_BUDGET": "300",
    }
    assert passed.catalogue.names() == ["VENDOR", "SALES_CHANNEL"]
    assert settings_seen(passed.env) == {"objects": ["VENDOR", "SALES_CHANNEL"], "budget": 40, "history": 300}


def test_a_bad_setting_is_named_with_where_it_came_from(monkeypatch):
    monkeypatch.setenv("EXPORT_OBJECTS", "[42]")
    with pytest.raises(function_settings.SettingsProblem) as refused:
        function_settings.from_environment(os.environ)
    assert str(refused.value) == (
        "EXPORT_OBJECTS (from your environment): item 0 must be an object name or a JSON object"
    )
