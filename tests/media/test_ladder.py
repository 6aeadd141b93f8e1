"""plan_ladder(): a pure function of MediaInfo."""

from __future__ import annotations

import pytest

from partage.media.ladder import NotAVideo, Rung, plan_ladder
from partage.media.probe import MediaInfo, StreamInfo


def _info(
    width: int,
    height: int,
    *,
    rotation: int = 0,
    fps: float | None = 30.0,
    video_rate: int | None = None,
    total_rate: int | None = None,
    audio_rate: int | None = 128_000,
    audio: bool = True,
) -> MediaInfo:
    streams = [
        StreamInfo(
            index=0,
            kind="video",
            codec="h264",
            width=width,
            height=height,
            frame_rate=fps,
            rotation=rotation,
            bit_rate=video_rate,
        )
    ]
    if audio:
        streams.append(
            StreamInfo(index=1, kind="audio", codec="aac", bit_rate=audio_rate, channels=2)
        )
    return MediaInfo(format_name="mp4", duration=10.0, bit_rate=total_rate, streams=tuple(streams))


def _sizes(rungs: list[Rung]) -> list[tuple[str, int, int]]:
    return [(r.name, r.width, r.height) for r in rungs]


def test_landscape_1080p() -> None:
    rungs = plan_ladder(_info(1920, 1080, video_rate=20_000_000))
    assert _sizes(rungs) == [
        ("360p", 640, 360),
        ("480p", 854, 480),
        ("720p", 1280, 720),
        ("1080p", 1920, 1080),
    ]
    assert [r.video_bitrate for r in rungs] == [800_000, 1_400_000, 2_800_000, 5_000_000]
    assert [r.audio_bitrate for r in rungs] == [96_000, 96_000, 128_000, 128_000]
    assert all(r.frame_rate == 30.0 for r in rungs)
    assert rungs[-1].bandwidth == 5_128_000


def test_2160p_gets_all_rungs() -> None:
    rungs = plan_ladder(_info(3840, 2160, fps=59.94))
    assert [r.name for r in rungs] == ["360p", "480p", "720p", "1080p", "2160p"]
    assert rungs[-1].video_bitrate == 16_000_000
    assert all(r.frame_rate == 59.94 for r in rungs)


def test_frame_rate_capped_at_60() -> None:
    assert {r.frame_rate for r in plan_ladder(_info(1280, 720, fps=120.0))} == {60.0}


def test_unknown_frame_rate_defaults_to_30() -> None:
    assert plan_ladder(_info(640, 360, fps=None))[0].frame_rate == 30.0


def test_rotated_phone_video_is_portrait() -> None:
    # Stored 1920x1080 with a 90° display matrix: shown as 1080x1920.
    rungs = plan_ladder(_info(1920, 1080, rotation=90))
    assert _sizes(rungs) == [
        ("360p", 360, 640),
        ("480p", 480, 854),
        ("720p", 720, 1280),
        ("1080p", 1080, 1920),
    ]


def test_unrotated_portrait_video() -> None:
    rungs = plan_ladder(_info(720, 1280, rotation=0))
    assert _sizes(rungs)[-1] == ("720p", 720, 1280)
    assert len(rungs) == 3


def test_source_below_lowest_rung_keeps_its_size() -> None:
    rungs = plan_ladder(_info(320, 240))
    assert _sizes(rungs) == [("240p", 320, 240)]
    assert rungs[0].video_bitrate == 800_000


def test_tiny_odd_source_is_made_even() -> None:
    rungs = plan_ladder(_info(321, 241))
    assert _sizes(rungs) == [("240p", 320, 240)]


def test_odd_sizes_give_even_dimensions() -> None:
    rungs = plan_ladder(_info(853, 481))
    assert _sizes(rungs) == [("360p", 638, 360), ("480p", 852, 480)]
    assert all(r.width % 2 == 0 and r.height % 2 == 0 for r in rungs)


def test_exact_rung_height_is_included() -> None:
    assert [r.name for r in plan_ladder(_info(1280, 720))] == ["360p", "480p", "720p"]
    assert [r.name for r in plan_ladder(_info(1280, 719))] == ["360p", "480p"]


def test_low_bitrate_source_caps_every_rung() -> None:
    rungs = plan_ladder(_info(1920, 1080, video_rate=1_000_000, audio_rate=64_000))
    assert [r.video_bitrate for r in rungs] == [800_000, 1_000_000, 1_000_000, 1_000_000]
    assert {r.audio_bitrate for r in rungs} == {64_000}


def test_overall_bit_rate_used_when_the_stream_has_none() -> None:
    rungs = plan_ladder(_info(1280, 720, total_rate=1_128_000, audio_rate=128_000))
    assert [r.video_bitrate for r in rungs] == [800_000, 1_000_000, 1_000_000]


def test_absurdly_low_bitrate_has_a_floor() -> None:
    rungs = plan_ladder(_info(640, 360, video_rate=10_000))
    assert rungs[0].video_bitrate == 100_000


def test_audio_less_source_has_no_audio_bitrate() -> None:
    rungs = plan_ladder(_info(640, 360, audio=False))
    assert rungs[0].audio_bitrate == 0
    assert rungs[0].bandwidth == 800_000


def test_no_video_is_refused() -> None:
    audio_only = MediaInfo(
        format_name="mp3",
        duration=2.0,
        bit_rate=None,
        streams=(StreamInfo(index=0, kind="audio", codec="mp3"),),
    )
    with pytest.raises(NotAVideo):
        plan_ladder(audio_only)
