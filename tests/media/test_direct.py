"""Direct play: the truth table over real files, faststart detection and remux, AAC copies."""

from __future__ import annotations

import hashlib
import struct
from pathlib import Path

import av
import pytest

from partage.media.direct import direct_play, needs_faststart, remux_faststart, transcode_audio
from partage.media.probe import MediaInfo, probe
from partage.media.run import EncodeError

from .conftest import ExtraSamples, Samples


def _probe(path: Path) -> MediaInfo:
    info = probe(path)
    assert info is not None
    return info


@pytest.mark.parametrize(
    ("group", "attr", "expected"),
    [
        ("samples", "mp4", True),  # H.264 + AAC in MP4
        ("samples", "rotated", True),
        ("samples", "m4a", True),  # AAC in MP4
        ("samples", "mp3", True),
        ("samples", "mkv", False),  # H.264 in Matroska: not WebM
        ("extra", "webm", True),  # VP9 + Opus
        ("extra", "yuv444", False),  # H.264 High 4:4:4
        ("extra", "wav", True),
        ("extra", "ogg", True),  # Opus in Ogg
        ("extra", "flac", True),
        ("extra", "cover_mp3", True),  # cover art is not video
        ("extra", "alac", False),  # ALAC in .m4a
        ("extra", "wma", False),
        ("extra", "ac3", False),  # AC-3 in .mka
    ],
)
def test_direct_play(
    samples: Samples, extra_samples: ExtraSamples, group: str, attr: str, expected: bool
) -> None:
    path = getattr(samples if group == "samples" else extra_samples, attr)
    assert direct_play(_probe(path)) is expected


def test_direct_play_facts_behind_the_table(samples: Samples, extra_samples: ExtraSamples) -> None:
    """The table above tests what it claims: the samples hold the codecs named."""
    yuv444 = _probe(extra_samples.yuv444)
    assert yuv444.video is not None
    assert (yuv444.video.codec, yuv444.video.pixel_format) == ("h264", "yuv444p")
    webm = _probe(extra_samples.webm)
    assert webm.format_name == _probe(samples.mkv).format_name == "matroska,webm"
    assert webm.video is not None and webm.video.codec == "vp9"
    assert [a.codec for a in webm.audio_streams] == ["opus"]
    assert [a.codec for a in _probe(extra_samples.ac3).audio_streams] == ["ac3"]
    assert [a.codec for a in _probe(extra_samples.wma).audio_streams] == ["wmav2"]
    assert [a.codec for a in _probe(extra_samples.alac).audio_streams] == ["alac"]


def _top_level_boxes(path: Path) -> list[bytes]:
    data = path.read_bytes()
    boxes, at = [], 0
    while at + 8 <= len(data):
        size, kind = struct.unpack(">I4s", data[at : at + 8])
        if size == 1:
            (size,) = struct.unpack(">Q", data[at + 8 : at + 16])
        elif size == 0:
            size = len(data) - at
        boxes.append(kind)
        at += size
    return boxes


def test_needs_faststart(samples: Samples, extra_samples: ExtraSamples) -> None:
    boxes = _top_level_boxes(samples.mp4)
    assert boxes.index(b"mdat") < boxes.index(b"moov")  # ffmpeg's default layout
    assert needs_faststart(samples.mp4)
    boxes = _top_level_boxes(extra_samples.faststart)
    assert boxes.index(b"moov") < boxes.index(b"mdat")
    assert not needs_faststart(extra_samples.faststart)
    for other in (samples.mkv, samples.mp3, samples.text, samples.png, extra_samples.webm):
        assert not needs_faststart(other)


def _box(kind: bytes, body: bytes) -> bytes:
    return struct.pack(">I4s", 8 + len(body), kind) + body


def test_needs_faststart_box_sizes(tmp_path: Path) -> None:
    ftyp = _box(b"ftyp", b"isom\x00\x00\x02\x00isomiso2")
    moov = _box(b"moov", b"\x00" * 32)
    body = b"\x00" * 100
    large_mdat = struct.pack(">I4sQ", 1, b"mdat", 16 + len(body)) + body
    cases = {
        "large-mdat-then-moov.mp4": (ftyp + large_mdat + moov, True),
        "moov-then-large-mdat.mp4": (ftyp + moov + large_mdat, False),
        "moov-then-mdat-to-end.mp4": (ftyp + moov + struct.pack(">I4s", 0, b"mdat") + body, False),
        "mdat-to-end-no-moov.mp4": (ftyp + struct.pack(">I4s", 0, b"mdat") + body, False),
        "free-mdat-moov.mp4": (_box(b"free", b"") + _box(b"mdat", body) + moov, True),
        "not-mp4.bin": (b"RIFF\x00\x00\x00\x00WAVEfmt " + body + moov, False),
        "tiny.mp4": (b"\x00\x00", False),
        "zero-size-box.mp4": (ftyp + struct.pack(">I4s", 4, b"mdat") + moov, False),
    }
    for name, (data, expected) in cases.items():
        path = tmp_path / name
        path.write_bytes(data)
        assert needs_faststart(path) is expected, name
    assert not needs_faststart(tmp_path / "missing.mp4")


def _packets(path: Path) -> dict[str, list[tuple[int | None, int | None, int, str]]]:
    """Per stream kind: (pts, duration, size, sha1) of every packet."""
    out: dict[str, list[tuple[int | None, int | None, int, str]]] = {}
    with av.open(str(path)) as c:
        for packet in c.demux():
            if packet.size == 0:
                continue  # the demuxer's flush packets
            data = bytes(packet)
            out.setdefault(packet.stream.type, []).append(
                (packet.pts, packet.duration, packet.size, hashlib.sha1(data).hexdigest())
            )
    return out


def test_remux_faststart_is_bit_exact(ffmpeg: str, samples: Samples, tmp_path: Path) -> None:
    dest = tmp_path / "direct.mp4"
    seen: list[float] = []
    assert remux_faststart(ffmpeg, samples.mp4, dest, progress=seen.append) == dest
    assert not needs_faststart(dest)
    boxes = _top_level_boxes(dest)
    assert boxes.index(b"moov") < boxes.index(b"mdat")
    before, after = _packets(samples.mp4), _packets(dest)
    assert set(after) == {"video", "audio"}
    for kind in ("video", "audio"):
        assert len(after[kind]) == len(before[kind]) > 10
        assert [p[1:] for p in after[kind]] == [p[1:] for p in before[kind]]  # sizes, bytes
    original, remuxed = _probe(samples.mp4), _probe(dest)
    assert remuxed.duration == pytest.approx(original.duration, abs=0.05)
    assert list(tmp_path.iterdir()) == [dest]  # no temporary file left
    assert seen[-1] == 100.0


def test_remux_keeps_rotation(ffmpeg: str, samples: Samples, tmp_path: Path) -> None:
    dest = remux_faststart(ffmpeg, samples.rotated, tmp_path / "direct.mp4")
    assert _probe(dest).display_size == (360, 640)


def test_remux_corrupt_input(ffmpeg: str, samples: Samples, tmp_path: Path) -> None:
    dest = tmp_path / "direct.mp4"
    with pytest.raises(EncodeError) as e:
        remux_faststart(ffmpeg, samples.corrupt, dest)
    assert e.value.bad_input
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("attr", ["ac3", "wma", "alac"])
def test_transcode_audio(
    ffmpeg: str, extra_samples: ExtraSamples, tmp_path: Path, attr: str
) -> None:
    source = getattr(extra_samples, attr)
    info = _probe(source)
    dest = tmp_path / "audio.m4a"
    seen: list[float] = []
    assert transcode_audio(ffmpeg, source, dest, info, progress=seen.append) == dest
    out = _probe(dest)
    assert "mp4" in out.format_name
    assert not out.is_video
    [a] = out.audio_streams
    assert (a.codec, a.channels, a.sample_rate) == ("aac", 2, 48000)
    assert info.duration is not None and out.duration is not None
    assert out.duration == pytest.approx(info.duration, abs=0.1)
    assert direct_play(out)
    assert not needs_faststart(dest)
    with av.open(str(dest)) as c:
        assert c.streams.audio[0].codec_context.profile == "LC"
    assert seen == sorted(seen) and seen[-1] == 100.0
    assert list(tmp_path.iterdir()) == [dest]


def test_transcode_corrupt_input(ffmpeg: str, samples: Samples, tmp_path: Path) -> None:
    with pytest.raises(EncodeError) as e:
        transcode_audio(ffmpeg, samples.corrupt, tmp_path / "a.m4a", _probe(samples.mp4))
    assert e.value.bad_input
    assert list(tmp_path.iterdir()) == []
