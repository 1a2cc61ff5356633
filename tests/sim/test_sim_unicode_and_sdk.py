"""Unicode and XML escaping round trips, and the third-party sageintacctsdk against the simulator."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Callable

import pytest
import xmltodict
from hypothesis import given, settings
from hypothesis import strategies as st
from sageintacctsdk.apis import Customers

from intacct_sim import Simulator
from tests.sim.sim_support import Gateway, cmp, query_xml, records_of

TRICKY = "Müller & Söhne <GmbH> \"Quotes\" 'single' 株式会社 🚀 a<b>c &amp; literal\nsecond line"
FIELDS = ["RECORDNO", "NAME", "DISPLAYCONTACT.CONTACTNAME", "COMMENTS", "DISPLAYCONTACT.MAILADDRESS.CITY"]


@pytest.fixture
def sim(make_sim: Callable[..., Simulator]) -> Simulator:
    return make_sim(records=120)


def test_xml_escaping_round_trips_through_a_real_parser(sim: Simulator) -> None:
    key = sim.upsert("CUSTOMER", {"NAME": TRICKY, "COMMENTS": "x > y && y < z", "DISPLAYCONTACT.EMAIL2": ""})
    gw = Gateway(sim)
    response = gw.raw(query_xml("CUSTOMER", FIELDS, filter_xml=cmp("equalto", "RECORDNO", str(key))))
    assert b"&amp;" in response.content and b"&lt;GmbH&gt;" in response.content
    assert "株式会社 🚀".encode() in response.content  # raw UTF-8, not character references
    (record,) = records_of(gw.query("CUSTOMER", FIELDS, filter_xml=cmp("equalto", "RECORDNO", str(key))))
    assert record["NAME"] == TRICKY
    assert record["COMMENTS"] == "x > y && y < z"
    parsed = xmltodict.parse(response.content)["response"]["operation"]["result"]["data"]["CUSTOMER"]
    assert parsed["NAME"] == TRICKY


def test_every_generated_value_round_trips_in_xml_json_and_csv(sim: Simulator) -> None:
    gw = Gateway(sim)
    expected = [{f: r[f] for f in FIELDS} for r in sim.records("CUSTOMER")]
    assert records_of(gw.query("CUSTOMER", FIELDS, pagesize=2000)) == expected
    body = gw.raw(
        query_xml("CUSTOMER", FIELDS, pagesize=2000, options="<returnformat>json</returnformat>")
    ).content
    assert json.loads(body.decode("utf-8")) == expected
    text = gw.raw(
        query_xml("CUSTOMER", FIELDS, pagesize=2000, options="<returnformat>csv</returnformat>")
    ).content
    rows = list(csv.DictReader(io.StringIO(text.decode("utf-8"), newline="")))
    assert rows == expected


def test_filters_match_unicode_and_escaped_values(sim: Simulator) -> None:
    gw = Gateway(sim)
    names = sorted({r["NAME"] for r in sim.records("CUSTOMER")})
    for name in [n for n in names if any(c in n for c in "&<\"'ü") or any(ord(c) > 0x3000 for c in n)][:8]:
        got = {
            r["NAME"]
            for r in records_of(gw.query("CUSTOMER", ["NAME"], filter_xml=cmp("equalto", "NAME", name)))
        }
        assert got == {name}


def _xml_legal(ch: str) -> bool:
    code = ord(ch)
    return ch in "\t\n\r" or (0x20 <= code <= 0xD7FF) or (0xE000 <= code <= 0xFFFD) or code >= 0x10000


@settings(max_examples=40, deadline=None)
@given(
    text=st.text(
        alphabet=st.characters(blacklist_categories=["Cs"]).filter(_xml_legal),
        min_size=1,
        max_size=40,
    )
)
def test_any_text_round_trips(shared_sim: Simulator, text: str) -> None:
    """Arbitrary XML-legal text (CR, tabs and edge spaces included) comes back unchanged through query XML."""
    key = shared_sim.upsert("GLACCOUNT", {"TITLE": text})
    try:
        gw = Gateway(shared_sim)
        (record,) = records_of(
            gw.query("GLACCOUNT", ["TITLE"], filter_xml=cmp("equalto", "RECORDNO", str(key)))
        )
        assert record["TITLE"] == text
    finally:
        shared_sim.delete("GLACCOUNT", key)


def test_sageintacctsdk_logs_in_and_pages_through_all_customers(make_sim: Callable[..., Simulator]) -> None:
    """The community SDK, unchanged: only its first URL is configured (a name-mangled attribute)."""
    sim = make_sim(records=4500)
    customers = Customers()
    customers.set_sender_id("intacct-sim")
    customers.set_sender_password("intacct-sim-pw")
    customers.set_show_private(True)  # the SDK's option (fylein PR #65): entity-owned records too
    # First call goes to a different spelling of the simulator; afterwards the SDK must use the endpoint.
    customers._ApiBase__api_url = sim.url.replace("127.0.0.1", "localhost")
    sessionid = customers.get_session_id("sim-user", "SIMCO", "sim-user-pw")
    assert sessionid.endswith("..")
    assert customers._ApiBase__api_url == sim.url
    pages = list(customers.get_all_generator())
    keys = [record["RECORDNO"] for page in pages for record in page]
    assert len(pages) == 3
    assert keys == [r["RECORDNO"] for r in sim.records("CUSTOMER")]
    assert pages[0][0]["CUSTOMERID"] == sim.records("CUSTOMER")[0]["CUSTOMERID"]
    stats = sim.stats()
    # getAPISession + the count query + every page fetched twice (the SDK's own quirk)
    assert stats["transactions_by_function"] == {"getAPISession": 1, "query": 1 + 2 * 3}


def test_upsert_refuses_text_xml_cannot_carry(shared_sim: Simulator) -> None:
    for bad in ("bell\x07", "nul\x00", "\ufffe"):
        with pytest.raises(ValueError, match="XML"):
            shared_sim.upsert("GLACCOUNT", {"TITLE": bad})
