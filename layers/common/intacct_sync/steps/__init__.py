"""The export's steps, one module per state of the state machine: orchestration over narrow ports.

A handler (``functions/<name>/app.py``) builds the ports once (``intacct_sync.runtime``) and calls one
step; each step reads the run document by run id, does its work through the ports, and returns a typed
payload (``intacct_sync.export.payloads``). Follow one export: ``start`` -> ``session`` ->
``fetch.first_page`` -> ``fetch.segment_start`` (Map) -> ``plan`` -> ``fetch.segment_pages`` (Map,
looped, continuing in a new execution when the history nears its cap) -> ``finalise``; then ``ended``,
run by the execution's status change however it ended (watermark and views, or a failed manifest).

Decisions a newcomer would otherwise question (kept, on purpose):

- Steps take the validated ``Settings`` (one frozen object, read-only, checked at cold start) rather than a
  port or a small config per setting. A step reads two to six of its fields; one settings model per
  function is the cookbook's pattern, and per-step configs would be a second copy of each field to keep
  in step with ``settings.py`` and the README's Configuration. The ports are narrow where a step acts
  (store, state table, events, Intacct); settings are values, not actions.
- ``export/`` holds the page pipeline's threads (``pages.PageFetcher``), the part summaries' reads
  (``summaries.landed_parts``) and the ledger's background writer (``ledger.BatchedLedger``). They are
  domain logic over ports (what to fetch next, which summary to trust, when to write), given callables and
  protocols; nothing in ``export/`` imports boto3, requests, an adapter, the wiring or a step, and the
  unit tests run them with fakes. "Pure" in STYLE.md means that, not "single-threaded".
- The API (``intacct_sync.api``) calls the adapters directly (``ExportStore``, ``StateTable``,
  ``ExportExecutions``), not the ports: it is the one read-side path (status, progress, records, syncs),
  runs no step and writes nothing but the start of an execution, so a port in between would have one
  implementation and one caller. Everything a run writes, the steps write.
"""
