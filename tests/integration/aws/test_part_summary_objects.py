"""ExportStore against moto: a run's part summaries come from the page Tasks' summary objects where those
match the bucket listing, and from a HEAD of the part everywhere else."""

from __future__ import annotations

import json
import logging

from intacct_sync.adapters.export_store import ExportStore
from intacct_sync.export import layout
from intacct_sync.export.parts import PartSummary, encode_part
from intacct_sync.export.summaries import LandedParts, landed_parts
from intacct_sync.observability import logger

RUN = "export-customer-20261124T020000Z"
PREFIX = layout.run_prefix("CUSTOMER", RUN)
SUMMARIES = layout.summaries_prefix("CUSTOMER", RUN)


def land_task(store: ExportStore, segment: int, pages: list[list[int]], first_seq: int) -> LandedParts:
    """What one page Task does: land its parts, then write its summary object."""
    landed = LandedParts(store)
    for seq, keys in enumerate(pages, start=first_seq):
        summary, body = encode_part(
            layout.part_key("CUSTOMER", RUN, segment, seq), [{"RECORDNO": str(k)} for k in keys], "RECORDNO"
        )
        landed.put_part(summary, body)
    store.put_summaries(layout.summaries_key("CUSTOMER", RUN, segment, first_seq), landed.document())
    return landed


def land_run(store: ExportStore) -> None:
    land_task(store, 0, [[1, 2], [3, 4], [5]], 0)
    land_task(store, 1, [[10, 11]], 0)
    land_task(store, 1, [[12, 13], [14, 15]], 1)


def from_metadata_only(store: ExportStore) -> list[PartSummary]:
    return [store.head_part(p.key) for p in store.list_objects(PREFIX) if "/part-" in p.key]


def test_every_part_covered_by_a_summary_object_is_read_without_a_head(s3, heads):
    store = ExportStore(s3, "exports")
    land_run(store)
    summaries = landed_parts(store, "CUSTOMER", RUN)
    assert heads == []
    assert summaries == from_metadata_only(store)  # the same as reading every part's own metadata
    assert [s.records for s in summaries] == [2, 2, 1, 2, 2, 2]
    # Summary objects sit outside exports/ (where Athena reads), one per Task
    assert [o["Key"] for o in s3.list_objects_v2(Bucket="exports", Prefix="_meta/")["Contents"]] == [
        f"{SUMMARIES}s000-p000000.json",
        f"{SUMMARIES}s001-p000000.json",
        f"{SUMMARIES}s001-p000001.json",
    ]


def test_a_part_landed_without_a_summary_object_is_headed(s3, heads):
    # Given a run where a Task died after landing two parts, before writing its summary object
    store = ExportStore(s3, "exports")
    land_run(store)
    orphans = land_task(store, 2, [[20, 21], [22]], 0)
    s3.delete_object(Bucket="exports", Key=layout.summaries_key("CUSTOMER", RUN, 2, 0))
    # When the run's part summaries are read
    summaries = landed_parts(store, "CUSTOMER", RUN)
    # Then exactly those two parts are HEADed, and every part is there
    assert sorted(heads) == [p.summary.key for p in orphans.landed]
    assert summaries == from_metadata_only(store)
    assert sum(s.records for s in summaries) == 11 + 3


def test_a_summary_entry_whose_size_disagrees_with_the_listing_is_ignored_for_that_part(s3, heads):
    store = ExportStore(s3, "exports")
    land_run(store)
    key = layout.summaries_key("CUSTOMER", RUN, 1, 1)
    document = store.get_json(key)
    assert document is not None
    document["parts"][1]["bytes"] += 7
    store.put_json(key, document)
    summaries = landed_parts(store, "CUSTOMER", RUN)
    assert heads == [layout.part_key("CUSTOMER", RUN, 1, 2)]
    assert summaries == from_metadata_only(store)


def test_a_part_rewritten_after_its_summary_object_is_read_from_its_own_metadata(s3, heads):
    # Given a first page trimmed after its Task wrote its summary object (as planning repairs overlaps)
    store = ExportStore(s3, "exports")
    land_run(store)
    key = layout.part_key("CUSTOMER", RUN, 0, 0)
    trimmed, body = encode_part(key, [{"RECORDNO": "1"}], "RECORDNO")
    store.put_part(trimmed, body)
    # Then the part's own metadata, not the summary object, says what it holds
    summaries = landed_parts(store, "CUSTOMER", RUN)
    assert heads == [key]
    assert summaries[0].records == 1 and summaries == from_metadata_only(store)


def test_an_unreadable_summary_object_only_costs_heads(s3, heads):
    store = ExportStore(s3, "exports")
    land_run(store)
    s3.put_object(Bucket="exports", Key=layout.summaries_key("CUSTOMER", RUN, 0, 0), Body=b"{truncated")
    summaries = landed_parts(store, "CUSTOMER", RUN)
    assert sorted(heads) == [layout.part_key("CUSTOMER", RUN, 0, seq) for seq in range(3)]
    assert summaries == from_metadata_only(store)


def test_a_summary_object_that_cannot_be_written_does_not_fail_the_task(s3):
    # A page Task must not fail (and pay for its pages again) over an index finalise can do without
    store = ExportStore(s3, "no-such-bucket")
    warnings: list[logging.LogRecord] = []
    # Listen on the functions' logger itself: whether it propagates to pytest's handler is its own setting.
    listener = logging.Handler(logging.WARNING)
    listener.emit = warnings.append  # type: ignore[method-assign]
    functions_logger = logging.getLogger(logger.name)
    level = functions_logger.level  # quiet local runs earlier in the session may have raised it
    functions_logger.setLevel(logging.WARNING)
    functions_logger.addHandler(listener)
    try:
        store.put_summaries(layout.summaries_key("CUSTOMER", RUN, 0, 0), {"version": 1, "parts": []})
    finally:
        functions_logger.removeHandler(listener)
        functions_logger.setLevel(level)
    assert [r.getMessage() for r in warnings] == ["part summary object not written"]


def test_summary_objects_carry_part_metadata_and_nothing_else(s3):
    store = ExportStore(s3, "exports")
    landed = land_task(store, 0, [[1, 2]], 0)
    raw = s3.get_object(Bucket="exports", Key=layout.summaries_key("CUSTOMER", RUN, 0, 0))["Body"].read()
    (entry,) = json.loads(raw)["parts"]
    head = s3.head_object(Bucket="exports", Key=entry["key"])
    assert entry == {
        "key": landed.landed[0].summary.key,
        "bytes": head["ContentLength"],
        "etag": head["ETag"],
        "metadata": head["Metadata"],
    }
