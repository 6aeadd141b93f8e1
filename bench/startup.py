"""Time from `partage serve` to its first 200, embedded (SQLite, jobs in serve).

Run: .venv/bin/python bench/startup.py [--runs 7] [--wait-idle 300] [--importtime]

The first start creates the data dir (migrations, the admin account); it is reported
on its own. The figure is the median of the restarts that follow, on that data dir,
each from the process being started to the first 200 from `/healthz`, with the CPU
seconds serve's processes had used by then (other work on the machine hardly moves
that figure, unlike the wall time). It also reports
when "partage listening on …" was printed, relative to that first 200 (it must not
come before it). `--importtime` prints the slowest imports of one start (main process
and web worker alike: `PYTHONPROFILEIMPORTTIME`).
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent))

import harness as h  # noqa: E402

LISTENING = b"partage listening on"
TICK = os.sysconf("SC_CLK_TCK")


def group_cpu(pgid: int) -> float:
    """CPU seconds (user + system) used so far by the live processes of a process group:
    a figure that other work on the machine hardly moves, unlike the wall time."""
    total = 0
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            with open(f"/proc/{pid}/stat") as f:
                fields = f.read().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[2]) == pgid:  # pgrp
            total += int(fields[11]) + int(fields[12])  # utime, stime
    return total / TICK


def one_start(
    data_dir: Path, log: Path, importtime: bool = False
) -> tuple[float, float | None, float]:
    """Seconds to the first 200, when the "listening" line came relative to it, and the
    CPU seconds serve's processes had used by then."""
    port = h.free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("PARTAGE_")}
    env.update(PARTAGE_DATA_DIR=str(data_dir), PARTAGE_ADMIN_EMAIL="admin@example.org",
               PARTAGE_ADMIN_PASSWORD="admin-password-1")  # fmt: skip
    if importtime:
        env["PYTHONPROFILEIMPORTTIME"] = "1"
    url = f"http://127.0.0.1:{port}/healthz"
    with open(log, "wb") as out:
        t0 = time.monotonic()
        proc = subprocess.Popen(
            [sys.executable, "-m", "partage.cli.main", "serve", "--port", str(port)],
            env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True,
        )  # fmt: skip
        listened: float | None = None
        try:
            while True:
                if listened is None and LISTENING in log.read_bytes():
                    listened = time.monotonic() - t0
                try:
                    if httpx.get(url, timeout=1).status_code == 200:
                        ready = time.monotonic() - t0
                        cpu = group_cpu(proc.pid)
                        break
                except httpx.HTTPError:
                    pass
                if proc.poll() is not None:
                    sys.exit(f"partage serve exited with {proc.returncode}; see {log}")
                time.sleep(0.02)
            deadline = time.monotonic() + 5
            while listened is None and time.monotonic() < deadline:
                if LISTENING in log.read_bytes():
                    listened = time.monotonic() - t0
                time.sleep(0.02)
        finally:
            h.stop_group(proc)
    return ready, None if listened is None else listened - ready, cpu


def slowest_imports(log: Path, n: int = 25) -> list[tuple[int, str]]:
    found = []
    for line in log.read_text(errors="replace").splitlines():
        m = re.match(r"import time:\s+\d+ \|\s+(\d+) \| (\s*)(\S+)", line)
        if m and len(m.group(2)) <= 2:  # top-level imports and their direct children
            found.append((int(m.group(1)), m.group(3)))
    return sorted(found, reverse=True)[:n]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--runs", type=int, default=7, help="restarts measured (median)")
    parser.add_argument("--wait-idle", type=float, default=0, metavar="SECONDS")
    parser.add_argument("--importtime", action="store_true")
    args = parser.parse_args()
    h.stop_on_sigterm()
    busy = h.wait_idle(args.wait_idle) if args.wait_idle else h.cpu_busy(1.0)
    h.warn_if_busy(busy)
    tmp = Path(tempfile.mkdtemp(prefix="partage-startup-"))
    try:
        data, log = tmp / "data", tmp / "serve.log"
        first, _, cpu = one_start(data, log)
        print(f"first start (new data dir): {first:.2f} s to the first 200, {cpu:.2f} s of CPU",
              flush=True)  # fmt: skip
        times, gaps, cpus = [], [], []
        for i in range(args.runs):
            if args.wait_idle:
                h.wait_idle(args.wait_idle, quiet=True)
            ready, gap, cpu = one_start(data, log)
            times.append(ready)
            cpus.append(cpu)
            if gap is not None:
                gaps.append(gap)
            shown = "never" if gap is None else f"{gap:+.2f} s"
            print(f"  restart {i + 1}: {ready:.2f} s ({cpu:.2f} s of CPU); 'listening' "
                  f"printed {shown} from it", flush=True)  # fmt: skip
        print(f"restart, median of {len(times)}: {h.median(times):.2f} s to the first 200 "
              f"(min {min(times):.2f}, max {max(times):.2f}), {h.median(cpus):.2f} s of CPU; "
              f"'listening' printed "
              f"{max(gaps):+.2f} s from it at the latest", flush=True)  # fmt: skip
        if args.importtime:
            one_start(data, log, importtime=True)
            print("slowest imports of one restart (cumulative µs, both processes):")
            for us, name in slowest_imports(log):
                print(f"  {us / 1e6:6.2f} s  {name}")
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
