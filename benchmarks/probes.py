"""CPU per page, and each handler's cold import time and peak memory, per object at its real width.

CPU per page runs ``fetch_pages`` (the page handler's core: fetch, parse, encode gzip NDJSON) in this
process against the simulator process, for one Task's worth of keyset pages, and divides the process CPU
time by the pages. Handler figures come from fresh interpreters (``handler_probe.py``) that import only
what a Lambda would, with AWS served by a moto server in another process. "As deployed" is the code as
`sam build` left it in .aws-sam/build (else the source tree); "source only" is the layer package with no
bytecode, as a layer built by SAM's python3.12 method ships it.

Each probed field list (``ProbeFields``) names its object: by default CUSTOMER, VENDOR and PODOCUMENT
(224, 269 and 284 fields, the widest recorded object) with every field their ``lookup`` lists, typed as
runs type them. The probes run in a simulator of their own, sized so that every probed object has a
segment's first page and then a whole Task of full pages (``probe_records``).
"""

from __future__ import annotations

import compileall
import json
import math
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from collections import Counter
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from pathlib import Path
from py_compile import PycInvalidationMode
from typing import Any

from benchmarks.exports import PAGE_SIZE
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
# The objects probed at their real widths: the main master-data objects and the widest recorded one.
PROBE_OBJECTS = ("CUSTOMER", "VENDOR", "PODOCUMENT")
PAGE_FUNCTION = "FetchPageFunction"


@dataclass
class ProbeFields:
    """One field list to probe: an object's fields, typed with their lookup DATATYPEs as runs type them
    (``types`` None: written as Intacct's text)."""

    object: str
    label: str
    fields: tuple[str, ...]
    types: dict[str, str] | None = None

    @property
    def name(self) -> str:
        return f"{self.object}, {self.label}"


@dataclass
class PageCpuRow:
    """CPU cost of pages as the page handler fetches them (one Task: XML first page, then JSON)."""

    object: str
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
    # Decoded response bodies, per page of each format (XML: the segment's first page, read before the
    # measured Task, and any page that may end the range).
    body_bytes: dict[str, float] = field(default_factory=dict)
    # Pages whose next page's query had been sent before their encoding ended (of the pages that had a
    # next one in the Task): the overlap that puts two pages in memory at once.
    encodes_overlapped: int = 0
    encodes_with_next: int = 0


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
    object: str = ""  # the page handler's Task: the object it read
    memory_size_mb: int | None = None  # the function's MemorySize in template.yaml (Globals merged)


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


def field_types(sim: SimulatorProcess, object: str) -> dict[str, str]:
    """Every field of ``object`` and its lookup DATATYPE, in lookup order (what an export with no field
    list selects, and how the start step types a run's pages)."""
    from intacct_sync.intacct import IntacctClient, SenderCredentials

    client = IntacctClient(
        SenderCredentials(SIM_CREDENTIALS["sender_id"], SIM_CREDENTIALS["sender_password"]),
        gateway_url=sim.url,
    )
    with client:
        session = client.get_api_session(_user())
        return {info.name: info.data_type for info in client.lookup(session, object)}


def probe_records(objects: Sequence[str], pages: int) -> int:
    """The simulator's ``--records`` that gives each object a segment's first page, then a Task of
    ``pages`` full pages with records still after it (the steady state of a long segment). Objects get
    a share of ``--records`` (PODOCUMENT a tenth), so the widest share decides."""
    from intacct_sim.schema import OBJECT_META, record_count

    needed = (pages + 2) * PAGE_SIZE
    records = needed
    for name in objects:
        meta = OBJECT_META.get(name)
        if meta is None:
            raise ValueError(f"{name}: the simulator has no such object")
        if meta.ratio <= 0:
            raise ValueError(f"{name}: the simulator does not size it from --records (a line object?)")
        records = max(records, math.ceil(needed / meta.ratio / 1000) * 1000)
        assert record_count(meta, records) >= needed
    return records


def _user() -> Any:
    from intacct_sync.intacct import UserCredentials

    return UserCredentials(
        company_id=SIM_CREDENTIALS["company_id"],
        user_id=SIM_CREDENTIALS["user_id"],
        user_password=SIM_CREDENTIALS["user_password"],
    )


def _keyset_task(
    run_id: str, object: str, fields: Sequence[str], pages: int, types: Mapping[str, str] | None = None
) -> Any:
    """Up to ``pages`` keyset pages of ``object`` from the first key, with the key and modified fields;
    typed as a run types them when ``types`` (lookup DATATYPEs) are given."""
    from intacct_sync.export.pages import PageTask
    from intacct_sync.export.typed import FieldTypes

    keys = [f for f in ("RECORDNO", "WHENMODIFIED") if f not in fields]
    return PageTask(
        run_id=run_id,
        object=object,
        fields=tuple(keys) + tuple(fields),
        filter=None,
        key_field="RECORDNO",
        page_size=PAGE_SIZE,
        segment=0,
        seq=1,
        after_key="0",
        max_pages=pages,
        show_private=True,  # every record, entity-owned ones too, as a top-level export reads them
        field_types=FieldTypes.of({f: (types or {}).get(f, "TEXT") for f in fields} if types else None),
    )


class _BodySizes:
    """A ``requests`` response hook: the decoded size of every gateway answer, by format."""

    def __init__(self) -> None:
        self.sizes: dict[str, list[int]] = {"xml": [], "json": []}

    def __call__(self, response: Any, *args: Any, **kwargs: Any) -> Any:
        body = response.content
        self.sizes["xml" if body.lstrip()[:1] == b"<" else "json"].append(len(body))
        return response

    def per_page(self) -> dict[str, float]:
        return {k: sum(v) / len(v) for k, v in self.sizes.items() if v}


def _overlapped(queries: Sequence[tuple[float, float]], encodes: Sequence[tuple[float, float]]) -> int:
    """Encodes during which the next page's query had already been sent (the pages are fetched and
    landed in order, so query i + 1 follows encode i)."""
    return sum(1 for (_, ended), (sent, _) in zip(encodes, queries[1:], strict=False) if sent < ended)


def page_cpu(sim: SimulatorProcess, probe: ProbeFields, pages: int) -> PageCpuRow:
    """Fetch one Task of keyset pages (simulator latency 0) and measure the CPU they cost here; pages
    are typed (as runs write them) when the probe has types. Also measures each page's decoded body
    and whether the next page's query was sent while a page was encoded."""
    from intacct_sync.export import pages as pages_module
    from intacct_sync.intacct import IntacctClient, Query, QueryPage, SenderCredentials
    from intacct_sync.intacct.transport import new_http_session

    sim.configure(latency_ms=0, concurrency_limit=None)
    bodies = _BodySizes()
    http = new_http_session()
    http.hooks["response"].append(bodies)
    client = IntacctClient(
        SenderCredentials(SIM_CREDENTIALS["sender_id"], SIM_CREDENTIALS["sender_password"]),
        gateway_url=sim.url,
        http=http,
    )
    session = client.get_api_session(_user())
    bodies.sizes = {"xml": [], "json": []}  # pages only, not the login
    cost: dict[str, float] = {"fetch": 0.0, "encode": 0.0}
    formats: Counter[str] = Counter()
    queries: list[tuple[float, float]] = []  # wall time each page's query was sent and answered
    encodes: list[tuple[float, float]] = []
    lock = threading.Lock()

    def run_query(query: Query, peek: Callable[[bytes], None] | None = None) -> QueryPage:
        started, sent = time.thread_time(), time.perf_counter()
        page = client.query(session, query, peek)
        with lock:
            cost["fetch"] += time.thread_time() - started
            formats[query.return_format] += 1
            queries.append((sent, time.perf_counter()))
        return page

    original = pages_module.encode_part

    def timed_encode(*args: Any, **kwargs: Any) -> Any:
        started, began = time.thread_time(), time.perf_counter()
        try:
            return original(*args, **kwargs)
        finally:
            cost["encode"] += time.thread_time() - started
            encodes.append((began, time.perf_counter()))

    task = _keyset_task("bench-page-cpu", probe.object, probe.fields, pages, probe.types)
    pages_module.encode_part = timed_encode
    try:
        # The segment's first keyset page (XML) tells how many records follow; the measured Task
        # continues from it, as every Task after a segment's first one does.
        first = pages_module.fetch_pages(replace(task, max_pages=1), run_query, _MemorySink(), _NoProgress())
        cost.update(fetch=0.0, encode=0.0)
        formats.clear()
        queries.clear()
        encodes.clear()
        sink = _MemorySink()
        cpu_started, wall_started = time.process_time(), time.perf_counter()
        measured = replace(first.next_task, max_pages=pages)
        result = pages_module.fetch_pages(measured, run_query, sink, _NoProgress())
        cpu = time.process_time() - cpu_started
        wall = time.perf_counter() - wall_started
    finally:
        pages_module.encode_part = original
        client.close()
        http.close()
    count = max(1, result.pages)
    queries.sort()
    return PageCpuRow(
        object=probe.object,
        label=probe.label,
        field_count=len(task.fields),
        pages=result.pages,
        records=result.records,
        cpu_ms_per_page=cpu * 1000 / count,
        fetch_parse_ms=cost["fetch"] * 1000 / count,
        encode_ms=cost["encode"] * 1000 / count,
        wall_ms_per_page=wall * 1000 / count,
        formats=dict(formats),
        part_kib=sink.bytes / 1024 / max(1, sink.parts),
        body_bytes=bodies.per_page(),
        encodes_overlapped=_overlapped(queries, encodes),
        encodes_with_next=min(len(encodes), len(queries) - 1),
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
        # The local runner's guard sends AWS requests nowhere but to the emulator; this server is ours.
        from intacct_local.emulated_aws import allow_endpoint

        allow_endpoint(endpoint)
        yield endpoint
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=15)


BENCH_BUCKET = "intacct-sync-bench-exports"


@dataclass
class _Function:
    code_uri: str
    environment: dict[str, str]
    memory_mb: int  # MemorySize, the Globals' unless the function sets its own


def _functions(endpoint: str, gateway_url: str) -> dict[str, _Function]:
    """Create the bucket, table and secret in the moto server; each function's CodeUri, environment and
    MemorySize, resolved from template.yaml as the local runner does."""
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
        out[logical_id] = _Function(str(props["CodeUri"]).rstrip("/"), variables, int(props["MemorySize"]))
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
    app: Path, layer: Path, env: dict[str, str], out: Path, event: dict[str, Any] | None, memory_mb: int
) -> dict[str, Any]:
    command = [sys.executable, str(PROBE), "--app", str(app), "--out", str(out)]
    command += ["--memory-mb", str(memory_mb)]
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
    probes: Sequence[ProbeFields],
    pages: int,
    log: Callable[[str], None] = print,
    only: Sequence[str] | None = None,
) -> list[HandlerRow]:
    """Cold import of every handler, as deployed (the `sam build` output when there is one) and with the
    layer package as source only; the page handler also runs one Task of `pages` pages for each of
    `probes`, as deployed (typed with their lookup DATATYPEs, as runs are), and reports its peak RSS."""

    sim.configure(latency_ms=0, concurrency_limit=None)
    rows: list[HandlerRow] = []
    with moto_server() as endpoint, tempfile.TemporaryDirectory(prefix="bench-handlers-") as tmp:
        functions = _functions(endpoint, sim.url)
        code_uris = {name: function.code_uri for name, function in functions.items()}
        deployed, measured = _copy_deployed(Path(tmp) / "deployed", code_uris)
        source = _copy_source(Path(tmp) / "source", code_uris)
        log(f"  handlers as deployed: {measured}")
        base_env = {**FAKE_AWS_ENV, "AWS_ENDPOINT_URL": endpoint, "POWERTOOLS_LOG_LEVEL": "ERROR"}
        names = [name for name in functions if only is None or name in only]
        jobs: list[tuple[str, ProbeFields | None, dict[str, Any] | None]] = [(n, None, None) for n in names]
        for fields in probes:
            task = _keyset_task(f"bench-probe-{len(jobs)}", fields.object, fields.fields, pages, fields.types)
            _store_run(endpoint, task)
            page_task = {"step": "segment_pages", "run_id": task.run_id, "segment": task.segment}
            jobs.append((PAGE_FUNCTION, fields, {**page_task, "cursor": task.cursor().to_payload()}))
        for number, (name, probe, event) in enumerate(jobs):
            function = functions[name]
            env = {**function.environment, **base_env}
            row = HandlerRow(
                name,
                None,
                None,
                None,
                None,
                label=probe.label if probe else "",
                object=probe.object if probe else "",
                deployed=measured,
                memory_size_mb=function.memory_mb,
            )
            try:
                cold = _probe(
                    deployed / "functions" / name / "app.py",
                    deployed / "layer",
                    env,
                    Path(tmp) / f"deployed-{number}.json",
                    event,
                    function.memory_mb,
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
                        function.memory_mb,
                    )
                    row.import_ms_source = uncompiled["import_ms"]
            except (RuntimeError, subprocess.TimeoutExpired, KeyError, ValueError) as exc:
                row.error = str(exc)[:300]
            rows.append(row)
            log(
                f"  {name}{' (' + probe.name + ')' if probe else ''}: import "
                f"{_ms(row.import_ms)} (source only {_ms(row.import_ms_source)}), "
                f"peak RSS {_mb(row.peak_rss_mb)}{' ERROR ' + row.error if row.error else ''}"
            )
    return rows


def _ms(value: float | None) -> str:
    return "-" if value is None else f"{value:.0f} ms"


def _mb(value: float | None) -> str:
    return "-" if value is None else f"{value:.0f} MB"
