"""A page Task's summary object lists what it landed; an entry counts only for the very bytes it describes."""

from __future__ import annotations

import json
from dataclasses import replace
from itertools import count

from intacct_sync.export.parts import PartSummary, encode_part
from intacct_sync.export.summaries import LandedParts, ListedObject, vouched_summaries
from intacct_sync.export.window import TenantTime

modified_sort_key = TenantTime().sort_key


class Bucket:
    """Keeps parts as S3 would list them; ETags are opaque, one per write."""

    def __init__(self) -> None:
        self.listed: dict[str, ListedObject] = {}
        self._writes = count(1)

    def put_part(self, summary: PartSummary, body: bytes) -> str:
        etag = f'"etag-{next(self._writes)}"'
        self.listed[summary.key] = ListedObject(summary.key, len(body), etag)
        return etag


def part(seq: int, keys: list[int]) -> tuple[PartSummary, bytes]:
    records = [{"RECORDNO": str(k), "WHENMODIFIED": "01/02/2026 03:04:05"} for k in keys]
    return encode_part(
        f"p/part-s001-p{seq:06d}.ndjson.gz", records, "RECORDNO", modified_sort_key, "WHENMODIFIED"
    )


def landed_task(bucket: Bucket) -> tuple[LandedParts, list[PartSummary]]:
    landed = LandedParts(bucket)
    summaries = []
    for seq, keys in enumerate([[1, 2, 3], [4, 5, 6], [7, 8]], start=5):
        summary, body = part(seq, keys)
        if seq == 7:
            summary = replace(summary, segment_done=True)
        landed.put_part(summary, body)
        summaries.append(summary)
    return landed, summaries


def test_the_summary_object_lists_each_part_as_its_metadata_says_and_no_records():
    # Given a Task that landed three parts
    bucket = Bucket()
    landed, summaries = landed_task(bucket)
    # When its summary object is made
    document = json.loads(json.dumps(landed.document()))
    # Then it lists every part with its size, ETag and exactly the metadata the part was written with
    assert [e["key"] for e in document["parts"]] == [s.key for s in summaries]
    assert [e["metadata"] for e in document["parts"]] == [s.to_metadata() for s in summaries]
    assert [(e["bytes"], e["etag"]) for e in document["parts"]] == [
        (bucket.listed[s.key].size, bucket.listed[s.key].etag) for s in summaries
    ]
    assert all(set(entry) == {"key", "bytes", "etag", "metadata"} for entry in document["parts"])


def test_parts_listed_as_written_are_vouched_for_with_the_summary_a_head_would_give():
    bucket = Bucket()
    landed, summaries = landed_task(bucket)
    vouched = vouched_summaries(bucket.listed.values(), [landed.document()])
    assert list(vouched.values()) == summaries  # what from_metadata makes of a HEAD of each part


def test_a_part_rewritten_since_its_summary_is_not_vouched_for_even_at_the_same_size():
    # Given a summary object, then one of its parts rewritten with other records of the same size
    bucket = Bucket()
    landed, summaries = landed_task(bucket)
    document = landed.document()
    rewritten, body = part(6, [4, 5, 9])
    assert len(body) == bucket.listed[rewritten.key].size
    bucket.put_part(rewritten, body)
    # When the listing is matched against the summary object
    vouched = vouched_summaries(bucket.listed.values(), [document])
    # Then that part is left to be read from its own metadata; the others are vouched for
    assert set(vouched) == {summaries[0].key, summaries[2].key}


def test_an_entry_whose_size_disagrees_with_the_listing_is_ignored():
    bucket = Bucket()
    landed, summaries = landed_task(bucket)
    document = landed.document()
    document["parts"][0]["bytes"] += 1
    assert set(vouched_summaries(bucket.listed.values(), [document])) == {s.key for s in summaries[1:]}


def test_parts_no_summary_object_lists_and_entries_for_parts_gone_are_ignored():
    bucket = Bucket()
    landed, summaries = landed_task(bucket)
    extra, body = part(8, [9])
    bucket.put_part(extra, body)  # landed by a Task that died before writing its summary object
    gone = bucket.listed.pop(summaries[0].key)  # deleted since (a first page that duplicated another)
    vouched = vouched_summaries(bucket.listed.values(), [landed.document()])
    assert set(vouched) == {summaries[1].key, summaries[2].key}
    assert gone.key not in vouched and extra.key not in vouched


def test_a_part_two_summary_objects_describe_differently_is_not_vouched_for():
    # Given the same bytes landed twice, once as its segment's last page and once not
    bucket = Bucket()
    landed, summaries = landed_task(bucket)
    first = landed.document()
    second = json.loads(json.dumps(first))
    second["parts"][2]["metadata"]["segment-done"] = "false"
    # Then neither entry is trusted for that part; entries that agree still count
    vouched = vouched_summaries(bucket.listed.values(), [first, second])
    assert set(vouched) == {summaries[0].key, summaries[1].key}


def test_unreadable_summary_objects_and_entries_vouch_for_nothing():
    bucket = Bucket()
    landed, summaries = landed_task(bucket)
    document = landed.document()
    document["parts"][0]["metadata"] = "records=3"
    document["parts"][1]["metadata"]["records"] = "three"
    del document["parts"][2]["etag"]
    malformed = [None, {}, {"parts": "all"}, {"parts": [None, 3, "x", {"key": summaries[0].key}]}, document]
    assert vouched_summaries(bucket.listed.values(), malformed) == {}
