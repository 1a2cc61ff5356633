"""The export's steps, one module per state of the state machine: orchestration over narrow ports.

A handler (``functions/<name>/app.py``) builds the ports once (``intacct_sync.runtime``) and calls one
step; each step reads the run document by run id, does its work through the ports, and returns a typed
payload (``intacct_sync.export.payloads``). Follow one export: ``start`` -> ``session`` ->
``fetch.first_page`` -> ``fetch.segment_start`` (Map) -> ``plan`` -> ``fetch.segment_pages`` (Map,
looped) -> ``finalise``; ``failure`` when a step fails for good.
"""
