"""Posters and image thumbnails, made for real and read back with PyAV."""

from __future__ import annotations

from pathlib import Path

import av
import pytest

from partage.media.poster import make_image_thumbnails, make_poster
from partage.media.probe import MediaInfo, probe
from partage.media.run import EncodeError

from .conftest import ExtraSamples, Samples


def _probe(path: Path) -> MediaInfo:
    info = probe(path)
    assert info is not None
    return info


def _jpeg(path: Path) -> tuple[int, int]:
    """The size of a single-picture JPEG file, checked to be one."""
    with av.open(str(path)) as c:
        st = c.streams.video[0]
        assert st.codec_context.name == "mjpeg"
        frame = next(c.decode(video=0))
        return frame.width, frame.height


def _luma(path: Path, x0: float = 0.0, x1: float = 1.0) -> float:
    """Mean luma (0-255) of the picture, or of the columns between fractions x0 and x1."""
    with av.open(str(path)) as c:
        frame = next(c.decode(video=0)).reformat(format="gray")
    plane = frame.planes[0]
    data = bytes(plane)
    left, right = int(frame.width * x0), int(frame.width * x1)
    total = sum(
        sum(data[y * plane.line_size + left : y * plane.line_size + right])
        for y in range(frame.height)
    )
    return total / ((right - left) * frame.height)


def test_poster_keeps_small_video_size(ffmpeg: str, samples: Samples, tmp_path: Path) -> None:
    seen: list[float] = []
    big, small = make_poster(
        ffmpeg, samples.mp4, _probe(samples.mp4), tmp_path, progress=seen.append
    )
    assert (big, small) == (tmp_path / "poster.jpg", tmp_path / "poster-small.jpg")
    assert _jpeg(big) == (640, 360)  # never upscaled
    assert _jpeg(small) == (320, 180)
    assert _luma(big) > 60
    assert seen and seen[-1] == 100.0


def test_poster_of_large_video_is_at_most_1280(
    ffmpeg: str, extra_samples: ExtraSamples, tmp_path: Path
) -> None:
    big, small = make_poster(ffmpeg, extra_samples.big, _probe(extra_samples.big), tmp_path)
    assert _jpeg(big) == (1280, 720)
    assert _jpeg(small) == (320, 180)


def test_poster_of_rotated_phone_video_is_portrait(
    ffmpeg: str, samples: Samples, tmp_path: Path
) -> None:
    big, small = make_poster(ffmpeg, samples.rotated, _probe(samples.rotated), tmp_path)
    assert _jpeg(big) == (360, 640)
    assert _jpeg(small) == (180, 320)


def test_poster_has_square_pixels(ffmpeg: str, extra_samples: ExtraSamples, tmp_path: Path) -> None:
    info = _probe(extra_samples.anamorphic)
    big, small = make_poster(ffmpeg, extra_samples.anamorphic, info, tmp_path)
    assert _jpeg(big) == (640, 180)
    assert _jpeg(small) == (320, 90)


def test_poster_skips_a_black_opening(
    ffmpeg: str, extra_samples: ExtraSamples, tmp_path: Path
) -> None:
    src = extra_samples.black_start
    assert _luma_of_first_frame(src) < 20  # the clip really starts black
    big, small = make_poster(ffmpeg, src, _probe(src), tmp_path)
    assert _jpeg(big) == (320, 180)
    assert _luma(big) > 60
    assert _luma(small) > 60


def _luma_of_first_frame(path: Path) -> float:
    with av.open(str(path)) as c:
        frame = next(c.decode(video=0)).reformat(format="gray")
    data = bytes(frame.planes[0])
    return sum(data) / len(data)


def test_poster_falls_back_to_the_first_frame(
    ffmpeg: str, samples: Samples, tmp_path: Path
) -> None:
    """A duration that lies (the seek lands past the end) still gives a poster."""
    real = _probe(samples.mp4)
    lying = MediaInfo(
        format_name=real.format_name, duration=3600.0, bit_rate=real.bit_rate, streams=real.streams
    )
    big, small = make_poster(ffmpeg, samples.mp4, lying, tmp_path)
    assert _jpeg(big) == (640, 360)
    assert _jpeg(small) == (320, 180)
    assert _luma(big) > 60


def test_poster_from_cover_art(ffmpeg: str, extra_samples: ExtraSamples, tmp_path: Path) -> None:
    info = _probe(extra_samples.cover_mp3)
    assert info.is_audio_only
    big, small = make_poster(ffmpeg, extra_samples.cover_mp3, info, tmp_path)
    assert _jpeg(big) == (640, 360)
    assert _jpeg(small) == (320, 180)
    assert _luma(big) > 60


def test_poster_of_audio_without_picture(ffmpeg: str, samples: Samples, tmp_path: Path) -> None:
    with pytest.raises(EncodeError) as e:
        make_poster(ffmpeg, samples.m4a, _probe(samples.m4a), tmp_path)
    assert e.value.bad_input
    assert not (tmp_path / "poster.jpg").exists()


def test_poster_of_corrupt_video(ffmpeg: str, samples: Samples, tmp_path: Path) -> None:
    with pytest.raises(EncodeError) as e:
        make_poster(ffmpeg, samples.corrupt, _probe(samples.mp4), tmp_path)
    assert e.value.bad_input


def test_image_thumbnails_of_small_png(ffmpeg: str, samples: Samples, tmp_path: Path) -> None:
    seen: list[float] = []
    thumb, preview = make_image_thumbnails(ffmpeg, samples.png, tmp_path, progress=seen.append)
    assert (thumb, preview) == (tmp_path / "thumb.jpg", tmp_path / "preview.jpg")
    assert _jpeg(thumb) == (320, 180)
    assert _jpeg(preview) == (640, 360)  # never upscaled
    assert seen == [100.0]


def test_image_thumbnails_of_large_jpeg(
    ffmpeg: str, extra_samples: ExtraSamples, tmp_path: Path
) -> None:
    thumb, preview = make_image_thumbnails(ffmpeg, extra_samples.large_jpg, tmp_path)
    pw, ph = _jpeg(preview)
    tw, th = _jpeg(thumb)
    assert pw == 1280 and abs(ph - 1280 * 1000 / 1500) <= 2
    assert tw == 320 and abs(th - 320 * 1000 / 1500) <= 2


def test_transparent_png_gets_a_white_background(
    ffmpeg: str, extra_samples: ExtraSamples, tmp_path: Path
) -> None:
    thumb, preview = make_image_thumbnails(ffmpeg, extra_samples.alpha_png, tmp_path)
    assert _jpeg(preview) == (200, 100)
    for path in (thumb, preview):
        assert _luma(path, 0.0, 0.45) > 240  # transparent half: white, not black
        assert 50 < _luma(path, 0.55, 1.0) < 110  # opaque red half: red's luma (76)


def test_gif_first_frame(ffmpeg: str, extra_samples: ExtraSamples, tmp_path: Path) -> None:
    thumb, preview = make_image_thumbnails(ffmpeg, extra_samples.gif, tmp_path)
    assert _jpeg(thumb) == (160, 120)
    assert _jpeg(preview) == (160, 120)
    assert _luma(preview) > 60


def test_undecodable_image(ffmpeg: str, extra_samples: ExtraSamples, tmp_path: Path) -> None:
    with pytest.raises(EncodeError) as e:
        make_image_thumbnails(ffmpeg, extra_samples.bad_png, tmp_path)
    assert e.value.bad_input
    assert not (tmp_path / "thumb.jpg").exists()
