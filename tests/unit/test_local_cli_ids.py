"""The command line takes a run or sync id by the workflow's own rule (``export.spec.validate_run_id``):
what it accepts, the workflow accepts, and what the workflow refuses it refuses before anything starts."""

from __future__ import annotations

import pytest

from intacct_local.cli import build_parser
from intacct_sync.errors import InvalidExportRequest
from intacct_sync.export.spec import validate_run_id

IDS = ["run-1", "a", "A_b-9", "x" * 80, "_leading", "-leading", "trailing\n", "x" * 81, "a b", "../x", ""]


@pytest.mark.parametrize("flag", ["--resume", "--resume-sync"])
@pytest.mark.parametrize("run_id", IDS)
def test_the_command_line_takes_exactly_the_ids_the_workflow_takes(flag, run_id, capsys):
    try:
        validate_run_id(run_id)
        valid = True
    except InvalidExportRequest:
        valid = False
    parser = build_parser()
    if valid:
        assert getattr(parser.parse_args(["run", f"{flag}={run_id}"]), flag[2:].replace("-", "_")) == run_id
    else:
        with pytest.raises(SystemExit):
            parser.parse_args(["run", f"{flag}={run_id}"])
        assert "the id must be 1 to 80 letters" in capsys.readouterr().err
