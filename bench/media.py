"""Media benchmark: partage's HLS ladder against one hand-written ffmpeg command, and the
time to first playable through a real server.

    .venv/bin/python bench/media.py [--seconds 60] [--height 1080] [--wait-idle [SECONDS]]
                                    [--ffmpeg PATH] [--rounds 2] [--max-others 0.15]

Measures (see bench/README.md):
  1. Ladder efficiency, with one ffmpeg binary on one machine: partage's whole ladder
     (`encode_hls` with `plan_ladder` rungs and the `plan_storyboard` storyboard, as the
     pipeline runs it) against `reference_command` (one hand-written ffmpeg command with
     the same encode settings) at the same nice level, alternating a, b, a, b.
     Target: partage / reference <= 1.05x (median of the pair ratios). The 720p rung alone
     is timed once for scale.
  2. Time to first playable through a real `partage serve`: a faststart MP4, an MP4 with
     its moov at the end (remuxed by partage) and a re-upload of the first one by another
     account (deduplicated). From the upload's answer: direct play, first HLS rung (and one
     of its segments fetched through the master playlist), done.

Figures only: nothing is asserted, the exit status is 0 unless the benchmark itself broke.
The table is printed and the figures go to bench/out/media.json (and a dated copy).
The generated sources are kept in bench/out/ (git-ignored) and reused by later runs.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import resource
import secrets
import shutil
import subprocess
import sys
import tempfile
import time
import traceback
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any
from urllib.parse import urljoin

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import harness as h  # noqa: E402

from partage.media.direct import needs_faststart  # noqa: E402
from partage.media.ffmpeg import ffmpeg_path, ffmpeg_version  # noqa: E402
from partage.media.hls import (  # noqa: E402
    encode_hls,
    plan_storyboard,
    provisional_result,
    reference_command,
)
from partage.media.ladder import Rung, plan_ladder  # noqa: E402
from partage.media.playlists import parse_media_playlist  # noqa: E402
from partage.media.probe import MediaInfo, probe  # noqa: E402
from partage.media.run import NICENESS  # noqa: E402
from partage.settings import Settings  # noqa: E402

TARGET_RATIO = 1.05  # partage's ladder / the reference command, at most
FPS = 30
TONES = {"a": 440, "b": 660}  # different audio: (b) is other bytes, no dedup shortcut
POLL = 0.1  # seconds between two media API requests


# ------------------------------------------------------------------------- sources


@dataclass(frozen=True)
class Sources:
    faststart: Path  # (a): moov first, 440 Hz
    plain: Path  # (b): the same video stream, 660 Hz, moov at the end
    made_s: float  # seconds spent making them in this run (0: reused)


def _ffmpeg(ffmpeg: str, *args: str | Path) -> None:
    cmd = [ffmpeg, "-hide_banner", "-nostdin", "-y", "-loglevel", "error", *map(str, args)]
    p = subprocess.run(cmd, capture_output=True, text=True)
    if p.returncode != 0:
        raise RuntimeError(f"ffmpeg failed ({p.returncode}): {' '.join(cmd)}\n{p.stderr[-2000:]}")


def make_sources(ffmpeg: str, out: Path, seconds: int, height: int) -> Sources:
    """A testsrc2 clip panning slowly (so every frame moves) with a sine tone, H.264 High
    yuv420p CRF 20 + AAC, and a copy of its video with another tone and moov at the end."""
    width = max(2, round(height * 16 / 9 / 2) * 2)
    stem = f"media-src-{width}x{height}-{seconds}s"
    a, b = out / f"{stem}-faststart.mp4", out / f"{stem}-moov-at-end.mp4"
    t0 = time.perf_counter()
    out.mkdir(parents=True, exist_ok=True)
    if not a.is_file():
        print(f"==> making {a.name} (once; kept in {out})", flush=True)
        part = a.with_suffix(".part.mp4")
        _ffmpeg(
            ffmpeg,
            "-f", "lavfi", "-i", f"testsrc2=size={width}x{height}:rate={FPS},"
            "scroll=horizontal=0.0015:vertical=0.0005",
            "-f", "lavfi", "-i", f"sine=frequency={TONES['a']}:sample_rate=48000",
            "-t", str(seconds), "-map", "0:v", "-map", "1:a",
            "-c:v", "libx264", "-preset", "veryfast", "-crf", "20", "-profile:v", "high",
            "-pix_fmt", "yuv420p",
            "-c:a", "aac", "-b:a", "128k", "-ac", "2", "-movflags", "+faststart", part,
        )  # fmt: skip
        part.rename(a)
    if not b.is_file():
        print(f"==> making {b.name} (video copied, {TONES['b']} Hz tone, moov at the end)")
        part = b.with_suffix(".part.mp4")
        _ffmpeg(
            ffmpeg,
            "-i", a, "-f", "lavfi", "-i", f"sine=frequency={TONES['b']}:sample_rate=48000",
            "-t", str(seconds), "-map", "0:v", "-map", "1:a",
            "-c:v", "copy", "-c:a", "aac", "-b:a", "128k", "-ac", "2", part,
        )  # fmt: skip
        part.rename(b)
    made = time.perf_counter() - t0
    return Sources(a, b, made if made > 1 else 0.0)


def describe(info: MediaInfo) -> str:
    v = info.video
    assert v is not None
    a = info.audio_streams[0] if info.audio_streams else None
    mbps = (info.bit_rate or 0) / 1e6
    audio = f", {a.codec} {a.channels} ch" if a else ""
    return (
        f"{v.width}x{v.height} {v.frame_rate:g} fps {v.codec} {v.pixel_format}{audio}, "
        f"{info.duration:.1f} s, {mbps:.1f} Mb/s"
    )


# -------------------------------------------------------------------------- ladder


def _nice() -> None:  # pragma: no cover - runs in the child, between fork and exec
    os.nice(NICENESS)  # what partage.media.run does for every ffmpeg it starts


@dataclass
class Run:
    kind: str
    wall_s: float
    ffmpeg_cpu_s: float
    others: float  # share of all CPUs used by other processes during the run
    busy_before: float
    first_playable_s: float | None = None  # encode_hls only: on_playable() called
    output_bytes: int = 0
    disturbed: bool = False  # others used more than --max-others of the CPUs


def _children_cpu() -> float:
    r = resource.getrusage(resource.RUSAGE_CHILDREN)
    return r.ru_utime + r.ru_stime


def _tree_bytes(d: Path) -> int:
    return sum(p.stat().st_size for p in d.rglob("*") if p.is_file())


def idle(args: argparse.Namespace) -> float:
    """With --wait-idle, wait for a quiet machine (and say how long it took); returns the
    share of all CPUs busy just before the timed run."""
    if not args.wait_idle:
        return h.cpu_busy(0.5)
    t0 = time.monotonic()
    busy = h.wait_idle(args.wait_idle, quiet=True)
    waited = time.monotonic() - t0
    if waited > 2:
        still = " (still busy: timed anyway)" if busy > 0.15 else ""
        print(f"    waited {waited:.0f} s for an idle machine: {busy:.0%} busy{still}", flush=True)
    return busy


def _measure(kind: str, work: Path, args: argparse.Namespace, body: Any) -> Run:
    """Run `body(out_dir)` once on an empty dir, timed; the dir is removed afterwards."""
    busy = idle(args)
    out = work / kind.replace(" ", "-")
    shutil.rmtree(out, ignore_errors=True)
    out.mkdir(parents=True)
    os.sync()
    cpu0 = _children_cpu()
    with h.watch(None) as w:
        first = body(out)
    run = Run(kind, w.wall_s, _children_cpu() - cpu0, w.others_share, busy, first)
    run.output_bytes = _tree_bytes(out)
    shutil.rmtree(out, ignore_errors=True)
    return run


def run_partage(ffmpeg: str, source: Path, info: MediaInfo, rungs: list[Rung]) -> Any:
    board = plan_storyboard(info)

    def body(out: Path) -> float | None:
        t0 = time.perf_counter()
        first: list[float] = []

        def publish_lowest() -> None:  # what the pipeline does when the first rung is ready
            first.append(time.perf_counter() - t0)
            provisional_result(out, info, rungs[:1]).to_json()

        encode_hls(ffmpeg, source, info, rungs, out, storyboard=board, on_playable=publish_lowest)
        return first[0] if first else None

    return body


def run_reference(ffmpeg: str, source: Path, rungs: list[Rung], has_audio: bool) -> Any:
    def body(out: Path) -> None:
        cmd = reference_command(ffmpeg, source, rungs, out, has_audio)
        p = subprocess.run(
            cmd, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
            preexec_fn=_nice,
        )  # fmt: skip
        if p.returncode != 0:
            err = p.stderr.decode(errors="replace")[-2000:]
            raise RuntimeError(f"reference command failed ({p.returncode}):\n{err}")

    return body


def bench_ladder(
    args: argparse.Namespace, ffmpeg: str, source: Path, info: MediaInfo, work: Path
) -> dict[str, Any]:
    rungs = plan_ladder(info)
    board = plan_storyboard(info)
    has_audio = bool(info.audio_streams)
    names = ", ".join(r.name for r in rungs)
    print(
        f"\n==> 1. ladder: {names} + storyboard ({board.columns}x{board.rows} tiles of "
        f"{board.tile_width}x{board.tile_height}); {args.rounds} rounds, alternating",
        flush=True,
    )
    for r in rungs:
        print(f"    {r.name}: {r.width}x{r.height} {r.frame_rate:g} fps "
              f"{r.video_bitrate / 1e6:.2f} Mb/s")  # fmt: skip
    bodies = {
        "partage": run_partage(ffmpeg, source, info, rungs),
        "reference": run_reference(ffmpeg, source, rungs, has_audio),
    }
    tried: list[Run] = []  # every timed run, disturbed ones included

    def timed(kind: str, label: str, body: Any) -> Run:
        """One run; again (up to --retries times) while others disturbed it."""
        for attempt in range(args.retries + 1):
            run = _measure(kind, work, args, body)
            run.disturbed = run.others > args.max_others
            tried.append(run)
            extra = f", first rung playable at {run.first_playable_s:.1f} s" if (
                run.first_playable_s is not None) else ""  # fmt: skip
            again = ""
            if run.disturbed:
                again = "; DISTURBED" + (", again" if attempt < args.retries else ", kept")
            print(
                f"    {label:<22} {run.wall_s:6.1f} s wall, ffmpeg CPU {run.ffmpeg_cpu_s:6.1f} s"
                f", others {run.others:.0%} (busy before {run.busy_before:.0%}){extra}{again}",
                flush=True,
            )
            if not run.disturbed:
                break
        return run

    part: list[Run] = []
    ref: list[Run] = []
    for i in range(args.rounds):
        part.append(timed("partage", f"round {i + 1} partage", bodies["partage"]))
        ref.append(timed("reference", f"round {i + 1} reference", bodies["reference"]))
    mid = [r for r in rungs if r.name == "720p"] or rungs[-1:]
    single = timed(
        f"{mid[0].name} alone",
        f"{mid[0].name} alone (reference)",
        run_reference(ffmpeg, source, mid, has_audio),
    )
    kept = [*part, *ref, single]
    pairs = [a.wall_s / b.wall_s for a, b in zip(part, ref, strict=True)]
    cpu_pairs = [a.ffmpeg_cpu_s / b.ffmpeg_cpu_s for a, b in zip(part, ref, strict=True)]
    duration = info.duration or args.seconds
    med_a, med_b = h.median([r.wall_s for r in part]), h.median([r.wall_s for r in ref])
    return {
        "rungs": [r.name for r in rungs],
        "storyboard": f"{board.columns}x{board.rows}",
        "source_seconds": round(duration, 3),
        "runs": [_rounded(r) for r in tried],
        "partage_wall_s": [round(r.wall_s, 2) for r in part],
        "reference_wall_s": [round(r.wall_s, 2) for r in ref],
        "partage_others": [round(r.others, 3) for r in part],
        "reference_others": [round(r.others, 3) for r in ref],
        "pair_ratios": [round(x, 3) for x in pairs],
        "median_ratio": round(h.median(pairs), 3),
        "ratio_of_medians": round(med_a / med_b, 3),
        "target_ratio": TARGET_RATIO,
        "partage_median_s": round(med_a, 2),
        "reference_median_s": round(med_b, 2),
        "partage_x_realtime": round(duration / med_a, 2),
        "reference_x_realtime": round(duration / med_b, 2),
        "partage_cpu_s": round(h.median([r.ffmpeg_cpu_s for r in part]), 1),
        "reference_cpu_s": round(h.median([r.ffmpeg_cpu_s for r in ref]), 1),
        "cpu_pair_ratios": [round(x, 3) for x in cpu_pairs],
        "cpu_median_ratio": round(h.median(cpu_pairs), 3),
        "partage_first_rung_s": round(h.median([r.first_playable_s or 0 for r in part]), 1),
        "single_rung": mid[0].name,
        "single_rung_s": round(single.wall_s, 2),
        "single_rung_x_realtime": round(duration / single.wall_s, 2),
        "single_rung_others": round(single.others, 3),
        "others_max": round(max(r.others for r in kept), 3),
        "disturbed_kept": sum(r.disturbed for r in kept),
        "disturbed_retried": sum(r.disturbed for r in tried) - sum(r.disturbed for r in kept),
    }


def _rounded(r: Run) -> dict[str, Any]:
    return {
        k: round(v, 3) if isinstance(v, float) and not isinstance(v, bool) else v
        for k, v in vars(r).items()
    }


# -------------------------------------------------------------------------- server


@dataclass
class Account:
    email: str
    client: httpx.Client


@dataclass
class Timeline:
    label: str
    upload_s: float = 0.0
    playable_s: float | None = None  # playable with a direct_url
    direct: str | None = None  # original / remux (the direct_url's kind)
    hls_s: float | None = None  # hls_url first set
    hls_complete_then: bool | None = None
    segment: dict[str, Any] = field(default_factory=dict)
    done_s: float | None = None
    state: str = ""
    attempts: int = 0
    rungs: list[str] = field(default_factory=list)
    error: str | None = None


class Server:
    """A real `partage serve` (tests/serverproc.Server), jobs embedded, on a temp data dir."""

    def __init__(self, root: Path, ffmpeg: str) -> None:
        from tests.serverproc import Server as ServerProc

        (root / "data").mkdir(parents=True, exist_ok=True)
        self.proc = ServerProc(root / "data", env={"PARTAGE_FFMPEG": ffmpeg})
        self.accounts: list[Account] = []

    @property
    def url(self) -> str:
        return self.proc.url

    @property
    def pgid(self) -> int | None:
        return self.proc.proc.pid if self.proc.proc else None

    def start(self) -> None:
        self.proc.start()

    def stop(self) -> None:
        for acc in self.accounts:
            acc.client.close()
        self.proc.stop()

    def account(self) -> Account:
        """A user with an API token, created in the server's database (tests' make_account)."""
        from partage.accounts import service as accounts
        from partage.context import Context

        ctx = Context.build(Settings(data_dir=self.proc.data_dir))
        email = f"bench-{secrets.token_hex(3)}@example.org"
        try:
            with ctx.db.session() as s:
                user = accounts.create_user(s, email, "pw-" + secrets.token_hex(8))
                _, token = accounts.create_token(s, user, "bench")
        finally:
            ctx.close()
        client = httpx.Client(
            base_url=self.url, headers={"Authorization": f"Bearer {token}"}, timeout=120
        )
        acc = Account(email, client)
        self.accounts.append(acc)
        return acc


def check_first_rung(master_url: str) -> dict[str, Any]:
    """GET the master playlist, its first (lowest) variant playlist, that playlist's init
    and first segment, and the audio rendition's first segment; URIs relative to the master."""
    t0 = time.perf_counter()
    res: dict[str, Any] = {"ok": False}
    with httpx.Client(timeout=30) as c:
        master = c.get(master_url)
        res["master"] = master.status_code
        if master.status_code != 200:
            return res
        lines = master.text.splitlines()
        variants = [lines[i + 1] for i, x in enumerate(lines[:-1]) if x.startswith("#EXT-X-STREAM")]
        audio = re.findall(r'#EXT-X-MEDIA:TYPE=AUDIO.*URI="([^"]+)"', master.text)
        res["variants"] = len(variants)
        if not variants:
            return res

        def media(uri: str, key: str) -> bool:
            url = urljoin(master_url, uri)
            r = c.get(url)
            res[key] = {"uri": uri, "status": r.status_code}
            if r.status_code != 200:
                return False
            pl = parse_media_playlist(r.text)
            res[key] |= {"type": pl.playlist_type, "segments": len(pl.segments)}
            if not pl.segments:
                return False
            ok = True
            for what, part in (("init", pl.init), ("first_segment", pl.segments[0][1])):
                if part is None:
                    continue
                got = c.get(urljoin(url, part))
                res[key][what] = {"uri": part, "status": got.status_code, "bytes": len(got.content)}
                ok = ok and got.status_code == 200 and len(got.content) > 0
            return ok

        ok = media(variants[0], "variant")
        if audio:
            ok = media(audio[0], "audio") and ok
        res["ok"] = ok
    res["check_s"] = round(time.perf_counter() - t0, 3)
    return res


def follow(acc: Account, path: Path, name: str, label: str, timeout: float) -> Timeline:
    """Upload `path` with PUT, then poll its media every POLL s until done (or failed)."""
    tl = Timeline(label)
    body = path.read_bytes()
    t_up = time.perf_counter()
    r = acc.client.put(
        f"/api/v1/files/{name}", content=body, headers={"Accept": "application/json"}
    )
    t0 = time.perf_counter()  # the clock starts when the upload's answer arrives
    tl.upload_s = round(t0 - t_up, 3)
    if r.status_code != 201:
        tl.error = f"upload answered {r.status_code}: {r.text[:300]}"
        return tl
    code = r.json()["code"]
    while True:
        now = time.perf_counter() - t0
        v = acc.client.get(f"/api/v1/files/{code}/media").json()
        if tl.playable_s is None and v.get("playable") and v.get("direct_url"):
            tl.playable_s = round(now, 2)
            tl.direct = "remux" if v["direct_url"].endswith("/direct.mp4") else "original"
        if tl.hls_s is None and v.get("hls_url"):
            tl.hls_s = round(now, 2)
            tl.hls_complete_then = bool(v.get("complete"))
            tl.segment = check_first_rung(urljoin(str(acc.client.base_url), v["hls_url"]))
            tl.segment["at_s"] = round(time.perf_counter() - t0, 2)
        if v["state"] in ("done", "failed", "not_media"):
            tl.done_s = round(now, 2)
            tl.state, tl.attempts = v["state"], v.get("attempts", 0)
            tl.rungs = [x["name"] for x in v.get("rungs", [])]
            tl.error = v.get("error")
            return tl
        if now > timeout:
            tl.state, tl.error = v["state"], f"still {v['state']} after {timeout:.0f} s"
            return tl
        time.sleep(POLL)


def bench_server(args: argparse.Namespace, ffmpeg: str, src: Sources, work: Path) -> dict[str, Any]:
    print("\n==> 2. time to first playable through a real `partage serve`", flush=True)
    server = Server(work / "server", ffmpeg)
    timeout = 30 * args.seconds + 120
    out: dict[str, Any] = {}
    try:
        server.start()
        alice, bob = server.account(), server.account()
        for acc in (alice, bob):  # one request that touches the database, untimed
            acc.client.get("/api/v1/files").raise_for_status()
        plan = [
            ("a", alice, src.faststart, "(a) faststart MP4"),
            ("b", alice, src.plain, "(b) moov at the end"),
            ("c", bob, src.faststart, "(c) (a) again, other account"),
        ]
        for key, acc, path, label in plan:
            busy = idle(args)
            ours0, (busy0, total0) = _our_cpu(server.pgid), h.machine_cpu()
            tl = follow(acc, path, f"{key}-{path.name}", label, timeout)
            ours1, (busy1, total1) = _our_cpu(server.pgid), h.machine_cpu()
            total = max(total1 - total0, 1e-9)
            out[key] = vars(tl) | {
                "busy_before": round(busy, 3),
                "machine_busy": round((busy1 - busy0) / total, 3),
                "others": round(max(0.0, busy1 - busy0 - (ours1 - ours0)) / total, 3),
            }
            seg = tl.segment
            print(
                f"    {label:<30} upload {tl.upload_s:.2f} s; playable {_s(tl.playable_s)} "
                f"({tl.direct}); first HLS rung {_s(tl.hls_s)} (complete={tl.hls_complete_then})"
                f"; segment {segment_text(seg)} at {_s(seg.get('at_s'))}; "
                f"{tl.state} {_s(tl.done_s)}; attempts {tl.attempts}; machine busy "
                f"{out[key]['machine_busy']:.0%}, others {out[key]['others']:.0%} (busy before "
                f"{busy:.0%})" + (f"\n      error: {tl.error}" if tl.error else ""),
                flush=True,
            )
    finally:
        server.stop()
    return out


def segment_text(seg: dict[str, Any]) -> str:
    """`ok (360p/index.m3u8 EVENT 2 seg., seg_000.m4s 96 kB; audio ok)` or what failed."""
    if not seg:
        return "-"
    v = seg.get("variant") or {}
    first = v.get("first_segment") or {}
    audio = seg.get("audio")
    audio_ok = audio and (audio.get("first_segment") or {}).get("status") == 200
    return (
        f"{'ok' if seg.get('ok') else 'FAILED'} (master {seg.get('master')}; {v.get('uri')} "
        f"{v.get('status')} {v.get('type')} {v.get('segments')} seg.; {first.get('uri')} "
        f"{first.get('status')} {first.get('bytes', 0) / 1000:.0f} kB; audio "
        f"{'ok' if audio_ok else 'none' if audio is None else 'FAILED'})"
    )


def _our_cpu(pgid: int | None) -> float:
    """CPU seconds used so far by this script and by the server's process group, its
    finished children (the ffmpeg runs) included."""
    r = resource.getrusage(resource.RUSAGE_SELF)
    total = r.ru_utime + r.ru_stime
    ticks = 0
    for pid in h.group_pids(pgid) if pgid else []:
        try:
            f = h._stat_fields(pid)
            ticks += sum(int(x) for x in f[11:15])  # utime, stime, cutime, cstime
        except (OSError, ValueError, IndexError):
            continue
    return total + ticks / os.sysconf("SC_CLK_TCK")


def _s(x: float | None) -> str:
    return "-" if x is None else f"{x:.1f} s"


# -------------------------------------------------------------------------- report


def report(res: dict[str, Any]) -> None:
    lad = res.get("ladder")
    srv = res.get("server")
    print(
        f"\n=== Media benchmark {res['date']}: {res['source']}; ffmpeg {res['ffmpeg_version']} "
        f"({res['ffmpeg']}); {res['machine']['cpus']} CPUs"
    )
    if lad:
        rounds = len(lad["partage_wall_s"])
        print(
            f"Ladder {' + '.join(lad['rungs'])} + storyboard {lad['storyboard']}, {rounds} rounds "
            "alternating: wall s per run (others' CPU share), median, x real time, ffmpeg CPU"
        )
        for kind in ("partage", "reference"):
            walls = "  ".join(
                f"{x:6.1f} ({o:3.0%})"
                for x, o in zip(lad[f"{kind}_wall_s"], lad[f"{kind}_others"], strict=True)
            )
            name = "partage encode_hls" if kind == "partage" else "reference, one command"
            print(
                f"  {name:<23} {walls}   median {lad[f'{kind}_median_s']:6.1f} s  "
                f"{lad[f'{kind}_x_realtime']:4.2f}x real time  CPU {lad[f'{kind}_cpu_s']:6.1f} s"
            )
        ok = lad["median_ratio"] <= TARGET_RATIO
        pairs = ", ".join(f"{x:.3f}" for x in lad["pair_ratios"])
        cpu_pairs = ", ".join(f"{x:.3f}" for x in lad["cpu_pair_ratios"])
        print(
            f"  wall time partage / reference: rounds {pairs}; median {lad['median_ratio']:.3f}x"
            f" (target <= {TARGET_RATIO:.2f}x: {'PASS' if ok else 'MISS'})"
        )
        print(
            f"  ffmpeg CPU time partage / reference: rounds {cpu_pairs}; median "
            f"{lad['cpu_median_ratio']:.3f}x (insensitive to other load)"
        )
        print(
            f"  {lad['single_rung']} rung alone (reference command): {lad['single_rung_s']:.1f} s "
            f"({lad['single_rung_others']:.0%}), {lad['single_rung_x_realtime']:.2f}x real time;"
            f" first rung ready inside encode_hls after {lad['partage_first_rung_s']:.1f} s"
        )
        if lad["disturbed_kept"] or lad["disturbed_retried"]:
            print(
                f"  disturbed runs (others > {res['max_others']:.0%}): "
                f"{lad['disturbed_retried']} run again, {lad['disturbed_kept']} kept (out of "
                "retries): those wall times are high and noisy"
            )
    if srv:
        print("Time to first playable, real server, seconds from the upload's 201 (poll 0.1 s)")
        print(f"  {'':<30} {'upload':>7} {'direct play':>16} {'first HLS rung':>15} "
              f"{'segment GET':>12} {'done':>7} {'attempts':>8} {'others':>6}")  # fmt: skip
        for key in ("a", "b", "c"):
            t = srv.get(key)
            if not t:
                continue
            seg = t["segment"]
            segtxt = f"{'ok' if seg.get('ok') else 'FAIL'} {seg.get('at_s', 0):.1f}" if seg else "-"
            direct = f"{_s(t['playable_s'])} ({t['direct'] or '-'})"
            print(
                f"  {t['label']:<30} {t['upload_s']:6.2f}s {direct:>16} {_s(t['hls_s']):>15} "
                f"{segtxt:>12} {_s(t['done_s']):>7} {t['attempts']:>8} {t['others']:>6.0%}"
            )
    print(f"  load average after: {' '.join(f'{x:.2f}' for x in res['loadavg_after'])}")


# ---------------------------------------------------------------------------- main


def parse_args() -> argparse.Namespace:
    ap = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--seconds", type=int, default=60, help="source duration (default 60)")
    ap.add_argument("--height", type=int, default=1080, help="source height, 16:9 (1080)")
    ap.add_argument("--rounds", type=int, default=2, help="ladder rounds (a, b) per figure")
    ap.add_argument(
        "--wait-idle",
        type=float,
        nargs="?",
        const=300.0,
        default=0,
        metavar="SECONDS",
        help="before each timed run, wait up to SECONDS (300 without a value) for the "
        "other processes to leave the CPUs idle",
    )
    ap.add_argument(
        "--max-others",
        type=float,
        default=0.15,
        metavar="SHARE",
        help="a ladder run during which other processes used more than this share of the "
        "CPUs is disturbed: run again (default 0.15)",
    )
    ap.add_argument("--retries", type=int, default=2, help="runs again of a disturbed run (2)")
    ap.add_argument("--ffmpeg", default=None, help="ffmpeg binary (default: partage's choice)")
    ap.add_argument("--skip-ladder", action="store_true", help="only the server part")
    ap.add_argument("--skip-server", action="store_true", help="only the ladder part")
    ap.add_argument("--out", type=Path, default=h.BENCH_DIR / "out", help="sources and JSON")
    ap.add_argument("--tmp-dir", default=None, help="where the temp dir goes")
    args = ap.parse_args()
    args.rounds = max(1, args.rounds)
    return args


def main() -> int:
    h.stop_on_sigterm()
    args = parse_args()
    ffmpeg = str(Path(args.ffmpeg).resolve()) if args.ffmpeg else ffmpeg_path(Settings())
    version = ffmpeg_version(ffmpeg)
    print(f"==> ffmpeg {version} ({ffmpeg}); {os.cpu_count()} CPUs", flush=True)
    started = datetime.now()
    t_start = time.perf_counter()
    busy = idle(args) if args.wait_idle else h.cpu_busy(1.0)
    h.warn_if_busy(busy, "--wait-idle [SECONDS]")
    src = make_sources(ffmpeg, args.out, args.seconds, args.height)
    for path in (src.faststart, src.plain):  # page cache warm for every run
        path.read_bytes()
    info = probe(src.faststart)
    if info is None or info.video is None:
        raise SystemExit(f"{src.faststart}: not a video")
    print(
        f"==> source {src.faststart.name}: {describe(info)}; moov at the end: "
        f"(a) {needs_faststart(src.faststart)}, (b) {needs_faststart(src.plain)}",
        flush=True,
    )
    res: dict[str, Any] = {
        "date": started.isoformat(timespec="seconds"),
        "command": " ".join([os.path.relpath(sys.executable), *sys.argv]),
        "ffmpeg": ffmpeg,
        "ffmpeg_version": version,
        "source": describe(info),
        "source_files": [str(src.faststart), str(src.plain)],
        "source_made_s": round(src.made_s, 1),
        "machine": h.machine_info(),
        "cpu_busy_before": round(busy, 3),
        "loadavg_before": os.getloadavg(),
        "wait_idle": args.wait_idle,
        "max_others": args.max_others,
    }
    work = Path(tempfile.mkdtemp(prefix="partage-media-bench-", dir=args.tmp_dir))
    interrupted = False
    try:
        if not args.skip_ladder:
            res["ladder"] = bench_ladder(args, ffmpeg, src.faststart, info, work)
        if not args.skip_server:
            res["server"] = bench_server(args, ffmpeg, src, work)
    except KeyboardInterrupt:
        interrupted = True
        print("\ninterrupted", flush=True)
    except Exception as e:
        res["error"] = f"{type(e).__name__}: {e}"
        traceback.print_exc()
    finally:
        shutil.rmtree(work, ignore_errors=True)
    res["loadavg_after"] = os.getloadavg()
    res["total_s"] = round(time.perf_counter() - t_start, 1)
    res["interrupted"] = interrupted
    report(res)
    print(f"  total {res['total_s']:.0f} s (sources made in this run: {src.made_s:.0f} s)")
    args.out.mkdir(parents=True, exist_ok=True)
    text = json.dumps(res, indent=2) + "\n"
    (args.out / "media.json").write_text(text)
    dated = args.out / f"media-{started.strftime('%Y-%m-%dT%H-%M-%S')}.json"
    dated.write_text(text)
    print(f"\nJSON: {args.out / 'media.json'} (and {dated.name})")
    if interrupted:
        return 130
    return 1 if "error" in res else 0


if __name__ == "__main__":
    sys.exit(main())
