"""Which HLS renditions to make from a video: a pure function of its `MediaInfo`.

A rung is named after its short side as displayed (`360p` … `2160p`), so a
portrait phone video gets the same quality steps as a landscape one: its
`720p` rung is 720 pixels wide and 1280 high. Rungs never upscale; a source
smaller than the lowest rung gets one rung at its own size. Widths follow the
display aspect ratio (after rotation) and every dimension is even, as yuv420p
requires. Bitrates are capped by the table and by the source's own bit rate;
the frame rate is the source's, capped at 60.
"""

from __future__ import annotations

from dataclasses import dataclass

from partage.media.probe import MediaInfo


@dataclass(frozen=True)
class RungSpec:
    short_side: int  # height of a landscape rendition
    video_bitrate: int  # bits per second, maximum
    audio_bitrate: int


# Highest first.
RUNG_TABLE: tuple[RungSpec, ...] = (
    RungSpec(2160, 16_000_000, 128_000),
    RungSpec(1080, 5_000_000, 128_000),
    RungSpec(720, 2_800_000, 128_000),
    RungSpec(480, 1_400_000, 96_000),
    RungSpec(360, 800_000, 96_000),
)

MAX_FRAME_RATE = 60.0
DEFAULT_FRAME_RATE = 30.0
MIN_VIDEO_BITRATE = 100_000  # a floor for sources that report absurdly low rates
MIN_AUDIO_BITRATE = 64_000


@dataclass(frozen=True)
class Rung:
    name: str  # e.g. `720p`: the variant's directory and var_stream_map name
    width: int  # as displayed (rotation applied)
    height: int
    video_bitrate: int  # bits per second
    audio_bitrate: int
    frame_rate: float

    @property
    def bandwidth(self) -> int:
        """Nominal peak bits per second (video + audio), for the master playlist."""
        return self.video_bitrate + self.audio_bitrate


class NotAVideo(ValueError):
    """plan_ladder() was given media without a video stream of known size."""


def _even(x: float) -> int:
    return max(2, int(round(x / 2)) * 2)


def _even_down(x: int) -> int:
    return max(2, x - x % 2)


def plan_ladder(info: MediaInfo) -> list[Rung]:
    """The rungs to encode, lowest first."""
    video = info.video
    size = info.display_size
    if video is None or size is None or size[0] <= 0 or size[1] <= 0:
        raise NotAVideo("no video stream of known size")
    dw, dh = size
    portrait = dh > dw
    short, long_ = (dw, dh) if portrait else (dh, dw)

    specs = [s for s in RUNG_TABLE if s.short_side <= short]
    lowest = RUNG_TABLE[-1]
    targets: list[tuple[int, RungSpec]] = [(s.short_side, s) for s in specs]
    if not targets:
        targets = [(_even_down(short), lowest)]

    audio = info.audio_streams[0] if info.audio_streams else None
    source_video_rate = video.bit_rate
    if source_video_rate is None and info.bit_rate:
        audio_rate = (audio.bit_rate or 128_000) if audio else 0
        source_video_rate = max(info.bit_rate - audio_rate, 0) or None
    rate = min(video.frame_rate or DEFAULT_FRAME_RATE, MAX_FRAME_RATE)

    rungs = []
    for target_short, spec in sorted(targets, key=lambda t: t[0]):
        other = _even(long_ * target_short / short)
        width, height = (target_short, other) if portrait else (other, target_short)
        vbr = spec.video_bitrate
        if source_video_rate:
            vbr = max(min(vbr, source_video_rate), MIN_VIDEO_BITRATE)
        abr = spec.audio_bitrate
        if audio is not None and audio.bit_rate:
            abr = max(min(abr, audio.bit_rate), MIN_AUDIO_BITRATE)
        rungs.append(
            Rung(
                name=f"{target_short}p",
                width=width,
                height=height,
                video_bitrate=vbr,
                audio_bitrate=abr if audio is not None else 0,
                frame_rate=round(rate, 3),
            )
        )
    return rungs
