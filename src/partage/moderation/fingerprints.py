"""Perceptual fingerprints of a local media file, for staydown banks.

    fingerprint(path, mime)   -> [("pdq", hex)] for an image, [("vpdq", text)] for a video,
                                 [] for anything else or anything that cannot be read
                                 (reference=True: the denser print of a bank reference)
    image_pdq(path)           -> Pdq(hash, quality) | None
    video_vpdq(path)          -> VideoPrint | None        (what is matched: 1 frame a second)
    reference_print(path)     -> VideoPrint | None        (what is banked, see below)
    serialize(VideoPrint)     -> str      (for a Text column)
    parse(str)                -> VideoPrint

PDQ (Meta's 256-bit perceptual image hash) comes from `pdqhash`; vPDQ (PDQ of one frame
per second of video) from `vpdq`, so that hashes exchanged with other platforms (e.g.
ThreatExchange / hash-sharing programmes) compare with ours: vPDQ frames bit for bit,
PDQ of images within a few bits (they are scaled first, see below). Matching lives
in `matching.py`.

Every decode runs in a child process (ffmpeg for images, this module's `__main__` for
video), never in the caller: media files are hostile input, so a decoder that crashes,
loops or balloons takes down only the child, which runs at nice 10 with a memory cap
and a wall-clock timeout and dies with its parent. `fingerprint()` never raises.

Images are decoded by ffmpeg straight to 512x512 RGB (PDQ reduces every image to 64x64
internally, so the aspect ratio is irrelevant and 512 px keeps its filter accurate:
measured distance to a full-size hash 0..8 bits of 256). Frames and images whose PDQ
quality is below `MIN_QUALITY` (flat, featureless pictures whose hash is mostly noise)
are not worth matching: `image_pdq` returns None for them and `matching` skips such
frames.

Video is hashed by `vpdq` itself, so the frames it picks (every `round(fps)`-th frame)
and their hashes are the reference implementation's. One step is added before: black
borders (letterbox, pillarbox, a copy padded into a bigger frame) are found with
ffmpeg's `cropdetect` over the keyframes, and when they cover more than 5 % of the
picture, vpdq hashes the cropped frames instead (the same frames, cut out by ffmpeg into
a small temporary file), because PDQ is not robust to borders: a padded copy would
otherwise share no frame hash with its original. PDQ is not robust to cropping into the
picture either (10 % off the sides moves most hashes past the threshold): reference
prints carry centre crops for that (below); see the figures in docs/benchmarks.md.

The serialized video print is vPDQ's own text format, one frame per line
`frame_number,quality,hash_hex,timestamp`, so banks can be exported to or imported from
the reference tools. Runs of identical consecutive hashes (a still scene) are collapsed
to their first frame as vPDQ's dedupe does; the last frame is always kept so the print
still says how long the video is. About 80 bytes per second of moving video.

Reference prints (`reference_print`, what a rights holder's reference file becomes in a
bank) are denser, because a copy's frames rarely fall on the reference's own seconds:

- the picture is hashed `REFERENCE_FPS` (5) times a second instead of once, so an
  excerpt cut mid-second or a copy played 10 % faster still has, for each of its
  one-a-second frames, a reference frame at most 0.1 s away;
- `CROP_VARIANTS`: the picture is also hashed once a second cut down to its centre 90 %
  and 80 %, so a copy cropped into the picture (which moves PDQ hashes past any sensible
  threshold) matches one of these instead.

The variants are extra lines with a fifth field naming them (`...,timestamp,c90`);
frames of the picture itself keep vPDQ's four fields, so `parse` reads both forms and
other tools that ignore unknown fields still read the main frames. About 560 bytes per
second of moving video (7 hashes a second).
"""

from __future__ import annotations

import logging
import os
import re
import resource
import shutil
import signal
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

log = logging.getLogger("partage.moderation.fingerprints")

MIN_QUALITY = 50  # ThreatExchange's recommended floor for PDQ and vPDQ
SECONDS_PER_HASH = 1.0  # vPDQ sampling rate: one frame per second
REFERENCE_FPS = 5  # frames hashed per second of a bank reference
# Centre crops of a reference also hashed, once a second: (variant name, share kept).
CROP_VARIANTS = (("c90", 0.9), ("c80", 0.8))
IMAGE_SIDE = 512  # images are scaled to this square before hashing
IMAGE_TIMEOUT = 30.0  # seconds to decode one image
VIDEO_TIMEOUT = 1800.0  # seconds for one video (~6x real time per core at 1080p: ~3 h)
MAX_PIXELS = 250_000_000  # decoder refuses bigger pictures (decompression bombs)
# Only still-image demuxers may probe the input: ffmpeg would otherwise happily render a
# text file as a picture (its `tty` demuxer) and we would bank a hash of nothing.
# (`image2` picks a decoder from the file name's extension; blobs have none.)
IMAGE_FORMATS = "image2,png_pipe,jpeg_pipe,webp_pipe,gif,apng,bmp_pipe,tiff_pipe,qoi_pipe,pam_pipe"
MEMORY_LIMIT = 3 << 30  # address space of a decoding child, bytes
NICENESS = 10

Kind = str  # "pdq" | "vpdq"


@dataclass(frozen=True, slots=True)
class Pdq:
    hash: str  # 64 lowercase hex digits
    quality: int  # 0..100


@dataclass(frozen=True, slots=True)
class VideoFrame:
    hash: str  # 64 lowercase hex digits
    quality: int  # 0..100
    frame: int  # frame number in the decoded stream
    timestamp: float  # seconds from the start
    variant: str = ""  # "" for the picture itself, else a CROP_VARIANTS name


@dataclass(frozen=True, slots=True)
class VideoPrint:
    frames: tuple[VideoFrame, ...]

    @property
    def main(self) -> tuple[VideoFrame, ...]:
        """The frames of the picture itself (no crop variant)."""
        return tuple(f for f in self.frames if not f.variant)

    @property
    def interval(self) -> float:
        """Seconds between two sampled frames: 1 for vPDQ, 0.2 for a reference print."""
        times = sorted({f.timestamp for f in self.frames if not f.variant})
        gaps = [b - a for a, b in zip(times, times[1:], strict=False) if b - a > 0.01]
        return round(min(min(gaps), SECONDS_PER_HASH), 3) if gaps else SECONDS_PER_HASH

    @property
    def duration(self) -> float:
        """Seconds covered: up to the last kept frame, plus one sampling interval."""
        main = [f.timestamp for f in self.frames if not f.variant]
        return max(main) + self.interval if main else 0.0


# ------------------------------------------------------------------------- public API


def fingerprint(
    path: str | Path, mime: str, *, ffmpeg: str | None = None, reference: bool = False
) -> list[tuple[Kind, str]]:
    """What to store for a blob of type `mime`: [("pdq", hex)] for an image, [("vpdq",
    serialized print)] for a video, [] otherwise or when the media cannot be decoded.
    `reference`: the file is a bank reference, its video print is `reference_print`."""
    try:
        if mime.startswith("image/"):
            pdq = image_pdq(path, ffmpeg=ffmpeg)
            return [("pdq", pdq.hash)] if pdq else []
        if mime.startswith("video/"):
            make = reference_print if reference else video_vpdq
            video = make(path, ffmpeg=ffmpeg)
            return [("vpdq", serialize(video))] if video else []
    except Exception:  # noqa: BLE001 - bad media must never fail the caller's job
        log.exception("fingerprint of %s (%s) failed", path, mime)
    return []


def image_pdq(
    path: str | Path, *, ffmpeg: str | None = None, timeout: float = IMAGE_TIMEOUT
) -> Pdq | None:
    """The PDQ hash of the image (first frame of an animation), or None when it cannot be
    decoded in `timeout` seconds or its quality is below `MIN_QUALITY`."""
    import numpy as np
    import pdqhash

    cmd = [
        ffmpeg or default_ffmpeg(),
        *("-hide_banner", "-nostdin", "-loglevel", "error", "-nostats"),
        *("-format_whitelist", IMAGE_FORMATS, "-max_pixels", str(MAX_PIXELS)),
        *("-i", str(path)),
        *("-frames:v", "1", "-vf", f"scale={IMAGE_SIDE}:{IMAGE_SIDE}:flags=area"),
        *("-f", "rawvideo", "-pix_fmt", "rgb24", "pipe:1"),
    ]
    out = _run_child(cmd, timeout)
    size = IMAGE_SIDE * IMAGE_SIDE * 3
    if out is None or len(out) != size:
        return None
    pixels = np.frombuffer(out, dtype=np.uint8).reshape(IMAGE_SIDE, IMAGE_SIDE, 3)
    bits, quality = pdqhash.compute(pixels)
    if quality < MIN_QUALITY:
        return None
    return Pdq(np.packbits(bits).tobytes().hex(), int(quality))


def video_vpdq(
    path: str | Path,
    *,
    ffmpeg: str | None = None,
    timeout: float = VIDEO_TIMEOUT,
    threads: int = 1,
) -> VideoPrint | None:
    """The vPDQ print of the video (one frame hash per second, deduplicated), or None when
    it cannot be decoded in `timeout` seconds or has no frame at all. `threads`: decoder
    threads of the child (0: one per core). Black borders (letterbox, pillarbox, padding)
    are cropped away first, as they would otherwise move every hash."""
    return _video_child("vpdq", path, ffmpeg, timeout, threads)


def reference_print(
    path: str | Path,
    *,
    ffmpeg: str | None = None,
    timeout: float = VIDEO_TIMEOUT,
    threads: int = 1,
) -> VideoPrint | None:
    """The print a bank keeps of a reference video: `REFERENCE_FPS` frame hashes a second
    plus the `CROP_VARIANTS` once a second (see the module doc); None as `video_vpdq`."""
    return _video_child("reference", path, ffmpeg, timeout, threads)


def _video_child(
    mode: str, path: str | Path, ffmpeg: str | None, timeout: float, threads: int
) -> VideoPrint | None:
    ffmpeg = ffmpeg or default_ffmpeg()
    cmd = [sys.executable, "-m", __name__, mode, str(path), str(threads), ffmpeg]
    out = _run_child(cmd, timeout)
    if not out:
        return None
    try:
        video = parse(out.decode("ascii"))
    except ValueError:
        return None
    return video if video.frames else None


def serialize(video: VideoPrint) -> str:
    """vPDQ's text form: `frame,quality,hex,timestamp` lines, then the crop variants'
    lines with a fifth field, their name (see the module doc)."""
    lines = []
    for name in _variants(video.frames):
        for f in dedupe(tuple(f for f in video.frames if f.variant == name)):
            line = f"{f.frame},{f.quality},{f.hash},{f.timestamp:.3f}"
            lines.append(f"{line},{name}" if name else line)
    return "\n".join(lines)


def parse(text: str) -> VideoPrint:
    """The inverse of `serialize`; raises ValueError on anything malformed."""
    frames = []
    for line in text.splitlines():
        if not line.strip():
            continue
        fields = line.strip().split(",")
        if len(fields) == 4:
            fields.append("")
        frame, quality, hexhash, timestamp, variant = fields  # ValueError if not 4 or 5
        if len(hexhash) != 64:
            raise ValueError("a PDQ hash has 64 hex digits")
        if len(variant) > 16 or not variant.isalnum() and variant:
            raise ValueError("a variant name is a short word")
        bytes.fromhex(hexhash)  # validates the digits
        frames.append(
            VideoFrame(hexhash.lower(), int(quality), int(frame), float(timestamp), variant)
        )
    return VideoPrint(tuple(frames))


def _variants(frames: tuple[VideoFrame, ...]) -> list[str]:
    """Variant names in order of first appearance, the picture itself ("") first."""
    return sorted(dict.fromkeys(f.variant for f in frames), key=lambda v: v != "")


def dedupe(frames: tuple[VideoFrame, ...]) -> tuple[VideoFrame, ...]:
    """Drop a frame whose hash equals the previous one's, but keep the last frame."""
    kept = [f for i, f in enumerate(frames) if i == 0 or f.hash != frames[i - 1].hash]
    if frames and kept[-1] is not frames[-1]:
        kept.append(frames[-1])
    return tuple(kept)


def default_ffmpeg() -> str:
    """`ffmpeg` on PATH, else imageio-ffmpeg's (callers pass `ffmpeg_path(settings)`)."""
    found = shutil.which("ffmpeg")
    if found:
        return found
    import imageio_ffmpeg

    return str(imageio_ffmpeg.get_ffmpeg_exe())


# ------------------------------------------------------------------------- child processes


def _run_child(cmd: list[str], timeout: float) -> bytes | None:
    """stdout of `cmd`, or None when it failed or ran past `timeout` (then it is killed)."""
    try:
        proc = subprocess.run(
            cmd,
            stdin=subprocess.DEVNULL,
            capture_output=True,
            timeout=timeout,
            preexec_fn=_in_child,  # noqa: PLW1509 - no threads are started between fork and exec
            check=False,
        )
    except subprocess.TimeoutExpired:
        log.warning("fingerprint: %s timed out after %.0f s", cmd[-2], timeout)
        return None
    except OSError as e:
        log.warning("fingerprint: cannot run %s: %s", cmd[0], e)
        return None
    if proc.returncode != 0:
        tail = proc.stderr.decode("utf-8", "replace").strip().splitlines()[-1:]
        log.info("fingerprint: %s exited %s: %s", cmd[0], proc.returncode, " ".join(tail))
        return None
    return proc.stdout


def _in_child() -> None:  # pragma: no cover - runs in the child, between fork and exec
    os.nice(NICENESS)
    resource.setrlimit(resource.RLIMIT_AS, (MEMORY_LIMIT, MEMORY_LIMIT))
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
    if sys.platform.startswith("linux"):
        import ctypes

        # Die with the worker, so a killed job leaves no decoder running.
        ctypes.CDLL(None).prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG


def _probe_video(path: str) -> tuple[int, int, float] | None:
    """(width, height, frame rate) when libavformat sees a video container with a real video stream;
    None otherwise: it would render a text file (`tty` demuxer) or a still image as a
    "video"."""
    import av

    try:
        with av.open(path) as container:
            fmt = container.format.name
            streams = [
                s
                for s in container.streams.video
                if s.codec_context.name not in ("ansi", "bintext", "xbin", "idf")
            ]
            video = streams[0]
            rate = float(video.average_rate or video.guessed_rate or 0)
            size = (video.codec_context.width, video.codec_context.height, rate)
    except (av.FFmpegError, OSError, ValueError, IndexError):
        return None
    if fmt in ("tty", "image2", "image2pipe") or fmt.endswith("_pipe"):
        return None
    return size


def _black_borders(path: str, ffmpeg: str, size: tuple[int, int, float]) -> str | None:
    """A `crop=` filter removing black borders, or None when there are none worth it.
    Looks at keyframes only (a fraction of the decoding) and keeps the union of their
    non-black areas, so a dark scene does not count as a border."""
    cmd = [ffmpeg, "-hide_banner", "-nostdin", "-skip_frame", "nokey", "-i", path]
    cmd += ["-vf", "cropdetect=limit=24:round=2:reset=0:skip=0", "-f", "null", "-"]
    try:
        log_text = subprocess.run(cmd, capture_output=True, timeout=120, check=False).stderr
    except subprocess.TimeoutExpired:
        return None
    found = re.findall(rb"crop=(\d+):(\d+):(\d+):(\d+)", log_text)
    if not found:
        return None
    w, h, x, y = map(int, found[-1])
    if w <= 0 or h <= 0 or w * h >= 0.95 * size[0] * size[1]:
        return None
    return f"crop={w}:{h}:{x}:{y}"


class _Failed(Exception):
    pass


def _vpdq_main(path: str, threads: int, ffmpeg: str, reference: bool) -> int:  # pragma: no cover
    import tempfile

    size = _probe_video(path)
    if size is None:
        print("not a video", file=sys.stderr)
        return 1
    crop = _black_borders(path, ffmpeg, size)
    spacing = 1.0 / REFERENCE_FPS if reference else SECONDS_PER_HASH
    try:
        with tempfile.TemporaryDirectory(prefix="partage-vpdq-") as tmp:
            if crop:
                frames = _hash_sampled(path, ffmpeg, size[2], crop, spacing, threads, tmp, "")
            else:
                frames = _hash(path, spacing, threads, lambda f: (int(f.frame_number), None))
            for name, share in CROP_VARIANTS if reference else ():
                # Even sizes: the sampled frames go through a 4:2:0 encoder.
                vf = f"crop=trunc(iw*{share / 2})*2:trunc(ih*{share / 2})*2"
                vf = f"{crop},{vf}" if crop else vf
                frames += _hash_sampled(
                    path, ffmpeg, size[2], vf, SECONDS_PER_HASH, threads, tmp, name
                )
    except _Failed as e:
        print(str(e), file=sys.stderr)
        return 1
    sys.stdout.write(serialize(VideoPrint(tuple(frames))))
    return 0


def _hash_sampled(
    path: str,
    ffmpeg: str,
    rate: float,
    vf: str,
    spacing: float,
    threads: int,
    tmp: str,
    variant: str,
) -> list[VideoFrame]:  # pragma: no cover - child
    """Frame hashes every `spacing` seconds of the video seen through the filter `vf`.
    vpdq reads a file: hand it the filtered frames it would sample (near-lossless JPEG,
    at most 640 px wide, one per second of the temporary file), then put the frame
    numbers and times of the original back."""
    source = os.path.join(tmp, f"sampled{variant}.mkv")
    every = max(round(rate * spacing), 1)  # vpdq's own frame choice
    sample = f"select='not(mod(n,{every}))',setpts=N/TB"
    cmd = [ffmpeg, "-hide_banner", "-nostdin", "-loglevel", "error", "-y", "-i", path]
    cmd += ["-map", "0:v:0", "-vf", f"{vf},{sample},scale='min(iw,640)':-2"]
    cmd += ["-r", "1", "-c:v", "mjpeg", "-q:v", "2", "-f", "matroska", source]
    if subprocess.run(cmd, stdin=subprocess.DEVNULL, check=False).returncode:
        raise _Failed("ffmpeg could not sample the video")
    return _hash(
        source,
        SECONDS_PER_HASH,
        threads,
        lambda f: (round(f.timestamp) * every, round(f.timestamp) * spacing),
        variant,
    )


def _hash(
    source: str,
    spacing: float,
    threads: int,
    place: Callable[[Any], tuple[int, float | None]],
    variant: str = "",
) -> list[VideoFrame]:  # pragma: no cover - child
    """vpdq's hashes of `source`; `place(feature)`: its (frame number, timestamp) in the
    original (timestamp None: vpdq's own)."""
    import vpdq

    try:
        features = vpdq.computeHash(source, seconds_per_hash=spacing, thread_count=threads)
    except Exception as e:  # noqa: BLE001 - vpdq raises bare Exception on unreadable video
        raise _Failed(str(e)) from e
    frames = []
    for f in features:
        frame, at = place(f)
        timestamp = float(f.timestamp) if at is None else at
        frames.append(VideoFrame(str(f.hex).lower(), int(f.quality), frame, timestamp, variant))
    return frames


if __name__ == "__main__":  # pragma: no cover - the decoding child of `video_vpdq`
    if len(sys.argv) == 5 and sys.argv[1] in ("vpdq", "reference"):
        reference = sys.argv[1] == "reference"
        sys.exit(_vpdq_main(sys.argv[2], int(sys.argv[3]), sys.argv[4], reference))
    sys.exit("usage: python -m partage.moderation.fingerprints vpdq|reference PATH THREADS FFMPEG")
