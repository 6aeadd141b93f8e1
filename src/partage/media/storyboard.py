"""Storyboard: one JPEG of evenly spaced thumbnails, for scrubbing previews.

It is made by the HLS encode's own ffmpeg process (one more branch of the
`split`, so the source is decoded once): `fps` keeps one frame per interval,
`scale` shrinks it to a tile and `tile` lays the tiles out row by row. Tile
`i` shows the frame at `i * interval`. `storyboard_vtt` describes the image
as a WebVTT thumbnails track (`image.jpg#xywh=x,y,w,h` cues), which players
such as Video.js, Plyr or Vidstack read.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from partage.media.probe import MediaInfo

STORYBOARD_NAME = "storyboard.jpg"
MAX_COLUMNS = 10


@dataclass(frozen=True)
class StoryboardSpec:
    interval: float  # seconds between two thumbnails
    columns: int
    rows: int
    tile_width: int  # pixels
    tile_height: int


@dataclass(frozen=True)
class StoryboardResult:
    path: str  # the JPEG written
    spec: StoryboardSpec
    count: int  # tiles filled, row by row from the top left

    @property
    def width(self) -> int:
        return self.spec.columns * self.spec.tile_width

    @property
    def height(self) -> int:
        return self.spec.rows * self.spec.tile_height


def _even(x: float) -> int:
    return max(2, int(round(x / 2)) * 2)


def plan_storyboard(
    info: MediaInfo, *, max_tiles: int = 100, tile_width: int = 160
) -> StoryboardSpec:
    """Tiles `tile_width` wide, at least 1 s apart (a multiple of 0.5 s), at most `max_tiles`."""
    size = info.display_size
    if size is None or size[0] <= 0 or size[1] <= 0:
        raise ValueError("no video stream of known size")
    if not info.duration or info.duration <= 0:
        raise ValueError("unknown duration")
    if max_tiles < 1:
        raise ValueError("max_tiles must be at least 1")
    interval = math.ceil(max(1.0, info.duration / max_tiles) * 2 - 1e-9) / 2
    count = tile_count(interval, info.duration, max_tiles)
    columns = min(MAX_COLUMNS, count)
    width = _even(tile_width)
    return StoryboardSpec(
        interval=interval,
        columns=columns,
        rows=math.ceil(count / columns),
        tile_width=width,
        tile_height=_even(width * size[1] / size[0]),
    )


def tile_count(interval: float, duration: float, capacity: int) -> int:
    """Thumbnails needed to cover `duration`, at most `capacity`."""
    return max(1, min(capacity, math.ceil(duration / interval - 1e-6)))


def tiles(spec: StoryboardSpec, duration: float) -> int:
    """The tiles `spec` fills for a video of `duration` seconds."""
    return tile_count(spec.interval, duration, spec.columns * spec.rows)


def storyboard_filter(spec: StoryboardSpec, duration: float) -> str:
    """The filter chain turning decoded frames into the storyboard image.

    `tpad` repeats the last frame for one interval so that `fps` always yields
    enough frames to fill every planned tile even when the video ends a little
    before the container's duration; `tile` emits as soon as they are there.
    """
    count = tiles(spec, duration)
    return ",".join(
        [
            f"tpad=stop_mode=clone:stop_duration={spec.interval:g}",
            f"fps=1/{spec.interval:g}",
            f"scale={spec.tile_width}:{spec.tile_height}",
            "setsar=1",
            f"tile={spec.columns}x{spec.rows}:nb_frames={count}",
        ]
    )


def _timestamp(seconds: float) -> str:
    ms = int(round(seconds * 1000))
    h, rest = divmod(ms, 3_600_000)
    m, rest = divmod(rest, 60_000)
    s, ms = divmod(rest, 1000)
    return f"{h:02d}:{m:02d}:{s:02d}.{ms:03d}"


def storyboard_vtt(result: StoryboardResult, duration: float, image_url: str) -> str:
    """A WebVTT thumbnails track: one cue per interval, the last one ending at `duration`."""
    spec = result.spec
    url = "".join(ch for ch in image_url if ch >= " " and ch != "\x7f")
    cues = ["WEBVTT", ""]
    for i in range(result.count):
        start = i * spec.interval
        end = (i + 1) * spec.interval
        if i == result.count - 1:
            end = max(duration, start + 0.001)
        x = (i % spec.columns) * spec.tile_width
        y = (i // spec.columns) * spec.tile_height
        cues += [
            f"{_timestamp(start)} --> {_timestamp(end)}",
            f"{url}#xywh={x},{y},{spec.tile_width},{spec.tile_height}",
            "",
        ]
    return "\n".join(cues)
