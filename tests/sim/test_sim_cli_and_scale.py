"""The intacct-sim command line, and a start-up check at a million records per object."""

from __future__ import annotations

import re
import signal
import subprocess
import sys
from datetime import datetime
from pathlib import Path

import pytest
import requests

from intacct_sim import SimulatorConfig, start_simulator
from intacct_sim.cli import build_parser, config_from_args
from tests.sim.sim_support import Gateway, cmp, data_attrs, envelope, function, parse, records_of

ROOT = Path(__file__).resolve().parents[2]


def test_cli_prints_a_ready_line_serves_and_stops_on_sigterm() -> None:
    flags = ["--port", "0", "--records", "40", "--seed", "3", "--session-minutes", "5"]
    command = [
        sys.executable,
        "-m",
        "intacct_sim",
        *flags,
        "--faults",
        '[{"kind": "http_503", "on_calls": [2]}]',
    ]
    process = subprocess.Popen(
        command, cwd=ROOT / "local", stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    try:
        assert process.stdout is not None
        line = process.stdout.readline()
        match = re.search(
            r"ready at (http://127\.0\.0\.1:\d+/ia/xml/xmlgw\.phtml) .*started in [\d.]+ s", line
        )
        assert match, line
        url = match.group(1)
        first = requests.post(url, data=envelope(function("<getAPISession/>")), timeout=10)
        second = requests.post(url, data=envelope(function("<getAPISession/>")), timeout=10)
        assert (first.status_code, second.status_code) == (200, 503)
        stamp = parse(first).findtext("./operation/authentication/sessiontimestamp") or ""
        timeout = parse(first).findtext("./operation/authentication/sessiontimeout") or ""
        assert (datetime.fromisoformat(timeout) - datetime.fromisoformat(stamp)).total_seconds() == 300
        config = requests.get(url.replace("/ia/xml/xmlgw.phtml", "/__sim__/config"), timeout=10).json()
        assert (config["records"], config["seed"], config["session_seconds"]) == (40, 3, 300.0)
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=10) == 0
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()


def test_cli_flags_map_onto_the_config() -> None:
    flags = (
        "--records 7 --latency-ms 25 --concurrency-limit 2 --session-seconds 90 --timezone Europe/Berlin "
        "--sender-id s --sender-password sp --company-id C --user-id u --user-password up --entities US,FR"
    )
    args = build_parser().parse_args([*flags.split(), "--mutations", '{"object": "customer", "deletes": 1}'])
    config = config_from_args(args)
    assert (config.records, config.latency_ms, config.concurrency_limit, config.session_seconds) == (
        7,
        25.0,
        2,
        90.0,
    )
    assert (config.timezone, config.sender_id, config.sender_password) == ("Europe/Berlin", "s", "sp")
    assert (config.company_id, config.user_id, config.user_password, config.entities) == (
        "C",
        "u",
        "up",
        ("US", "FR"),
    )
    assert config.mutations_per_query == [
        {"object": "CUSTOMER", "inserts": 0, "updates": 0, "deletes": 1, "every": 1}
    ]
    assert build_parser().parse_args([]).port == 8085


def test_cli_rejects_bad_fault_json() -> None:
    with pytest.raises(SystemExit):
        build_parser().parse_args(["--faults", "{not json"])


@pytest.mark.slow
def test_a_million_records_start_and_serve_2000_record_pages() -> None:
    with start_simulator(SimulatorConfig(records=1_000_000, seed=1, port=0)) as sim:
        gw = Gateway(sim)
        fields = ["RECORDNO", "CUSTOMERID", "NAME", "WHENMODIFIED", "DISPLAYCONTACT.EMAIL1", "MEGAENTITYID"]
        order = [("RECORDNO", "ascending")]
        first = gw.query("CUSTOMER", fields, order=order, pagesize=2000)
        attrs = data_attrs(first)
        assert (attrs["totalcount"], attrs["count"], attrs["numremaining"]) == ("1000000", "2000", "998000")
        last_key = records_of(first)[-1]["RECORDNO"]
        keyset = gw.query(
            "CUSTOMER",
            fields,
            filter_xml=cmp("greaterthan", "RECORDNO", last_key),
            order=order,
            pagesize=2000,
        )
        assert data_attrs(keyset)["totalcount"] == "998000"
        assert int(records_of(keyset)[0]["RECORDNO"]) > int(last_key)
        tail = gw.query("CUSTOMER", ["RECORDNO"], order=order, pagesize=2000, offset=999_000)
        assert data_attrs(tail)["count"] == "1000" and data_attrs(tail)["numremaining"] == "0"
        recent = gw.query(
            "CUSTOMER",
            ["RECORDNO", "WHENMODIFIED"],
            filter_xml=cmp("greaterthanorequalto", "WHENMODIFIED", "01/01/2025 00:00:00"),
            order=[("WHENMODIFIED", "ascending"), ("RECORDNO", "ascending")],
            pagesize=2000,
        )
        stamps = [datetime.strptime(r["WHENMODIFIED"], "%m/%d/%Y %H:%M:%S") for r in records_of(recent)]
        assert len(stamps) == 2000
        assert stamps == sorted(stamps) and stamps[0] >= datetime(2025, 1, 1)
        audit = gw.query("AUDITHISTORY", ["RECORDNO", "ACCESSMODE"], pagesize=2000)
        assert data_attrs(audit)["totalcount"] == "1000000"
