"""Delivery benchmark: the same downloads in each PARTAGE_DELIVERY mode, beside plain nginx.

    .venv/bin/python bench/delivery.py [--size-mib 256] [--clients 4] [--rounds 3]

Measures (see bench/README.md):
  1. A large file fetched whole by N concurrent curl clients (aggregate MB/s): nginx
     serving it as a static file (the reference); partage alone (`app`); nginx running
     deploy/nginx.conf in front of partage (`x-accel`); partage answering 302 to moto's
     S3 server, curl following it (`redirect`: moto is Python and slow, so this figure
     measures moto, not partage nor a real object store).
  2. A 4 KiB file's direct link under wrk -t2 -c100, with 1 and 2 web processes
     (`partage serve --workers N`); in redirect mode wrk counts the 302 answers (the
     object store is not asked).

Servers run on free 127.0.0.1 ports in their own process groups and are stopped at the
end. The table is printed and the figures go to bench/out/delivery-<date>.json.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import harness as h  # noqa: E402
import transfer as t  # noqa: E402
from tests.delivery.conftest import Nginx, deploy_conf  # noqa: E402

MODES = ("app", "x-accel", "redirect")
LABELS = {
    "nginx": "nginx static file (reference)",
    "app": "app: partage alone",
    "x-accel": "x-accel: nginx in front of partage",
    "redirect": "redirect: 302 to moto S3, followed",
}
SMALL_LABELS = {**LABELS, "redirect": "redirect: the 302 answers alone"}


@dataclass
class Mode:
    """One partage deployment in one delivery mode, with its two files' direct links."""

    name: str
    partage: t.Partage
    nginx: Nginx | None = None
    big_url: str = ""
    small_url: str = ""
    notes: list[str] = field(default_factory=list)

    def stop(self) -> None:
        if self.nginx:
            self.nginx.stop()
        self.partage.stop()

    def public(self, link: str) -> str:
        """The link as a client reaches it: through nginx in x-accel mode."""
        if self.nginx is None:
            return link
        parts = urlsplit(link)
        return self.nginx.url + parts.path


def start_mode(name: str, root: Path, big: Path, small: Path) -> Mode:
    p = t.Partage(root)
    p.server.env.update(PARTAGE_DELIVERY=name)
    if name == "redirect":
        from tests.s3server import s3_server

        s3 = s3_server()
        p.server.storage_env = s3.env(s3.new_bucket())
    else:
        p.server.storage_env = {}
    p.start()
    mode = Mode(name, p)
    try:
        # Both files through the real upload API (tus), as a user would.
        url = p.create_upload(big.stat().st_size, big.name)
        r = h.curl_upload(url, big, root, "PATCH", p.patch_headers())
        big_code = p.check_done(r.code, r.headers, big.stat().st_size, r.body)
        small_code = p.upload_small(small)
        if name == "x-accel":
            port = h.free_port()
            conf = deploy_conf(root / "nginx", port, [p.server], p.server.data_dir)
            mode.nginx = Nginx(root / "nginx", conf, port).start()
        mode.big_url = mode.public(p.direct_link(big_code)[0])
        mode.small_url = mode.public(p.direct_link(small_code)[0])
    except BaseException:
        mode.stop()
        raise
    return mode


def parallel_download(url: str, clients: int, size: int, work: Path, follow: bool) -> float:
    """Aggregate MB/s of `clients` curl processes each fetching the whole file at once."""
    dirs = []
    for i in range(clients):
        d = work / f"client{i}"
        d.mkdir(parents=True, exist_ok=True)
        dirs.append(d)
    args = ["-L", url] if follow else [url]
    runs: list[h.CurlRun | BaseException | None] = [None] * clients

    def one(i: int) -> None:
        try:
            runs[i] = h.curl(args, "download", dirs[i])
        except BaseException as exc:  # noqa: BLE001 - reported below
            runs[i] = exc

    threads = [threading.Thread(target=one, args=(i,)) for i in range(clients)]
    t0 = time.perf_counter()
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    wall = time.perf_counter() - t0
    for run in runs:
        if not isinstance(run, h.CurlRun):
            raise RuntimeError(f"a client failed: {run}")
        if run.code != 200 or run.size != size:
            raise RuntimeError(f"GET {url} answered {run.code} with {run.size} bytes")
    return clients * size / wall / h.MB


class Bench:
    def __init__(self, args: argparse.Namespace, tools: dict[str, str]) -> None:
        self.args = args
        self.tools = tools
        self.size = args.size_mib * t.MiB
        self.tmp = Path(tempfile.mkdtemp(prefix="partage-delivery-", dir=args.tmp_dir))
        self.big = self.tmp / "files" / "big.bin"
        self.small = self.tmp / "files" / "small.bin"
        self.modes: dict[str, Mode] = {}
        self.reference: h.Proc | None = None
        self.large: dict[str, list[float]] = {}
        self.rps: dict[str, dict[int, float]] = {}
        self.errors: dict[str, str] = {}
        self.busy: dict[str, list[float]] = {}  # CPU share others used before each run

    def quiet(self, key: str) -> None:
        """Wait for idle CPUs if asked; record how busy the machine was just before."""
        if self.args.wait_idle:
            busy = h.wait_idle(self.args.wait_idle, quiet=True)
        else:
            busy = h.cpu_busy(0.5)
        self.busy.setdefault(key, []).append(round(busy, 2))

    def start(self) -> None:
        print(f"==> files in {self.tmp} ({self.args.size_mib} MiB + 4 KiB, random)", flush=True)
        t.make_file(self.big, self.size)
        t.make_file(self.small, t.SMALL)
        ng = h.nginx(self.tools["nginx"], self.tmp / "nginx-static", self.big.parent)
        self.reference = ng.start(probe="/small.bin")
        for name in MODES:
            try:
                print(f"==> partage, {name}: start, upload the files through tus", flush=True)
                self.modes[name] = start_mode(name, self.tmp / name, self.big, self.small)
            except Exception as exc:  # noqa: BLE001 - the other modes still run
                self.errors[name] = f"{type(exc).__name__}: {exc}"
                print(f"    {name}: ERROR {self.errors[name]}", flush=True)

    def stop(self) -> None:
        for mode in self.modes.values():
            mode.stop()
        if self.reference:
            self.reference.stop()

    def large_urls(self) -> dict[str, tuple[str, bool]]:
        assert self.reference is not None
        urls = {"nginx": (self.reference.url + "/big.bin", False)}
        for name, mode in self.modes.items():
            urls[name] = (mode.big_url, name == "redirect")
        return urls

    def measure_large(self) -> None:
        n = self.args.clients
        print(f"==> large file: {n} concurrent curl clients", flush=True)
        urls = self.large_urls()
        for key, (url, follow) in urls.items():  # warm-up: page cache, connections
            h.curl(["-L", url] if follow else [url], "download", self.tmp)
        for i in range(self.args.rounds):
            for key, (url, follow) in urls.items():
                if key == "redirect" and i >= self.args.redirect_rounds:
                    continue
                self.quiet(f"large.{key}")
                try:
                    mbps = parallel_download(url, n, self.size, self.tmp / "dl", follow)
                except RuntimeError as exc:
                    self.errors[f"large.{key}"] = str(exc)
                    continue
                self.large.setdefault(key, []).append(mbps)
                print(f"    {LABELS[key]} #{i + 1}: {mbps:,.0f} MB/s", flush=True)

    def wrk(self, key: str, url: str, expect: int, workers: int) -> None:
        run = h.curl([url], "download", self.tmp)
        if run.code != expect:
            raise RuntimeError(f"GET {url} answered {run.code}, expected {expect}")
        secs = self.args.wrk_seconds
        h.wrk(self.tools["wrk"], url, 2)  # warm-up
        self.quiet(f"small.{key}.{workers}")
        w = h.wrk(self.tools["wrk"], url, secs)
        if w.non_2xx or w.socket_errors:
            self.errors[f"small.{key}.{workers}"] = (
                f"{w.non_2xx} error answers; socket errors: {w.socket_errors or 'none'}"
            )
        self.rps.setdefault(key, {})[workers] = w.rps
        print(f"    {SMALL_LABELS[key]}, {workers} worker(s): {w.rps:,.0f} req/s", flush=True)

    def measure_small(self) -> None:
        print(f"==> 4 KiB file: wrk -t2 -c100 -d{self.args.wrk_seconds}s", flush=True)
        assert self.reference is not None
        self.wrk("nginx", self.reference.url + "/small.bin", 200, 1)
        for workers in (1, 2):
            for name, mode in self.modes.items():
                try:
                    if mode.partage.server.workers != workers:
                        mode.partage.server.workers = workers
                        mode.partage.server.restart()
                    self.wrk(name, mode.small_url, 302 if name == "redirect" else 200, workers)
                except Exception as exc:  # noqa: BLE001
                    self.errors[f"small.{name}.{workers}"] = f"{type(exc).__name__}: {exc}"
                    print(f"    {name}: ERROR {exc}", flush=True)

    def report(self) -> dict[str, Any]:
        a = self.args
        ref = h.median(self.large.get("nginx", []))
        lines = [
            f"Large file: {a.size_mib} MiB, {a.clients} concurrent curl clients, aggregate MB/s "
            f"(median of {a.rounds} rounds; redirect: {a.redirect_rounds})"
        ]
        for key in ("nginx", *MODES):
            runs = self.large.get(key)
            if not runs:
                lines.append(f"  {LABELS[key]:<36} {'error':>8}")
                continue
            mbps = h.median(runs)
            ratio = f"{mbps / ref:.2f}x nginx" if ref else ""
            lines.append(f"  {LABELS[key]:<36} {mbps:>8,.0f}  {ratio}")
        rref = self.rps.get("nginx", {}).get(1)
        lines.append(f"4 KiB file, direct link, wrk -t2 -c100 -d{a.wrk_seconds}s: req/s")
        lines.append(f"  {'':<36} {'1 worker':>10} {'2 workers':>10}  ratio to nginx (1 / 2)")
        for key in ("nginx", *MODES):
            got = self.rps.get(key, {})
            one, two = got.get(1), got.get(2)
            cells = [f"{v:>10,.0f}" if v else f"{'-':>10}" for v in (one, two)]
            ratio = (
                " / ".join(f"{v / rref:.3f}x" for v in (one, two) if v) if rref and key != "nginx"
                else ""
            )  # fmt: skip
            lines.append(f"  {SMALL_LABELS[key]:<36} {cells[0]} {cells[1]}  {ratio}")
        print("\n=== Results (MB = 10^6 bytes)")
        print("\n".join(lines))
        print(
            "\nredirect: the bytes come from moto, Python's S3 stand-in, so the large-file "
            "figure measures moto and says nothing of a real object store or CDN; the "
            "4 KiB figure counts partage's 302 answers."
        )
        worst = max((max(v) for v in self.busy.values()), default=0.0)
        print(f"Machine busy just before a timed run (other processes): at most {worst:.0%}.")
        for key, err in self.errors.items():
            print(f"error: {key}: {err}")
        return {
            "large_mbps": {k: {"runs": v, "median": h.median(v)} for k, v in self.large.items()},
            "small_rps": self.rps,
            "busy_before": self.busy,
            "errors": self.errors,
        }


def parse_args() -> argparse.Namespace:
    ap = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--size-mib", type=int, default=256, help="large file size (default 256)")
    ap.add_argument("--clients", type=int, default=4, help="concurrent curl clients")
    ap.add_argument("--rounds", type=int, default=3, help="large-file rounds (median taken)")
    ap.add_argument("--redirect-rounds", type=int, default=1, help="rounds via moto (slow)")
    ap.add_argument("--wrk-seconds", type=int, default=5, help="length of each wrk run")
    ap.add_argument(
        "--wait-idle", type=float, default=0, metavar="SECONDS",
        help="before each run, wait up to this long for the CPUs to be idle",
    )  # fmt: skip
    ap.add_argument("--tmp-dir", default=None, help="where the temp dir goes")
    ap.add_argument("--keep", action="store_true", help="keep the temp dir (files, logs)")
    ap.add_argument("--out", type=Path, default=h.BENCH_DIR / "out", help="JSON output dir")
    return ap.parse_args()


def main() -> int:
    h.stop_on_sigterm()
    args = parse_args()
    tools = h.ensure_tools(["nginx", "wrk", "curl"], install=True)
    busy = h.wait_idle(args.wait_idle)
    h.warn_if_busy(busy)
    started = datetime.now()
    bench = Bench(args, tools)
    try:
        bench.start()
        bench.measure_large()
        bench.measure_small()
    except KeyboardInterrupt:
        print("\ninterrupted", flush=True)
    finally:
        bench.stop()
        if args.keep:
            print(f"kept {bench.tmp}")
        else:
            shutil.rmtree(bench.tmp, ignore_errors=True)
    figures = bench.report()
    out = {
        "date": started.isoformat(timespec="seconds"),
        "command": " ".join([os.path.relpath(sys.executable), *sys.argv]),
        "args": {k: str(v) for k, v in vars(args).items()},
        "machine": h.machine_info(),
        "cpu_busy_before": round(busy, 3),
        "nginx": h.tool_version([tools["nginx"], "-v"]),
        **figures,
    }
    args.out.mkdir(parents=True, exist_ok=True)
    path = args.out / f"delivery-{started:%Y%m%d-%H%M%S}.json"
    path.write_text(json.dumps(out, indent=2))
    print(f"\nfigures written to {path}")
    return 1 if bench.errors else 0


if __name__ == "__main__":
    sys.exit(main())
