"""Load benchmark: N concurrent clients with a mixed workload against a real partage.

    .venv/bin/python bench/load.py                         # embedded, 200 clients, ≤ 60 s
    .venv/bin/python bench/load.py --mode scaled --workers 2
    .venv/bin/python bench/load.py --mode scaled --redis-outage 20:10   # Redis down 20-30 s

Modes: `embedded` (`partage serve` on SQLite, local disk, jobs in-process) and `scaled`
(a PostgreSQL database of its own on --pg-url, a Redis server of its own on a free port
for PARTAGE_CACHE_URL and PARTAGE_QUEUE_URL, moto's S3 server for storage, and one
`partage worker`). Everything listens on 127.0.0.1; every process started is stopped
with its process group at the end, and the database is dropped.

The clients are asyncio tasks with httpx, spread over --procs processes (one per core
is the most the client can use; each process reports the CPU it used, so a client-bound
run shows). Each client loops: pick an operation by weight (--mix), run it, record
(start, operation, status, latency). The run stops by itself after --requests requests
or --duration seconds, whichever comes first. Printed: p50/p95/p99 per operation,
throughput, statuses per operation, the server's RSS (its process group, from /proc)
before, at peak and after; with --redis-outage, what users saw per --slice seconds.
The figures go to bench/out/load-<mode>-<date>.json.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import resource
import signal
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
from base64 import b64encode
from collections import Counter, defaultdict
from concurrent.futures import ProcessPoolExecutor
from dataclasses import asdict, dataclass, field
from datetime import datetime
from multiprocessing import get_context
from pathlib import Path
from typing import Any

import httpx

BENCH = Path(__file__).resolve().parent
sys.path.insert(0, str(BENCH))
sys.path.insert(0, str(BENCH.parent))

import harness as h  # noqa: E402
from tests.conftest import Account, make_account  # noqa: E402
from tests.files.conftest import Maker  # noqa: E402
from tests.serverproc import Server, Worker, drop_databases, new_database  # noqa: E402

# The shape of a busy small host: mostly downloads and pages, some owners browsing
# their files, a few small uploads. Each weight is a share of the operations picked.
DEFAULT_MIX = {
    "page": 15,  # GET /{code}: the public download page (HTML), anonymous
    "link": 15,  # GET /{code} as JSON (the visitor's signed link), then that download
    "direct": 20,  # GET of the owner's direct link (API download_url), 1-64 KiB
    "range": 10,  # the same with Range: bytes=a-b
    "list_files": 15,  # GET /api/v1/files of the account with a few hundred files
    "folder": 10,  # GET /api/v1/folders/{id}: a folder, its subfolders and files
    "folders": 5,  # GET /api/v1/folders: the root's subfolders
    "upload": 10,  # tus: POST /api/v1/uploads, then one PATCH of 1-16 KiB
}
# An operation may make several requests; each is recorded under its own name.
REQUEST_NAMES = {
    "page": ["page"],
    "link": ["link_json", "link_download"],
    "direct": ["direct"],
    "range": ["range"],
    "list_files": ["list_files"],
    "folder": ["folder"],
    "folders": ["folders"],
    "upload": ["tus_create", "tus_patch"],
}
UNLIMITED = dict(storage_quota=None, max_file_size=None, bandwidth_cap=None,
                 daily_download_quota=None, download_wait=0)  # fmt: skip


@dataclass
class Plan:
    """What every client process needs to know (picklable)."""

    base: str
    clients: int
    requests: int
    duration: float
    start_at: float  # time.time() when every process starts its clients
    mix: dict[str, int]
    owner_token: str  # the account with a few hundred files
    uploader_tokens: list[str]
    codes: list[str]
    direct_urls: list[str]
    sizes: list[int]
    list_pages: int
    folder_ids: list[int]
    timeout: float
    seed: int
    rate: float = 0.0  # operations per second for all clients together; 0: back to back


@dataclass
class Sample:
    t: float  # seconds since the run's start, when the request was sent
    name: str
    status: str  # HTTP status, or the transport error's class name
    seconds: float


@dataclass
class ProcResult:
    samples: list[tuple[float, str, str, float]]
    cpu_s: float
    wall_s: float


# ------------------------------------------------------------------------------ clients


class Budget:
    def __init__(self, requests: int, deadline: float) -> None:
        self.left, self.deadline = requests, deadline

    def take(self) -> bool:
        if self.left <= 0 or time.time() >= self.deadline:
            return False
        self.left -= 1
        return True


async def _request(
    c: httpx.AsyncClient, out: list[tuple[float, str, str, float]], t0: float, name: str,
    method: str, url: str, **kw: Any,
) -> httpx.Response | None:  # fmt: skip
    start = time.time()
    try:
        r = await c.request(method, url, **kw)
        await r.aread()
        status: str = str(r.status_code)
        if r.status_code >= 500:  # which failure: the API's error code when it has one
            try:
                status += f" {r.json()['error']}"
            except (ValueError, KeyError, TypeError):
                pass
    except httpx.HTTPError as e:
        r, status = None, type(e).__name__
    out.append((start - t0, name, status, time.time() - start))
    return r


async def _client(
    plan: Plan, c: httpx.AsyncClient, rnd: random.Random, budget: Budget,
    out: list[tuple[float, str, str, float]],
) -> None:  # fmt: skip
    ops, weights = list(plan.mix), list(plan.mix.values())
    owner = {"Authorization": f"Bearer {plan.owner_token}"}
    t0 = plan.start_at
    # With --rate, each client waits a random (exponential) time between operations,
    # so that the clients together start about `rate` operations a second.
    pause = plan.clients / plan.rate if plan.rate else 0.0
    if pause:
        await asyncio.sleep(rnd.uniform(0, pause))
    while budget.take():
        if pause:
            wait = rnd.expovariate(1 / pause)
            await asyncio.sleep(min(wait, max(0.0, budget.deadline - time.time())))
            if time.time() >= budget.deadline:
                break
        op = rnd.choices(ops, weights)[0]
        i = rnd.randrange(len(plan.codes))
        if op == "page":
            await _request(c, out, t0, "page", "GET", f"{plan.base}/{plan.codes[i]}")
        elif op == "link":
            r = await _request(c, out, t0, "link_json", "GET", f"{plan.base}/{plan.codes[i]}",
                               headers={"Accept": "application/json"})  # fmt: skip
            if r is not None and r.status_code == 200 and budget.take():
                await _request(c, out, t0, "link_download", "GET", r.json()["download_url"])
        elif op == "direct":
            await _request(c, out, t0, "direct", "GET", plan.direct_urls[i])
        elif op == "range":
            size = plan.sizes[i]
            a = rnd.randrange(size // 2)
            b = min(size - 1, a + rnd.randrange(1, 4096))
            await _request(c, out, t0, "range", "GET", plan.direct_urls[i],
                           headers={"Range": f"bytes={a}-{b}"})  # fmt: skip
        elif op == "list_files":
            page = rnd.randrange(1, plan.list_pages + 1)
            await _request(c, out, t0, "list_files", "GET",
                           f"{plan.base}/api/v1/files?all=true&per_page=50&page={page}",
                           headers=owner)  # fmt: skip
        elif op == "folder":
            fid = rnd.choice(plan.folder_ids)
            await _request(c, out, t0, "folder", "GET", f"{plan.base}/api/v1/folders/{fid}",
                           headers=owner)  # fmt: skip
        elif op == "folders":
            await _request(c, out, t0, "folders", "GET", f"{plan.base}/api/v1/folders",
                           headers=owner)  # fmt: skip
        elif op == "upload":
            await _upload(plan, c, rnd, budget, out)


async def _upload(
    plan: Plan, c: httpx.AsyncClient, rnd: random.Random, budget: Budget,
    out: list[tuple[float, str, str, float]],
) -> None:  # fmt: skip
    auth = {"Authorization": f"Bearer {rnd.choice(plan.uploader_tokens)}",
            "Tus-Resumable": "1.0.0"}  # fmt: skip
    body = rnd.randbytes(rnd.randrange(1024, 16 * 1024))
    name = b64encode(f"load-{rnd.getrandbits(48):x}.bin".encode()).decode()
    r = await _request(c, out, plan.start_at, "tus_create", "POST", f"{plan.base}/api/v1/uploads",
                       headers={**auth, "Upload-Length": str(len(body)),
                                "Upload-Metadata": f"filename {name}"})  # fmt: skip
    if r is None or r.status_code != 201 or not budget.take():
        return
    location = httpx.URL(plan.base).join(r.headers["location"])
    await _request(c, out, plan.start_at, "tus_patch", "PATCH", str(location), content=body,
                   headers={**auth, "Upload-Offset": "0",
                            "Content-Type": "application/offset+octet-stream"})  # fmt: skip


async def _run_clients(plan: Plan, index: int) -> list[tuple[float, str, str, float]]:
    out: list[tuple[float, str, str, float]] = []
    limits = httpx.Limits(max_connections=plan.clients, max_keepalive_connections=plan.clients)
    timeout = httpx.Timeout(plan.timeout)
    budget = Budget(plan.requests, plan.start_at + plan.duration)
    async with httpx.AsyncClient(limits=limits, timeout=timeout) as c:
        await asyncio.sleep(max(0.0, plan.start_at - time.time()))
        await asyncio.gather(*(
            _client(plan, c, random.Random(plan.seed * 1000 + index * 10_000 + n), budget, out)
            for n in range(plan.clients)
        ))  # fmt: skip
    return out


def client_process(plan: Plan, index: int) -> ProcResult:
    """One client process: its share of the clients and of the request budget."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the parent stops the run
    r0 = resource.getrusage(resource.RUSAGE_SELF)
    w0 = time.time()
    samples = asyncio.run(_run_clients(plan, index))
    r1 = resource.getrusage(resource.RUSAGE_SELF)
    cpu = (r1.ru_utime - r0.ru_utime) + (r1.ru_stime - r0.ru_stime)
    return ProcResult(samples, cpu, time.time() - max(w0, plan.start_at))


# ---------------------------------------------------------------------------- services


@dataclass
class OwnRedis:
    """A Redis server of the bench's own (never the shared one), killed and restarted
    on the same port by --redis-outage."""

    dir: Path
    port: int = field(default_factory=h.free_port)
    proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}"

    def start(self) -> OwnRedis:
        self.proc = subprocess.Popen(
            ["redis-server", "--port", str(self.port), "--bind", "127.0.0.1", "--save", "",
             "--appendonly", "no", "--dir", str(self.dir)],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True,
        )  # fmt: skip
        import redis

        client = redis.Redis(port=self.port, socket_connect_timeout=1)
        deadline = time.monotonic() + 10
        while True:
            try:
                client.ping()
                break
            except redis.ConnectionError:
                if time.monotonic() > deadline:
                    raise RuntimeError("redis-server did not start") from None
                time.sleep(0.05)
        client.close()
        return self

    def kill(self) -> None:
        if self.proc:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait()

    def stop(self) -> None:
        h.stop_group(self.proc)


@dataclass
class Deployment:
    server: Server
    worker: Worker | None = None
    redis: OwnRedis | None = None
    s3: Any = None

    def stop(self) -> None:
        for p in (self.worker, self.server, self.redis):
            if p is not None:
                p.stop()


def deploy(args: argparse.Namespace, tmp: Path) -> Deployment:
    env = {"PARTAGE_DELIVERY": args.delivery} if args.delivery else {}
    if args.mode == "embedded":
        srv = Server(tmp / "data", env=env, workers=args.workers, database_url=None,
                     storage_env={})  # fmt: skip
        return Deployment(srv.start())
    from tests.s3server import s3_server

    redis = OwnRedis(tmp).start()
    s3 = s3_server()
    env.update(PARTAGE_CACHE_URL=redis.url + "/1", PARTAGE_QUEUE_URL=redis.url + "/0")
    storage = s3.env(s3.new_bucket())
    srv = Server(tmp / "data", env=env, workers=args.workers,
                 database_url=new_database(args.pg_url), storage_env=storage)  # fmt: skip
    dep = Deployment(srv, redis=redis, s3=s3)
    try:
        srv.start()
        dep.worker = Worker(srv).start()
    except BaseException:
        dep.stop()
        raise
    return dep


@dataclass
class Data:
    owner: Account
    uploaders: list[Account]
    codes: list[str]
    direct_urls: list[str]
    sizes: list[int]
    folder_ids: list[int]
    list_pages: int


def wait_for_jobs(maker: Maker, timeout: float = 120) -> None:
    """Each file made queues a media job, which the embedded server runs: let those
    finish first, so the load does not share the CPU with them."""
    queue = sqlite3.connect(maker.ctx.settings.data_dir / "jobs.db")
    deadline = time.monotonic() + timeout
    try:
        while time.monotonic() < deadline:
            queued = queue.execute("SELECT count(*) FROM task").fetchone()[0]
            running = maker.sql("SELECT count(*) FROM media WHERE state = 'running'")[0][0]
            if not queued and not running:
                return
            time.sleep(0.5)
    finally:
        queue.close()
    print(f"WARNING: media jobs still queued after {timeout:.0f} s", flush=True)


def populate(srv: Server, files: int, uploaders: int, seed: int, wait_jobs: bool) -> Data:
    """The owner's few hundred files (straight into the database and store, like the
    tests), a quarter of them spread over 4 folders, all public; accounts to upload to."""
    rnd = random.Random(seed)
    owner = make_account(srv, **UNLIMITED)  # type: ignore[arg-type]
    ups = [make_account(srv, **UNLIMITED) for _ in range(uploaders)]  # type: ignore[arg-type]
    folder_ids = [
        owner.client.post("/api/v1/folders", json={"name": f"folder {n}"}).raise_for_status()
        .json()["id"] for n in range(4)
    ]  # fmt: skip
    for n, fid in enumerate(folder_ids[:2]):
        owner.client.post("/api/v1/folders", json={"name": f"sub {n}", "parent_id": fid})
    maker = Maker(srv)
    codes, sizes = [], []
    try:
        for i in range(files):
            size = rnd.randrange(1024, 64 * 1024)
            folder = folder_ids[(i // 4) % 4] if i % 4 == 0 else None
            made = maker.file(owner, rnd.randbytes(size), name=f"file-{i:04}.bin",
                              folder_id=folder)  # fmt: skip
            codes.append(made.code)
            sizes.append(made.size)
        if wait_jobs:
            wait_for_jobs(maker)
    finally:
        maker.close()
    urls: dict[str, str] = {}
    page = 1
    while True:
        params: dict[str, Any] = {"all": "true", "per_page": 1000, "page": page}
        r = owner.client.get("/api/v1/files", params=params).raise_for_status().json()
        urls.update((f["code"], f["download_url"]) for f in r["items"])
        if page * 1000 >= r["total"]:
            break
        page += 1
    return Data(owner, ups, codes, [urls[c] for c in codes], sizes, folder_ids,
                list_pages=-(-files // 50))  # fmt: skip


# ----------------------------------------------------------------------------- sampling


@dataclass
class Rss:
    before: int = 0
    peak: int = 0
    after: int = 0
    worker_before: int = 0
    worker_peak: int = 0
    worker_after: int = 0
    cpu_s: float = 0.0  # the server group's CPU over the load
    worker_cpu_s: float = 0.0


def group_rss(proc: subprocess.Popen[bytes] | None) -> int:
    return h.pids_rss(h.group_pids(proc.pid)) if proc and proc.poll() is None else 0


def group_cpu(proc: subprocess.Popen[bytes] | None) -> float:
    return h.pids_cpu(h.group_pids(proc.pid)) if proc and proc.poll() is None else 0.0


class Sampler(threading.Thread):
    """Peak RSS of the server's and the worker's process groups, every 0.25 s."""

    def __init__(self, dep: Deployment, rss: Rss) -> None:
        super().__init__(daemon=True)
        self.dep, self.rss, self.stop = dep, rss, threading.Event()

    def run(self) -> None:
        while not self.stop.is_set():
            self.rss.peak = max(self.rss.peak, group_rss(self.dep.server.proc))
            if self.dep.worker:
                self.rss.worker_peak = max(self.rss.worker_peak, group_rss(self.dep.worker.proc))
            self.stop.wait(0.25)


def profiler(out: Path, srv: Server, duration: float) -> subprocess.Popen[bytes]:
    """py-spy sampling the server and its web workers (wall time, idle threads left out)."""
    spy = Path(sys.executable).parent / "py-spy"
    if not spy.exists():
        sys.exit("--profile needs py-spy in the venv: .venv/bin/python -m pip install py-spy "
                 "(or uv pip install py-spy); it is not a project dependency")  # fmt: skip
    assert srv.proc is not None
    return subprocess.Popen(
        [str(spy), "record", "--pid", str(srv.proc.pid), "--subprocesses", "--rate", "50",
         "--duration", str(int(duration) + 5), "--format", "raw", "--output", str(out)],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip


def outage(redis: OwnRedis, at: float, length: float, start: float, events: dict[str, float],
           stop: threading.Event) -> None:  # fmt: skip
    """Kill the bench's Redis at `at` s into the run, start it again `length` s later."""
    if stop.wait(max(0.0, start + at - time.time())):
        return
    redis.kill()
    events["killed"] = time.time() - start
    stop.wait(length)
    redis.start()
    events["restarted"] = time.time() - start


# ------------------------------------------------------------------------------ report


def pct(xs: list[float], p: float) -> float:
    """Nearest-rank percentile of a sorted list."""
    if not xs:
        return 0.0
    return xs[min(len(xs) - 1, max(0, int(round(p / 100 * len(xs) + 0.5)) - 1))]


def summarize(samples: list[Sample], wall: float) -> dict[str, Any]:
    by: dict[str, list[Sample]] = defaultdict(list)
    for s in samples:
        by[s.name].append(s)
    rows = {}
    for name in [n for op in REQUEST_NAMES.values() for n in op]:
        ss = by.get(name)
        if not ss:
            continue
        lat = sorted(s.seconds for s in ss)
        statuses = Counter(s.status for s in ss)
        ok = sum(n for st, n in statuses.items() if st.isdigit() and int(st) < 400)
        rows[name] = {
            "requests": len(ss), "per_s": len(ss) / wall, "ok": ok,
            "p50_ms": pct(lat, 50) * 1000, "p95_ms": pct(lat, 95) * 1000,
            "p99_ms": pct(lat, 99) * 1000, "max_ms": lat[-1] * 1000,
            "statuses": dict(sorted(statuses.items())),
        }  # fmt: skip
    lat = sorted(s.seconds for s in samples)
    rows["all"] = {
        "requests": len(samples), "per_s": len(samples) / wall,
        "ok": sum(r["ok"] for r in rows.values()),
        "p50_ms": pct(lat, 50) * 1000, "p95_ms": pct(lat, 95) * 1000,
        "p99_ms": pct(lat, 99) * 1000, "max_ms": (lat[-1] if lat else 0) * 1000,
        "statuses": dict(sorted(Counter(s.status for s in samples).items())),
    }  # fmt: skip
    return rows


def slices(samples: list[Sample], width: float, events: dict[str, float]) -> list[dict[str, Any]]:
    """What users saw per time slice (by when the request was sent)."""
    by: dict[int, list[Sample]] = defaultdict(list)
    for s in samples:
        by[int(s.t // width)].append(s)
    out = []
    killed, restarted = events.get("killed"), events.get("restarted")
    for k in sorted(by):
        ss = by[k]
        lat = sorted(s.seconds for s in ss)
        a, b = k * width, (k + 1) * width
        state = ""
        if killed is not None and b > killed and (restarted is None or a < restarted):
            state = "redis down"
        elif restarted is not None and a >= restarted:
            state = "after"
        api = [s for s in ss if s.name in ("list_files", "folder", "folders", "tus_create",
                                           "tus_patch")]  # fmt: skip
        out.append({
            "from_s": a, "to_s": b, "state": state, "requests": len(ss),
            "p50_ms": pct(lat, 50) * 1000, "p95_ms": pct(lat, 95) * 1000,
            "max_ms": lat[-1] * 1000,
            "statuses": dict(sorted(Counter(s.status for s in ss).items())),
            "api_statuses": dict(sorted(Counter(s.status for s in api).items())),
        })  # fmt: skip
    return out


def mib(n: int) -> str:
    return f"{n / 2**20:.0f} MiB"


def print_report(res: dict[str, Any]) -> None:
    print(f"\n{res['mode']}, {res['clients']} clients in {res['procs']} process(es), "
          f"{res['workers']} web worker(s), {res['wall_s']:.1f} s, "
          f"{res['rows']['all']['per_s']:.0f} req/s")  # fmt: skip
    print(f"{'request':<14} {'n':>6} {'req/s':>7} {'p50 ms':>8} {'p95 ms':>8} {'p99 ms':>8} "
          f"{'max ms':>8}  statuses")  # fmt: skip
    for name, r in res["rows"].items():
        st = " ".join(f"{k}:{v}" for k, v in r["statuses"].items())
        print(f"{name:<14} {r['requests']:>6} {r['per_s']:>7.1f} {r['p50_ms']:>8.0f} "
              f"{r['p95_ms']:>8.0f} {r['p99_ms']:>8.0f} {r['max_ms']:>8.0f}  {st}")  # fmt: skip
    rss = res["rss"]
    print(f"server RSS (process group): before {mib(rss['before'])}, peak {mib(rss['peak'])}, "
          f"after {mib(rss['after'])}; server CPU {rss['cpu_s']:.0f} s "
          f"({rss['cpu_s'] / res['wall_s']:.2f} cores)")  # fmt: skip
    if res["mode"] == "scaled":
        print(f"worker RSS: before {mib(rss['worker_before'])}, "
              f"peak {mib(rss['worker_peak'])}, after {mib(rss['worker_after'])}; "
              f"worker CPU {rss['worker_cpu_s']:.0f} s")  # fmt: skip
    for i, c in enumerate(res["client_cores"]):
        flag = "  <- client-bound: use more --procs" if c > 0.85 else ""
        print(f"client process {i}: {c:.2f} cores{flag}")
    print(f"other processes on the machine: {res['others_share']:.0%} of the CPUs")
    if res.get("slices"):
        ev = res["events"]
        print(f"\nRedis killed at {ev.get('killed', 0):.1f} s, restarted at "
              f"{ev.get('restarted', 0):.1f} s")  # fmt: skip
        print(f"{'slice s':<11} {'state':<11} {'n':>5} {'p50 ms':>7} {'p95 ms':>7} {'max ms':>7}"
              "  statuses (all) | API")  # fmt: skip
        for s in res["slices"]:
            st = " ".join(f"{k}:{v}" for k, v in s["statuses"].items())
            api = " ".join(f"{k}:{v}" for k, v in s["api_statuses"].items())
            print(f"{s['from_s']:>4.0f}-{s['to_s']:<5.0f} {s['state']:<11} {s['requests']:>5} "
                  f"{s['p50_ms']:>7.0f} {s['p95_ms']:>7.0f} {s['max_ms']:>7.0f}  "
                  f"{st} | {api}")  # fmt: skip


# -------------------------------------------------------------------------------- main


def parse_mix(text: str) -> dict[str, int]:
    mix = dict(DEFAULT_MIX)
    if text:
        mix = {k: 0 for k in mix}
        for part in text.split(","):
            k, _, v = part.partition("=")
            if k not in DEFAULT_MIX:
                raise argparse.ArgumentTypeError(
                    f"unknown operation {k!r}: {', '.join(DEFAULT_MIX)}"
                )
            mix[k] = int(v)
    return {k: v for k, v in mix.items() if v > 0}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--mode", choices=("embedded", "scaled"), default="embedded")
    ap.add_argument("--clients", type=int, default=200)
    ap.add_argument("--procs", type=int, default=2, help="client processes (default 2)")
    ap.add_argument("--workers", type=int, default=1, help="web worker processes")
    ap.add_argument("--requests", type=int, default=100_000, help="stop after this many")
    ap.add_argument("--duration", type=float, default=60, help="stop after this many seconds")
    ap.add_argument("--files", type=int, default=300, help="files of the listed account")
    ap.add_argument("--uploaders", type=int, default=5, help="accounts the uploads go to")
    ap.add_argument("--mix", type=parse_mix, default=DEFAULT_MIX,
                    help="weights, e.g. page=1,list_files=1 (others 0)")  # fmt: skip
    ap.add_argument("--rate", type=float, default=0,
                    help="operations a second for all clients together (0: each client "
                         "sends its next request as soon as it has the answer)")  # fmt: skip
    ap.add_argument("--per-op", type=float, default=0, metavar="SECONDS",
                    help="instead of the mix: each operation alone for SECONDS, with the "
                         "server CPU time each request costs")  # fmt: skip
    ap.add_argument("--timeout", type=float, default=30, help="per request, seconds")
    ap.add_argument("--redis-outage", metavar="AT:LENGTH", default="",
                    help="scaled mode: kill the bench's Redis AT s into the run, restart it "
                         "LENGTH s later")  # fmt: skip
    ap.add_argument("--slice", type=float, default=2.0, help="time slice for the outage report")
    ap.add_argument("--delivery", default="", help="PARTAGE_DELIVERY for the server")
    ap.add_argument("--pg-url", default="postgresql+psycopg://postgres@127.0.0.1/postgres",
                    help="scaled mode: a PostgreSQL the bench makes its database on")  # fmt: skip
    ap.add_argument("--profile", type=Path, default=None, metavar="FILE",
                    help="record the server's process tree with py-spy (if installed) during "
                         "the load, as collapsed stacks (flamegraph.pl input) in FILE")  # fmt: skip
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--keep", action="store_true", help="keep the temp dir (server logs)")
    ap.add_argument("--out", type=Path, default=BENCH / "out")
    args = ap.parse_args()
    if args.redis_outage and args.mode != "scaled":
        ap.error("--redis-outage needs --mode scaled")
    if args.duration > 600:
        ap.error("--duration is at most 600 s: the bench stops by itself")
    h.stop_on_sigterm()

    busy = h.cpu_busy(1.0)
    if busy > 0.15:
        print(f"WARNING: other processes use {busy:.0%} of the CPUs: the figures will be low "
              "and noisy; rerun on a quiet machine", flush=True)  # fmt: skip
    tmp = Path(tempfile.mkdtemp(prefix="partage-bench-load-"))
    dep: Deployment | None = None
    try:
        t = time.perf_counter()
        dep = deploy(args, tmp)
        print(f"==> {args.mode} server up in {time.perf_counter() - t:.1f} s at {dep.server.url}",
              flush=True)  # fmt: skip
        t = time.perf_counter()
        data = populate(dep.server, args.files, args.uploaders, args.seed, args.mode == "embedded")
        print(f"==> {args.files} files made in {time.perf_counter() - t:.1f} s", flush=True)
        if args.per_op:
            res = per_op(args, dep, data)
        else:
            res = run(args, dep, data)
            print_report(res)
        res["machine_busy_before"] = busy
        args.out.mkdir(parents=True, exist_ok=True)
        out = args.out / f"load-{args.mode}-{datetime.now():%Y%m%d-%H%M%S}.json"
        out.write_text(json.dumps(res, indent=1))
        print(f"\nfigures: {out}")
    finally:
        if dep is not None:
            dep.stop()
        drop_databases()
        if args.keep:
            print(f"kept {tmp}")
        else:
            subprocess.run(["rm", "-rf", str(tmp)], check=False)
    return 0


def per_op(args: argparse.Namespace, dep: Deployment, data: Data) -> dict[str, Any]:
    """Each operation alone: the server's CPU time per request is what bounds the
    throughput of one web process (one core at most, the GIL), whatever else runs on
    the machine; latencies on a busy machine are not."""
    runs = {}
    for op in args.mix:
        sub = argparse.Namespace(**{**vars(args), "mix": {op: 1}, "duration": args.per_op,
                                    "redis_outage": "", "profile": None})  # fmt: skip
        runs[op] = run(sub, dep, data)
        r = runs[op]
        n = r["rows"]["all"]["requests"]
        r["server_cpu_ms_per_request"] = r["rss"]["cpu_s"] * 1000 / max(n, 1)
        print(f"  {op}: {n} requests, {r['rows']['all']['per_s']:.0f}/s, server "
              f"{r['server_cpu_ms_per_request']:.2f} ms CPU a request", flush=True)  # fmt: skip
    print(f"\nper operation, {args.clients} clients, {args.per_op:.0f} s each, "
          f"{args.workers} web worker(s)")  # fmt: skip
    print(f"{'operation':<11} {'requests':>8} {'req/s':>7} {'p50 ms':>7} {'p95 ms':>7} "
          f"{'CPU ms/req':>10} {'req/s per core':>14} {'others':>6}  statuses")  # fmt: skip
    for op, r in runs.items():
        a, cost = r["rows"]["all"], r["server_cpu_ms_per_request"]
        st = " ".join(f"{k}:{v}" for k, v in a["statuses"].items())
        print(f"{op:<11} {a['requests']:>8} {a['per_s']:>7.0f} {a['p50_ms']:>7.0f} "
              f"{a['p95_ms']:>7.0f} {cost:>10.2f} {1000 / max(cost, 1e-9):>14.0f} "
              f"{r['others_share']:>6.0%}  {st}")  # fmt: skip
    return {"mode": args.mode, "per_op_s": args.per_op, "clients": args.clients,
            "workers": args.workers, "runs": runs}  # fmt: skip


def run(args: argparse.Namespace, dep: Deployment, data: Data) -> dict[str, Any]:
    procs = max(1, min(args.procs, args.clients))
    rss = Rss(before=group_rss(dep.server.proc))
    rss.peak = rss.before
    if dep.worker:
        rss.worker_before = rss.worker_peak = group_rss(dep.worker.proc)
    pool = ProcessPoolExecutor(procs, mp_context=get_context("spawn"))
    # Spawned processes import this module (seconds on a busy machine): start the clock
    # once every one of them is up.
    list(pool.map(time.sleep, [1.0] * procs))
    start = time.time() + 0.5
    plans = [
        Plan(base=dep.server.url, clients=args.clients // procs + (i < args.clients % procs),
             requests=args.requests // procs + (i < args.requests % procs),
             duration=args.duration, start_at=start, mix=args.mix,
             owner_token=data.owner.token, uploader_tokens=[a.token for a in data.uploaders],
             codes=data.codes, direct_urls=data.direct_urls, sizes=data.sizes,
             list_pages=data.list_pages, folder_ids=data.folder_ids, timeout=args.timeout,
             seed=args.seed, rate=args.rate / procs)
        for i in range(procs)
    ]  # fmt: skip
    sampler = Sampler(dep, rss)
    sampler.start()
    events: dict[str, float] = {}
    stop = threading.Event()
    killer = None
    if args.redis_outage:
        at, _, length = args.redis_outage.partition(":")
        assert dep.redis is not None
        killer = threading.Thread(target=outage, daemon=True,
                                  args=(dep.redis, float(at), float(length or 10), start, events,
                                        stop))  # fmt: skip
        killer.start()
    print(f"==> {args.clients} clients for at most {args.duration:.0f} s or {args.requests} "
          "requests", flush=True)  # fmt: skip
    spy = profiler(args.profile, dep.server, args.duration) if args.profile else None
    with pool:
        busy0, total0 = h.machine_cpu()
        cpu0 = group_cpu(dep.server.proc)
        wcpu0 = group_cpu(dep.worker.proc) if dep.worker else 0.0
        results = list(pool.map(client_process, plans, range(procs)))
        rss.cpu_s = group_cpu(dep.server.proc) - cpu0
        if dep.worker:
            rss.worker_cpu_s = group_cpu(dep.worker.proc) - wcpu0
        busy1, total1 = h.machine_cpu()
    if spy is not None:
        spy.send_signal(signal.SIGINT)  # py-spy writes its file on SIGINT
        spy.wait(60)
    stop.set()
    if killer:
        killer.join()
    sampler.stop.set()
    sampler.join()
    time.sleep(2)  # what the server keeps once the load is gone
    rss.after = group_rss(dep.server.proc)
    if dep.worker:
        rss.worker_after = group_rss(dep.worker.proc)
    samples = sorted((Sample(*s) for r in results for s in r.samples), key=lambda s: s.t)
    wall = max(r.wall_s for r in results)
    client_cpu = sum(r.cpu_s for r in results)
    # Everything but the server, its worker and the clients (moto, Redis and PostgreSQL
    # in the scaled mode; other people's work on a shared machine).
    ours = rss.cpu_s + rss.worker_cpu_s + client_cpu
    others = max(0.0, (busy1 - busy0 - ours) / max(total1 - total0, 1e-9))
    res: dict[str, Any] = {
        "mode": args.mode, "clients": args.clients, "procs": procs, "workers": args.workers,
        "files": args.files, "mix": args.mix, "wall_s": wall,
        "rows": summarize(samples, wall), "rss": asdict(rss),
        "client_cores": [r.cpu_s / max(r.wall_s, 1e-9) for r in results],
        "others_share": others, "machine": h.machine_info(), "events": events,
        "args": {k: (str(v) if isinstance(v, Path) else v) for k, v in vars(args).items()},
    }  # fmt: skip
    if args.redis_outage:
        res["slices"] = slices(samples, args.slice, events)
    return res


if __name__ == "__main__":
    sys.exit(main())
