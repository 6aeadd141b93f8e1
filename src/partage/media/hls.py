"""Encode a video into an HLS ladder (fMP4/CMAF segments) with one ffmpeg process.

The source is decoded once; `split` feeds one `scale` per rung. ffmpeg
autorotates on decode, so the frames reaching the filters are already upright
and the rung sizes (computed from the display size) apply as they are.

Layout of `out_dir`::

    master.m3u8
    360p/index.m3u8  360p/init_0.mp4  360p/seg_000.m4s ...
    480p/...

Every variant gets a keyframe every 2 s (forced, no scene-cut keyframes) and
4 s segments, so each segment starts on a keyframe. The master playlist is
rewritten after the run so that each variant carries `BANDWIDTH`,
`RESOLUTION`, `CODECS` and `FRAME-RATE` whatever ffmpeg wrote.
"""

from __future__ import annotations

import os
import re
import subprocess
import tempfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from partage.media.ladder import Rung
from partage.media.probe import MediaInfo

SEGMENT_SECONDS = 4
KEYFRAME_SECONDS = 2
NICENESS = 10
MASTER_NAME = "master.m3u8"
VARIANT_NAME = "index.m3u8"
INIT_NAME = "init.mp4"  # ffmpeg suffixes it with the variant index: init_0.mp4
AUDIO_CODEC = "mp4a.40.2"  # AAC-LC
_STDERR_TAIL = 15

Progress = Callable[[float], None]


class EncodeError(Exception):
    """ffmpeg failed; `message` says why, with the end of ffmpeg's log."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


@dataclass(frozen=True)
class Variant:
    rung: Rung
    playlist: Path  # <out_dir>/<name>/index.m3u8
    codecs: str  # e.g. `avc1.64001f,mp4a.40.2`


@dataclass(frozen=True)
class HlsResult:
    master: Path
    variants: tuple[Variant, ...]  # lowest first


def build_command(
    ffmpeg: str,
    source: str | Path,
    info: MediaInfo,
    rungs: Sequence[Rung],
    out_dir: str | Path,
) -> list[str]:
    """The ffmpeg argument list encoding `source` into `rungs` under `out_dir`."""
    if not rungs:
        raise ValueError("no rungs to encode")
    if info.video is None:
        raise ValueError("source has no video stream")
    out = Path(out_dir)
    has_audio = bool(info.audio_streams)
    n = len(rungs)
    source_rate = info.video.frame_rate

    chains = [f"[0:v:0]split={n}" + "".join(f"[s{i}]" for i in range(n))]
    for i, r in enumerate(rungs):
        filters = [f"scale={r.width}:{r.height}", "setsar=1"]
        if source_rate is None or source_rate > r.frame_rate + 0.01:
            filters.append(f"fps={r.frame_rate:g}")
        filters.append("format=yuv420p")
        chains.append(f"[s{i}]" + ",".join(filters) + f"[v{i}]")

    cmd = [
        ffmpeg,
        "-hide_banner",
        "-nostdin",
        "-y",
        "-loglevel",
        "error",
        "-nostats",
        "-progress",
        "pipe:1",
        "-i",
        str(source),
        "-filter_complex",
        ";".join(chains),
    ]
    for i in range(n):
        cmd += ["-map", f"[v{i}]"]
        if has_audio:
            cmd += ["-map", "0:a:0"]
    cmd += [
        "-c:v",
        "libx264",
        "-preset",
        "veryfast",
        "-profile:v",
        "high",
        "-pix_fmt",
        "yuv420p",
        "-sc_threshold",
        "0",
        "-force_key_frames",
        f"expr:gte(t,n_forced*{KEYFRAME_SECONDS})",
        "-fps_mode",
        "cfr",
    ]
    for i, r in enumerate(rungs):
        cmd += [
            f"-b:v:{i}",
            str(r.video_bitrate),
            f"-maxrate:v:{i}",
            str(r.video_bitrate),
            f"-bufsize:v:{i}",
            str(r.video_bitrate * 2),
        ]
    if has_audio:
        cmd += ["-c:a", "aac", "-ac", "2", "-ar", "48000"]
        for i, r in enumerate(rungs):
            cmd += [f"-b:a:{i}", str(r.audio_bitrate or 128_000)]
    stream_map = " ".join(
        (f"v:{i},a:{i}" if has_audio else f"v:{i}") + f",name:{r.name}" for i, r in enumerate(rungs)
    )
    cmd += [
        "-map_metadata",
        "-1",
        "-map_chapters",
        "-1",
        "-f",
        "hls",
        "-hls_time",
        str(SEGMENT_SECONDS),
        "-hls_playlist_type",
        "vod",
        "-hls_segment_type",
        "fmp4",
        "-hls_flags",
        "independent_segments",
        "-hls_fmp4_init_filename",
        INIT_NAME,
        "-hls_segment_filename",
        str(out / "%v" / "seg_%03d.m4s"),
        "-master_pl_name",
        MASTER_NAME,
        "-var_stream_map",
        stream_map,
        str(out / "%v" / VARIANT_NAME),
    ]
    return cmd


def _lower_priority() -> None:  # pragma: no cover - runs in the child
    os.nice(NICENESS)


def encode_hls(
    ffmpeg: str,
    source: str | Path,
    info: MediaInfo,
    rungs: Sequence[Rung],
    out_dir: str | Path,
    progress: Progress | None = None,
) -> HlsResult:
    """Run the encode; raise `EncodeError` with ffmpeg's last log lines on failure."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    for r in rungs:
        (out / r.name).mkdir(exist_ok=True)
    cmd = build_command(ffmpeg, source, info, rungs, out)
    duration_us = int((info.duration or 0) * 1_000_000)
    last = -1.0

    def report(pct: float) -> None:
        nonlocal last
        pct = max(0.0, min(100.0, pct))
        if progress is not None and pct > last:
            last = pct
            progress(pct)

    with tempfile.TemporaryFile() as err:
        try:
            proc = subprocess.Popen(
                cmd,
                stdout=subprocess.PIPE,
                stderr=err,
                stdin=subprocess.DEVNULL,
                text=True,
                preexec_fn=_lower_priority,  # nice 10: encodes yield to the web app
            )
        except OSError as e:
            raise EncodeError(f"cannot run ffmpeg: {e}") from e
        assert proc.stdout is not None
        with proc:
            for line in proc.stdout:
                key, _, value = line.strip().partition("=")
                if key == "out_time_us" and duration_us > 0:
                    try:
                        report(min(int(value) / duration_us * 100, 99.9))
                    except ValueError:
                        pass
        code = proc.returncode
        err.seek(0)
        log = err.read().decode("utf-8", "replace")
    if code != 0:
        tail = "\n".join(log.strip().splitlines()[-_STDERR_TAIL:]) or "(no output)"
        raise EncodeError(f"ffmpeg exited with status {code} encoding {source}:\n{tail}")
    master = out / MASTER_NAME
    missing = [p for p in (out / r.name / VARIANT_NAME for r in rungs) if not p.is_file()]
    if missing or not master.is_file():
        raise EncodeError(f"ffmpeg succeeded but wrote no playlist: {missing or master}")
    variants = tuple(
        Variant(rung=r, playlist=out / r.name / VARIANT_NAME, codecs=_codecs(out / r.name, info))
        for r in rungs
    )
    write_master(master, variants)
    report(100.0)
    return HlsResult(master=master, variants=variants)


def _codecs(variant_dir: Path, info: MediaInfo) -> str:
    """RFC 6381 codecs of a variant, read from its init segment's avcC box."""
    video = "avc1.640028"  # High@4.0: a safe statement if the box cannot be read
    try:
        init = INIT_NAME
        found = _MAP_URI.search((variant_dir / VARIANT_NAME).read_text())
        if found:
            init = found.group(1)
        data = (variant_dir / init).read_bytes()
        at = data.index(b"avcC") + 4
        # configurationVersion, AVCProfileIndication, profile_compatibility, AVCLevelIndication
        video = "avc1." + data[at + 1 : at + 4].hex()
    except (OSError, ValueError):
        pass
    return f"{video},{AUDIO_CODEC}" if info.audio_streams else video


_MAP_URI = re.compile(r'#EXT-X-MAP:URI="([^"]+)"')
_ATTR = re.compile(r'([A-Z0-9-]+)=("[^"]*"|[^,]*)')


def _parse_attrs(text: str) -> dict[str, str]:
    return {m.group(1): m.group(2) for m in _ATTR.finditer(text)}


def write_master(master: Path, variants: Sequence[Variant]) -> None:
    """Rewrite the master playlist: lowest rung first, every attribute present.

    ffmpeg's measured `BANDWIDTH`/`AVERAGE-BANDWIDTH` are kept when it wrote them.
    """
    measured: dict[str, dict[str, str]] = {}
    lines = master.read_text().splitlines()
    for i, line in enumerate(lines):
        if line.startswith("#EXT-X-STREAM-INF:") and i + 1 < len(lines):
            uri = lines[i + 1].strip()
            measured[uri.split("/")[0]] = _parse_attrs(line.partition(":")[2])
    out = ["#EXTM3U", "#EXT-X-VERSION:7", "#EXT-X-INDEPENDENT-SEGMENTS"]
    for v in variants:
        r = v.rung
        got = measured.get(r.name, {})
        attrs = {"BANDWIDTH": got.get("BANDWIDTH") or str(r.bandwidth)}
        if got.get("AVERAGE-BANDWIDTH"):
            attrs["AVERAGE-BANDWIDTH"] = got["AVERAGE-BANDWIDTH"]
        attrs["RESOLUTION"] = f"{r.width}x{r.height}"
        attrs["CODECS"] = f'"{v.codecs}"'
        attrs["FRAME-RATE"] = f"{r.frame_rate:.3f}"
        out.append("#EXT-X-STREAM-INF:" + ",".join(f"{k}={val}" for k, val in attrs.items()))
        out.append(f"{r.name}/{VARIANT_NAME}")
    tmp = master.with_suffix(".tmp")
    tmp.write_text("\n".join(out) + "\n")
    tmp.replace(master)
