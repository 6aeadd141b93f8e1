from __future__ import annotations

import pytest

from partage.media.probe import MediaInfo, ProbeError, probe
from tests.media.conftest import Samples


def _probe(path) -> MediaInfo:
    info = probe(path)
    assert info is not None
    return info


def test_video_with_audio(samples: Samples) -> None:
    info = _probe(samples.mp4)
    assert "mp4" in info.format_name
    assert info.duration == pytest.approx(2.0, abs=0.1)
    assert info.bit_rate and info.bit_rate > 0
    assert info.is_video and not info.is_audio_only
    v = info.video
    assert v is not None
    assert (v.codec, v.width, v.height) == ("h264", 640, 360)
    assert v.frame_rate == pytest.approx(30.0)
    assert v.pixel_format == "yuv420p"
    assert v.rotation == 0
    assert info.display_size == (640, 360)
    [a] = info.audio_streams
    assert (a.codec, a.channels, a.sample_rate) == ("aac", 1, 44100)
    assert a.bit_rate and a.bit_rate > 0
    assert info.subtitle_streams == ()


def test_rotated_phone_video(samples: Samples) -> None:
    info = _probe(samples.rotated)
    v = info.video
    assert v is not None
    assert (v.width, v.height) == (640, 360)  # coded size
    assert v.rotation in (90, 270)
    assert info.display_size == (360, 640)
    assert info.duration == pytest.approx(2.0, abs=0.1)


@pytest.mark.parametrize(("attr", "codec"), [("m4a", "aac"), ("mp3", "mp3")])
def test_audio_only(samples: Samples, attr: str, codec: str) -> None:
    info = _probe(getattr(samples, attr))
    assert info.is_audio_only and not info.is_video
    assert info.display_size is None
    assert info.duration == pytest.approx(2.0, abs=0.1)
    [a] = info.audio_streams
    assert a.codec == codec
    assert a.sample_rate == 44100


def test_two_audio_tracks_and_subtitles(samples: Samples) -> None:
    info = _probe(samples.mkv)
    assert info.format_name.startswith("matroska")
    assert info.duration == pytest.approx(2.0, abs=0.1)
    assert info.is_video
    audio = info.audio_streams
    assert [(a.codec, a.language, a.title) for a in audio] == [
        ("aac", "eng", "English"),
        ("aac", "fra", "Français"),
    ]
    [sub] = info.subtitle_streams
    assert (sub.codec, sub.language, sub.title) == ("subrip", "eng", "English subtitles")
    assert [s.kind for s in info.streams] == ["video", "audio", "audio", "subtitle"]


def test_text_and_images_are_not_media(samples: Samples) -> None:
    assert probe(samples.text) is None
    assert probe(samples.png) is None


def test_missing_header_is_corrupt_not_absent(samples: Samples) -> None:
    # The magic bytes say mp4, so a failure to open is corruption, with ffmpeg's reason.
    with pytest.raises(ProbeError) as e:
        probe(samples.corrupt)
    assert "corrupt or truncated video/mp4" in e.value.message


def test_header_without_data_is_corrupt(samples: Samples) -> None:
    with pytest.raises(ProbeError) as e:
        probe(samples.truncated)
    assert "corrupt" in e.value.message


def test_empty_and_random_files(tmp_path) -> None:
    empty = tmp_path / "empty.bin"
    empty.write_bytes(b"")
    noise = tmp_path / "noise.bin"
    noise.write_bytes(bytes(range(256)) * 64)
    assert probe(empty) is None
    assert probe(noise) is None
