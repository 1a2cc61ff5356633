"""What an export and a sync announce on EventBridge when they end: one copy of the source and event names."""

from __future__ import annotations

SOURCE = "intacct-sync"
COMPLETED = "Intacct Export Completed"
FAILED = "Intacct Export Failed"
# One per sync execution of several objects, with its summary (detail ``status``: succeeded, failed when
# any object failed, planned for a dry run, skipped when it could not run).
SYNC_COMPLETED = "Intacct Sync Completed"
