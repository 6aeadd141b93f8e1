"""Small media made by the discovered ffmpeg, once per session."""

from __future__ import annotations

import os
import subprocess
from dataclasses import dataclass
from pathlib import Path

import pytest

from partage.media.ffmpeg import clear_cache, ffmpeg_path
from partage.settings import Settings

SRT = """1
00:00:00,000 --> 00:00:01,000
Hello

2
00:00:01,000 --> 00:00:02,000
World
"""


@dataclass(frozen=True)
class Samples:
    mp4: Path  # 640x360 30 fps H.264 + AAC, 2 s
    rotated: Path  # the same remuxed with a 90° display matrix
    m4a: Path  # AAC audio only, 2 s
    mp3: Path  # MP3 audio only, 2 s
    mkv: Path  # video + two audio tracks (eng, fra) + an SRT subtitle (eng)
    corrupt: Path  # first 2 KB of the mp4, then random bytes
    truncated: Path  # faststart mp4 cut just after its header: opens, decodes nothing
    text: Path
    png: Path  # a still image: not audio/video media


def _run(ffmpeg: str, *args: str | Path) -> None:
    subprocess.run(
        [ffmpeg, "-y", "-hide_banner", "-loglevel", "error", *map(str, args)],
        check=True,
        timeout=60,
    )


@pytest.fixture(scope="session")
def ffmpeg() -> str:
    clear_cache()
    return ffmpeg_path(Settings())


@pytest.fixture(scope="session")
def samples(ffmpeg: str, tmp_path_factory: pytest.TempPathFactory) -> Samples:
    d = tmp_path_factory.mktemp("media")
    video = ["-f", "lavfi", "-i", "testsrc2=size=640x360:rate=30"]
    tone = ["-f", "lavfi", "-i", "sine=frequency=440"]
    x264 = ["-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p"]

    s = Samples(
        mp4=d / "pattern.mp4",
        rotated=d / "phone.mp4",
        m4a=d / "tone.m4a",
        mp3=d / "tone.mp3",
        mkv=d / "multi.mkv",
        corrupt=d / "corrupt.mp4",
        truncated=d / "truncated.mp4",
        text=d / "notes.txt",
        png=d / "still.png",
    )
    _run(ffmpeg, *video, *tone, "-t", "2", *x264, "-c:a", "aac", s.mp4)
    # `-metadata:s:v:0 rotate=90` sets no display matrix with ffmpeg 9.0 (checked); the
    # `-display_rotation` input option does, and survives a stream copy.
    _run(ffmpeg, "-display_rotation", "90", "-i", s.mp4, "-c", "copy", s.rotated)
    _run(ffmpeg, *tone, "-t", "2", "-c:a", "aac", s.m4a)
    _run(ffmpeg, *tone, "-t", "2", "-c:a", "libmp3lame", s.mp3)

    srt = d / "subs.srt"
    srt.write_text(SRT)
    _run(
        ffmpeg,
        *video,
        *tone,
        "-f", "lavfi", "-i", "sine=frequency=880",
        "-i", srt,
        "-t", "2",
        "-map", "0:v", "-map", "1:a", "-map", "2:a", "-map", "3:s",
        *x264, "-c:a", "aac", "-c:s", "srt",
        "-metadata:s:a:0", "language=eng", "-metadata:s:a:0", "title=English",
        "-metadata:s:a:1", "language=fra", "-metadata:s:a:1", "title=Français",
        "-metadata:s:s:0", "language=eng", "-metadata:s:s:0", "title=English subtitles",
        s.mkv,
    )  # fmt: skip

    s.corrupt.write_bytes(s.mp4.read_bytes()[:2048] + os.urandom(64 * 1024))

    faststart = d / "faststart.mp4"
    _run(ffmpeg, "-i", s.mp4, "-c", "copy", "-movflags", "+faststart", faststart)
    data = faststart.read_bytes()
    mdat = data.index(b"mdat") + 4
    # Keep the whole header, drop the media data: the container opens, nothing decodes.
    s.truncated.write_bytes(data[:mdat] + os.urandom(256))

    _run(ffmpeg, *video, "-frames:v", "1", s.png)
    s.text.write_text("Just some notes, not a video.\n" * 50)
    return s


@dataclass(frozen=True)
class HlsSamples:
    long: Path  # 854x480 30 fps H.264 + AAC, 9 s: two rungs, three segments
    silent: Path  # 640x360 H.264 without audio, 2 s
    odd: Path  # 321x241 25 fps yuv444p, no audio, 2 s: below the lowest rung, odd size


@pytest.fixture(scope="session")
def hls_samples(ffmpeg: str, tmp_path_factory: pytest.TempPathFactory) -> HlsSamples:
    d = tmp_path_factory.mktemp("hls-src")
    x264 = ["-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p"]
    s = HlsSamples(long=d / "long.mp4", silent=d / "silent.mp4", odd=d / "odd.mp4")
    _run(
        ffmpeg,
        "-f", "lavfi", "-i", "testsrc2=size=854x480:rate=30",
        "-f", "lavfi", "-i", "sine=frequency=440",
        "-t", "9", *x264, "-c:a", "aac", s.long,
    )  # fmt: skip
    _run(ffmpeg, "-f", "lavfi", "-i", "testsrc2=size=640x360:rate=30", "-t", "2", *x264, s.silent)
    _run(
        ffmpeg,
        "-f", "lavfi", "-i", "testsrc2=size=322x242:rate=25",
        "-t", "2", "-vf", "format=yuv444p,crop=321:241",
        "-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv444p", s.odd,
    )  # fmt: skip
    return s
