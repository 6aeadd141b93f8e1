"""Transfer benchmark: partage against nginx and bare Starlette apps, on loopback, in one run.

    .venv/bin/python bench/transfer.py [--size-mib 1024] [--quick] [--runs 3]

Measures (see bench/README.md):
  1. 1 GiB download with curl: nginx sendfile, a bare Starlette FileResponse under granian,
     and partage's public direct link (/d/...).  Target: partage >= 0.75x nginx.
  2. 1 GiB upload with curl: a bare Starlette handler streaming the body to a file with
     SHA-256, and partage's tus upload (POST creation, then one PATCH of the whole file).
     Target: partage >= 0.8x bare.  The real tuspy client is timed too, for information.
  3. A 4 KiB file through its direct link, wrk -t2 -c100, against a bare Starlette
     FileResponse app under granian (and nginx for scale).  Target: partage >= 0.7x bare.

Every server runs on a free 127.0.0.1 port, in its own process group, stopped at the end.
Results are printed as a table and written to bench/out/transfer-<date>.json.
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import html
import json
import os
import re
import secrets
import shutil
import sys
import tempfile
import time
import traceback
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any
from urllib.parse import urljoin

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import harness as h  # noqa: E402

MiB = 1024 * 1024
SMALL = 4096
TARGETS = {"download": 0.75, "upload": 0.80, "small": 0.70}
TUS = {"Tus-Resumable": "1.0.0"}


# --------------------------------------------------------------------------- files


def make_file(path: Path, size: int) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "wb") as f:
        left = size
        while left:
            n = min(left, 8 * MiB)
            f.write(os.urandom(n))
            left -= n
    warm(path)


def warm(path: Path) -> None:
    """Read the file once so every server starts from the page cache."""
    with open(path, "rb", buffering=0) as f:
        while f.read(8 * MiB):
            pass


def remark(path: Path) -> None:
    """New random first 16 bytes: each upload is new content (no dedup shortcut),
    the rest of the file stays in the page cache."""
    fd = os.open(path, os.O_WRONLY)
    try:
        os.pwrite(fd, os.urandom(16), 0)
    finally:
        os.close(fd)


def sha256_file(path: Path) -> str:
    d = hashlib.sha256()
    with open(path, "rb", buffering=0) as f:
        while chunk := f.read(8 * MiB):
            d.update(chunk)
    return d.hexdigest()


def settle() -> None:
    """Write back dirty pages left by the previous run so they do not land in the next."""
    os.sync()
    time.sleep(0.2)


# ------------------------------------------------------------------------- partage


class Partage:
    """A real `partage serve` (tests/serverproc.Server) and a premium user with a token."""

    def __init__(self, root: Path) -> None:
        from tests.serverproc import Server

        root.mkdir(parents=True, exist_ok=True)
        self.server = Server(root / "data")
        self.token = ""
        self.email = ""
        self.client: httpx.Client | None = None

    @property
    def url(self) -> str:
        return self.server.url

    @property
    def log(self) -> Path:
        return self.server.data_dir.parent / f"server-{self.server.data_dir.name}.log"

    @property
    def pgid(self) -> int | None:
        return self.server.proc.pid if self.server.proc else None

    def start(self) -> None:
        self.server.start()
        from partage.accounts import service as accounts
        from partage.context import Context
        from partage.settings import Settings

        ctx = Context.build(Settings(data_dir=self.server.data_dir))
        try:
            with ctx.db.session() as s:
                user = accounts.create_user(
                    s,
                    f"bench-{secrets.token_hex(3)}@example.org",
                    "pw-" + secrets.token_hex(8),
                    plan="premium",
                )
                _, self.token = accounts.create_token(s, user, "bench")
        finally:
            ctx.close()
        self.client = httpx.Client(
            base_url=self.url, timeout=60, headers={"Authorization": f"Bearer {self.token}"}
        )
        try:  # the readiness probe does not touch the database: one request that does
            self.c.get("/api/v1/files", timeout=15).raise_for_status()
        except httpx.TimeoutException:
            raise RuntimeError(
                "the server accepts connections but an authenticated request hangs "
                "(a worker stuck in the database layer from its start?)"
            ) from None

    def stop(self) -> None:
        if self.client:
            self.client.close()
        self.server.stop()

    @property
    def c(self) -> httpx.Client:
        assert self.client is not None
        return self.client

    def create_upload(self, size: int, name: str) -> str:
        meta = "filename " + base64.b64encode(name.encode()).decode()
        r = self.c.post(
            "/api/v1/uploads", headers={**TUS, "Upload-Length": str(size), "Upload-Metadata": meta}
        )
        if r.status_code != 201 or "location" not in r.headers:
            raise RuntimeError(f"POST /api/v1/uploads answered {r.status_code}: {r.text[:300]}")
        return urljoin(self.url + "/api/v1/uploads", r.headers["location"])

    def patch_headers(self) -> list[str]:
        return [
            "Tus-Resumable: 1.0.0",
            "Upload-Offset: 0",
            "Content-Type: application/offset+octet-stream",
            f"Authorization: Bearer {self.token}",
        ]

    @staticmethod
    def check_done(code: int, headers: dict[str, str], size: int, body: str = "") -> str:
        if code != 204 or headers.get("upload-offset") != str(size):
            raise RuntimeError(
                f"PATCH answered {code}, Upload-Offset "
                f"{headers.get('upload-offset')} (expected 204, {size}): "
                f"{body[:300]}"
            )
        file_code = headers.get("partage-file-code")
        if not file_code:
            raise RuntimeError("the completing PATCH carries no Partage-File-Code header")
        return file_code

    def upload_small(self, path: Path) -> str:
        data = path.read_bytes()
        url = self.create_upload(len(data), path.name)
        r = self.c.patch(
            url,
            content=data,
            headers={
                **TUS,
                "Upload-Offset": "0",
                "Content-Type": "application/offset+octet-stream",
            },
        )
        return self.check_done(
            r.status_code, {k.lower(): v for k, v in r.headers.items()}, len(data), r.text
        )

    def info(self, code: str) -> dict[str, Any]:
        r = self.c.get(f"/api/v1/files/{code}")
        if r.status_code != 200:
            raise RuntimeError(f"GET /api/v1/files/{code} answered {r.status_code}: {r.text[:300]}")
        return dict(r.json())

    def direct_link(self, code: str) -> tuple[str, str]:
        """The public visitor's direct link from the page /{code} (the issue's "public
        direct link": JSON when asked, else the page's <a id="download">), else the
        owner's signed `download_url` from the API."""
        try:
            page = httpx.get(
                f"{self.url}/{code}", headers={"Accept": "application/json"}, timeout=30
            )
            if page.status_code == 200 and "json" in page.headers.get("content-type", ""):
                url = page.json().get("download_url")
                if url:
                    return urljoin(self.url + "/", url), "public page (JSON)"
            page = httpx.get(f"{self.url}/{code}", timeout=30)
            for tag in re.findall(r"<a\b[^>]*>", page.text):
                if re.search(r"""\bid=["']download["']""", tag):
                    m = re.search(r"""\bhref=["']([^"']+)["']""", tag)
                    if m:
                        return urljoin(self.url + "/", html.unescape(m.group(1))), "public page"
        except (httpx.HTTPError, ValueError):
            pass
        url = self.info(code).get("download_url")
        if not url:
            raise RuntimeError(
                f"no direct link for {code}: neither the public page "
                "<a id=download> nor download_url"
            )
        return urljoin(self.url + "/", url), "API download_url"

    def plant(self, path: Path) -> str:
        """Store a file straight through the service layer (as tests/files do), for the
        download figures when the tus upload does not work."""
        from sqlalchemy import select

        from partage.accounts.models import User
        from partage.context import Context
        from partage.files.blobs import blob_from_staged
        from partage.files.service import create_file
        from partage.settings import Settings

        ctx = Context.build(Settings(data_dir=self.server.data_dir))
        try:
            fd, tmp = tempfile.mkstemp(dir=ctx.settings.staging_dir)
            os.close(fd)
            shutil.copyfile(path, tmp)
            with ctx.db.session() as s:
                user = s.scalar(select(User).where(User.email == self.email))
                blob = blob_from_staged(
                    s, ctx.store, Path(tmp), sha256_file(path), path.stat().st_size, path.name
                )
                return str(create_file(s, user, blob, path.name).code)
        finally:
            ctx.close()

    def delete(self, code: str) -> None:
        self.c.delete(f"/api/v1/files/{code}")


# --------------------------------------------------------------------------- bench


@dataclass
class Measure:
    """One figure: `once` returns one sample; `setup`/`teardown` surround all rounds."""

    key: str
    label: str
    unit: str
    once: Callable[[dict[str, Any]], float]
    setup: Callable[[dict[str, Any]], None] | None = None
    teardown: Callable[[dict[str, Any]], None] | None = None
    rounds: int = 1


class Bench:
    def __init__(self, args: argparse.Namespace, tools: dict[str, str]) -> None:
        self.args = args
        self.tools = tools
        self.size = args.size_mib * MiB
        self.results: dict[str, dict[str, Any]] = {}
        self.tmp = Path(tempfile.mkdtemp(prefix="partage-bench-", dir=args.tmp_dir))
        self.files = self.tmp / "files"
        self.big = self.files / "big.bin"
        self.small = self.files / "small.bin"
        self.bare_uploads = self.tmp / "bare-uploads"
        self.bare_uploads.mkdir()
        self.procs: list[h.Proc] = []
        self.partage: Partage | None = None
        self.big_code: str | None = None
        self.notes: list[str] = []
        self.small_code: str | None = None

    # ---- bookkeeping

    def measure_all(self, measures: list[Measure]) -> None:
        """Set every measurement up, then run them round-robin (reference, partage,
        reference, partage...) so that a drift of the machine hits both sides alike.
        A failure is recorded (and printed) instead of stopping the benchmark."""
        live = []
        for m in measures:
            entry: dict[str, Any] = {"label": m.label, "unit": m.unit, "runs": []}
            self.results[m.key] = entry
            try:
                if m.setup:
                    m.setup(entry)
                live.append(m)
            except Exception as exc:  # noqa: BLE001
                self.fail(m, exc)
        for i in range(max((m.rounds for m in measures), default=0)):
            for m in [m for m in live if i < m.rounds]:
                entry = self.results[m.key]
                try:
                    entry["runs"].append(m.once(entry))
                    print(f"    {m.label} #{i + 1}: {entry['runs'][-1]:,.0f} {m.unit}", flush=True)
                except Exception as exc:  # noqa: BLE001
                    self.fail(m, exc)
                    live.remove(m)
        for m in live:
            entry = self.results[m.key]
            try:
                if m.teardown:
                    m.teardown(entry)
            except Exception as exc:  # noqa: BLE001
                self.fail(m, exc)
                continue
            runs = entry["runs"]
            entry["median"] = h.median(runs)
            entry["best"] = max(runs) if runs else 0.0

    def fail(self, m: Measure, exc: BaseException) -> None:
        entry = self.results[m.key]
        entry["error"] = f"{type(exc).__name__}: {exc}"
        print(f"    {m.label}: ERROR {entry['error']}", flush=True)
        if self.args.verbose:
            traceback.print_exc()

    def value(self, key: str) -> float | None:
        e = self.results.get(key)
        return None if e is None or "error" in e else e.get("median")

    # ---- servers

    def start_servers(self) -> None:
        print(f"==> files in {self.tmp} ({self.args.size_mib} MiB + 4 KiB, random)", flush=True)
        make_file(self.big, self.size)
        make_file(self.small, SMALL)
        ng = h.nginx(self.tools["nginx"], self.tmp / "nginx", self.files)
        self.procs.append(ng.start(probe="/small.bin"))
        bare = h.granian(
            "bare_apps:app",
            h.BENCH_DIR,
            self.tmp / "bare.log",
            {"BENCH_FILES_DIR": str(self.files), "BENCH_UPLOAD_DIR": str(self.bare_uploads)},
        )
        self.procs.append(bare.start(probe="/f/small.bin"))
        self.nginx, self.bare = ng, bare
        print(f"    nginx {ng.url}  bare granian {bare.url}", flush=True)
        if self.args.no_partage:
            return
        for attempt in (1, 2):
            p = Partage(self.tmp / f"partage{attempt}")
            try:
                p.start()
                self.partage = p
                print(f"    partage {p.url}  (log {p.log})", flush=True)
                return
            except Exception as exc:  # noqa: BLE001
                self.partage_error = f"partage did not start: {exc}"
                self.notes.append(f"start attempt {attempt}: {self.partage_error}")
                print(f"    {self.partage_error}\n{h.tail(p.log)}", flush=True)
                p.stop()

    def stop_servers(self) -> None:
        if self.partage:
            self.partage.stop()
        for p in reversed(self.procs):
            p.stop()

    def need_partage(self) -> Partage:
        if self.partage is None:
            raise RuntimeError(getattr(self, "partage_error", "skipped (--no-partage)"))
        return self.partage

    # ---- observation of the server during a timed transfer

    def pgid(self, server: str) -> int | None:
        """Process group of a server (each runs in its own session)."""
        if server == "partage":
            return self.partage.pgid if self.partage else None
        proc = {"nginx": self.nginx, "bare": self.bare}[server].proc
        return proc.pid if proc else None

    @contextmanager
    def observe(self, entry: dict[str, Any], server: str) -> Iterator[h.Watch]:
        """Records over the block: the server's CPU time and peak RSS (whole process
        group), the client's CPU share of one core, and the rest of the machine's share."""
        if self.args.wait_idle:
            h.wait_idle(self.args.wait_idle, quiet=True)
        with h.watch(self.pgid(server)) as w:
            yield w
        entry.setdefault("server_cpu_s", []).append(round(w.cpu_s, 3))
        entry["peak_rss_mib"] = max(entry.get("peak_rss_mib", 0.0), round(w.peak_rss / MiB, 1))
        share = w.client_cpu_s / w.wall_s if w.wall_s else 0.0
        entry.setdefault("client_cpu_share", []).append(round(share, 2))
        entry.setdefault("others_cpu_share", []).append(round(w.others_share, 2))

    # ---- uploads

    def clear_bare_uploads(self) -> None:
        for f in self.bare_uploads.iterdir():
            f.unlink()

    def bare_upload(self, key: str, label: str, fsync: bool) -> Measure:
        url = self.bare.url + "/upload" + ("?fsync=1" if fsync else "")
        headers = ["Content-Type: application/offset+octet-stream"]

        def setup(entry: dict[str, Any]) -> None:
            h.curl_upload(url, self.small, self.tmp, "PATCH", headers)  # warm-up

        def once(entry: dict[str, Any]) -> float:
            self.clear_bare_uploads()
            remark(self.big)
            settle()
            with self.observe(entry, "bare"):
                r = h.curl_upload(url, self.big, self.tmp, "PATCH", headers)
            if r.code != 200 or json.loads(r.body)["size"] != self.size:
                raise RuntimeError(f"bare upload answered {r.code}: {r.body[:200]}")
            return r.mbps

        def teardown(entry: dict[str, Any]) -> None:
            self.clear_bare_uploads()

        return Measure(key, label, "MB/s", once, setup, teardown, self.args.runs)

    def partage_upload(self) -> Measure:
        def setup(entry: dict[str, Any]) -> None:
            p = self.need_partage()
            self.small_code = p.upload_small(self.small)  # also the warm-up

        def once(entry: dict[str, Any]) -> float:
            p = self.need_partage()
            if self.big_code:  # the previous run's file: its blob goes, no dedup shortcut
                p.delete(self.big_code)
                self.big_code = None
            remark(self.big)
            settle()
            url = p.create_upload(self.size, f"big-{len(entry['runs'])}.bin")
            with self.observe(entry, "partage"):
                r = h.curl_upload(url, self.big, self.tmp, "PATCH", p.patch_headers())
            self.big_code = p.check_done(r.code, r.headers, self.size, r.body)
            return r.mbps

        def teardown(entry: dict[str, Any]) -> None:
            info = self.need_partage().info(self.big_code or "")
            want = sha256_file(self.big)
            entry["sha256_ok"] = info.get("sha256") == want
            if not entry["sha256_ok"]:
                raise RuntimeError(f"stored SHA-256 {info.get('sha256')} != file's {want}")

        return Measure(
            "upload.partage",
            "partage tus POST + one PATCH (curl)",
            "MB/s",
            once,
            setup,
            teardown,
            self.args.runs,
        )

    def partage_tuspy(self) -> Measure:
        chunk_mib = self.args.tus_chunk_mib

        def once(entry: dict[str, Any]) -> float:
            from tusclient import client as tus_client

            p = self.need_partage()
            remark(self.big)
            settle()
            tc = tus_client.TusClient(
                p.url + "/api/v1/uploads", headers={"Authorization": f"Bearer {p.token}"}
            )
            up = tc.uploader(
                file_path=str(self.big),
                chunk_size=chunk_mib * MiB,
                metadata={"filename": "big-tuspy.bin"},
            )
            with self.observe(entry, "partage"):
                t0 = time.perf_counter()
                up.upload()
                secs = time.perf_counter() - t0
            entry["chunk_mib"] = chunk_mib
            code = up.request.response_headers.get("partage-file-code") if up.request else None
            if code:
                p.delete(code)
            return self.size / secs / h.MB

        return Measure(
            "upload.tuspy", f"partage tus, tuspy client ({chunk_mib} MiB chunks)", "MB/s", once
        )

    # ---- downloads

    def download(self, key: str, label: str, server: str, url_fn: Callable[[], str]) -> Measure:
        def setup(entry: dict[str, Any]) -> None:
            entry["url"] = url_fn()
            h.curl_download(entry["url"], self.tmp, self.size)  # warm-up

        def once(entry: dict[str, Any]) -> float:
            with self.observe(entry, server):
                r = h.curl_download(entry["url"], self.tmp, self.size)
            return r.mbps

        return Measure(key, label, "MB/s", once, setup, rounds=self.args.runs)

    def partage_big_link(self) -> str:
        p = self.need_partage()
        entry = self.results["download.partage"]
        if not self.big_code:
            self.big_code = p.plant(self.big)
            entry["file_source"] = "stored through the service layer: the tus upload failed"
            entry["label"] += " [file not uploaded through tus]"
        url, source = p.direct_link(self.big_code)
        entry["link_source"] = source
        return url

    # ---- small files

    def small_rps(self, key: str, label: str, server: str, url_fn: Callable[[], str]) -> Measure:
        secs = self.args.wrk_seconds

        def setup(entry: dict[str, Any]) -> None:
            entry["url"] = url_fn()
            h.curl_download(entry["url"], self.tmp, SMALL)  # a 200 with the file, no redirect
            entry["wrk"] = f"-t2 -c100 -d{secs}s"
            h.wrk(self.tools["wrk"], entry["url"], 2)  # warm-up

        def once(entry: dict[str, Any]) -> float:
            with self.observe(entry, server):
                w = h.wrk(self.tools["wrk"], entry["url"], secs)
            if w.non_2xx or w.requests == 0:
                raise RuntimeError(f"wrk saw {w.non_2xx} non-2xx answers of {w.requests}")
            entry.setdefault("requests", []).append(w.requests)
            entry.setdefault("latency_avg", []).append(w.latency)
            entry.setdefault("socket_errors", []).append(w.socket_errors)
            return w.rps

        return Measure(key, label, "req/s", once, setup, rounds=self.args.wrk_rounds)

    def partage_small_link(self) -> str:
        p = self.need_partage()
        entry = self.results["small.partage"]
        if not self.small_code:
            try:
                self.small_code = p.upload_small(self.small)
            except Exception:  # noqa: BLE001
                self.small_code = p.plant(self.small)
                entry["file_source"] = "stored through the service layer: the tus upload failed"
                entry["label"] += " [file not uploaded through tus]"
        url, source = p.direct_link(self.small_code)
        entry["link_source"] = source
        return url

    # ---- the whole run

    def run(self) -> None:
        self.start_servers()
        print("==> uploads", flush=True)
        self.measure_all(
            [
                self.bare_upload("upload.bare", "bare Starlette PATCH, stream + SHA-256", False),
                self.bare_upload(
                    "upload.bare_fsync", "bare Starlette PATCH, stream + SHA-256 + fsync", True
                ),
                self.partage_upload(),
            ]
        )
        self.measure_all([self.partage_tuspy()])
        print("==> downloads", flush=True)
        self.measure_all(
            [
                self.download(
                    "download.nginx", "nginx sendfile", "nginx", lambda: self.nginx.url + "/big.bin"
                ),
                self.download(
                    "download.bare",
                    "bare Starlette FileResponse (granian)",
                    "bare",
                    lambda: self.bare.url + "/f/big.bin",
                ),
                self.download(
                    "download.partage",
                    "partage direct link /d/...",
                    "partage",
                    self.partage_big_link,
                ),
            ]
        )
        print("==> 4 KiB file, wrk", flush=True)
        self.measure_all(
            [
                self.small_rps(
                    "small.nginx", "nginx", "nginx", lambda: self.nginx.url + "/small.bin"
                ),
                self.small_rps(
                    "small.bare",
                    "bare Starlette FileResponse (granian)",
                    "bare",
                    lambda: self.bare.url + "/f/small.bin",
                ),
                self.small_rps(
                    "small.partage",
                    "partage direct link /d/...",
                    "partage",
                    self.partage_small_link,
                ),
            ]
        )

    # ---- report

    ROWS = [
        # section, key, reference key, target name (None: information only)
        ("Upload", "upload.bare", None, None),
        ("Upload", "upload.bare_fsync", "upload.bare", None),
        ("Upload", "upload.partage", "upload.bare", "upload"),
        ("Upload", "upload.tuspy", "upload.bare", None),
        ("Download", "download.nginx", None, None),
        ("Download", "download.bare", "download.nginx", None),
        ("Download", "download.partage", "download.nginx", "download"),
        ("4 KiB file, 100 connections", "small.nginx", "small.bare", None),
        ("4 KiB file, 100 connections", "small.bare", None, None),
        ("4 KiB file, 100 connections", "small.partage", "small.bare", "small"),
    ]

    def cpu_cost(self, e: dict[str, Any]) -> str:
        """Server CPU time per unit of work: s per GiB moved, or µs per request."""
        cpu = e.get("server_cpu_s") or []
        if not cpu or "error" in e:
            return ""
        if e["unit"] == "req/s":
            per = [c / n * 1e6 for c, n in zip(cpu, e.get("requests", []), strict=False) if n]
            return f"{h.median(per):,.0f} us/req" if per else ""
        return f"{h.median(cpu) / (self.size / 1024**3):.2f} s/GiB"

    def report(self) -> dict[str, Any]:
        verdicts: dict[str, dict[str, Any]] = {}
        w = max(len(e["label"]) for e in self.results.values()) if self.results else 40
        lines = [
            f"  {'':<{w}} {'median':>16} {'best':>8}  {'ratio':<13} {'target':<21} "
            f"{'server CPU':>13} {'peak RSS':>9} {'client':>7} {'others':>7}"
        ]
        section = ""
        client_bound: list[str] = []
        for sec, key, ref, target in self.ROWS:
            e = self.results.get(key)
            if e is None:
                continue
            if sec != section:
                section = sec
                size = f" {self.args.size_mib} MiB (curl)" if sec in ("Upload", "Download") else ""
                lines.append(f"{sec}{size}")
            v, rv = self.value(key), self.value(ref) if ref else None
            if v is None:
                fig, best = f"{'error':>16}", ""
            else:
                fig, best = f"{v:>10,.0f} {e['unit']:<5}", f"{e['best']:,.0f}"
            ratio = f"{v / rv:.2f}x {(ref or '').split('.')[-1]}" if v is not None and rv else ""
            verdict = ""
            if target:
                t = TARGETS[target]
                r = v / rv if v is not None and rv else None
                ok = r is not None and r >= t
                verdict = f">= {t:.2f}  {'PASS' if ok else 'MISS'}"
                if r is not None:
                    verdict += f" {r / t - 1:+.0%}"
                verdicts[target] = {"ratio": r, "target": t, "pass": ok}
            rss = f"{e['peak_rss_mib']:,.0f} MiB" if e.get("peak_rss_mib") else ""
            share = h.median(e.get("client_cpu_share", []))
            others = h.median(e.get("others_cpu_share", []))
            client = f"{share:.0%}" if share else ""
            if e["unit"] == "MB/s" and share >= 0.75 and "error" not in e:
                client_bound.append(e["label"])
            lines.append(
                f"  {e['label']:<{w}} {fig} {best:>8}  {ratio:<13} {verdict:<21} "
                f"{self.cpu_cost(e):>13} {rss:>9} {client:>7} {others:>7.0%}"
            )
            if "error" in e:
                lines.append(f"      {e['error'][:300]}")
        print(
            f"\n=== Results: median of {self.args.runs} curl runs; wrk -t2 -c100 "
            f"-d{self.args.wrk_seconds}s x {self.args.wrk_rounds}; MB = 10^6 bytes; "
            "server CPU and peak RSS: the server's whole process group; client: CPU "
            "used by curl or wrk, in cores; others: share of all CPUs used by everything "
            "else (loopback and writeback kernel work included)"
        )
        print("\n".join(lines))
        up, upf = self.value("upload.partage"), self.value("upload.bare_fsync")
        if up and upf:
            print(
                f"\nUpload, same durability: partage / bare + fsync = {up / upf:.2f}x "
                "(partage must fsync before it answers; the target is against bare "
                "without fsync)"
            )
        if client_bound:
            print(
                "\nClient-bound (curl used >= 75% of a core for its whole transfer, so the "
                "server may be faster than shown; compare server CPU): " + "; ".join(client_bound)
            )
        return verdicts


def parse_args() -> argparse.Namespace:
    ap = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--size-mib", type=int, default=None, help="big file size (default 1024)")
    ap.add_argument("--quick", action="store_true", help="256 MiB file and 5 s wrk runs")
    ap.add_argument("--runs", type=int, default=3, help="curl runs per figure (median taken)")
    ap.add_argument("--wrk-seconds", type=int, default=None, help="default 10 (5 with --quick)")
    ap.add_argument("--wrk-rounds", type=int, default=1, help="wrk runs per figure")
    ap.add_argument(
        "--wait-idle",
        type=float,
        default=0,
        metavar="SECONDS",
        help="wait up to this long for the other processes to leave the CPUs idle",
    )
    ap.add_argument("--tus-chunk-mib", type=int, default=64, help="tuspy chunk size")
    ap.add_argument("--no-partage", action="store_true", help="reference servers only")
    ap.add_argument("--tmp-dir", default=None, help="where the temp dir goes (same disk)")
    ap.add_argument("--keep", action="store_true", help="keep the temp dir (files, logs)")
    ap.add_argument("--out", type=Path, default=h.BENCH_DIR / "out", help="JSON output dir")
    ap.add_argument("-v", "--verbose", action="store_true", help="tracebacks on errors")
    args = ap.parse_args()
    if args.size_mib is None:
        args.size_mib = 256 if args.quick else 1024
    if args.wrk_seconds is None:
        args.wrk_seconds = 5 if args.quick else 10
    return args


def main() -> int:
    h.stop_on_sigterm()
    args = parse_args()
    tools = h.ensure_tools(["nginx", "wrk", "curl"], install=True)
    busy = h.wait_idle(args.wait_idle)
    h.warn_if_busy(busy)
    started = datetime.now()
    bench = Bench(args, tools)
    interrupted = False
    try:
        bench.run()
    except KeyboardInterrupt:
        interrupted = True
        print("\ninterrupted", flush=True)
    finally:
        bench.stop_servers()
        if args.keep:
            print(f"kept {bench.tmp}")
        else:
            shutil.rmtree(bench.tmp, ignore_errors=True)
    verdicts = bench.report()
    for note in bench.notes:
        print(f"note: {note}")
    import granian
    import starlette

    out = {
        "date": started.isoformat(timespec="seconds"),
        "command": " ".join([os.path.relpath(sys.executable), *sys.argv]),
        "size_bytes": bench.size,
        "runs": args.runs,
        "wrk_seconds": args.wrk_seconds,
        "machine": h.machine_info(),
        "cpu_busy_before": round(busy, 3),
        "loadavg_after": os.getloadavg(),
        "versions": {
            "granian": granian.__version__,
            "starlette": starlette.__version__,
            "nginx": h.tool_version([tools["nginx"], "-v"]),
            "curl": h.tool_version(["curl", "--version"]),
            "wrk": h.tool_version([tools["wrk"], "-v"]),
        },
        "results": bench.results,
        "notes": bench.notes,
        "targets": verdicts,
        "interrupted": interrupted,
    }
    args.out.mkdir(parents=True, exist_ok=True)
    path = args.out / f"transfer-{started.strftime('%Y-%m-%dT%H-%M-%S')}.json"
    path.write_text(json.dumps(out, indent=2) + "\n")
    print(f"\nJSON: {path}")
    if interrupted:
        return 130
    return 0 if verdicts and all(v["pass"] for v in verdicts.values()) else 1


if __name__ == "__main__":
    sys.exit(main())
