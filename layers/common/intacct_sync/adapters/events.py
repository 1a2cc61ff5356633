"""Export lifecycle events on EventBridge, for downstream jobs."""

from __future__ import annotations

import json
from typing import Any

from intacct_sync.export.events import SOURCE


class ExportEvents:
    """Publishes one event per finished export; the detail carries keys and counts, never records."""

    def __init__(self, events_client: Any, bus_name: str) -> None:
        self._events, self._bus = events_client, bus_name

    def publish(self, detail_type: str, detail: dict[str, Any]) -> None:
        response = self._events.put_events(
            Entries=[
                {
                    "Source": SOURCE,
                    "DetailType": detail_type,
                    "Detail": json.dumps(detail, sort_keys=True),
                    "EventBusName": self._bus,
                }
            ]
        )
        if response.get("FailedEntryCount"):
            raise RuntimeError(f"EventBridge rejected the {detail_type!r} event: {response['Entries']}")
