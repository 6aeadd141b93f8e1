"""Small media made with ffmpeg, once per session."""

from __future__ import annotations

import os
import subprocess
from dataclasses import dataclass
from pathlib import Path

import imageio_ffmpeg
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
    """The binary partage itself would run: Debian's when installed, else imageio's."""
    clear_cache()
    return ffmpeg_path(Settings())


@pytest.fixture(scope="session")
def maker() -> str:
    """The binary that makes test media: imageio-ffmpeg's recent build, whatever the
    system has, since some samples need options an older ffmpeg lacks
    (`-display_rotation` came with ffmpeg 6)."""
    return str(imageio_ffmpeg.get_ffmpeg_exe())


@pytest.fixture(scope="session")
def samples(maker: str, tmp_path_factory: pytest.TempPathFactory) -> Samples:
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
    _run(maker, *video, *tone, "-t", "2", *x264, "-c:a", "aac", s.mp4)
    # `-metadata:s:v:0 rotate=90` sets no display matrix with ffmpeg 9.0 (checked); the
    # `-display_rotation` input option does, and survives a stream copy.
    _run(maker, "-display_rotation", "90", "-i", s.mp4, "-c", "copy", s.rotated)
    _run(maker, *tone, "-t", "2", "-c:a", "aac", s.m4a)
    _run(maker, *tone, "-t", "2", "-c:a", "libmp3lame", s.mp3)

    srt = d / "subs.srt"
    srt.write_text(SRT)
    _run(
        maker,
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
    _run(maker, "-i", s.mp4, "-c", "copy", "-movflags", "+faststart", faststart)
    data = faststart.read_bytes()
    mdat = data.index(b"mdat") + 4
    # Keep the whole header, drop the media data: the container opens, nothing decodes.
    s.truncated.write_bytes(data[:mdat] + os.urandom(256))

    _run(maker, *video, "-frames:v", "1", s.png)
    s.text.write_text("Just some notes, not a video.\n" * 50)
    return s


@dataclass(frozen=True)
class HlsSamples:
    long: Path  # 854x480 30 fps H.264 + AAC, 9 s: two rungs, three segments
    silent: Path  # 640x360 H.264 without audio, 2 s
    odd: Path  # 321x241 25 fps yuv444p, no audio, 2 s: below the lowest rung, odd size


@pytest.fixture(scope="session")
def hls_samples(maker: str, tmp_path_factory: pytest.TempPathFactory) -> HlsSamples:
    d = tmp_path_factory.mktemp("hls-src")
    x264 = ["-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p"]
    s = HlsSamples(long=d / "long.mp4", silent=d / "silent.mp4", odd=d / "odd.mp4")
    _run(
        maker,
        "-f", "lavfi", "-i", "testsrc2=size=854x480:rate=30",
        "-f", "lavfi", "-i", "sine=frequency=440",
        "-t", "9", *x264, "-c:a", "aac", s.long,
    )  # fmt: skip
    _run(maker, "-f", "lavfi", "-i", "testsrc2=size=640x360:rate=30", "-t", "2", *x264, s.silent)
    _run(
        maker,
        "-f", "lavfi", "-i", "testsrc2=size=322x242:rate=25",
        "-t", "2", "-vf", "format=yuv444p,crop=321:241",
        "-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv444p", s.odd,
    )  # fmt: skip
    return s


# -- posters, thumbnails, subtitles, direct play (test_poster/test_subtitles/test_direct) --


@dataclass(frozen=True)
class ExtraSamples:
    black_start: Path  # 320x180 H.264, 2 s of black then 1 s of test pattern, no audio
    big: Path  # 1920x1080 H.264, 1 s at 5 fps: a poster must shrink it
    anamorphic: Path  # 320x180 stored, sample aspect 2:1: displayed 640x180
    cover_mp3: Path  # MP3 with a 640x360 PNG as attached picture
    alpha_png: Path  # 200x100: left half fully transparent, right half opaque red
    gif: Path  # 160x120 animated GIF, 10 frames
    large_jpg: Path  # 1500x1000 JPEG
    bad_png: Path  # a PNG signature followed by random bytes
    faststart: Path  # samples.mp4 remuxed with moov first
    webm: Path  # VP9 + Opus, 160x90, 1 s
    yuv444: Path  # MP4 H.264 High 4:4:4 + AAC, 160x90, 1 s
    wav: Path  # PCM s16le, 1 s
    ogg: Path  # Opus in Ogg, 1 s
    flac: Path  # FLAC, 1 s
    alac: Path  # ALAC in .m4a, 1 s
    wma: Path  # WMA v2 in ASF, 1 s
    ac3: Path  # AC-3 5.1 in Matroska audio (.mka), 2 s
    subs_mp4: Path  # samples.mp4 + two mov_text tracks: French (no title), untagged


@pytest.fixture(scope="session")
def extra_samples(
    maker: str, samples: Samples, tmp_path_factory: pytest.TempPathFactory
) -> ExtraSamples:
    d = tmp_path_factory.mktemp("media-extra")
    x264 = ["-c:v", "libx264", "-preset", "ultrafast"]
    tone = ["-f", "lavfi", "-i", "sine=frequency=440:duration=1"]
    small = ["-f", "lavfi", "-i", "testsrc2=size=160x90:rate=15:duration=1"]
    s = ExtraSamples(
        black_start=d / "black-start.mp4",
        big=d / "big.mp4",
        anamorphic=d / "anamorphic.mp4",
        cover_mp3=d / "cover.mp3",
        alpha_png=d / "alpha.png",
        gif=d / "anim.gif",
        large_jpg=d / "large.jpg",
        bad_png=d / "bad.png",
        faststart=d / "faststart.mp4",
        webm=d / "clip.webm",
        yuv444=d / "yuv444.mp4",
        wav=d / "tone.wav",
        ogg=d / "tone.ogg",
        flac=d / "tone.flac",
        alac=d / "alac.m4a",
        wma=d / "tone.wma",
        ac3=d / "surround.mka",
        subs_mp4=d / "subs.mp4",
    )
    _run(
        maker,
        "-f", "lavfi", "-i", "color=black:size=320x180:rate=30:duration=2",
        "-f", "lavfi", "-i", "testsrc2=size=320x180:rate=30:duration=1",
        "-filter_complex", "[0:v][1:v]concat=n=2:v=1:a=0",
        *x264, "-pix_fmt", "yuv420p", s.black_start,
    )  # fmt: skip
    _run(
        maker, "-f", "lavfi", "-i", "testsrc2=size=1920x1080:rate=5:duration=1",
        *x264, "-pix_fmt", "yuv420p", s.big,
    )  # fmt: skip
    _run(
        maker, "-f", "lavfi", "-i", "testsrc2=size=320x180:rate=15:duration=1",
        "-vf", "setsar=2", *x264, "-pix_fmt", "yuv420p", s.anamorphic,
    )  # fmt: skip
    _run(
        maker, *tone, "-i", samples.png, "-map", "0:a", "-map", "1:v",
        "-c:a", "libmp3lame", "-c:v", "copy", "-disposition:v", "attached_pic", s.cover_mp3,
    )  # fmt: skip
    _run(
        maker, "-f", "lavfi",
        "-i", "color=c=red:size=200x100,format=rgba,geq=r=255:g=0:b=0:a='if(lt(X,100),0,255)'",
        "-frames:v", "1", s.alpha_png,
    )  # fmt: skip
    _run(maker, "-f", "lavfi", "-i", "testsrc2=size=160x120:rate=10:duration=1", s.gif)
    _run(maker, "-f", "lavfi", "-i", "testsrc2=size=1500x1000", "-frames:v", "1", s.large_jpg)
    s.bad_png.write_bytes(b"\x89PNG\r\n\x1a\n" + os.urandom(4096))
    _run(maker, "-i", samples.mp4, "-c", "copy", "-movflags", "+faststart", s.faststart)
    _run(
        maker, *small, *tone, "-c:v", "libvpx-vp9", "-deadline", "realtime", "-cpu-used", "8",
        "-b:v", "200k", "-c:a", "libopus", s.webm,
    )  # fmt: skip
    _run(maker, *small, *tone, *x264, "-pix_fmt", "yuv444p", "-c:a", "aac", s.yuv444)
    _run(maker, *tone, "-c:a", "pcm_s16le", s.wav)
    _run(maker, *tone, "-c:a", "libopus", s.ogg)
    _run(maker, *tone, "-c:a", "flac", s.flac)
    _run(maker, *tone, "-c:a", "alac", s.alac)
    _run(maker, *tone, "-c:a", "wmav2", s.wma)
    _run(
        maker, "-f", "lavfi", "-i", "sine=frequency=440:duration=2",
        "-ac", "6", "-c:a", "ac3", s.ac3,
    )  # fmt: skip
    srt = d / "fr.srt"
    srt.write_text("1\n00:00:00,000 --> 00:00:01,000\nBonjour\n", encoding="utf-8")
    _run(
        maker, "-i", samples.mp4, "-i", srt, "-i", srt,
        "-map", "0:v", "-map", "0:a", "-map", "1:s", "-map", "2:s",
        "-c:v", "copy", "-c:a", "copy", "-c:s", "mov_text",
        "-metadata:s:s:0", "language=fra", "-metadata:s:s:1", "language=und", s.subs_mp4,
    )  # fmt: skip
    return s
