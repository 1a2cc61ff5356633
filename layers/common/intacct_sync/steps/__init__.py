"""The export's steps, one module per state of the state machine: orchestration over narrow ports.

A handler (``functions/<name>/app.py``) builds the ports once (``intacct_sync.runtime``) and calls one
step; each step reads the run document by run id, does its work through the ports, and returns a typed
payload (``intacct_sync.export.payloads``). Follow one export: ``start`` -> ``session`` ->
``fetch.first_page`` -> ``fetch.segment_start`` (Map) -> ``plan`` -> ``fetch.segment_pages`` (Map,
looped, continuing in a new execution when the history nears its cap) -> ``finalise``; then ``ended``,
run by the execution's status change however it ended (watermark and views, or a failed manifest).
"""
