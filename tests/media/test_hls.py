"""The HLS ladder, encoded for real and checked with ffprobe (and PyAV for pixels)."""

from __future__ import annotations

import dataclasses
import json
import math
import re
import shutil
import subprocess
import time
from pathlib import Path
from typing import Any

import av
import imageio_ffmpeg
import pytest

from partage.media.hls import (
    MASTER_NAME,
    AudioRendition,
    Cancelled,
    EncodeError,
    HlsResult,
    SubtitleRendition,
    TimedOut,
    VariantInfo,
    audio_title,
    bcp47,
    build_command,
    encode_hls,
    plan_storyboard,
    provisional_result,
    reference_command,
    render_master,
    storyboard_vtt,
    subtitle_playlist,
)
from partage.media.ladder import Rung, plan_ladder
from partage.media.playlists import parse_media_playlist, to_vod
from partage.media.probe import MediaInfo, StreamInfo, probe
from partage.media.run import run_ffmpeg

from .conftest import HlsSamples, Samples

ATTR = re.compile(r'([A-Z0-9-]+)=("[^"]*"|[^,]*)')
SEGMENT_MAX = 4.05  # hls_time 4; audio segments end on an AAC frame boundary


@pytest.fixture(scope="session")
def ffprobe() -> str:
    found = shutil.which("ffprobe") or "/usr/bin/ffprobe"
    if not Path(found).is_file():
        pytest.skip("no ffprobe")
    return found


@pytest.fixture(scope="session")
def ffmpeg9() -> str:
    """imageio-ffmpeg's binary: what partage falls back to without a system ffmpeg."""
    return str(imageio_ffmpeg.get_ffmpeg_exe())


def _probe_json(ffprobe: str, path: Path, *args: str) -> dict[str, Any]:
    out = subprocess.run(
        [ffprobe, "-v", "error", "-of", "json", *args, str(path)],
        check=True,
        capture_output=True,
        text=True,
        timeout=60,
    ).stdout
    return json.loads(out)  # type: ignore[no-any-return]


def _attrs(line: str) -> dict[str, str]:
    return {m.group(1): m.group(2) for m in ATTR.finditer(line.partition(":")[2])}


def _joined(playlist: Path, dest: Path) -> Path:
    """init + all segments in one file, which any fMP4 reader opens."""
    media = parse_media_playlist(playlist.read_text())
    assert media.init
    with dest.open("wb") as f:
        for name in [media.init, *(uri for _, uri in media.segments)]:
            f.write((playlist.parent / name).read_bytes())
    return dest


def _check_playlist(playlist: Path, info: MediaInfo) -> int:
    """A finished VOD playlist covering the source; returns its number of segments."""
    text = playlist.read_text()
    assert "#EXT-X-PLAYLIST-TYPE:VOD" in text and "EVENT" not in text
    assert text.rstrip().endswith("#EXT-X-ENDLIST")
    media = parse_media_playlist(text)
    assert media.segments and all(d <= SEGMENT_MAX for d, _ in media.segments), media
    assert all(re.fullmatch(r"seg_\d{3}\.m4s", uri) for _, uri in media.segments)
    assert info.duration is not None
    assert media.duration == pytest.approx(info.duration, abs=0.1)
    return len(media.segments)


def _check_video(ffprobe: str, out: Path, result: HlsResult, info: MediaInfo, tmp: Path) -> None:
    assert info.duration is not None
    for v in result.variants:
        playlist = out / v.uri
        _check_playlist(playlist, info)
        joined = _joined(playlist, tmp / f"{v.name}.mp4")
        streams = _probe_json(ffprobe, joined, "-show_streams")["streams"]
        assert [s["codec_type"] for s in streams] == ["video"]  # no audio in variants
        s = streams[0]
        assert (s["codec_name"], s["profile"], s["pix_fmt"]) == ("h264", "High", "yuv420p")
        assert (s["width"], s["height"]) == (v.width, v.height)
        assert v.video_codecs == f"avc1.64{0:02x}{s['level']:02x}"
        packets = _probe_json(
            ffprobe, joined, "-select_streams", "v:0", "-show_packets",
            "-show_entries", "packet=pts_time,duration_time,flags",
        )["packets"]  # fmt: skip
        start = min(float(p["pts_time"]) for p in packets)
        end = max(float(p["pts_time"]) + float(p["duration_time"]) for p in packets)
        assert end - start == pytest.approx(info.duration, abs=0.1)
        keys = sorted(float(p["pts_time"]) - start for p in packets if "K" in p["flags"])
        assert keys[0] == pytest.approx(0, abs=0.01)
        gaps = [b - a for a, b in zip(keys, keys[1:], strict=False)]
        assert all(g == pytest.approx(2.0, abs=0.02) for g in gaps), keys
        last = max(float(p["pts_time"]) for p in packets) - start
        assert len(keys) == int((last + 0.001) // 2) + 1  # one every 2 s, not one more


def _check_audio(ffprobe: str, out: Path, result: HlsResult, info: MediaInfo, tmp: Path) -> None:
    assert info.duration is not None
    for a in result.audio:
        playlist = out / a.uri
        _check_playlist(playlist, info)
        joined = _joined(playlist, tmp / f"{a.name}.mp4")
        streams = _probe_json(ffprobe, joined, "-show_streams")["streams"]
        assert [s["codec_type"] for s in streams] == ["audio"]
        s = streams[0]
        assert (s["codec_name"], s["profile"]) == ("aac", "LC")
        assert (s["channels"], s["sample_rate"]) == (2, "48000")
        packets = _probe_json(
            ffprobe, joined, "-show_packets", "-show_entries", "packet=pts_time,duration_time"
        )["packets"]
        start = min(float(p["pts_time"]) for p in packets)
        end = max(float(p["pts_time"]) + float(p.get("duration_time", 0)) for p in packets)
        assert end - start == pytest.approx(info.duration, abs=0.1)


def _master_entries(text: str) -> tuple[list[dict[str, str]], list[tuple[dict[str, str], str]]]:
    lines = text.splitlines()
    assert lines[:3] == ["#EXTM3U", "#EXT-X-VERSION:7", "#EXT-X-INDEPENDENT-SEGMENTS"]
    media = [_attrs(line) for line in lines if line.startswith("#EXT-X-MEDIA:")]
    variants = []
    for i, line in enumerate(lines):
        assert line.startswith("#") or lines[i - 1].startswith("#EXT-X-STREAM-INF:"), line
        if line.startswith("#EXT-X-STREAM-INF:"):
            variants.append((_attrs(line), lines[i + 1]))
    return media, variants


# --- the 9 s source: two rungs, one audio stream, a storyboard --------------------------


@dataclasses.dataclass
class LongEncode:
    info: MediaInfo
    out: Path
    result: HlsResult
    progress: list[float]
    ticks: int
    playable: list[dict[str, Any]]  # what was on disk at each on_playable() call


@pytest.fixture(scope="module")
def long_encode(
    ffmpeg: str, hls_samples: HlsSamples, tmp_path_factory: pytest.TempPathFactory
) -> LongEncode:
    info = probe(hls_samples.long)
    assert info is not None
    out = tmp_path_factory.mktemp("hls-long") / "hls"
    seen: list[float] = []
    ticks = 0
    playable: list[dict[str, Any]] = []

    def tick() -> None:
        nonlocal ticks
        ticks += 1

    def on_playable() -> None:
        state: dict[str, Any] = {}
        for name in ("360p", "480p", "audio_0"):
            d = out / name
            state[name] = {
                "files": sorted(p.name for p in d.iterdir()),
                "playlist": (d / "index.m3u8").read_text() if (d / "index.m3u8").exists() else "",
            }
        playable.append(state)

    result = encode_hls(
        ffmpeg,
        hls_samples.long,
        info,
        plan_ladder(info),
        out,
        storyboard=plan_storyboard(info),
        progress=seen.append,
        tick=tick,
        on_playable=on_playable,
    )
    return LongEncode(info, out, result, seen, ticks, playable)


def test_two_rung_ladder(long_encode: LongEncode, ffprobe: str, tmp_path: Path) -> None:
    info, out, result = long_encode.info, long_encode.out, long_encode.result
    assert [(v.name, v.width, v.height) for v in result.variants] == [
        ("360p", 640, 360),
        ("480p", 854, 480),
    ]
    assert [v.uri for v in result.variants] == ["360p/index.m3u8", "480p/index.m3u8"]
    assert all(v.frame_rate == pytest.approx(30.0) for v in result.variants)
    for v in result.variants:
        assert _check_playlist(out / v.uri, info) == 3  # 4 s + 4 s + 1 s
    _check_video(ffprobe, out, result, info, tmp_path)
    assert [(a.name, a.uri, a.default, a.codecs) for a in result.audio] == [
        ("audio_0", "audio_0/index.m3u8", True, "mp4a.40.2")
    ]
    assert result.audio[0].title == "Audio 1"  # no title, no language tag
    assert result.audio[0].language is None
    _check_audio(ffprobe, out, result, info, tmp_path)


def test_progress_and_ticks(long_encode: LongEncode) -> None:
    seen = long_encode.progress
    assert seen[-1] == 100.0
    assert seen == sorted(seen)
    assert all(0 <= p <= 100 for p in seen)
    assert long_encode.ticks >= 1  # the caller's tick still runs


def test_on_playable_once_with_a_segment(long_encode: LongEncode) -> None:
    assert len(long_encode.playable) == 1
    state = long_encode.playable[0]
    for name in ("360p", "audio_0"):  # the lowest rung and every audio rendition
        media = parse_media_playlist(state[name]["playlist"])
        assert media.segments, state
        assert media.init in state[name]["files"]
        assert all(uri in state[name]["files"] for _, uri in media.segments)


def test_on_playable_fires_while_ffmpeg_runs(
    ffmpeg: str, hls_samples: HlsSamples, tmp_path: Path
) -> None:
    """ffmpeg reading at twice real time: the 9 s source takes 4.5 s, the first
    segment is listed after about 2.2 s, and the 1 s heartbeat sees it before the end."""
    slow = tmp_path / "slow-ffmpeg"
    slow.write_text(f'#!/bin/sh\nexec "{ffmpeg}" -readrate 2 "$@"\n')
    slow.chmod(0o755)
    info = probe(hls_samples.long)
    assert info is not None
    out = tmp_path / "hls"
    seen: list[tuple[str, bool]] = []
    early: list[HlsResult] = []
    rungs = plan_ladder(info)[:1]

    def on_playable() -> None:
        last = out / "360p" / "seg_002.m4s"
        seen.append(((out / "360p/index.m3u8").read_text(), last.exists()))
        early.append(provisional_result(out, info, rungs))  # what the pipeline publishes

    t0 = time.monotonic()
    result = encode_hls(slow.as_posix(), hls_samples.long, info, rungs, out,
                        on_playable=on_playable)  # fmt: skip
    assert time.monotonic() - t0 > 3.5  # the wrapper did slow ffmpeg down
    assert len(seen) == 1
    text, finished = seen[0]
    media = parse_media_playlist(text)
    assert media.playlist_type == "EVENT" and not media.ended and media.segments
    assert not finished
    (provisional,) = early
    assert [v.name for v in provisional.variants] == ["360p"]
    assert [a.name for a in provisional.audio] == ["audio_0"]
    assert provisional.variants[0].bandwidth >= provisional.variants[0].average_bandwidth > 0
    assert HlsResult.from_json(provisional.to_json()) == provisional
    assert (out / result.variants[0].uri).read_text().rstrip().endswith("#EXT-X-ENDLIST")


def test_storyboard(long_encode: LongEncode, ffprobe: str) -> None:
    info, result = long_encode.info, long_encode.result
    assert info.duration is not None
    board = result.storyboard
    assert board is not None
    spec = board.spec
    assert (spec.interval, spec.tile_width, spec.tile_height) == (1.0, 160, 90)
    assert board.count == math.ceil(info.duration) <= spec.columns * spec.rows
    assert (spec.columns, spec.rows) == (board.count, 1)
    assert Path(board.path) == long_encode.out / "storyboard.jpg"
    (s,) = _probe_json(ffprobe, Path(board.path), "-show_streams")["streams"]
    assert (s["codec_name"], s["width"], s["height"]) == ("mjpeg", 160 * spec.columns, 90)
    # Every counted tile holds a picture (testsrc2 is bright), not tile's black padding.
    with av.open(board.path) as c:
        frame = next(c.decode(video=0))
    luma = frame.planes[0]
    data = bytes(luma)
    for i in range(board.count):
        x0, y0 = (i % spec.columns) * spec.tile_width, (i // spec.columns) * spec.tile_height
        rows = [data[(y0 + y) * luma.line_size + x0 : (y0 + y) * luma.line_size + x0 + 160]
                for y in range(0, 90, 3)]  # fmt: skip
        mean = sum(sum(r) for r in rows) / sum(len(r) for r in rows)
        assert mean > 40, (i, mean)

    vtt = storyboard_vtt(board, info.duration, "/media/x/storyboard.jpg")
    assert vtt.startswith("WEBVTT\n\n")
    cues = re.findall(
        r"(\d\d):(\d\d):(\d\d)\.(\d{3}) --> (\d\d):(\d\d):(\d\d)\.(\d{3})\n(\S+)", vtt
    )
    assert len(cues) == board.count
    ends = 0.0
    for i, cue in enumerate(cues):
        h1, m1, s1, ms1, h2, m2, s2, ms2 = map(int, cue[:8])
        start, end = h1 * 3600 + m1 * 60 + s1 + ms1 / 1000, h2 * 3600 + m2 * 60 + s2 + ms2 / 1000
        assert start == pytest.approx(ends) and end > start
        ends = end
        url, _, xywh = cue[8].partition("#xywh=")
        assert url == "/media/x/storyboard.jpg"
        x, y, w, h = map(int, xywh.split(","))
        assert (x, y, w, h) == (i * 160, 0, 160, 90)
    assert ends == pytest.approx(info.duration, abs=0.001)


def _segment_rates(playlist: Path) -> tuple[float, float]:
    media = parse_media_playlist(playlist.read_text())
    sizes = [(playlist.parent / uri).stat().st_size for _, uri in media.segments]
    peak = max(size * 8 / d for size, (d, _) in zip(sizes, media.segments, strict=True))
    return peak, sum(sizes) * 8 / media.duration


def test_bandwidth_is_measured(long_encode: LongEncode) -> None:
    out, result = long_encode.out, long_encode.result
    (audio,) = result.audio
    a_peak, a_avg = _segment_rates(out / audio.uri)
    assert audio.bandwidth == pytest.approx(a_peak, abs=1)
    assert audio.average_bandwidth == pytest.approx(a_avg, abs=1)
    assert audio.bandwidth >= audio.average_bandwidth > 64_000
    for v in result.variants:
        peak, avg = _segment_rates(out / v.uri)
        assert v.bandwidth == pytest.approx(peak + a_peak, abs=2)
        assert v.average_bandwidth == pytest.approx(avg + a_avg, abs=2)
        assert v.bandwidth >= v.average_bandwidth > 0
    low, high = result.variants
    assert high.average_bandwidth > low.average_bandwidth


def test_master_parses_back(long_encode: LongEncode, tmp_path: Path) -> None:
    info, out, result = long_encode.info, long_encode.out, long_encode.result
    assert info.duration is not None
    assert (out / MASTER_NAME).read_text() == render_master(result.variants, result.audio)
    (out / "subs").mkdir(exist_ok=True)
    (out / "subs" / "en.vtt").write_text("WEBVTT\n\n00:00.000 --> 00:01.000\nHello\n")
    (out / "subs" / "en.m3u8").write_text(subtitle_playlist("en.vtt", info.duration))
    nasty = 'Director\'s "cut",\nDEFAULT=YES\r'
    subs = [SubtitleRendition(name=nasty, language="en", uri="subs/en.m3u8")]
    audio = [dataclasses.replace(result.audio[0], title='The "best" one\n#EXT-X-ENDLIST')]
    text = render_master(result.variants, audio, subs)
    media, variants = _master_entries(text)
    assert len(text.splitlines()) == 3 + 2 + 2 * len(result.variants)
    a, s = media
    assert a == {
        "TYPE": "AUDIO", "GROUP-ID": '"aud"', "NAME": "\"The 'best' one #EXT-X-ENDLIST\"",
        "DEFAULT": "YES", "AUTOSELECT": "YES", "CHANNELS": '"2"', "URI": '"audio_0/index.m3u8"',
    }  # fmt: skip
    assert s == {
        "TYPE": "SUBTITLES", "GROUP-ID": '"subs"', "NAME": "\"Director's 'cut', DEFAULT=YES\"",
        "LANGUAGE": '"en"', "DEFAULT": "NO", "AUTOSELECT": "YES", "FORCED": "NO",
        "URI": '"subs/en.m3u8"',
    }  # fmt: skip
    for attrs in media:
        assert (out / attrs["URI"].strip('"')).is_file()
    assert [uri for _, uri in variants] == [v.uri for v in result.variants]
    for (attrs, uri), v in zip(variants, result.variants, strict=True):
        assert (out / uri).is_file()
        assert attrs == {
            "BANDWIDTH": str(v.bandwidth),
            "AVERAGE-BANDWIDTH": str(v.average_bandwidth),
            "RESOLUTION": f"{v.width}x{v.height}",
            "CODECS": f'"{v.video_codecs},mp4a.40.2"',
            "FRAME-RATE": "30.000",
            "AUDIO": '"aud"',
            "SUBTITLES": '"subs"',
        }
    sub = parse_media_playlist((out / "subs" / "en.m3u8").read_text())
    assert sub.playlist_type == "VOD" and sub.ended
    assert sub.segments == ((round(info.duration, 3), "en.vtt"),)
    assert f"#EXT-X-TARGETDURATION:{math.ceil(info.duration)}\n" in subtitle_playlist(
        "en.vtt", info.duration
    )


def test_result_round_trips_through_json(long_encode: LongEncode) -> None:
    result = long_encode.result
    stored = json.loads(json.dumps(dataclasses.asdict(result)))
    assert stored == result.to_json()
    assert HlsResult.from_json(stored) == result
    bare = HlsResult(variants=result.variants, audio=())
    assert HlsResult.from_json(json.loads(json.dumps(bare.to_json()))) == bare


# --- other sources --------------------------------------------------------------------


@pytest.mark.parametrize("binary", ["system", "imageio"])
def test_two_audio_streams_become_two_renditions(
    binary: str, ffmpeg: str, ffmpeg9: str, ffprobe: str, samples: Samples, tmp_path: Path
) -> None:
    """Run with both the product's binary (Debian's 5.1 here) and imageio-ffmpeg's 9."""
    info = probe(samples.mkv)
    assert info is not None and len(info.audio_streams) == 2
    out = tmp_path / "hls"
    calls: list[int] = []
    result = encode_hls(
        ffmpeg if binary == "system" else ffmpeg9,
        samples.mkv,
        info,
        plan_ladder(info),
        out,
        storyboard=plan_storyboard(info),
        on_playable=lambda: calls.append(1),
    )
    assert calls == [1]
    assert [(a.name, a.stream_index, a.language, a.title, a.default) for a in result.audio] == [
        ("audio_0", info.audio_streams[0].index, "en", "English", True),
        ("audio_1", info.audio_streams[1].index, "fr", "Français", False),
    ]
    _check_video(ffprobe, out, result, info, tmp_path)
    _check_audio(ffprobe, out, result, info, tmp_path)
    media, variants = _master_entries(render_master(result.variants, result.audio))
    assert [(m["NAME"], m["LANGUAGE"], m["DEFAULT"]) for m in media] == [
        ('"English"', '"en"', "YES"),
        ('"Français"', '"fr"', "NO"),
    ]
    for attrs, _ in variants:
        assert attrs["AUDIO"] == '"aud"' and "mp4a.40.2" in attrs["CODECS"]
        assert int(attrs["BANDWIDTH"]) >= int(attrs["AVERAGE-BANDWIDTH"]) > 0
    assert info.duration is not None and result.storyboard is not None
    assert result.storyboard.count == math.ceil(info.duration)


def test_audio_less_source(
    ffmpeg: str, ffprobe: str, hls_samples: HlsSamples, tmp_path: Path
) -> None:
    info = probe(hls_samples.silent)
    assert info is not None and not info.audio_streams
    cmd = build_command(ffmpeg, hls_samples.silent, info, plan_ladder(info), tmp_path)
    assert not any("agroup" in c or c.startswith("0:") for c in cmd)
    out = tmp_path / "hls"
    result = encode_hls(ffmpeg, hls_samples.silent, info, plan_ladder(info), out)
    assert result.audio == () and result.storyboard is None
    assert not list(out.glob("audio_*")) and not (out / "storyboard.jpg").exists()
    _check_video(ffprobe, out, result, info, tmp_path)
    text = render_master(result.variants, result.audio)
    media, variants = _master_entries(text)
    assert media == [] and "AUDIO=" not in text and "mp4a" not in text
    assert variants[0][0]["CODECS"] == f'"{result.variants[0].video_codecs}"'


def test_rotated_phone_video_comes_out_portrait(
    ffmpeg: str, ffprobe: str, samples: Samples, tmp_path: Path
) -> None:
    info = probe(samples.rotated)
    assert info is not None and info.display_size == (360, 640)
    rungs = plan_ladder(info)
    assert [(r.width, r.height) for r in rungs] == [(360, 640)]
    spec = plan_storyboard(info)
    assert (spec.tile_width, spec.tile_height) == (160, 284)
    out = tmp_path / "hls"
    result = encode_hls(ffmpeg, samples.rotated, info, rungs, out, storyboard=spec)
    _check_video(ffprobe, out, result, info, tmp_path)
    assert result.storyboard is not None
    (s,) = _probe_json(ffprobe, Path(result.storyboard.path), "-show_streams")["streams"]
    assert (s["width"], s["height"]) == (160 * spec.columns, 284 * spec.rows)


def test_small_odd_source(
    ffmpeg: str, ffprobe: str, hls_samples: HlsSamples, tmp_path: Path
) -> None:
    info = probe(hls_samples.odd)
    assert info is not None and info.display_size == (321, 241)
    rungs = plan_ladder(info)
    assert [(r.name, r.width, r.height, r.frame_rate) for r in rungs] == [("240p", 320, 240, 25.0)]
    result = encode_hls(ffmpeg, hls_samples.odd, info, rungs, tmp_path / "hls")
    _check_video(ffprobe, tmp_path / "hls", result, info, tmp_path)
    assert result.variants[0].frame_rate == 25.0


def test_reference_command(ffmpeg: str, ffprobe: str, samples: Samples, tmp_path: Path) -> None:
    info = probe(samples.mp4)
    assert info is not None
    rungs = plan_ladder(info)
    cmd = reference_command(ffmpeg, samples.mp4, rungs, tmp_path / "ref", has_audio=True)
    ours = build_command(ffmpeg, samples.mp4, info, rungs, tmp_path / "ours")
    for flag in ["-preset", "-force_key_frames", "-sc_threshold", "-hls_time",
                 "-hls_segment_type", "-b:v:0", "-maxrate:v:0", "-ar", "-ac"]:  # fmt: skip
        assert cmd[cmd.index(flag) + 1] == ours[ours.index(flag) + 1], flag
    assert cmd[cmd.index("-var_stream_map") + 1] == "v:0,a:0,name:360p"
    assert cmd[cmd.index("-hls_playlist_type") + 1] == "vod"
    (tmp_path / "ref").mkdir()
    run_ffmpeg(cmd, duration=info.duration)
    master = (tmp_path / "ref" / "master.m3u8").read_text()
    assert "#EXT-X-STREAM-INF:" in master and "360p/index.m3u8" in master
    joined = _joined(tmp_path / "ref" / "360p" / "index.m3u8", tmp_path / "ref.mp4")
    streams = _probe_json(ffprobe, joined, "-show_streams")["streams"]
    assert sorted(s["codec_type"] for s in streams) == ["audio", "video"]  # audio muxed in


# --- the command, planning, naming ----------------------------------------------------


def test_command_shape(samples: Samples, hls_samples: HlsSamples, tmp_path: Path) -> None:
    info = probe(hls_samples.long)
    assert info is not None
    cmd = build_command(
        "ffmpeg", hls_samples.long, info, plan_ladder(info), tmp_path,
        storyboard=plan_storyboard(info),
    )  # fmt: skip
    assert cmd.count("-i") == 1  # decoded once
    graph = cmd[cmd.index("-filter_complex") + 1]
    assert "split=3" in graph and "scale=640:360" in graph and "scale=854:480" in graph
    assert info.duration == 9.0
    assert "fps=1/1,scale=160:90,setsar=1,tile=9x1:nb_frames=9" in graph
    assert cmd[cmd.index("-var_stream_map") + 1] == (
        "a:0,agroup:aud,name:audio_0 v:0,agroup:aud,name:360p v:1,agroup:aud,name:480p"
    )
    assert cmd.count("-map") == 4  # two rungs, one audio stream (encoded once), the storyboard
    for flag, value in [
        ("-hls_segment_type", "fmp4"),
        ("-hls_playlist_type", "event"),
        ("-hls_time", "4"),
        ("-hls_flags", "independent_segments"),
        ("-sc_threshold", "0"),
        ("-force_key_frames", "expr:gte(t,n_forced*2)"),
        ("-ar", "48000"),
        ("-ac", "2"),
        ("-b:a:0", str(max(64_000, min(128_000, info.audio_streams[0].bit_rate or 0)))),
        ("-frames:v", "1"),
    ]:
        assert cmd[cmd.index(flag) + 1] == value
    assert cmd[-1] == str(tmp_path / "storyboard.jpg")
    assert 64_000 < (info.audio_streams[0].bit_rate or 0) < 128_000  # the source's rate wins

    mkv = probe(samples.mkv)
    assert mkv is not None
    only_fr = build_command(
        "ffmpeg", samples.mkv, mkv, plan_ladder(mkv), tmp_path, audio_streams=mkv.audio_streams[1:]
    )
    assert f"0:{mkv.audio_streams[1].index}" in only_fr
    assert f"0:{mkv.audio_streams[0].index}" not in only_fr
    assert only_fr[only_fr.index("-var_stream_map") + 1] == (
        "a:0,agroup:aud,name:audio_0 v:0,agroup:aud,name:360p"
    )


def test_no_rungs_refused(hls_samples: HlsSamples, tmp_path: Path) -> None:
    info = probe(hls_samples.silent)
    assert info is not None
    with pytest.raises(ValueError):
        build_command("ffmpeg", hls_samples.silent, info, [], tmp_path)


def _info(duration: float | None, size: tuple[int, int] = (1920, 1080)) -> MediaInfo:
    video = StreamInfo(index=0, kind="video", codec="h264", width=size[0], height=size[1])
    return MediaInfo(format_name="mp4", duration=duration, bit_rate=None, streams=(video,))


def test_plan_storyboard() -> None:
    spec = plan_storyboard(_info(9.0))
    assert (spec.interval, spec.columns, spec.rows, spec.tile_width, spec.tile_height) == (
        1.0, 9, 1, 160, 90,
    )  # fmt: skip
    assert plan_storyboard(_info(0.4)).interval == 1.0
    assert (plan_storyboard(_info(0.4)).columns, plan_storyboard(_info(0.4)).rows) == (1, 1)
    long = plan_storyboard(_info(3600.0))  # 36 s → a multiple of 0.5 s already
    assert (long.interval, long.columns, long.rows) == (36.0, 10, 10)
    odd = plan_storyboard(_info(333.0))  # 3.33 s rounds up to 3.5 s: 96 tiles
    assert (odd.interval, odd.columns, odd.rows) == (3.5, 10, 10)
    few = plan_storyboard(_info(600.0), max_tiles=25, tile_width=120)
    assert (few.interval, few.columns, few.rows, few.tile_height) == (24.0, 10, 3, 68)
    assert plan_storyboard(_info(10.0, (360, 640))).tile_height == 284
    with pytest.raises(ValueError):
        plan_storyboard(_info(None))


def test_languages_and_titles() -> None:
    for tag, want in [("eng", "en"), ("fre", "fr"), ("fra", "fr"), ("ger", "de"), ("deu", "de"),
                      ("spa", "es"), ("ita", "it"), ("por", "pt"), ("nld", "nl"), ("jpn", "ja"),
                      ("chi", "zh"), ("zho", "zh"), ("kor", "ko"), ("rus", "ru"), ("ara", "ar"),
                      ("swe", "swe"), ("und", None), (None, None), ("", None)]:  # fmt: skip
        assert bcp47(tag) == want, tag
    stream = StreamInfo(index=3, kind="audio", codec="aac")
    assert audio_title(dataclasses.replace(stream, title="Commentary"), 0) == "Commentary"
    assert audio_title(dataclasses.replace(stream, language="ger"), 0) == "German"
    assert audio_title(dataclasses.replace(stream, language="swe"), 1) == "Audio 2"
    assert audio_title(stream, 0) == "Audio 1"


def test_to_vod() -> None:
    event = (
        "#EXTM3U\n#EXT-X-VERSION:7\n#EXT-X-TARGETDURATION:4\n#EXT-X-MEDIA-SEQUENCE:0\n"
        '#EXT-X-PLAYLIST-TYPE:EVENT\n#EXT-X-MAP:URI="init_0.mp4"\n#EXTINF:4.0,\nseg_000.m4s\n'
    )
    vod = to_vod(event)
    media = parse_media_playlist(vod)
    assert (media.playlist_type, media.ended, media.init) == ("VOD", True, "init_0.mp4")
    assert media.segments == ((4.0, "seg_000.m4s"),)
    assert to_vod(vod) == vod  # idempotent: an ENDLIST is not doubled


def test_render_master_without_measurements_is_pure() -> None:
    v = VariantInfo("360p", 640, 360, 29.97, "avc1.64001e", 900_000, 800_000, "360p/index.m3u8")
    a = AudioRendition("audio_0", 1, None, "Audio 1", True, "mp4a.40.2", 130_000, 128_000,
                       "audio_0/index.m3u8")  # fmt: skip
    text = render_master([v], [a])
    assert "FRAME-RATE=29.970" in text and "LANGUAGE" not in text
    assert render_master([v], [a]) == text
    sub = SubtitleRendition("x", 'en"\n', 'a "b".m3u8')
    media, _ = _master_entries(render_master([v], [a], [sub]))
    assert "LANGUAGE" not in media[1] and media[1]["URI"] == '"a%20%22b%22.m3u8"'


# --- failures -------------------------------------------------------------------------


def test_cancellation_is_quick(ffmpeg: str, hls_samples: HlsSamples, tmp_path: Path) -> None:
    info = probe(hls_samples.long)
    assert info is not None
    ticks = 0

    def tick() -> None:
        nonlocal ticks
        ticks += 1

    t0 = time.monotonic()
    with pytest.raises(Cancelled):
        encode_hls(ffmpeg, hls_samples.long, info, plan_ladder(info), tmp_path / "hls",
                   tick=tick, should_stop=lambda: ticks >= 1)  # fmt: skip
    assert time.monotonic() - t0 < 2.0


def test_a_retry_ignores_the_earlier_attempt(
    ffmpeg: str, hls_samples: HlsSamples, tmp_path: Path
) -> None:
    info = probe(hls_samples.silent)
    assert info is not None
    out = tmp_path / "hls"
    encode_hls(ffmpeg, hls_samples.silent, info, plan_ladder(info), out)
    assert (out / "360p" / "index.m3u8").is_file()
    called: list[int] = []
    with pytest.raises(Cancelled):
        encode_hls(ffmpeg, hls_samples.silent, info, plan_ladder(info), out,
                   should_stop=lambda: True, on_playable=lambda: called.append(1))  # fmt: skip
    assert called == []  # the finished playlist of the first run is gone, not "playable"
    assert not (out / "360p" / "index.m3u8").exists() and not (out / "master.m3u8").exists()


def test_past_deadline_times_out(ffmpeg: str, hls_samples: HlsSamples, tmp_path: Path) -> None:
    info = probe(hls_samples.long)
    assert info is not None
    t0 = time.monotonic()
    with pytest.raises(TimedOut):
        encode_hls(ffmpeg, hls_samples.long, info, plan_ladder(info), tmp_path / "hls",
                   deadline=time.monotonic() - 1)  # fmt: skip
    assert time.monotonic() - t0 < 2.0


def test_corrupt_source_raises_encode_error(ffmpeg: str, samples: Samples, tmp_path: Path) -> None:
    info = probe(samples.mp4)  # what it claimed to be; the bytes are broken
    assert info is not None
    rungs: list[Rung] = plan_ladder(info)
    called: list[int] = []
    with pytest.raises(EncodeError) as caught:
        encode_hls(ffmpeg, samples.corrupt, info, rungs, tmp_path / "hls",
                   on_playable=lambda: called.append(1))  # fmt: skip
    assert caught.value.bad_input
    assert not isinstance(caught.value, Cancelled | TimedOut)
    message = caught.value.message
    assert "ffmpeg exited with status" in message
    assert str(samples.corrupt) in message
    assert len(message.splitlines()) >= 2  # ffmpeg's own words follow
    assert called == []


def test_missing_binary_raises_encode_error(hls_samples: HlsSamples, tmp_path: Path) -> None:
    info = probe(hls_samples.silent)
    assert info is not None
    with pytest.raises(EncodeError, match="cannot run ffmpeg"):
        encode_hls(
            str(tmp_path / "no-ffmpeg"), hls_samples.silent, info, plan_ladder(info), tmp_path
        )
