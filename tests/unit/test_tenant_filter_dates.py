"""How a tenant's filter values are written (``standard`` MM/DD/YYYY or the ``user``'s own format): the
FilterDateFormat setting when it says, else nothing to ask for a standard user, else one probe query."""

import pytest

from intacct_sync.intacct import UserFormatting
from intacct_sync.settings import Settings
from intacct_sync.tenant import PROBE_VALUE, TenantIntacct
from tests.unit.intacct.intacct_unit_support import (
    SESSION,
    Harness,
    Reply,
    data_file,
    make_harness,
    xml_reply,
)

STANDARD_USER = UserFormatting(locale="en_US", dateformat="/mdY", gmtoffset="-8", clock=24)
DAY_FIRST_USER = UserFormatting(locale="en_GB", dateformat=".dmY", gmtoffset="+1", clock=24)
UNREADABLE_USER = UserFormatting(locale="en_US", dateformat="mdY", gmtoffset="-8", clock=24)
# The query failure Intacct answers, once with a value it cannot read as a date, once for another reason
INVALID_DATE = Reply(
    body=data_file("function_failure.xml").replace(
        b"Object definition BADOBJECT not found",
        f"Invalid date '{PROBE_VALUE}' for field WHENMODIFIED".encode(),
    )
)
OTHER_FAILURE = xml_reply("function_failure.xml")


def filter_dates(harness: Harness, formatting: UserFormatting, setting: str = "auto") -> str:
    env = {
        "EXPORT_BUCKET": "bucket",
        "CREDENTIALS_SECRET_ID": "secret",
        "SESSION_PARAMETER_NAME": "/intacct-sync/test/session",
        "STATE_TABLE": "state",
        "FILTER_DATE_FORMAT": setting,
    }
    tenant = TenantIntacct(Settings.from_env(env), secrets=None, ssm=None, state=None, dynamodb=None)
    return tenant._filter_dates(harness.client, SESSION, formatting, None)


@pytest.mark.parametrize("setting", ["standard", "user"])
def test_the_setting_decides_when_it_is_not_auto(setting):
    harness = make_harness()
    assert filter_dates(harness, DAY_FIRST_USER, setting) == setting
    assert harness.http.sent == []  # no transaction spent


@pytest.mark.parametrize("formatting", [STANDARD_USER, UNREADABLE_USER])
def test_a_standard_or_unreadable_user_format_needs_no_probe(formatting):
    # An unreadable format is refused when the export starts, naming the preference to change
    harness = make_harness()
    assert filter_dates(harness, formatting) == "standard"
    assert harness.http.sent == []


def test_a_probe_that_runs_means_filters_take_the_standard_form():
    # Given a day-first user whose tenant reads filter values in the documented form
    harness = make_harness(xml_reply("query_empty.xml"))
    # When asked / Then it is the standard form
    assert filter_dates(harness, DAY_FIRST_USER) == "standard"
    # And it took one query of one record, filtered by a value valid only in the standard form
    (sent,) = harness.http.sent
    condition = f"<field>WHENMODIFIED</field><value>{PROBE_VALUE}</value></greaterthanorequalto>"
    assert b"<object>USERINFO</object>" in sent.body and condition.encode() in sent.body
    assert b"<pagesize>1</pagesize>" in sent.body


def test_a_probe_refused_as_an_invalid_date_means_filters_take_the_users_format():
    assert filter_dates(make_harness(INVALID_DATE), DAY_FIRST_USER) == "user"


def test_a_probe_refused_for_another_reason_falls_back_to_the_documented_form():
    assert filter_dates(make_harness(OTHER_FAILURE), DAY_FIRST_USER) == "standard"
