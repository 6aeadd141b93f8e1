"""The HLS ladder, encoded for real and checked with PyAV (no ffprobe here)."""

from __future__ import annotations

import re
from pathlib import Path

import av
import pytest

from partage.media.hls import EncodeError, HlsResult, build_command, encode_hls
from partage.media.ladder import Rung, plan_ladder
from partage.media.probe import MediaInfo, probe

from .conftest import HlsSamples, Samples

ATTR = re.compile(r'([A-Z0-9-]+)=("[^"]*"|[^,]*)')


def _master(result: HlsResult) -> list[tuple[dict[str, str], str]]:
    lines = result.master.read_text().splitlines()
    assert lines[0] == "#EXTM3U"
    out = []
    for i, line in enumerate(lines):
        if line.startswith("#EXT-X-STREAM-INF:"):
            attrs = {m.group(1): m.group(2) for m in ATTR.finditer(line.partition(":")[2])}
            out.append((attrs, lines[i + 1]))
    return out


def _variant(playlist: Path) -> tuple[str, list[tuple[float, str]]]:
    text = playlist.read_text()
    init = re.search(r'#EXT-X-MAP:URI="([^"]+)"', text)
    assert init, text
    segs = re.findall(r"#EXTINF:([0-9.]+),\s*\n(\S+)", text)
    return init.group(1), [(float(d), uri) for d, uri in segs]


def _joined(playlist: Path, dest: Path) -> Path:
    """init + all segments in one file, which any fMP4 reader opens."""
    init, segs = _variant(playlist)
    with dest.open("wb") as f:
        for name in [init, *(uri for _, uri in segs)]:
            f.write((playlist.parent / name).read_bytes())
    return dest


def _video(path: Path) -> tuple[tuple[int, int], list[float], float, bool]:
    """(decoded size, keyframe times, video end time, has audio)."""
    with av.open(str(path)) as c:
        vs = c.streams.video[0]
        has_audio = bool(c.streams.audio)
        keys: list[float] = []
        start, end = float("inf"), 0.0
        for packet in c.demux(vs):
            if packet.pts is None:
                continue
            t = float(packet.pts * vs.time_base)
            if packet.is_keyframe:
                keys.append(t)
            start = min(start, t)
            end = max(end, t + float((packet.duration or 0) * vs.time_base))
    # Without the edit list of a single file, pts carry the B-frame delay: count from the first.
    keys = [t - start for t in keys]
    end -= start
    with av.open(str(path)) as c:
        frame = next(c.decode(video=0))
        size = (frame.width, frame.height)
        assert frame.rotation % 360 == 0
    return size, keys, end, has_audio


def _check(result: HlsResult, info: MediaInfo, tmp: Path) -> None:
    entries = _master(result)
    assert [uri for _, uri in entries] == [f"{v.rung.name}/index.m3u8" for v in result.variants]
    for (attrs, _), v in zip(entries, result.variants, strict=True):
        r = v.rung
        assert int(attrs["BANDWIDTH"]) > 0
        assert attrs["RESOLUTION"] == f"{r.width}x{r.height}"
        assert attrs["CODECS"].startswith('"avc1.')
        assert ("mp4a.40.2" in attrs["CODECS"]) == bool(info.audio_streams)
        assert float(attrs["FRAME-RATE"]) == pytest.approx(r.frame_rate, abs=0.01)

        text = v.playlist.read_text()
        assert "#EXT-X-PLAYLIST-TYPE:VOD" in text
        assert "#EXT-X-ENDLIST" in text
        _, segs = _variant(v.playlist)
        assert segs and all(d <= 4.1 for d, _ in segs)
        assert info.duration is not None
        assert sum(d for d, _ in segs) == pytest.approx(info.duration, abs=0.1)

        size, keys, end, has_audio = _video(_joined(v.playlist, tmp / f"{r.name}.mp4"))
        assert size == (r.width, r.height)
        assert has_audio == bool(info.audio_streams)
        assert end == pytest.approx(info.duration, abs=0.1)
        assert keys[0] == pytest.approx(0, abs=0.05)
        gaps = [b - a for a, b in zip(keys, keys[1:], strict=False)]
        assert all(g == pytest.approx(2.0, abs=0.05) for g in gaps), keys
        assert len(keys) == int((info.duration - 0.01) // 2) + 1


@pytest.fixture(scope="module")
def long_encode(
    ffmpeg: str, hls_samples: HlsSamples, tmp_path_factory: pytest.TempPathFactory
) -> tuple[MediaInfo, HlsResult, list[float]]:
    info = probe(hls_samples.long)
    assert info is not None
    seen: list[float] = []
    out = tmp_path_factory.mktemp("hls-long")
    result = encode_hls(
        ffmpeg, hls_samples.long, info, plan_ladder(info), out / "hls", progress=seen.append
    )
    return info, result, seen


def test_two_rung_ladder(
    long_encode: tuple[MediaInfo, HlsResult, list[float]], tmp_path: Path
) -> None:
    info, result, _ = long_encode
    assert [v.rung.name for v in result.variants] == ["360p", "480p"]
    assert [(v.rung.width, v.rung.height) for v in result.variants] == [(640, 360), (854, 480)]
    for v in result.variants:
        assert len(_variant(v.playlist)[1]) == 3  # 4 s + 4 s + 1 s
    _check(result, info, tmp_path)


def test_progress_reaches_100(long_encode: tuple[MediaInfo, HlsResult, list[float]]) -> None:
    _, _, seen = long_encode
    assert seen[-1] == 100.0
    assert seen == sorted(seen)
    assert all(0 <= p <= 100 for p in seen)


def test_rotated_phone_video_comes_out_portrait(
    ffmpeg: str, samples: Samples, tmp_path: Path
) -> None:
    info = probe(samples.rotated)
    assert info is not None and info.display_size == (360, 640)
    rungs = plan_ladder(info)
    assert [(r.width, r.height) for r in rungs] == [(360, 640)]
    result = encode_hls(ffmpeg, samples.rotated, info, rungs, tmp_path / "hls")
    _check(result, info, tmp_path)


def test_audio_less_source(ffmpeg: str, hls_samples: HlsSamples, tmp_path: Path) -> None:
    info = probe(hls_samples.silent)
    assert info is not None and not info.audio_streams
    cmd = build_command(ffmpeg, hls_samples.silent, info, plan_ladder(info), tmp_path)
    assert "0:a:0" not in cmd
    result = encode_hls(ffmpeg, hls_samples.silent, info, plan_ladder(info), tmp_path / "hls")
    _check(result, info, tmp_path)


def test_small_odd_source(ffmpeg: str, hls_samples: HlsSamples, tmp_path: Path) -> None:
    info = probe(hls_samples.odd)
    assert info is not None and info.display_size == (321, 241)
    rungs = plan_ladder(info)
    assert [(r.name, r.width, r.height, r.frame_rate) for r in rungs] == [("240p", 320, 240, 25.0)]
    result = encode_hls(ffmpeg, hls_samples.odd, info, rungs, tmp_path / "hls")
    _check(result, info, tmp_path)


def test_command_shape(samples: Samples, hls_samples: HlsSamples, tmp_path: Path) -> None:
    info = probe(hls_samples.long)
    assert info is not None
    cmd = build_command("ffmpeg", hls_samples.long, info, plan_ladder(info), tmp_path)
    assert cmd.count("-i") == 1  # decoded once
    graph = cmd[cmd.index("-filter_complex") + 1]
    assert "split=2" in graph and "scale=640:360" in graph and "scale=854:480" in graph
    assert cmd[cmd.index("-var_stream_map") + 1] == "v:0,a:0,name:360p v:1,a:1,name:480p"
    for flag, value in [
        ("-hls_segment_type", "fmp4"),
        ("-hls_playlist_type", "vod"),
        ("-hls_time", "4"),
        ("-sc_threshold", "0"),
        ("-force_key_frames", "expr:gte(t,n_forced*2)"),
        ("-master_pl_name", "master.m3u8"),
        ("-ar", "48000"),
        ("-ac", "2"),
    ]:
        assert cmd[cmd.index(flag) + 1] == value


def test_no_rungs_refused(hls_samples: HlsSamples, tmp_path: Path) -> None:
    info = probe(hls_samples.silent)
    assert info is not None
    with pytest.raises(ValueError):
        build_command("ffmpeg", hls_samples.silent, info, [], tmp_path)


def test_corrupt_source_raises_encode_error(ffmpeg: str, samples: Samples, tmp_path: Path) -> None:
    info = probe(samples.mp4)  # what it claimed to be; the bytes are broken
    assert info is not None
    rungs: list[Rung] = plan_ladder(info)
    with pytest.raises(EncodeError) as caught:
        encode_hls(ffmpeg, samples.corrupt, info, rungs, tmp_path / "hls")
    message = caught.value.message
    assert "ffmpeg exited with status" in message
    assert str(samples.corrupt) in message
    assert len(message.splitlines()) >= 2  # ffmpeg's own words follow


def test_missing_binary_raises_encode_error(hls_samples: HlsSamples, tmp_path: Path) -> None:
    info = probe(hls_samples.silent)
    assert info is not None
    with pytest.raises(EncodeError, match="cannot run ffmpeg"):
        encode_hls(
            str(tmp_path / "no-ffmpeg"), hls_samples.silent, info, plan_ladder(info), tmp_path
        )
