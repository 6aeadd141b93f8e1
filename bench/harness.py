"""Process and client plumbing for the benchmarks: tools check, nginx and granian
servers in their own process groups, curl and wrk runs, peak RSS sampling."""

from __future__ import annotations

import os
import platform
import re
import resource
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import threading
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import httpx

BENCH_DIR = Path(__file__).resolve().parent
REPO = BENCH_DIR.parent
VENV_BIN = Path(sys.executable).parent
MB = 1_000_000  # MB/s figures are decimal, like curl's speed_* (bytes per second)
DEBIAN_PACKAGES = {"nginx": "nginx", "wrk": "wrk", "curl": "curl"}


# --------------------------------------------------------------------------- tools


def which(tool: str) -> str | None:
    """Find a tool on PATH or in the sbin directories (nginx lives in /usr/sbin)."""
    return shutil.which(tool) or shutil.which(tool, path="/usr/sbin:/sbin:/usr/local/sbin")


def ensure_tools(tools: Sequence[str], install: bool) -> dict[str, str]:
    """Paths of the external tools; installs the missing Debian packages when root."""
    missing = [t for t in tools if which(t) is None]
    if missing and install and os.geteuid() == 0 and shutil.which("apt-get"):
        to_install = sorted({DEBIAN_PACKAGES[t] for t in missing})
        print(f"==> installing {' '.join(to_install)} (apt-get, running as root)", flush=True)
        env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
        subprocess.run(["apt-get", "update", "-qq"], check=True, env=env)
        subprocess.run(
            ["apt-get", "install", "-y", "-qq", *to_install],
            check=True,
            env=env,
            stdout=subprocess.DEVNULL,
        )
        missing = [t for t in tools if which(t) is None]
    if missing:
        pkgs = " ".join(sorted({DEBIAN_PACKAGES[t] for t in missing}))
        sys.exit(
            f"missing tools: {', '.join(missing)}. Install them with:\n"
            f"    sudo apt-get install -y {pkgs}\n"
            "(or run this script as root, which installs them itself)"
        )
    return {t: which(t) for t in tools}  # type: ignore[misc]


def tool_version(cmd: Sequence[str]) -> str:
    try:
        p = subprocess.run(cmd, capture_output=True, text=True, timeout=10)
    except (OSError, subprocess.TimeoutExpired):
        return "?"
    out = (p.stdout + p.stderr).strip().splitlines()
    return out[0] if out else "?"


def machine_info() -> dict[str, object]:
    model = "?"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    mem = 0
    try:
        m = re.search(r"MemTotal:\s+(\d+)", Path("/proc/meminfo").read_text())
        mem = int(m.group(1)) * 1024 if m else 0
    except OSError:
        pass
    return {
        "cpu": model,
        "cpus": os.cpu_count(),
        "memory_bytes": mem,
        "kernel": platform.release(),
        "python": platform.python_version(),
    }


# ----------------------------------------------------------------------- processes


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class Proc:
    """A server process in its own process group, stopped with the whole group."""

    name: str
    cmd: list[str]
    log: Path
    port: int
    env: dict[str, str] | None = None
    cwd: Path | None = None
    proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self, probe: str = "/", timeout: float = 20) -> Proc:
        with open(self.log, "ab") as log:
            self.proc = subprocess.Popen(
                self.cmd,
                stdout=log,
                stderr=subprocess.STDOUT,
                env=self.env,
                cwd=self.cwd,
                start_new_session=True,
            )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(
                    f"{self.name} exited with {self.proc.returncode}:\n" + tail(self.log)
                )
            try:
                httpx.get(self.url + probe, timeout=1)
                return self
            except httpx.HTTPError:
                time.sleep(0.1)
        self.stop()
        raise RuntimeError(f"{self.name} did not answer within {timeout} s:\n{tail(self.log)}")

    def stop(self) -> None:
        stop_group(self.proc)
        self.proc = None


def stop_group(proc: subprocess.Popen[bytes] | None) -> None:
    if proc is None or proc.poll() is not None:
        return
    try:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(10)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
    except ProcessLookupError:
        pass


def tail(path: Path, lines: int = 20) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return "(no log)"


def nginx(binary: str, prefix: Path, root: Path) -> Proc:
    """nginx with a minimal static config: sendfile, tcp_nopush, no access log, 2 workers."""
    prefix.mkdir(parents=True, exist_ok=True)
    port = free_port()
    user = "user root;\n" if os.geteuid() == 0 else ""  # workers must read our 0700 temp dir
    temp = "".join(
        f"  {k}_temp_path {prefix / k};\n"
        for k in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi")
    )
    conf = prefix / "nginx.conf"
    conf.write_text(
        f"{user}worker_processes 2;\ndaemon off;\npid {prefix / 'nginx.pid'};\n"
        f"error_log {prefix / 'error.log'} warn;\n"
        "events { worker_connections 4096; }\n"
        "http {\n  access_log off;\n  sendfile on;\n  tcp_nopush on;\n"
        "  keepalive_requests 1000000;\n  default_type application/octet-stream;\n"
        f"{temp}  server {{\n    listen 127.0.0.1:{port};\n    root {root};\n  }}\n}}\n"
    )
    return Proc(
        "nginx",
        [binary, "-p", str(prefix), "-e", str(prefix / "error.log"), "-c", str(conf)],
        prefix / "stdout.log",
        port,
    )


def granian(module_app: str, workdir: Path, log: Path, env: dict[str, str]) -> Proc:
    """A bare app under granian, launched the way `partage serve` runs (ASGI, 1 worker)."""
    port = free_port()
    cmd = [
        str(VENV_BIN / "granian"),
        "--interface",
        "asgi",
        "--workers",
        "1",
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--working-dir",
        str(workdir),
        module_app,
    ]
    return Proc("granian " + module_app, cmd, log, port, env={**os.environ, **env})


# ---------------------------------------------------------------------------- curl


@dataclass
class CurlRun:
    code: int
    size: int
    seconds: float
    curl_speed: float  # curl's own speed_download / speed_upload (bytes/s)
    headers: dict[str, str] = field(default_factory=dict)
    body: str = ""

    @property
    def mbps(self) -> float:
        return self.size / self.seconds / MB if self.seconds > 0 else 0.0


def curl(args: Sequence[str], what: str, workdir: Path) -> CurlRun:
    """One curl transfer; size, total time and speed come from curl's -w report."""
    hdr, body = workdir / "curl-headers.txt", workdir / "curl-body.txt"
    w = f"%{{http_code}} %{{size_{what}}} %{{time_total}} %{{speed_{what}}}"
    out_args = ["-o", "/dev/null"] if what == "download" else ["-o", str(body)]
    p = subprocess.run(
        ["curl", "-s", "--max-time", "900", "-D", str(hdr), *out_args, "-w", w, *args],
        capture_output=True,
        text=True,
    )
    if p.returncode != 0:
        raise RuntimeError(f"curl failed ({p.returncode}): {p.stderr.strip()}")
    code, size, secs, speed = p.stdout.split()
    headers: dict[str, str] = {}
    for line in hdr.read_text(errors="replace").splitlines()[1:]:
        if ":" in line:
            k, v = line.split(":", 1)
            headers[k.strip().lower()] = v.strip()
    text = body.read_text(errors="replace") if what == "upload" and body.exists() else ""
    return CurlRun(int(code), int(size), float(secs), float(speed), headers, text)


def curl_download(url: str, workdir: Path, expect_size: int) -> CurlRun:
    run = curl([url], "download", workdir)
    if run.code != 200 or run.size != expect_size:
        raise RuntimeError(
            f"GET {url} answered {run.code} with {run.size} bytes (expected 200 with {expect_size})"
        )
    return run


def curl_upload(
    url: str, path: Path, workdir: Path, method: str = "PATCH", headers: Sequence[str] = ()
) -> CurlRun:
    """Stream a file as the request body (-T reads it as it goes; `Expect:` is disabled so
    neither server pays curl's 100-continue wait)."""
    args = ["-X", method, "-T", str(path), "-H", "Expect:"]
    for h in headers:
        args += ["-H", h]
    return curl([*args, url], "upload", workdir)


# ----------------------------------------------------------------------------- wrk


@dataclass
class WrkRun:
    rps: float
    requests: int
    non_2xx: int
    socket_errors: str
    latency: str
    raw: str


def wrk(
    binary: str,
    url: str,
    seconds: int,
    threads: int = 2,
    conns: int = 100,
    headers: Sequence[str] = (),
) -> WrkRun:
    args = [binary, f"-t{threads}", f"-c{conns}", f"-d{seconds}s", "--latency"]
    for h in headers:
        args += ["-H", h]
    p = subprocess.run([*args, url], capture_output=True, text=True, timeout=seconds + 60)
    out = p.stdout + p.stderr
    m = re.search(r"Requests/sec:\s+([\d.]+)", out)
    if p.returncode != 0 or not m:
        raise RuntimeError(f"wrk failed:\n{out}")
    n = re.search(r"(\d+) requests in", out)
    bad = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", out)
    sock = re.search(r"Socket errors:(.*)", out)
    lat = re.search(r"Latency\s+(\S+)", out)
    return WrkRun(
        float(m.group(1)),
        int(n.group(1)) if n else 0,
        int(bad.group(1)) if bad else 0,
        sock.group(1).strip() if sock else "",
        lat.group(1) if lat else "?",
        out,
    )


# ----------------------------------------------------------------------- sampling


def _stat_fields(pid: int | str) -> list[str]:
    """/proc/<pid>/stat after "pid (comm)": index 0 is field 3 (state)."""
    stat = Path(f"/proc/{pid}/stat").read_text()
    return stat[stat.rindex(")") + 2 :].split()


def group_pids(pgid: int) -> list[int]:
    pids = []
    for d in os.listdir("/proc"):
        if d.isdigit():
            try:
                if int(_stat_fields(d)[2]) == pgid:  # field 5: pgrp
                    pids.append(int(d))
            except (OSError, ValueError, IndexError):
                continue
    return pids


def pids_rss(pids: Sequence[int]) -> int:
    """Resident bytes of these processes (threads included)."""
    total = 0
    for pid in pids:
        try:
            total += int(_stat_fields(pid)[21])  # field 24: rss in pages
        except (OSError, ValueError, IndexError):
            continue
    return total * os.sysconf("SC_PAGE_SIZE")


def pids_cpu(pids: Sequence[int]) -> float:
    """CPU seconds (user + system, all threads) these processes used so far."""
    total = 0
    for pid in pids:
        try:
            f = _stat_fields(pid)
            total += int(f[11]) + int(f[12])  # fields 14, 15: utime, stime
        except (OSError, ValueError, IndexError):
            continue
    return total / os.sysconf("SC_CLK_TCK")


def machine_cpu() -> tuple[float, float]:
    """(busy, total) CPU seconds of the whole machine since boot, all CPUs."""
    f = [int(x) for x in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    total = sum(f[:8])
    busy = total - f[3] - f[4]  # minus idle and iowait
    tick = os.sysconf("SC_CLK_TCK")
    return busy / tick, total / tick


def children_cpu() -> float:
    r = resource.getrusage(resource.RUSAGE_CHILDREN)
    return r.ru_utime + r.ru_stime


@dataclass
class Watch:
    peak_rss: int = 0
    cpu_s: float = 0.0  # the server's process group
    client_cpu_s: float = 0.0  # our finished children (curl, wrk) over the block
    others_share: float = 0.0  # the rest of the machine, as a fraction of all CPUs
    wall_s: float = 0.0


@contextmanager
def watch(pgid: int | None, interval: float = 0.1) -> Iterator[Watch]:
    """While the block runs: the server group's peak RSS (sampled) and CPU time, the
    client's CPU time, and how much of the machine everything else used."""
    w = Watch()
    pids = group_pids(pgid) if pgid else []
    stop = threading.Event()

    def sample() -> None:
        while not stop.is_set():
            w.peak_rss = max(w.peak_rss, pids_rss(pids))
            stop.wait(interval)

    t = threading.Thread(target=sample, daemon=True)
    cpu0, child0, (busy0, total0) = pids_cpu(pids), children_cpu(), machine_cpu()
    t0 = time.perf_counter()
    t.start()
    try:
        yield w
    finally:
        stop.set()
        t.join()
        w.wall_s = time.perf_counter() - t0
        w.cpu_s = pids_cpu(pids) - cpu0
        w.client_cpu_s = children_cpu() - child0
        busy1, total1 = machine_cpu()
        others = (busy1 - busy0) - w.cpu_s - w.client_cpu_s
        w.others_share = max(0.0, others / max(total1 - total0, 1e-9))


def cpu_busy(seconds: float = 1.0) -> float:
    """Fraction of all CPUs busy (any process) over the next `seconds`."""
    busy0, total0 = machine_cpu()
    time.sleep(seconds)
    busy1, total1 = machine_cpu()
    return (busy1 - busy0) / max(total1 - total0, 1e-9)


def wait_idle(max_wait: float, threshold: float = 0.15, quiet: bool = False) -> float:
    """Wait (up to max_wait s) for a quiet machine; returns the last busy fraction."""
    deadline = time.monotonic() + max_wait
    busy = cpu_busy(0.5 if quiet else 1.0)
    while busy > threshold and time.monotonic() < deadline:
        if not quiet:
            print(f"    waiting for an idle machine: {busy:.0%} busy", flush=True)
        busy = cpu_busy(1.0)
    return busy


def warn_if_busy(busy: float, flag: str = "--wait-idle SECONDS") -> None:
    if busy > 0.15:
        print(f"WARNING: other processes use {busy:.0%} of the CPUs: figures will be low "
              f"and noisy ({flag} waits for a quiet machine)", flush=True)  # fmt: skip


def stop_on_sigterm() -> None:
    """SIGTERM raises KeyboardInterrupt, so that `finally` stops every server a bench
    started and removes its temp dir."""

    def interrupt(signum: int, frame: object) -> None:
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, interrupt)


def median(xs: Sequence[float]) -> float:
    return statistics.median(xs) if xs else 0.0
