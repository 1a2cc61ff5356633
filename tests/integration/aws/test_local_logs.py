"""Local logs name the function that wrote each line, as CloudWatch's do: on AWS every function has a
process of its own; locally they share one logger, and invocations overlap."""

from __future__ import annotations

import io
import json
import logging
import threading
import time
from typing import Any

from intacct_local.emulated_aws import local_aws
from intacct_local.runner import SIM_CREDENTIALS
from intacct_sync.observability import logger


def handler_that_logs(name: str) -> Any:
    @logger.inject_lambda_context
    def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
        time.sleep(0.2)  # the other invocation starts meanwhile, and injects its own context
        logger.info(f"written by {name}")
        return {}

    return handler


def test_overlapping_invocations_tag_their_lines_with_their_own_function():
    lines = io.StringIO()
    capture = logging.StreamHandler(lines)
    capture.setFormatter(logger.registered_formatter)
    with local_aws(dict(SIM_CREDENTIALS), {"GatewayUrl": "http://127.0.0.1:9/ia/xml/xmlgw.phtml"}) as stack:
        logger.addHandler(capture)
        level = logging.getLogger(logger.name).level  # other runs in this process may have set ERROR
        logger.setLevel("INFO")
        try:
            # Given two functions invoked at once, as a sync's exports invoke them
            names = ("StartExportFunction", "GetSessionFunction")
            for name in names:
                stack.overrides[name] = handler_that_logs(name)
            first = threading.Thread(target=stack.invoke, args=(names[0], {}))
            first.start()
            time.sleep(0.05)
            stack.invoke(names[1], {})
            first.join()
        finally:
            logger.setLevel(level)
            logger.removeHandler(capture)
    # Then each line carries the function (and invocation) that wrote it
    written = [json.loads(line) for line in lines.getvalue().splitlines()]
    tags = {line["message"]: line["function_name"] for line in written}
    assert tags == {f"written by {name}": name for name in names}, written
    assert len({line["function_request_id"] for line in written}) == 2
