"""`intacct-sync` as a person meets it: run as a command, judged by what it prints, leaves and stops."""

from __future__ import annotations

import json
import os
import re
import shlex
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from intacct_sync.objects import DEFAULT_OBJECTS
from tests.conftest import ROOT

WIDE = DEFAULT_OBJECTS  # every default object, described at length: a catalogue past Lambda's 4 KB

pytestmark = pytest.mark.e2e

ENV = {
    **os.environ,
    "PYTHONPATH": os.pathsep.join(str(ROOT / p) for p in ("layers/common", "local", ".")),
    "PYTHONUNBUFFERED": "1",
}
COMMAND = [sys.executable, "-m", "intacct_local"]  # as the installed intacct-sync runs


def intacct_sync(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*COMMAND, *args], capture_output=True, text=True, env=env or ENV, cwd=ROOT, timeout=180
    )


def children(pid: int) -> list[int]:
    found = []
    for task in Path(f"/proc/{pid}/task").iterdir():
        try:
            found += [int(c) for c in (task / "children").read_text().split()]
        except (FileNotFoundError, ProcessLookupError):  # a thread that ended while we listed them
            continue
    return found


def alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (FileNotFoundError, ProcessLookupError):
        return False
    return state != "Z"


def until(condition, what: str, seconds: float = 120.0) -> None:
    """Wait for an event (not a duration): the bound only keeps a broken run from hanging the suite."""
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, f"gave up waiting for {what}"
        time.sleep(0.05)


@pytest.fixture
def closed_port() -> Iterator[int]:
    """A port on loopback that refuses connections: bound, never listening."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        yield sock.getsockname()[1]


class FakeEndpoint:
    """A listener on loopback standing for a LocalStack or MinIO the user runs: records what connects."""

    def __init__(self) -> None:
        self._server = socket.create_server(("127.0.0.1", 0))
        self._server.settimeout(0.1)
        self.url = f"http://127.0.0.1:{self._server.getsockname()[1]}"
        self._received: list[bytes] = []
        self._done = threading.Event()
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._thread.start()

    def _serve(self) -> None:
        while not self._done.is_set():
            try:
                conn, _ = self._server.accept()
            except TimeoutError:
                continue
            with conn:
                conn.settimeout(5)
                self._received.append(conn.recv(300) or b"(connected, sent nothing)")

    def received(self) -> list[bytes]:
        """Everything that connected, once the listener has stopped (nothing can be in between)."""
        self._done.set()
        self._thread.join(10)
        self._server.close()
        return self._received


@pytest.fixture
def fake_endpoint() -> Iterator[FakeEndpoint]:
    endpoint = FakeEndpoint()
    yield endpoint
    endpoint.received()


def test_no_aws_setting_in_the_users_environment_leads_the_local_runner_anywhere(tmp_path, fake_endpoint):
    # Given a shell whose AWS settings all point at an endpoint on this machine, or at nothing
    url = fake_endpoint.url
    config = tmp_path / "aws-config"
    config.write_text(f"[default]\nendpoint_url = {url}\n[profile local]\nendpoint_url = {url}\n")
    services = ("S3", "DYNAMODB", "SSM", "SECRETS_MANAGER", "SFN", "LAMBDA", "EVENTBRIDGE", "GLUE", "IAM")
    hostile = {
        **ENV,
        "AWS_CONFIG_FILE": str(config),
        "AWS_SHARED_CREDENTIALS_FILE": str(config),
        "AWS_PROFILE": "local",
        "AWS_ENDPOINT_URL": url,
        **{f"AWS_ENDPOINT_URL_{service}": url for service in services},
        "AWS_USE_FIPS_ENDPOINT": "true",
        "AWS_USE_DUALSTACK_ENDPOINT": "true",
        "AWS_CA_BUNDLE": str(tmp_path / "no-such-bundle.pem"),
        "TEST_SERVER_MODE": "true",
        "TEST_SERVER_MODE_ENDPOINT": url,
    }
    # When a run starts there
    out = tmp_path / "out"
    done = intacct_sync(
        "run", "--quiet", "--records", "300", "--page-size", "100", "--out", str(out), env=hostile
    )
    # Then it succeeds on the emulator, and nothing ever reached the endpoint
    assert done.returncode == 0, done.stderr
    assert fake_endpoint.received() == []
    # And a profile that does not exist changes nothing: no traceback, whichever command
    nowhere = {**ENV, "AWS_PROFILE": "nosuchprofile", "AWS_DEFAULT_PROFILE": "nosuchprofile"}
    for args in (["--help"], ["sql", "--out", str(out), "SELECT count(*) AS n FROM customer_current"]):
        shown = intacct_sync(*args, env=nowhere)
        assert shown.returncode == 0, shown.stderr
        assert "Traceback" not in shown.stderr and shown.stdout


def test_a_failed_run_is_the_summary_one_line_and_the_log_path_nothing_from_the_emulator(tmp_path):
    # When a run fails (Intacct refuses a field)
    done = intacct_sync(
        "run", "--quiet", "--records", "100", "--page-size", "100", "--fields", "RECORDNO,NOPE",
        "--out", str(tmp_path),
    )  # fmt: skip
    # Then it exits 1 with the summary on stdout, and on stderr one line of what to do and the log's path
    assert done.returncode == 1, done.stderr
    assert all(line.startswith("  ") for line in done.stdout.splitlines()), done.stdout
    assert "Intacct total count" not in done.stdout  # not known: not printed as None
    reason, log_line = done.stderr.splitlines()
    assert reason.startswith("intacct-sync: Intacct refused a field") and "--fields" in reason
    log = Path(log_line.removeprefix("intacct-sync: full log: "))
    assert log.is_file() and log.is_relative_to(tmp_path)
    assert len(done.stdout) + len(done.stderr) < 1500
    for noise in ("Exception=", "moto", "Traceback", '{"level"', "object at 0x"):
        assert noise not in done.stdout + done.stderr
    # And the full story is in the log: the functions' JSON logs and the emulator's own report
    text = log.read_text()
    assert '"message":"export failed"' in text and "FailureEventException" in text


def test_an_unreachable_gateway_is_one_line_and_nothing_starts(tmp_path, closed_port):
    credentials = {
        f"INTACCT_{k}": "x"
        for k in ("SENDER_ID", "SENDER_PASSWORD", "COMPANY_ID", "USER_ID", "USER_PASSWORD")
    }
    done = intacct_sync(
        "run", "--quiet", "--gateway-url", f"http://127.0.0.1:{closed_port}/ia/xml/xmlgw.phtml",
        "--out", str(tmp_path), env={**ENV, **credentials},
    )  # fmt: skip
    assert done.returncode == 2
    assert done.stdout == ""
    (line,) = done.stderr.splitlines()
    assert line.startswith("intacct-sync: cannot reach the gateway") and "--gateway-url" in line
    assert not (tmp_path / "exports").exists()


def test_ctrl_c_stops_at_once_the_resume_completes_the_run_and_out_keeps_everything_between_runs(tmp_path):
    # Given an --out folder holding files of the user's own, where exports land
    mine = [tmp_path / "exports" / "mine.txt", tmp_path / "deletes" / "notes.txt", tmp_path / "report.csv"]
    for path in mine:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text("keep me")
    # And a run that takes a while (200 ms per Intacct call, 20 pages, two at a time)
    run = subprocess.Popen(
        [*COMMAND, "run", "--records", "20000", "--page-size", "1000", "--latency-ms", "200",
         "--out", str(tmp_path)],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=ENV, cwd=ROOT,
    )  # fmt: skip
    logs = tmp_path / "_local" / "logs"
    until(lambda: any("FetchPageFunction REPORT" in p.read_text() for p in logs.glob("*.log")), "a page")
    simulator = children(run.pid)
    assert simulator and all(alive(pid) for pid in simulator)
    # When Ctrl-C arrives once the first page has landed
    run.send_signal(signal.SIGINT)
    stdout, stderr = run.communicate(timeout=60)
    # Then it exits 130 with the summary and a last line saying what landed and how to continue
    assert run.returncode == 130, stderr
    assert "ABORTED" in stdout and "Traceback" not in stdout + stderr
    last = stderr.strip().splitlines()[-1].replace("\r", "")
    found = re.search(
        r"stopped: (\d+) pages .* had landed in .*; continue with: .* --resume (\S+) --out ", last
    )
    assert found, stderr
    landed, run_id = int(found.group(1)), found.group(2)
    assert 1 <= landed < 20
    assert len(list((tmp_path / "exports" / "object=CUSTOMER" / f"run_id={run_id}").glob("part-*"))) == landed
    # And the simulator it started has stopped with it
    assert not any(alive(pid) for pid in simulator)

    # When the run is resumed from the folder, and an incremental run follows
    resumed = intacct_sync("run", "--quiet", "--json", "--resume", run_id, "--out", str(tmp_path))
    assert resumed.returncode == 0, resumed.stderr
    full = json.loads(resumed.stdout)
    later = intacct_sync(
        "run", "--quiet", "--json", "--mode", "incremental", "--records", "20000", "--out", str(tmp_path)
    )
    assert later.returncode == 0, later.stderr
    incremental = json.loads(later.stdout)
    # Then the resume completed the same run: every record once, reconciled
    assert full["run_id"] == run_id and full["status"] == "succeeded" and full["reconciled"]
    assert full["records_written"] == full["total_count"] == 20000
    # And the incremental run read from that run's watermark, kept in the folder between the two
    assert incremental["window"]["since"] == full["window"]["watermark_after"]
    assert incremental["records_written"] < 20000
    # And both runs sit side by side, complete, and the user's files are untouched
    for manifest in (full, incremental):
        folder = tmp_path / "exports" / "object=CUSTOMER" / f"run_id={manifest['run_id']}"
        assert (folder / "_manifest.json").is_file()
        assert len(list(folder.glob("part-*"))) == len(manifest["parts"])
    assert all(path.read_text() == "keep me" for path in mine)
    # And resuming the run that has succeeded is refused in one line (exit 2), and nothing starts
    logs_before = sorted(logs.iterdir())
    again = intacct_sync("run", "--resume", run_id, "--out", str(tmp_path))
    assert again.returncode == 2 and again.stdout == ""
    (line,) = again.stderr.splitlines()
    assert line.startswith(f"intacct-sync: run {run_id} succeeded already") and "nothing to resume" in line
    assert sorted(logs.iterdir()) == logs_before


def test_after_ctrl_c_and_resume_the_manifest_counts_every_transaction_intacct_billed(make_sim, tmp_path):
    # Given a tenant (reached as a real gateway) answering each call in 200 ms, and a run of it
    from intacct_sim.process import SIM_ENV

    sim = make_sim(records=20000, seed=5, latency_ms=200)
    common = ["--gateway-url", sim.url, "--page-size", "500", "--out", str(tmp_path)]
    run = subprocess.Popen(
        [*COMMAND, "run", "--quiet", *common],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env={**ENV, **SIM_ENV}, cwd=ROOT,
    )  # fmt: skip
    # When Ctrl-C arrives while pages are being read (calls in flight, counts not yet written)
    until(lambda: sim.stats()["transactions_by_function"].get("query", 0) >= 4, "pages being read")
    run.send_signal(signal.SIGINT)
    stdout, stderr = run.communicate(timeout=60)
    assert run.returncode == 130, stderr
    until(lambda: sim.stats()["in_flight"] == 0, "the simulator to answer what it was sent")
    billed = sim.stats()["transactions"]
    # Then the summary counts every transaction Intacct billed, those answered after the stop included
    found = re.search(r"Intacct transactions +(\d+)", stdout)
    assert found and int(found.group(1)) == billed, (stdout, sim.stats())
    # And the run's manifest says it was stopped, what landed, what it cost and how to resume it
    run_id = re.search(r"--resume (\S+) --out", stderr.strip().splitlines()[-1]).group(1)
    folder = tmp_path / "exports" / "object=CUSTOMER" / f"run_id={run_id}"
    stopped = json.loads((folder / "_manifest.json").read_text())
    assert stopped["status"] == "failed" and not stopped["reconciled"]
    assert stopped["error"]["error"] in ("LocalRunStopped", "States.Aborted"), stopped["error"]
    assert stopped["intacct_transactions"] == billed
    assert stopped["records_written"] == sum(p["records"] for p in stopped["parts"]) > 0
    assert len(stopped["parts"]) == len(list(folder.glob("part-*")))
    assert stopped["resume_with"] == {"resume_run_id": run_id}
    # When the run is resumed
    resumed = intacct_sync(
        "run", "--quiet", "--json", "--resume", run_id, *common[4:], env={**ENV, **SIM_ENV}
    )
    assert resumed.returncode == 0, resumed.stderr
    manifest = json.loads(resumed.stdout)
    # Then it completes, and its manifest's transactions are exactly what Intacct billed for both
    assert manifest["status"] == "succeeded" and manifest["records_written"] == 20000
    assert manifest["intacct_transactions"] == sim.stats()["transactions"]


def test_kill_of_the_local_api_stops_its_simulator_too():
    api = subprocess.Popen(
        [*COMMAND, "api", "--port", "0", "--records", "100"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=ENV, cwd=ROOT,
    )  # fmt: skip
    assert api.stderr is not None
    banner = []
    while "curl" not in "".join(banner) and (line := api.stderr.readline()):
        banner.append(line)
    assert banner[0].startswith("intacct-sync API on http://127.0.0.1:"), banner
    simulator = children(api.pid)
    assert simulator and all(alive(pid) for pid in simulator)
    api.send_signal(signal.SIGTERM)
    api.communicate(timeout=60)
    # It exits as `run` does on kill (128 + SIGTERM), and leaves no empty log behind
    assert api.returncode == 143
    assert not any(alive(pid) for pid in simulator)
    log = Path(tempfile.gettempdir()) / f"intacct-sync-api-{api.pid}.log"
    assert not log.exists() or log.stat().st_size > 0


def test_a_busy_api_port_is_one_line_naming_it_and_exit_2():
    with socket.create_server(("127.0.0.1", 0)) as busy:
        port = busy.getsockname()[1]
        done = intacct_sync("api", "--port", str(port), "--records", "100")
    assert done.returncode == 2
    (line,) = done.stderr.splitlines()
    assert line.startswith(f"intacct-sync: port {port} on 127.0.0.1 is in use") and "--port" in line


def test_a_second_stop_signal_stops_at_once_naming_the_run_and_a_resume_command_that_works(
    make_sim, tmp_path
):
    # Given a run into a folder whose name has a space, against a gateway answering in 300 ms
    from intacct_sim.process import SIM_ENV

    env = {**ENV, **SIM_ENV}
    sim = make_sim(records=10000, seed=8, latency_ms=300)
    out = tmp_path / "my exports"
    run = subprocess.Popen(
        [*COMMAND, "run", "--quiet", "--gateway-url", sim.url, "--page-size", "500", "--out", str(out)],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env, cwd=ROOT,
    )  # fmt: skip
    index = out / "_local" / "objects.json"
    until(lambda: index.is_file() and "/part-" in index.read_text(), "a page kept in the folder")
    # When two stop signals arrive together (the second while the first stop is under way)
    run.send_signal(signal.SIGINT)
    run.send_signal(signal.SIGTERM)
    _, stderr = run.communicate(timeout=60)
    # Then it ends at once, and its last line names the run and the command that continues it
    assert run.returncode == 143, stderr
    last = stderr.strip().splitlines()[-1]
    found = re.fullmatch(
        r"intacct-sync: stopped at once; run (\S+): what had landed is kept; continue with: (.+)", last
    )
    assert found, stderr
    command = shlex.split(found.group(2))
    assert command[: len(COMMAND)] == COMMAND and command[len(COMMAND) :] == [
        "run", "--resume", found.group(1), "--out", str(out)
    ]  # fmt: skip
    # And that command, pasted, completes the run
    resumed = subprocess.run(
        [*command, "--quiet", "--json"], capture_output=True, text=True, env=env, cwd=ROOT, timeout=180
    )
    assert resumed.returncode == 0, resumed.stderr
    manifest = json.loads(resumed.stdout)
    assert manifest["run_id"] == found.group(1) and manifest["records_written"] == 10000


def catches(pid: int, signum: int) -> bool:
    """Whether the process has a handler of its own for the signal (its SigCgt mask)."""
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except FileNotFoundError:
        return False
    mask = next(line.split()[1] for line in status.splitlines() if line.startswith("SigCgt:"))
    return bool(int(mask, 16) >> (signum - 1) & 1)


@pytest.mark.parametrize("moment", ["while it imports", "while its simulator starts"])
def test_ctrl_c_while_the_tool_starts_is_one_line_and_exit_130(tmp_path, moment):
    # Given a run that has just started: its first handler installed, or its simulator starting
    run = subprocess.Popen(
        [*COMMAND, "run", "--records", "50000", "--out", str(tmp_path)],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=ENV, cwd=ROOT,
    )  # fmt: skip
    if moment == "while it imports":
        until(lambda: catches(run.pid, signal.SIGTERM), "the command's own signal handlers")
    else:
        until(lambda: children(run.pid), "the simulator to start")
    # When Ctrl-C arrives
    run.send_signal(signal.SIGINT)
    stdout, stderr = run.communicate(timeout=60)
    # Then it stops with exit 130 and one line saying nothing was exported, no traceback
    assert run.returncode == 130, stderr
    assert "Traceback" not in stdout + stderr and "KeyboardInterrupt" not in stderr
    (line,) = stderr.strip().splitlines()
    assert line.startswith("intacct-sync: stopped") and "nothing was exported" in line, line


@pytest.mark.parametrize("command", ["api", "run"])
def test_kill_9_of_the_local_tool_still_stops_its_simulator(tmp_path, command):
    # Given the API, or a run, with the simulator it started
    args = (
        ["api", "--port", "0", "--records", "100"]
        if command == "api"
        else [
            "run",
            "--records",
            "20000",
            "--page-size",
            "1000",
            "--latency-ms",
            "200",
            "--out",
            str(tmp_path),
        ]
    )
    tool = subprocess.Popen(
        [*COMMAND, *args], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=ENV, cwd=ROOT
    )
    try:
        until(lambda: children(tool.pid), "the simulator to start")
        (simulator,) = children(tool.pid)
        # When the tool is killed with SIGKILL, which leaves it no chance to stop anything itself
        tool.kill()
        tool.wait(timeout=60)
        # Then the simulator goes too (the kernel tells it its parent has gone)
        until(lambda: not alive(simulator), "the simulator to stop", seconds=60)
    finally:
        tool.kill()


def test_run_all_prints_a_line_per_object_and_a_summary_and_a_rerun_syncs_only_what_failed(
    make_sim, tmp_path
):
    # Given a tenant (reached as a real gateway) whose user may not query vendors
    from intacct_sim.process import SIM_ENV

    sim = make_sim(records=100, seed=31, denied_objects=["VENDOR"])
    env = {**ENV, **SIM_ENV}
    common = ["--page-size", "100", "--gateway-url", sim.url, "--out", str(tmp_path)]
    # When every object is synced
    done = intacct_sync("run", "--all", *common, env=env)
    # Then it exits 1: a line per object as it ended, the table, and the command that reruns only VENDOR
    assert done.returncode == 1, done.stderr
    lines = done.stderr.splitlines()
    assert re.match(r"  ok +CUSTOMER +100 records", next(x for x in lines if "CUSTOMER" in x))
    assert re.match(r"  FAILED +VENDOR +FunctionError: PL04000005", next(x for x in lines if "VENDOR" in x))
    assert "1 failed (VENDOR)" in done.stdout and re.search(r"GLACCOUNT +incremental +succeeded", done.stdout)
    (hint,) = [x for x in lines if "rerun only those" in x]
    rerun = hint.split("rerun only those with: intacct-sync ", 1)[1].split()
    assert rerun[:2] == ["run", "--resume-sync"] and rerun[3:] == ["--out", str(tmp_path)]
    # When the permission is granted and that command is run
    sim.configure(denied_objects=[])
    again = intacct_sync(*rerun, env=env)
    # Then only VENDOR ran, and the others are reported as synced by the first sync
    assert again.returncode == 0, again.stderr
    assert [x for x in again.stderr.splitlines() if x.startswith("  ")] == [
        x for x in again.stderr.splitlines() if "VENDOR" in x and x.startswith("  ok")
    ]
    assert re.search(r"CUSTOMER +synced earlier", again.stdout) and "1 object synced" in again.stdout


def reader_leaves_at_once(*args: str, env: dict[str, str]) -> tuple[int, str]:
    """Run the command with its stdout a pipe nobody reads (``| head`` that already ended): its exit code
    and what it said on stderr."""
    proc = subprocess.Popen(
        [*COMMAND, *args], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env, cwd=ROOT
    )
    assert proc.stdout is not None
    proc.stdout.close()
    _, err = proc.communicate(timeout=180)
    return proc.returncode, err


@pytest.fixture(scope="module")
def exported(tmp_path_factory) -> tuple[Path, dict[str, str], int, str]:
    """A folder with a succeeded CUSTOMER run, made by a run whose reader left before its summary."""
    out, scratch = tmp_path_factory.mktemp("out"), tmp_path_factory.mktemp("tmp")
    env = {**ENV, "TMPDIR": str(scratch)}  # where an "internal error" would leave its log
    code, err = reader_leaves_at_once("run", "--quiet", "--records", "200", "--out", str(out), env=env)
    return out, env, code, err


def test_a_run_whose_reader_left_exits_with_the_exports_outcome_quietly(exported):
    out, env, code, err = exported
    # Given `intacct-sync run ... | head -1` (the reader gone before the summary)
    # Then the export's success is its exit code: nothing about an error, no error log
    assert code == 0, err
    assert "internal error" not in err and "Traceback" not in err
    assert not list(Path(env["TMPDIR"]).glob("intacct-sync-error-*"))
    (manifest,) = out.glob("exports/object=CUSTOMER/run_id=*/_manifest.json")
    assert json.loads(manifest.read_text())["status"] == "succeeded"


def test_sql_refuses_an_empty_query_and_stops_quietly_when_its_reader_leaves(exported):
    out, env, _, _ = exported
    # An empty, blank or comment-only query is a usage error: exit 2, one line saying so
    for text in ("", "   ", "-- just a comment", "/* nothing */ ;"):
        done = intacct_sync("sql", "--out", str(out), text, env=env)
        assert done.returncode == 2 and done.stdout == "", (text, done)
        (line,) = done.stderr.splitlines()
        assert line.startswith("intacct-sync sql: the query is empty"), line
    # A reader that leaves (| head) ends the output as SIGPIPE would: exit 141, nothing on stderr
    for form in ("table", "csv", "json"):
        code, err = reader_leaves_at_once(
            "sql", "--out", str(out), "--format", form, "SELECT * FROM customer_current", env=env
        )
        assert (code, err) == (141, ""), form
    assert not list(Path(env["TMPDIR"]).glob("intacct-sync-error-*"))


def test_sql_prints_decimals_as_people_and_json_readers_expect_and_takes_athenas_database(exported):
    out, env, _, _ = exported
    query = (
        "SELECT recordno, totaldue, CAST(0 AS DECIMAL(38,16)) AS zero, CAST(1500 AS DECIMAL(38,16)) AS "
        "round, CAST(12345678901234567890.123 AS DECIMAL(38,16)) AS wide "
        "FROM intacct_sync_dev.customer_current ORDER BY recordno LIMIT 5"
    )
    # JSON lines: amounts are numbers (0, not "0E-16"), text only where a double would round them
    done = intacct_sync("sql", "--out", str(out), "--format", "json", query, env=env)
    assert done.returncode == 0, done.stderr
    rows = [json.loads(line) for line in done.stdout.splitlines()]
    assert len(rows) == 5
    assert all(r["zero"] == 0 and r["round"] == 1500 and isinstance(r["round"], int) for r in rows)
    assert all(r["wide"] == "12345678901234567890.123" for r in rows)
    assert all(isinstance(r["totaldue"], int | float) for r in rows if r["totaldue"] is not None)
    # Table and CSV: plain notation, the digits each value needs
    for form in ("table", "csv"):
        done = intacct_sync("sql", "--out", str(out), "--format", form, query, env=env)
        assert done.returncode == 0, done.stderr
        assert "E-" not in done.stdout and "E+" not in done.stdout and ".0000" not in done.stdout
        assert "12345678901234567890.123" in done.stdout and " 1500" in done.stdout.replace(",", " ")
    # And Athena's database prefix reads the very same tables as no prefix
    plain = intacct_sync("sql", "--out", str(out), "SELECT count(*) FROM customer_current", env=env)
    prefixed = intacct_sync(
        "sql", "--out", str(out), "SELECT count(*) FROM intacct_sync_dev.customer_current", env=env
    )
    assert prefixed.returncode == 0 and prefixed.stdout == plain.stdout, prefixed.stderr


def test_the_catalogue_and_the_budget_are_the_users_to_set_and_a_bad_one_is_one_line(tmp_path):
    # When the user's environment gives a catalogue with a user-defined dimension, and a budget
    catalogue = {"EXPORT_OBJECTS": '["CUSTOMER", "SALES_CHANNEL"]', "MONTHLY_TRANSACTION_BUDGET": "5"}
    done = intacct_sync(
        "run", "--all", "--plan", "--records", "50", "--out", str(tmp_path), env={**ENV, **catalogue}
    )
    # Then the plan is of those objects, the dimension counted, against that budget
    assert done.returncode == 0, done.stderr
    rows = [line.split() for line in done.stdout.splitlines()[2:-2]]
    assert [row[0] for row in rows] == ["CUSTOMER", "SALES_CHANNEL"], done.stdout
    assert all(row[-3].isdigit() for row in rows), done.stdout
    assert "of the monthly budget of 5 used" in done.stdout
    # And a setting that is not valid is one line naming it, and nothing starts (exit 2)
    for name, value, words in (
        ("EXPORT_OBJECTS", "[", "EXPORT_OBJECTS (from your environment) is not valid JSON"),
        ("EXPORT_OBJECTS", '["CUSTOMER", "customer"]', "lists CUSTOMER more than once"),
        ("MONTHLY_TRANSACTION_BUDGET", "lots", "MONTHLY_TRANSACTION_BUDGET (from your environment) must be"),
    ):
        bad = intacct_sync("run", "--all", "--plan", "--out", str(tmp_path / "bad"), env={**ENV, name: value})
        assert bad.returncode == 2 and bad.stdout == "", bad.stderr
        (line,) = bad.stderr.splitlines()
        assert line.startswith("intacct-sync: ") and words in line, line
    assert not (tmp_path / "bad").exists()
    # And a valid catalogue past the 4 KB Lambda allows a function's environment variables (the deploy
    # would fail) is refused before any export, naming the limit
    wide = json.dumps([{"object": o.name, "description": "d" * 160} for o in WIDE])
    too_big = intacct_sync("run", "--all", "--out", str(tmp_path / "w"), env={**ENV, "EXPORT_OBJECTS": wide})
    assert too_big.returncode == 2 and too_big.stdout == "", too_big.stderr
    (line,) = too_big.stderr.splitlines()
    assert "EXPORT_OBJECTS" in line and "Lambda allows 4096" in line, line


@pytest.mark.parametrize(
    ("arguments", "words"),
    [
        (["--objects", "CUSTOMER,customer"], "argument --objects: CUSTOMER listed more than once"),
        (
            ["--objects", "CUSTOMER", "--object", "VENDOR"],
            "give --objects or --object (one export), not both",
        ),
        (["--objects", "CLASS", "--resume", "foo"], "to rerun what failed in a sync, give --resume-sync"),
    ],
)
def test_a_sync_the_arguments_refuse_starts_nothing_and_names_no_sync(tmp_path, arguments, words):
    done = intacct_sync("run", *arguments, "--out", str(tmp_path / "out"))
    assert done.returncode == 2 and done.stdout == ""
    assert done.stderr.startswith("usage: intacct-sync run ") and words in done.stderr.splitlines()[-1]
    assert "local-sync-" not in done.stderr and not (tmp_path / "out").exists()
