"""The simulator in a process of its own, so that its CPU never competes with the export for the GIL.

Started with the ``intacct-sim`` command line (``python -m intacct_sim``); ready once it prints its ready
line. Latency and the concurrency limit change at run time through ``/__sim__/config``.
"""

from __future__ import annotations

import json
import os
import queue
import subprocess
import sys
import tempfile
import threading
import urllib.request
from collections.abc import Sequence
from types import TracebackType
from typing import Any

READY_MARK = "intacct-sim ready at "
GATEWAY_PATH = "/ia/xml/xmlgw.phtml"

# The simulator's default credentials (its README); the runner reads INTACCT_* for a gateway URL.
SIM_CREDENTIALS = {
    "sender_id": "intacct-sim",
    "sender_password": "intacct-sim-pw",
    "company_id": "SIMCO",
    "user_id": "sim-user",
    "user_password": "sim-user-pw",
}
SIM_ENV = {
    "INTACCT_SENDER_ID": SIM_CREDENTIALS["sender_id"],
    "INTACCT_SENDER_PASSWORD": SIM_CREDENTIALS["sender_password"],
    "INTACCT_COMPANY_ID": SIM_CREDENTIALS["company_id"],
    "INTACCT_USER_ID": SIM_CREDENTIALS["user_id"],
    "INTACCT_USER_PASSWORD": SIM_CREDENTIALS["user_password"],
}


def _drain(stream: Any, lines: queue.Queue[str]) -> None:
    for line in stream:
        lines.put(line)


class SimulatorProcess:
    """``with SimulatorProcess(records=100_000) as sim:`` then ``sim.url``, ``sim.configure(...)``."""

    def __init__(
        self, records: int, seed: int = 1, startup_timeout: float = 180.0, options: Sequence[str] = ()
    ) -> None:
        self.records = records
        self.seed = seed
        self.options = tuple(options)  # more intacct-sim flags, e.g. ("--latency-ms", "300")
        self.startup_timeout = startup_timeout
        self.url = ""
        self.base_url = ""
        self.startup_line = ""
        self._proc: subprocess.Popen[str] | None = None
        self._stderr = tempfile.TemporaryFile(mode="w+")  # noqa: SIM115 - closed in stop()

    def start(self) -> SimulatorProcess:
        """Start it and wait for its ready line. Started from the main thread, it also ends when this
        process ends, however that happens (``kill -9`` included: ``--exit-with-parent``); from another
        thread it would end with that thread (Linux's PR_SET_PDEATHSIG follows the starting thread), so
        it is left to ``stop``."""
        command = [sys.executable, "-m", "intacct_sim", "--port", "0"]
        command += ["--records", str(self.records), "--seed", str(self.seed), *self.options]
        if threading.current_thread() is threading.main_thread():
            command += ["--exit-with-parent", str(os.getpid())]
        self._proc = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=self._stderr, text=True)
        lines: queue.Queue[str] = queue.Queue()
        stdout = self._proc.stdout
        assert stdout is not None
        # Keep draining stdout so that the simulator never blocks on a full pipe.
        threading.Thread(target=_drain, args=(stdout, lines), daemon=True).start()
        try:
            line = lines.get(timeout=self.startup_timeout)
        except queue.Empty:
            line = ""
        if READY_MARK not in line:
            self.stop()
            self._stderr.seek(0)
            raise RuntimeError(f"intacct-sim did not start: {line.strip()} {self._stderr.read()[-2000:]}")
        self.startup_line = line.strip()
        self.url = line.split(READY_MARK, 1)[1].split()[0]
        self.base_url = self.url[: -len(GATEWAY_PATH)]
        return self

    def _control(self, method: str, name: str, payload: dict[str, Any] | None = None) -> Any:
        data = json.dumps(payload).encode() if payload is not None else None
        url = f"{self.base_url}/__sim__/{name}"
        request = urllib.request.Request(url, data=data, method=method)  # noqa: S310 - local simulator
        request.add_header("Content-Type", "application/json")
        with urllib.request.urlopen(request, timeout=30) as response:  # noqa: S310 - local simulator
            return json.loads(response.read())

    def configure(self, **fields: Any) -> dict[str, Any]:
        """Run-time settings, e.g. ``latency_ms=300, concurrency_limit=4`` (None removes the limit)."""
        result: dict[str, Any] = self._control("POST", "config", fields)
        return result

    def reset_stats(self) -> None:
        self._control("POST", "reset-stats", {})

    def stats(self) -> dict[str, Any]:
        """``GET /__sim__/stats``: transactions, by function, peak concurrency, statuses."""
        result: dict[str, Any] = self._control("GET", "stats")
        return result

    def stop(self) -> None:
        if self._proc is not None and self._proc.poll() is None:
            self._proc.terminate()
            try:
                self._proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self._proc.kill()
                self._proc.wait(timeout=15)
        self._stderr.close()

    def __enter__(self) -> SimulatorProcess:
        return self.start()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()
