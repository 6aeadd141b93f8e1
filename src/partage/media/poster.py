"""Posters for videos and thumbnails for still images, each set from one ffmpeg run.

Videos get `poster.jpg` (longest side at most 1280) and `poster-small.jpg`
(at most 320). A poster should show what the video is about, so it is not the
first frame (often black or a title card): the input is seeked to about 10 % of
the duration, dark frames are dropped (`signalstats` + `metadata`), and the
`thumbnail` filter picks the most typical frame of a batch. When that yields no
frame at all (a video that is dark throughout, a seek past the real end, a
duration that lied), a second run takes the first frame. Audio files whose only
picture is cover art (`attached_pic`) get that picture.

Still images (JPEG, PNG, WebP, GIF — first frame —, BMP, TIFF) get `thumb.jpg`
(at most 320) and `preview.jpg` (at most 1280). JPEG has no transparency, so
images are flattened onto white: a transparent logo stays readable.

Sizes are never upscaled, are even (what 4:2:0 JPEG chroma wants) and account
for non-square pixels (the output has square pixels). ffmpeg autorotates video
frames on decode, so a phone video shot upright gives a portrait poster.

Limitation: ffmpeg 5.1 (Debian 12's) ignores the EXIF `Orientation` tag of
still images, so a photo that relies on it (most phone JPEGs) comes out in its
stored orientation, i.e. possibly on its side. Newer ffmpeg releases apply it.
"""

from __future__ import annotations

from pathlib import Path

from typing_extensions import Unpack

from partage.media.probe import MediaInfo, StreamInfo
from partage.media.run import (
    Cancelled,
    EncodeError,
    Hooks,
    Progress,
    TimedOut,
    ffmpeg_command,
    run_ffmpeg,
    without_progress,
)

POSTER_NAME = "poster.jpg"
POSTER_SMALL_NAME = "poster-small.jpg"
THUMB_NAME = "thumb.jpg"
PREVIEW_NAME = "preview.jpg"
LARGE_SIDE = 1280
SMALL_SIDE = 320

SEEK_FRACTION = 0.1
MAX_SEEK_SECONDS = 60.0
SHORT_CLIP_SECONDS = 5.0  # below this, start from the beginning: 10 % is nothing
THUMBNAIL_FRAMES = 50
SEARCH_WINDOW_SECONDS = 15.0  # input read after the seek when looking for a non-dark frame
# Frames whose mean luma (limited range: black is 16, white 235) is at most this are dropped.
DARK_LUMA = 24
JPEG_QUALITY = "3"  # mjpeg -q:v: 2 (best) .. 31


def _fit(limit: int) -> str:
    """A `scale` filter: square pixels, longest side at most `limit`, never up, even sizes.

    The display width is `iw*sar`; the products are formed before dividing so that
    a 1920-wide frame fits exactly 1280, not 1278 after float rounding.
    """
    dw = "iw*sar"
    longest = f"max({dw},ih)"
    w = f"max(2,trunc(min({dw},{dw}*{limit}/{longest})/2+0.0001)*2)"
    h = f"max(2,trunc(min(ih,ih*{limit}/{longest})/2+0.0001)*2)"
    return f"scale=w='{w}':h='{h}',setsar=1"


def _jpeg_outputs(*pairs: tuple[str, Path]) -> list[str]:
    """One single-image JPEG output per (filter label, path)."""
    cmd: list[str] = []
    for label, path in pairs:
        cmd += ["-map", f"[{label}]", "-frames:v", "1", "-q:v", JPEG_QUALITY]
        cmd += ["-f", "image2", "-update", "1", str(path)]
    return cmd


def _seek_and_batch(info: MediaInfo) -> tuple[float, int]:
    """Where to seek and how many frames `thumbnail` compares, by duration."""
    duration = info.duration or 0.0
    fps = (info.video.frame_rate if info.video else None) or 25.0
    seek = 0.0 if duration < SHORT_CLIP_SECONDS else min(duration * SEEK_FRACTION, MAX_SEEK_SECONDS)
    frames = THUMBNAIL_FRAMES
    if duration > 0:
        # A short clip: compare about a quarter of its frames, so that the batch
        # can fill up with what follows a dark opening.
        frames = max(1, min(THUMBNAIL_FRAMES, int(duration * fps / 4)))
    return seek, frames


def _cover_art(info: MediaInfo) -> StreamInfo | None:
    for s in info.streams:
        if s.kind == "video" and s.attached_picture:
            return s
    return None


def make_poster(
    ffmpeg: str,
    source: Path,
    info: MediaInfo,
    out_dir: Path,
    **hooks: Unpack[Hooks],
) -> tuple[Path, Path]:
    """Write `poster.jpg` and `poster-small.jpg` into `out_dir`; return their paths.

    Raises `EncodeError` when the source has no picture at all (`bad_input`) or
    ffmpeg cannot produce one.
    """
    out_dir.mkdir(parents=True, exist_ok=True)
    big, small = out_dir / POSTER_NAME, out_dir / POSTER_SMALL_NAME
    for p in (big, small):
        p.unlink(missing_ok=True)

    def run(cmd: list[str], what: str) -> None:
        run_ffmpeg(cmd, what=what, **without_progress(hooks))

    tail = f"split=2[big][s];[s]{_fit(SMALL_SIDE)}[small]"
    outputs = _jpeg_outputs(("big", big), ("small", small))

    if info.video is None:
        cover = _cover_art(info)
        if cover is None:
            raise EncodeError("this file has no picture to make a poster from", bad_input=True)
        cmd = [*ffmpeg_command(ffmpeg), "-i", str(source)]
        cmd += ["-filter_complex", f"[0:{cover.index}]{_fit(LARGE_SIDE)},{tail}", *outputs]
        run(cmd, "cover art poster")
        return _written(big, small, "the cover art gave no picture", hooks.get("progress"))

    seek, frames = _seek_and_batch(info)
    chain = ",".join(
        [
            _fit(LARGE_SIDE),  # first: the frame analysis then runs on at most 1280 px
            "signalstats",
            f"metadata=mode=select:key=lavfi.signalstats.YAVG:value={DARK_LUMA}:function=greater",
            f"thumbnail=n={frames}",
        ]
    )
    cmd = [*ffmpeg_command(ffmpeg), "-ss", f"{seek:.3f}", "-t", f"{SEARCH_WINDOW_SECONDS:g}"]
    main = f"[0:{info.video.index}]"
    cmd += ["-i", str(source), "-filter_complex", f"{main}{chain},{tail}", *outputs]
    try:
        run(cmd, "poster")
        if big.is_file() and small.is_file():
            return _written(big, small, "", hooks.get("progress"))
    except (Cancelled, TimedOut):
        raise
    except EncodeError:
        # ffmpeg 7+ fails rather than write nothing when no frame reached the
        # encoder; the first-frame run below says whether the input is at fault.
        pass
    cmd = [*ffmpeg_command(ffmpeg), "-i", str(source)]
    cmd += ["-filter_complex", f"{main}{_fit(LARGE_SIDE)},{tail}", *outputs]
    run(cmd, "poster (first frame)")
    return _written(big, small, "no video frame could be decoded", hooks.get("progress"))


def make_image_thumbnails(
    ffmpeg: str,
    source: Path,
    out_dir: Path,
    **hooks: Unpack[Hooks],
) -> tuple[Path, Path]:
    """Write `thumb.jpg` and `preview.jpg` for a still image; return (thumb, preview)."""
    out_dir.mkdir(parents=True, exist_ok=True)
    thumb, preview = out_dir / THUMB_NAME, out_dir / PREVIEW_NAME
    for p in (thumb, preview):
        p.unlink(missing_ok=True)
    graph = ";".join(
        [
            # Scale first (one swscale pass converts and shrinks), then flatten the
            # alpha channel onto an opaque white copy of the picture.
            f"[0:v:0]{_fit(LARGE_SIDE)},format=rgba,split=2[a][b]",
            "[a]lutrgb=r=255:g=255:b=255:a=255[white]",
            "[white][b]overlay=format=auto,split=2[preview][t]",
            f"[t]{_fit(SMALL_SIDE)}[thumb]",
        ]
    )
    cmd = [*ffmpeg_command(ffmpeg), "-i", str(source), "-filter_complex", graph]
    cmd += _jpeg_outputs(("thumb", thumb), ("preview", preview))
    run_ffmpeg(cmd, what="image thumbnails", **without_progress(hooks))
    return _written(thumb, preview, "the image gave no picture", hooks.get("progress"))


def _written(first: Path, second: Path, why: str, progress: Progress | None) -> tuple[Path, Path]:
    """Both outputs, checked; `progress(100)` since ffmpeg reports none for one frame."""
    if not (first.is_file() and second.is_file()):
        raise EncodeError(f"no picture was written: {why}", bad_input=True)
    if progress is not None:
        progress(100.0)
    return first, second
