"""Run in a fresh interpreter: import one handler cold, optionally invoke it, report time and memory.

    python benchmarks/handler_probe.py --app functions/fetch_page/app.py --out result.json \
        [--event task.json] [--memory-mb 1024]

Only what a Lambda execution environment would load is imported here (no moto, no benchmark code):
AWS calls go to the moto server named by AWS_ENDPOINT_URL, Intacct calls to the simulator process.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import resource
import sys
import time
from pathlib import Path


class _Context:
    """The attributes of the Lambda context that Powertools and the handlers read."""

    def __init__(self, name: str, memory_mb: int) -> None:
        self.function_name = name
        self.function_version = "$LATEST"
        self.memory_limit_in_mb = memory_mb
        self.invoked_function_arn = f"arn:aws:lambda:us-east-1:123456789012:function:{name}"
        self.aws_request_id = "bench-probe"
        self.log_group_name = f"/aws/lambda/{name}"
        self.log_stream_name = "bench"
        self._deadline = time.monotonic() + 900

    def get_remaining_time_in_millis(self) -> int:
        return int((self._deadline - time.monotonic()) * 1000)


def _rss_mb() -> float:
    """Peak resident memory of this process. VmHWM starts afresh at exec; ru_maxrss would carry the
    parent's peak over a fork on Linux."""
    status = Path("/proc/self/status")
    if status.exists():
        for line in status.read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--app", required=True)
    parser.add_argument("--out", required=True)
    parser.add_argument("--event")
    parser.add_argument("--memory-mb", type=int, default=512, help="the function's MemorySize")
    args = parser.parse_args()
    result: dict[str, object] = {"rss_start_mb": _rss_mb()}
    started = time.perf_counter()
    spec = importlib.util.spec_from_file_location("lambda_app", args.app)
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    result["import_ms"] = (time.perf_counter() - started) * 1000
    result["rss_after_import_mb"] = _rss_mb()
    package = sys.modules.get("intacct_sync")
    result["package_path"] = str(getattr(package, "__file__", ""))
    if args.event:
        event = json.loads(Path(args.event).read_text())
        started = time.perf_counter()
        output = module.lambda_handler(event, _Context(Path(args.app).parent.name, args.memory_mb))
        result["invoke_ms"] = (time.perf_counter() - started) * 1000
        result["output"] = {k: output.get(k) for k in ("pages", "records", "done")}
    result["peak_rss_mb"] = _rss_mb()
    Path(args.out).write_text(json.dumps(result))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
