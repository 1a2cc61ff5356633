"""CPU per page, and each handler's cold import time and peak memory.

CPU per page runs ``fetch_pages`` (the page handler's core: fetch, parse, encode gzip NDJSON) in this
process against the simulator process, for one Task's worth of keyset pages, and divides the process CPU
time by the pages. Handler figures come from fresh interpreters (``handler_probe.py``) that import only
what a Lambda would, with AWS served by a moto server in another process. "As deployed" is the code as
`sam build` left it in .aws-sam/build (else the source tree); "source only" is the layer package with no
bytecode, as a layer built by SAM's python3.12 method ships it.
"""

from __future__ import annotations

import compileall
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections import Counter
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, replace
from pathlib import Path
from py_compile import PycInvalidationMode
from typing import Any

from benchmarks.exports import OBJECT, PAGE_SIZE
from intacct_sim.process import SIM_CREDENTIALS, SimulatorProcess

ROOT = Path(__file__).resolve().parents[1]
PROBE = Path(__file__).resolve().parent / "handler_probe.py"
BUILD = ROOT / ".aws-sam" / "build"
FAKE_AWS_ENV = {
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_SESSION_TOKEN": "testing",
    "AWS_DEFAULT_REGION": "us-east-1",
    "AWS_REGION": "us-east-1",
}


@dataclass
class PageCpuRow:
    """CPU cost of pages as the page handler fetches them (one Task: XML first page, then JSON)."""

    label: str
    field_count: int
    pages: int
    records: int
    cpu_ms_per_page: float  # process CPU (both threads) / pages
    fetch_parse_ms: float  # per page: HTTP + XML/JSON parsing, in the fetching thread
    encode_ms: float  # per page: NDJSON + gzip + summary
    wall_ms_per_page: float
    formats: dict[str, int]
    part_kib: float


@dataclass
class HandlerRow:
    """One handler in a fresh interpreter."""

    function: str
    import_ms: float | None  # as deployed: the code `sam build` produced (what it was: `deployed`)
    import_ms_source: float | None  # the layer package as source only, compiled at import (read-only /opt)
    rss_after_import_mb: float | None
    peak_rss_mb: float | None  # after invoking it (the page handler: one Task of pages)
    invoke_pages: int | None = None
    invoke_ms: float | None = None
    label: str = ""
    error: str | None = None
    deployed: str = ""  # what "as deployed" measured


class _MemorySink:
    def __init__(self) -> None:
        self.bytes = 0
        self.parts = 0

    def put_part(self, summary: Any, body: bytes) -> None:
        self.bytes += len(body)
        self.parts += 1


class _NoProgress:
    def record_pages(self, run_id: str, pages: int, records: int) -> None:
        pass


def all_fields(sim: SimulatorProcess) -> tuple[str, ...]:
    """Every CUSTOMER field, from `lookup` (what an export with no field list selects)."""
    return tuple(field_types(sim))


def field_types(sim: SimulatorProcess) -> dict[str, str]:
    """Every CUSTOMER field and its lookup DATATYPE (how the start step types a run's pages)."""
    from intacct_sync.intacct import IntacctClient, SenderCredentials

    client = IntacctClient(
        SenderCredentials(SIM_CREDENTIALS["sender_id"], SIM_CREDENTIALS["sender_password"]),
        gateway_url=sim.url,
    )
    with client:
        session = client.get_api_session(_user())
        return {info.name: info.data_type for info in client.lookup(session, OBJECT)}


def _user() -> Any:
    from intacct_sync.intacct import UserCredentials

    return UserCredentials(
        company_id=SIM_CREDENTIALS["company_id"],
        user_id=SIM_CREDENTIALS["user_id"],
        user_password=SIM_CREDENTIALS["user_password"],
    )


def _keyset_task(
    run_id: str, fields: Sequence[str], pages: int, types: Mapping[str, str] | None = None
) -> Any:
    """Up to ``pages`` CUSTOMER keyset pages from the first key, with the key and modified fields;
    typed as a run types them when ``types`` (lookup DATATYPEs) are given."""
    from intacct_sync.export.pages import PageTask
    from intacct_sync.export.typed import FieldTypes

    keys = [f for f in ("RECORDNO", "WHENMODIFIED") if f not in fields]
    return PageTask(
        run_id=run_id,
        object=OBJECT,
        fields=tuple(keys) + tuple(fields),
        filter=None,
        key_field="RECORDNO",
        page_size=PAGE_SIZE,
        segment=0,
        seq=1,
        after_key="0",
        max_pages=pages,
        show_private=True,  # every customer, as a top-level export reads them
        field_types=FieldTypes.of({f: (types or {}).get(f, "TEXT") for f in fields} if types else None),
    )


def page_cpu(
    sim: SimulatorProcess,
    fields: Sequence[str],
    label: str,
    pages: int,
    types: Mapping[str, str] | None = None,
) -> PageCpuRow:
    """Fetch one Task of keyset pages (simulator latency 0) and measure the CPU they cost here; pages
    are typed (as runs write them) when ``types`` are given."""
    from intacct_sync.export import pages as pages_module
    from intacct_sync.intacct import IntacctClient, Query, QueryPage, SenderCredentials

    sim.configure(latency_ms=0, concurrency_limit=None)
    client = IntacctClient(
        SenderCredentials(SIM_CREDENTIALS["sender_id"], SIM_CREDENTIALS["sender_password"]),
        gateway_url=sim.url,
    )
    session = client.get_api_session(_user())
    cost: dict[str, float] = {"fetch": 0.0, "encode": 0.0}
    formats: Counter[str] = Counter()

    def run_query(query: Query, peek: Callable[[bytes], None] | None = None) -> QueryPage:
        started = time.thread_time()
        page = client.query(session, query, peek)
        cost["fetch"] += time.thread_time() - started
        formats[query.return_format] += 1
        return page

    original = pages_module.encode_part

    def timed_encode(*args: Any, **kwargs: Any) -> Any:
        started = time.thread_time()
        try:
            return original(*args, **kwargs)
        finally:
            cost["encode"] += time.thread_time() - started

    task = _keyset_task("bench-page-cpu", fields, pages, types)
    pages_module.encode_part = timed_encode
    try:
        # The segment's first keyset page (XML) tells how many records follow; the measured Task
        # continues from it, as every Task after a segment's first one does.
        first = pages_module.fetch_pages(replace(task, max_pages=1), run_query, _MemorySink(), _NoProgress())
        cost.update(fetch=0.0, encode=0.0)
        formats.clear()
        sink = _MemorySink()
        cpu_started, wall_started = time.process_time(), time.perf_counter()
        measured = replace(first.next_task, max_pages=pages)
        result = pages_module.fetch_pages(measured, run_query, sink, _NoProgress())
        cpu = time.process_time() - cpu_started
        wall = time.perf_counter() - wall_started
    finally:
        pages_module.encode_part = original
        client.close()
    count = max(1, result.pages)
    return PageCpuRow(
        label=label,
        field_count=len(task.fields),
        pages=result.pages,
        records=result.records,
        cpu_ms_per_page=cpu * 1000 / count,
        fetch_parse_ms=cost["fetch"] * 1000 / count,
        encode_ms=cost["encode"] * 1000 / count,
        wall_ms_per_page=wall * 1000 / count,
        formats=dict(formats),
        part_kib=sink.bytes / 1024 / max(1, sink.parts),
    )


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextmanager
def moto_server(timeout: float = 60.0) -> Iterator[str]:
    """A moto server in its own process; yields its endpoint URL."""
    port = _free_port()
    endpoint = f"http://127.0.0.1:{port}"
    command = [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)]
    proc = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + timeout
        while True:
            try:
                with urllib.request.urlopen(f"{endpoint}/moto-api/", timeout=2):  # noqa: S310 - local
                    break
            except OSError:
                if time.monotonic() > deadline or proc.poll() is not None:
                    raise RuntimeError("moto server did not start") from None
                time.sleep(0.2)
        yield endpoint
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=15)


BENCH_BUCKET = "intacct-sync-bench-exports"


def _function_envs(endpoint: str, gateway_url: str) -> dict[str, tuple[str, dict[str, str]]]:
    """Create the bucket, table and secret in the moto server; each function's CodeUri and environment,
    resolved from template.yaml as the local runner does."""
    import boto3

    from intacct_local.template import Template, create_state_table

    def client(name: str) -> Any:
        return boto3.client(name, endpoint_url=endpoint, region_name="us-east-1", **_fake_keys())

    bucket, table = BENCH_BUCKET, "intacct-sync-bench-state"
    client("s3").create_bucket(Bucket=bucket)
    create_state_table(client("dynamodb"), table)
    secret = client("secretsmanager").create_secret(
        Name="intacct-sync/bench/credentials", SecretString=json.dumps(SIM_CREDENTIALS)
    )["ARN"]
    template = Template.load(overrides={"GatewayUrl": gateway_url, "TenantConcurrency": "2"})
    template.physical.update(
        {
            "ExportBucket": bucket,
            "StateTable": table,
            "CredentialsSecret": secret,
            "ExportBucket.Arn": f"arn:aws:s3:::{bucket}",
            "ExportStateMachine": "arn:aws:states:us-east-1:123456789012:stateMachine:intacct-sync-bench",
        }
    )
    out = {}
    for logical_id, props in template.functions().items():
        variables = {k: str(template.resolve(v)) for k, v in props["Environment"]["Variables"].items()}
        out[logical_id] = (str(props["CodeUri"]).rstrip("/"), variables)
    return out


def _store_run(endpoint: str, task: Any) -> None:
    """The run document a page Task reads (what the start step writes), in the moto server's bucket."""
    import boto3

    from intacct_sync.export import layout
    from intacct_sync.export.run import ExportRun
    from intacct_sync.export.spec import ExportSpec

    spec = ExportSpec(
        object=task.object, fields=task.fields, key_field=task.key_field, page_size=task.page_size
    )
    document = ExportRun(task.run_id, "", spec, field_types=task.field_types.to_dict()).to_document()
    boto3.client("s3", endpoint_url=endpoint, region_name="us-east-1", **_fake_keys()).put_object(
        Bucket=BENCH_BUCKET, Key=layout.run_state_key(task.run_id), Body=json.dumps(document).encode()
    )


def _fake_keys() -> dict[str, str]:
    return {
        "aws_access_key_id": FAKE_AWS_ENV["AWS_ACCESS_KEY_ID"],
        "aws_secret_access_key": FAKE_AWS_ENV["AWS_SECRET_ACCESS_KEY"],
    }


_NO_BYTECODE = shutil.ignore_patterns("__pycache__", "*.pyc")
# The pyc header's flags word (PEP 552) → how the file is validated against its source.
_PYC_MODES = {
    0: PycInvalidationMode.TIMESTAMP,
    1: PycInvalidationMode.UNCHECKED_HASH,
    3: PycInvalidationMode.CHECKED_HASH,
}


def _copy_source(target: Path, code_uris: Mapping[str, str]) -> Path:
    """The layer package and the handlers from the source tree, without bytecode: a layer shipped as
    source compiles its modules at every cold start (Lambda's /opt is read-only, nothing is cached)."""
    package = ROOT / "layers" / "common" / "intacct_sync"
    shutil.copytree(package, target / "layer" / "intacct_sync", ignore=_NO_BYTECODE)
    for name, code_uri in code_uris.items():
        shutil.copytree(ROOT / code_uri, target / "functions" / name, ignore=_NO_BYTECODE)
    return target


def _built(code_uris: Mapping[str, str]) -> bool:
    return (BUILD / "CommonLayer" / "python" / "intacct_sync").is_dir() and all(
        (BUILD / name / "app.py").is_file() for name in code_uris
    )


def _same_source(built: Path, source: Path) -> bool:
    def sources(root: Path) -> dict[str, bytes]:
        return {p.relative_to(root).as_posix(): p.read_bytes() for p in root.rglob("*.py")}

    return sources(built) == sources(source)


def _pyc_mode(package: Path) -> tuple[str, PycInvalidationMode] | None:
    """The cache tag (cpython-312) and invalidation mode of the package's bytecode, if it ships any."""
    for pyc in sorted(package.rglob("__pycache__/*.pyc")):
        with pyc.open("rb") as f:
            flags = int.from_bytes(f.read(8)[4:8], "little")
        return pyc.name.split(".")[1], _PYC_MODES.get(flags, PycInvalidationMode.TIMESTAMP)
    return None


def _copy_deployed(target: Path, code_uris: Mapping[str, str]) -> tuple[Path, str]:
    """The layer package and the handlers as `sam build` left them in .aws-sam/build (else the source
    tree), and a description of what that is.

    The layer's bytecode is for Lambda's Python (cpython-312). When this interpreter is another version
    it cannot use it, so the copy is compiled again here in the same invalidation mode, to stand in for
    it; the functions' app.py stay as built."""
    if not _built(code_uris):
        _copy_source(target, code_uris)
        return target, "the source tree without bytecode (no .aws-sam/build: run `make build`)"
    layer = BUILD / "CommonLayer" / "python" / "intacct_sync"
    shutil.copytree(layer, target / "layer" / "intacct_sync")
    for name in code_uris:
        shutil.copytree(BUILD / name, target / "functions" / name)
    what = ".aws-sam/build"
    fresh = _same_source(layer, ROOT / "layers" / "common" / "intacct_sync") and all(
        _same_source(BUILD / name, ROOT / code_uri) for name, code_uri in code_uris.items()
    )
    if not fresh:
        what += " (STALE: differs from the source tree; run `make build`)"
    shipped = _pyc_mode(layer)
    if shipped is None:
        return target, f"{what}, its layer without bytecode"
    tag, mode = shipped
    mode_name = mode.name.lower().replace("_", "-")
    if tag == sys.implementation.cache_tag:
        return target, f"{what}, its layer's own {tag} bytecode ({mode_name})"
    compileall.compile_dir(str(target / "layer"), quiet=1, invalidation_mode=mode)
    return target, (
        f"{what}; its layer ships {tag} bytecode ({mode_name}), which this {sys.implementation.cache_tag} "
        f"probe cannot use, so it was compiled again here the same way to stand in for it"
    )


def _probe(
    app: Path, layer: Path, env: dict[str, str], out: Path, event: dict[str, Any] | None
) -> dict[str, Any]:
    command = [sys.executable, str(PROBE), "--app", str(app), "--out", str(out)]
    if event is not None:
        event_file = out.with_suffix(".event.json")
        event_file.write_text(json.dumps(event))
        command += ["--event", str(event_file)]
    full_env = {
        "PATH": os.environ.get("PATH", ""),
        "HOME": os.environ.get("HOME", tempfile.gettempdir()),
        "PYTHONPATH": str(layer),
        "PYTHONDONTWRITEBYTECODE": "1",
        **env,
    }
    done = subprocess.run(command, env=full_env, capture_output=True, text=True, timeout=600, check=False)
    if done.returncode != 0 or not out.exists():
        raise RuntimeError((done.stderr or done.stdout or "no output").strip().splitlines()[-1][:300])
    result: dict[str, Any] = json.loads(out.read_text())
    if not str(result.get("package_path", "")).startswith(str(layer)):
        raise RuntimeError(f"imported intacct_sync from {result.get('package_path')}, not from {layer}")
    return result


def handler_rows(
    sim: SimulatorProcess,
    page_tasks: Mapping[str, Sequence[str]],
    pages: int,
    log: Callable[[str], None] = print,
    only: Sequence[str] | None = None,
    types: Mapping[str, str] | None = None,
) -> list[HandlerRow]:
    """Cold import of every handler, as deployed (the `sam build` output when there is one) and with the
    layer package as source only; the page handler also runs one Task of `pages` pages for each field
    list in `page_tasks`, as deployed (typed with `types`, lookup DATATYPEs, as runs are), and reports
    its peak RSS."""

    sim.configure(latency_ms=0, concurrency_limit=None)
    rows: list[HandlerRow] = []
    with moto_server() as endpoint, tempfile.TemporaryDirectory(prefix="bench-handlers-") as tmp:
        envs = _function_envs(endpoint, sim.url)
        code_uris = {name: code_uri for name, (code_uri, _) in envs.items()}
        deployed, measured = _copy_deployed(Path(tmp) / "deployed", code_uris)
        source = _copy_source(Path(tmp) / "source", code_uris)
        log(f"  handlers as deployed: {measured}")
        base_env = {**FAKE_AWS_ENV, "AWS_ENDPOINT_URL": endpoint, "POWERTOOLS_LOG_LEVEL": "ERROR"}
        names = [name for name in envs if only is None or name in only]
        jobs: list[tuple[str, str, dict[str, Any] | None]] = [(name, "", None) for name in names]
        for label, fields in page_tasks.items():
            task = _keyset_task(f"bench-probe-{len(jobs)}", fields, pages, types)
            _store_run(endpoint, task)
            page_task = {"step": "segment_pages", "run_id": task.run_id, "segment": task.segment}
            jobs.append(("FetchPageFunction", label, {**page_task, "cursor": task.cursor().to_payload()}))
        for number, (name, label, event) in enumerate(jobs):
            env = {**envs[name][1], **base_env}
            row = HandlerRow(name, None, None, None, None, label=label, deployed=measured)
            try:
                cold = _probe(
                    deployed / "functions" / name / "app.py",
                    deployed / "layer",
                    env,
                    Path(tmp) / f"deployed-{number}.json",
                    event,
                )
                row.import_ms = cold["import_ms"]
                row.rss_after_import_mb = cold["rss_after_import_mb"]
                row.peak_rss_mb = cold["peak_rss_mb"]
                if event is not None:
                    row.invoke_pages = int(cold["output"].get("pages") or 0)
                    row.invoke_ms = cold["invoke_ms"]
                if event is None:
                    uncompiled = _probe(
                        source / "functions" / name / "app.py",
                        source / "layer",
                        env,
                        Path(tmp) / f"source-{number}.json",
                        None,
                    )
                    row.import_ms_source = uncompiled["import_ms"]
            except (RuntimeError, subprocess.TimeoutExpired, KeyError, ValueError) as exc:
                row.error = str(exc)[:300]
            rows.append(row)
            log(
                f"  {name}{' ' + label if label else ''}: import "
                f"{_ms(row.import_ms)} (source only {_ms(row.import_ms_source)}), "
                f"peak RSS {_mb(row.peak_rss_mb)}{' ERROR ' + row.error if row.error else ''}"
            )
    return rows


def _ms(value: float | None) -> str:
    return "-" if value is None else f"{value:.0f} ms"


def _mb(value: float | None) -> str:
    return "-" if value is None else f"{value:.0f} MB"
