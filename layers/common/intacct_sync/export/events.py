"""What an export announces on EventBridge when it ends: one copy of the source and event names."""

from __future__ import annotations

SOURCE = "intacct-sync"
COMPLETED = "Intacct Export Completed"
FAILED = "Intacct Export Failed"
