"""A full 2000-record page parses completely and exactly (its speed is measured in benchmarks/, not here)."""

from __future__ import annotations

from intacct_sync.intacct import Query
from tests.unit.intacct.intacct_unit_support import SESSION, Reply, make_harness

FIELDS = tuple(f"FIELD_{i}" for i in range(20))


def big_page(records: int) -> bytes:
    values = ["" if i % 7 == 0 else f"value {i} &amp; Z&#252;rich" for i in range(len(FIELDS))]
    row = "".join(f"<{f}>{v}</{f}>" for f, v in zip(FIELDS, values, strict=True))
    data = f"<CUSTOMER>{row}</CUSTOMER>" * records
    return (
        "<response><control><status>success</status></control><operation><authentication>"
        "<status>success</status><userid>u</userid><companyid>c</companyid></authentication><result>"
        "<status>success</status><function>query</function><controlid>x</controlid>"
        f'<data listtype="CUSTOMER" totalcount="{records}" offset="0" count="{records}" numremaining="0">'
        f"{data}</data></result></operation></response>"
    ).encode()


def test_a_2000_record_page_parses_completely() -> None:
    body = big_page(2000)
    h = make_harness(Reply(body=body))
    page = h.client.query(SESSION, Query("CUSTOMER", FIELDS, page_size=2000))
    assert page.count == 2000 and len(page.records) == 2000
    assert page.total_count == 2000 and page.num_remaining == 0
    assert all(set(r) == set(FIELDS) for r in page.records)
    assert page.records[1999]["FIELD_1"] == "value 1 & Zürich"
    assert page.records[0]["FIELD_0"] is None
