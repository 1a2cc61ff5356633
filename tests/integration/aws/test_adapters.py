"""The AWS adapters against moto: session cache, concurrency slots, ledger, watermarks, parts, secrets."""

from __future__ import annotations

import json
import threading
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import boto3
import pytest

from intacct_local.emulated_aws import atomic_dynamodb_writes
from intacct_local.template import create_state_table
from intacct_sync.adapters.export_store import ExportStore
from intacct_sync.adapters.secrets import load_credentials
from intacct_sync.adapters.session_cache import SsmSessionCache
from intacct_sync.adapters.state_table import StateTable, TenantSemaphore
from intacct_sync.export import layout
from intacct_sync.export.parts import encode_part
from intacct_sync.export.summaries import landed_parts
from intacct_sync.intacct import ApiSession, CredentialsError

REGION = "us-east-1"


@pytest.fixture
def aws(s3):
    # Handlers run concurrently against DynamoDB, whose writes are atomic; moto's are made so too.
    with atomic_dynamodb_writes():
        db = boto3.client("dynamodb", region_name=REGION)
        create_state_table(db, "state")
        yield {
            "db": db,
            "s3": s3,
            "ssm": boto3.client("ssm", region_name=REGION),
            "secrets": boto3.client("secretsmanager", region_name=REGION),
        }


def session(minutes=60):
    return ApiSession(
        session_id="s3cr3t-session..",
        endpoint="https://na1.example/ia/xml/xmlgw.phtml",
        expires_at=datetime.now(UTC) + timedelta(minutes=minutes),
    )


def test_session_cache_round_trips_through_a_securestring(aws):
    cache = SsmSessionCache(aws["ssm"], "/intacct-sync/test/session", max_age_seconds=60)
    assert cache.get() is None
    cache.put(session())
    stored = aws["ssm"].get_parameter(Name="/intacct-sync/test/session")["Parameter"]
    assert stored["Type"] == "SecureString"
    got = cache.get()
    assert got is not None and got.session_id == "s3cr3t-session.." and got.endpoint.startswith("https://na1")
    # a second put is visible at once (the in-memory copy is dropped)
    newer = session(minutes=120)
    cache.put(newer)
    assert cache.get().expires_at == newer.expires_at


def test_corrupt_cache_entry_reads_as_no_session(aws):
    aws["ssm"].put_parameter(Name="/s", Value="{not json", Type="SecureString")
    assert SsmSessionCache(aws["ssm"], "/s").get() is None


def test_semaphore_never_lets_more_than_the_limit_run(aws):
    # Given a limit of 2 and six workers, each holding its slot until two slots are held at once (an event,
    # not a sleep: the overlap happens however slowly the threads run)
    semaphore = TenantSemaphore(aws["db"], "state", "t", limit=2, lease_seconds=60)
    running, peak, lock = [0], [0], threading.Lock()
    both_held, waited = threading.Event(), []

    def work():
        with semaphore.slot():
            with lock:
                running[0] += 1
                peak[0] = max(peak[0], running[0])
                if running[0] == 2:
                    both_held.set()
            waited.append(both_held.wait(timeout=30))
            with lock:
                running[0] -= 1

    # When they all ask for a slot at once
    threads = [threading.Thread(target=work) for _ in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    # Then two held slots at once, never three, and every slot was released
    assert waited == [True] * 6
    assert peak[0] == 2
    assert aws["db"].scan(TableName="state")["Count"] == 0


def test_a_worker_calling_back_to_back_claims_its_slot_in_one_write(aws):
    # Given a limit of 4 with three slots held by other workers
    semaphore = TenantSemaphore(aws["db"], "state", "t", limit=4, lease_seconds=60)
    others = [TenantSemaphore(aws["db"], "state", "t", limit=4, lease_seconds=60) for _ in range(3)]
    held = [o.slot() for o in others]
    with semaphore.slot():
        for h in held:
            h.__enter__()
    writes = []
    real_put = aws["db"].put_item
    aws["db"].put_item = lambda **kw: writes.append(kw["Item"]["pk"]["S"]) or real_put(**kw)
    try:
        # When the same worker claims again, ten times
        for _ in range(10):
            with semaphore.slot():
                pass
    finally:
        aws["db"].put_item = real_put
        for h in held:
            h.__exit__(None, None, None)
    # Then each claim was a single conditional write, to the slot it had just released
    assert len(writes) == 10 and len(set(writes)) == 1


def test_expired_lease_of_a_crashed_holder_is_reclaimed(aws):
    now = [1000.0]
    crashed = TenantSemaphore(aws["db"], "state", "t", limit=1, lease_seconds=10, clock=lambda: now[0])
    crashed._try_claim("ghost")  # a holder that never releases
    waiter = TenantSemaphore(
        aws["db"],
        "state",
        "t",
        limit=1,
        lease_seconds=10,
        clock=lambda: now[0],
        sleep=lambda s: now.__setitem__(0, now[0] + 5),
        max_wait_seconds=60,
    )
    with waiter.slot():
        assert now[0] > 1010  # it had to wait for the lease to expire


def test_semaphore_gives_up_with_a_clear_error(aws):
    now = [0.0]
    TenantSemaphore(aws["db"], "state", "t", limit=1, lease_seconds=1000, clock=lambda: now[0])._try_claim(
        "x"
    )
    waiter = TenantSemaphore(
        aws["db"],
        "state",
        "t",
        limit=1,
        lease_seconds=1000,
        clock=lambda: now[0],
        sleep=lambda s: now.__setitem__(0, now[0] + 1),
        max_wait_seconds=5,
    )
    with pytest.raises(TimeoutError, match="concurrency slot"), waiter.slot():
        pass


def test_ledger_progress_and_watermarks(aws):
    state = StateTable(aws["db"], "state")
    state.record_transactions("run-1", 3)
    state.record_transactions("run-1", 2)
    state.record_transactions("run-2", 1)
    state.record_run("run-1", {"pages": 1, "records": 2000})
    state.record_run("run-1", {"pages": 1, "records": 500, "transactions": 0})  # nothing charged
    state.record_total("run-1", 2500)
    assert state.run_progress("run-1") == {
        "transactions": 5,
        "pages": 2,
        "records": 2500,
        "total_count": 2500,
    }
    assert state.month_transactions() == 6
    assert state.watermark("CUSTOMER", None) is None
    state.set_watermark("CUSTOMER", None, "2026-11-01T00:00:00+00:00", "run-1")
    state.set_watermark("CUSTOMER", "US", "2026-10-01T00:00:00+00:00", "run-1")
    assert state.watermark("CUSTOMER", None) == "2026-11-01T00:00:00+00:00"
    assert state.watermark("CUSTOMER", "US") == "2026-10-01T00:00:00+00:00"
    # A request filter's watermark is its own: it neither reads nor moves the object's
    assert state.watermark("CUSTOMER", None, "filter-0123456789abcdef") is None
    state.set_watermark("CUSTOMER", None, "2026-12-01T00:00:00+00:00", "run-2", "filter-0123456789abcdef")
    assert state.watermark("CUSTOMER", None, "filter-0123456789abcdef") == "2026-12-01T00:00:00+00:00"
    assert state.watermark("CUSTOMER", None) == "2026-11-01T00:00:00+00:00"


def test_parts_carry_their_summary_in_metadata(aws):
    store = ExportStore(aws["s3"], "exports")
    for seq, keys in enumerate([("1", "2"), ("5", "9")]):
        summary, body = encode_part(
            layout.part_key("CUSTOMER", "r1", 0, seq), [{"RECORDNO": k} for k in keys], "RECORDNO"
        )
        store.put_part(replace(summary, num_remaining=7 - seq), body)
    manifest = layout.manifest_key("CUSTOMER", "r1")
    store.put_json(manifest, {"x": 1})
    summaries = landed_parts(store, "CUSTOMER", "r1")
    assert [(s.first_key, s.last_key, s.records, s.num_remaining) for s in summaries] == [
        ("1", "2", 2, 7),
        ("5", "9", 2, 6),
    ]
    assert store.get_json(manifest) == {"x": 1}
    assert store.get_json("p/missing.json") is None


CREDS = {
    "sender_id": "s",
    "sender_password": "sp-Zq9",
    "company_id": "c",
    "user_id": "u",
    "user_password": "up-Xk2",
}


def test_credentials_load_and_errors_never_show_values(aws):
    aws["secrets"].create_secret(Name="good", SecretString=json.dumps(CREDS))
    sender, user = load_credentials(aws["secrets"], "good")
    assert sender.sender_id == "s" and user.user_id == "u"
    aws["secrets"].create_secret(Name="partial", SecretString=json.dumps({**CREDS, "user_password": ""}))
    aws["secrets"].create_secret(Name="text", SecretString="sp-Zq9 up-Xk2")
    for secret_id, message in [
        ("missing", "cannot read"),
        ("text", "not a JSON object"),
        ("partial", "incomplete"),
    ]:
        with pytest.raises(CredentialsError, match=message) as info:
            load_credentials(aws["secrets"], secret_id)
        assert "sp-Zq9" not in str(info.value) and "up-Xk2" not in str(info.value)
