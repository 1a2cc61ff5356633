"""The whole pipeline, locally: simulator + emulated AWS + the real state machine from template.yaml."""

from __future__ import annotations

import hashlib
import json
from collections import Counter

import pytest

from intacct_local.runner import RunOptions, run_export
from tests.e2e.conftest import exported_records

pytestmark = pytest.mark.e2e


def keys(records, field="RECORDNO"):
    """Keys as text: the simulator's as it renders them, the export's typed (RECORDNO an integer)."""
    return [str(r[field]) for r in records]


def test_full_export_lands_the_exact_record_set_with_a_reconciled_manifest(make_sim, tmp_path):
    # Given a tenant with 9,000 customers and a concurrency limit of 2
    sim = make_sim(records=9000, seed=3, concurrency_limit=2)
    # When the export runs through the real state machine with 1,000-record pages
    result = run_export(
        RunOptions(object="CUSTOMER", page_size=1000, concurrency=2, out=tmp_path, quiet=True), sim=sim
    )
    # Then it succeeds and S3 holds exactly the source records, each once
    assert result.status == "SUCCEEDED", result.error
    exported = exported_records(tmp_path, "CUSTOMER", result.run_id)
    source = sim.records("CUSTOMER")
    assert Counter(keys(exported)) == Counter(keys(source))
    by_key = {r["RECORDNO"]: r for r in source}
    for record in exported[:50]:
        assert record["NAME"] == (by_key[str(record["RECORDNO"])]["NAME"] or None)
    # And the manifest reconciles, lists every part with its checksum, and counts the calls exactly
    manifest = result.manifest
    assert manifest["status"] == "succeeded" and manifest["reconciled"] is True
    assert manifest["records_written"] == manifest["total_count"] == 9000
    folder = tmp_path / "exports" / "object=CUSTOMER" / f"run_id={result.run_id}"
    for part in manifest["parts"]:
        body = (tmp_path / part["key"]).read_bytes()
        assert hashlib.sha256(body).hexdigest() == part["sha256"]
    assert len(list(folder.glob("part-*"))) == manifest["pages"] == 9
    stats = sim.stats()
    assert stats["transactions_by_function"].get("query", 0) == 9  # ceil(9000 / 1000), no count query
    assert manifest["intacct_transactions"] == stats["transactions"]
    assert stats["responses_by_status"].get("429", 0) == 0
    # And nothing in S3 or the manifest carries a secret
    blob = json.dumps(manifest)
    assert "sim-user-pw" not in blob and "intacct-sim-pw" not in blob


def test_empty_object_exports_nothing_and_still_reconciles(make_sim, tmp_path):
    sim = make_sim(records=0, seed=1)
    result = run_export(RunOptions(object="VENDOR", page_size=100, out=tmp_path, quiet=True), sim=sim)
    assert result.status == "SUCCEEDED", result.error
    assert result.manifest["records_written"] == 0 and result.manifest["reconciled"] is True
    assert result.manifest["parts"] == []


def test_bad_credentials_fail_with_a_clear_reason_and_a_failed_manifest(make_sim, tmp_path):
    sim = make_sim(records=100, user_password="something-else")
    result = run_export(RunOptions(object="CUSTOMER", page_size=100, out=tmp_path, quiet=True), sim=sim)
    assert result.status == "FAILED"
    assert result.manifest["status"] == "failed" and result.manifest["reconciled"] is False
    assert "AuthenticationError" in result.error
