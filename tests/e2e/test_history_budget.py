"""A long export must never reach Step Functions' 25,000-event history cap."""

from __future__ import annotations

import boto3
import pytest

from intacct_local.runner import RunOptions, local_pipeline
from intacct_sync.export.plan import MAX_PAGE_TASKS, pages_per_task

pytestmark = pytest.mark.e2e
HISTORY_CAP = 25_000


def history_events(stack) -> int:
    sfn = boto3.client("stepfunctions", region_name="us-east-1")
    arn = sfn.list_executions(stateMachineArn=stack.state_machine_arn)["executions"][0]["executionArn"]
    count, kwargs = 0, {}
    while True:
        page = sfn.get_execution_history(executionArn=arn, maxResults=1000, **kwargs)
        count += len(page["events"])
        if not page.get("nextToken"):
            return count
        kwargs = {"nextToken": page["nextToken"]}


def test_history_per_page_task_keeps_the_largest_export_under_the_cap(make_sim):
    # Given a 40-page export (one page per task at this size)
    sim = make_sim(records=20_000, seed=2)
    with local_pipeline(RunOptions(page_size=500, concurrency=4, quiet=True), sim=sim) as pipeline:
        result = pipeline.export({"object": "CUSTOMER", "fields": ["RECORDNO", "NAME", "WHENMODIFIED"]})
        events = history_events(pipeline.stack)
    assert result.status == "SUCCEEDED", result.error
    tasks = result.manifest["pages"]
    per_task = events / tasks
    # Then, at the measured cost per page task, the most tasks any export is split into still fit
    assert per_task < 10
    assert per_task * MAX_PAGE_TASKS + events < HISTORY_CAP
    # And an export of a billion records is split into no more tasks than that
    assert 1_000_000_000 / 2000 / pages_per_task(1_000_000_000, 2000) <= MAX_PAGE_TASKS
