"""Parts are deterministic gzip NDJSON with a faithful summary; manifests reconcile by count and key range."""

import gzip
import hashlib

from intacct_sync.export.manifest import build_manifest, reconcile
from intacct_sync.export.parts import PartSummary, decode_part, encode_part, key_order
from intacct_sync.export.window import TenantTime

modified_sort_key = TenantTime().sort_key

RECORDS = [
    {"RECORDNO": "7", "NAME": "Müller & Söhne <GmbH>", "WHENMODIFIED": "12/31/2025 23:59:59"},
    {"RECORDNO": "9", "NAME": 'O\'Brien "Q"', "WHENMODIFIED": "01/01/2026 00:00:01"},
    {"RECORDNO": "12", "NAME": None, "WHENMODIFIED": "06/15/2025 10:00:00"},
]


def test_part_round_trips_records_exactly_and_summarises_them():
    summary, body = encode_part("k", RECORDS, "RECORDNO", modified_sort_key, "WHENMODIFIED")
    assert decode_part(body) == RECORDS
    assert summary.records == 3
    assert (summary.first_key, summary.last_key) == ("7", "12")
    # the newest timestamp by date, not by text (text order would pick 12/31/2025)
    assert summary.max_modified == "01/01/2026 00:00:01"
    assert summary.sha256 == hashlib.sha256(body).hexdigest()
    assert gzip.decompress(body).decode().count("\n") == 3


def test_rewriting_a_page_gives_identical_bytes():
    assert encode_part("k", RECORDS, "RECORDNO")[1] == encode_part("k", RECORDS, "RECORDNO")[1]


def test_summary_survives_s3_metadata():
    summary, _ = encode_part("k", RECORDS, "RECORDNO", modified_sort_key, "WHENMODIFIED")
    again = PartSummary.from_metadata("k", summary.to_metadata(), summary.bytes)
    assert again == summary


def test_key_order_is_numeric_for_numbers():
    assert sorted(["100", "20", "3"], key=key_order) == ["3", "20", "100"]


def test_a_text_key_orders_as_text_digits_or_not():
    # A TEXT key (GLDETAIL's RECORDNO) is compared by Intacct as text, even where a value is all digits
    keys = ["3220-55186-27292--accrual", "100", "20", "3", "3220-55186-27290--accrual"]
    assert sorted(keys, key=lambda k: key_order(k, True)) == sorted(keys)


def part(key, first, last, records):
    return PartSummary(key, records, "x", str(first), str(last), "")


def test_reconcile_counts_and_detects_overlap():
    parts = [part("a", 1, 100, 100), part("b", 101, 150, 50)]
    assert reconcile(parts, 150).ok
    short = reconcile(parts, 151)
    assert not short.ok and "151" in short.problem()
    overlap = reconcile([part("a", 1, 100, 100), part("b", 100, 150, 51)], 151)
    assert not overlap.ok and "overlap" in overlap.problem()


def test_reconcile_compares_text_keys_as_text():
    # Given two pages of a TEXT key read in Intacct's (text) order: "10".."19", then "2".."30"
    parts = [part("a", "10", "19", 10), part("b", "2", "30", 10)]
    # Then they do not overlap as text, while as numbers they would seem to
    assert reconcile(parts, 20, text_key=True).ok
    assert not reconcile(parts, 20).ok


def test_manifest_claims_reconciled_only_for_a_successful_matching_run():
    parts = [part("a", 1, 2, 2)]
    spec = {"object": "CUSTOMER", "mode": "full", "fields": ["RECORDNO"]}
    ok = build_manifest(
        spec=spec,
        run_id="r",
        status="succeeded",
        started_at="s",
        finished_at="f",
        parts=parts,
        reconciliation=reconcile(parts, 2),
        total_count_first_page=2,
        transactions=1,
    )
    failed = build_manifest(
        spec=spec,
        run_id="r",
        status="failed",
        started_at="s",
        finished_at="f",
        parts=parts,
        reconciliation=reconcile(parts, 2),
        total_count_first_page=2,
        transactions=1,
    )
    assert ok["reconciled"] is True and failed["reconciled"] is False
    assert ok["parts"][0]["key"] == "a" and ok["records_written"] == 2
