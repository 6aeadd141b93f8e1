"""What a file holds, read with PyAV (libavformat), never by parsing ffmpeg's log.

`probe(path)` answers a `MediaInfo`, `None` for a file that is not media, and
raises `ProbeError` for media that is corrupt: a file that claims a media
format (by its magic bytes) that libavformat cannot open, or a container that
opens but whose streams cannot be decoded.

Rotation is the counter-clockwise angle of the display matrix, as ffmpeg and
PyAV report it (an upright phone video shot in portrait usually says 90 or
270), normalised to 0, 90, 180 or 270. PyAV exposes the matrix on decoded
frames only (`VideoFrame.rotation`), so the first frame is decoded, which also
proves the stream readable. A legacy `rotate` tag (clockwise) is the fallback.
"""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from typing import Any, Literal

import av
import av.error
import filetype

log = logging.getLogger(__name__)

StreamKind = Literal["video", "audio", "subtitle"]

# Demuxers that open still images or text: such files are not audio/video media.
_STILL_FORMATS = {"image2", "tty", "gif"}
_MAX_PACKETS = 2000  # packets read while looking for one decodable frame per stream


class ProbeError(Exception):
    """Media that cannot be read: truncated, corrupt, or in a broken container."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


@dataclass(frozen=True)
class StreamInfo:
    index: int
    kind: StreamKind
    codec: str
    width: int | None = None
    height: int | None = None
    frame_rate: float | None = None  # average
    rotation: int = 0  # counter-clockwise degrees: 0, 90, 180 or 270
    pixel_format: str | None = None
    bit_rate: int | None = None
    channels: int | None = None
    sample_rate: int | None = None
    language: str | None = None  # ISO 639-2 as tagged; `und` becomes None
    title: str | None = None
    attached_picture: bool = False  # cover art, not a video track
    interlaced: bool = False  # its first frame is interlaced: deinterlace before scaling

    @property
    def display_size(self) -> tuple[int, int] | None:
        """(width, height) as shown, after rotation."""
        if self.width is None or self.height is None:
            return None
        if self.rotation in (90, 270):
            return self.height, self.width
        return self.width, self.height


@dataclass(frozen=True)
class MediaInfo:
    format_name: str
    duration: float | None  # seconds
    bit_rate: int | None  # overall, bits per second
    streams: tuple[StreamInfo, ...]

    @property
    def video_streams(self) -> tuple[StreamInfo, ...]:
        return tuple(s for s in self.streams if s.kind == "video" and not s.attached_picture)

    @property
    def audio_streams(self) -> tuple[StreamInfo, ...]:
        return tuple(s for s in self.streams if s.kind == "audio")

    @property
    def subtitle_streams(self) -> tuple[StreamInfo, ...]:
        return tuple(s for s in self.streams if s.kind == "subtitle")

    @property
    def video(self) -> StreamInfo | None:
        """The main video stream, if any."""
        vs = self.video_streams
        return vs[0] if vs else None

    @property
    def is_video(self) -> bool:
        return self.video is not None

    @property
    def is_audio_only(self) -> bool:
        return not self.is_video and bool(self.audio_streams)

    @property
    def display_size(self) -> tuple[int, int] | None:
        v = self.video
        return v.display_size if v else None


def probe(path: str | Path) -> MediaInfo | None:
    """Describe the media at `path`; None when it is not audio or video."""
    path = Path(path)
    claimed = _claimed_media_type(path)
    try:
        container = av.open(str(path), mode="r", metadata_errors="replace")
    except (av.error.InvalidDataError, av.error.EOFError) as e:
        if claimed:
            raise ProbeError(f"corrupt or truncated {claimed} file: {_reason(e)}") from e
        log.debug("%s: not media (%s)", path, _reason(e))
        return None
    except av.error.FFmpegError as e:
        if claimed:
            raise ProbeError(f"unreadable {claimed} file: {_reason(e)}") from e
        log.debug("%s: not media (%s)", path, _reason(e))
        return None
    with container:
        format_name = container.format.name
        if format_name.split(",")[0] in _STILL_FORMATS or format_name.endswith("_pipe"):
            return None
        kinds = [s.type for s in container.streams]
        if not any(k in ("video", "audio") for k in kinds):
            if claimed:
                raise ProbeError(f"{claimed} file without a readable audio or video stream")
            return None
        rotations = _first_frames(container, claimed or format_name)
        streams = tuple(
            s
            for s in (_stream_info(st, rotations.get(st.index)) for st in container.streams)
            if s is not None
        )
        duration = _duration(container)
        bit_rate = container.bit_rate or None
    return MediaInfo(format_name=format_name, duration=duration, bit_rate=bit_rate, streams=streams)


def _claimed_media_type(path: Path) -> str | None:
    """The media type the file's magic bytes claim (e.g. `video/mp4`), if any."""
    try:
        kind = filetype.guess(str(path))
    except OSError:
        return None
    if kind is not None and kind.mime.split("/")[0] in ("video", "audio"):
        return str(kind.mime)
    return None


def _reason(e: Exception) -> str:
    if isinstance(e, av.error.FFmpegError) and e.strerror:
        return str(e.strerror)
    return str(e)


def _first_frames(container: Any, what: str) -> dict[int, tuple[int, bool]]:
    """Decode one frame of the main video and audio streams: proves them readable.

    Returns the rotation of the video stream's first frame and whether it is
    interlaced, by stream index.
    """
    wanted = []
    for group in (container.streams.video, container.streams.audio):
        for st in group:
            if not _is_attached_pic(st):
                wanted.append(st)
                break
    pending = {st.index for st in wanted}
    rotations: dict[int, tuple[int, bool]] = {}
    errors: dict[int, str] = {}
    try:
        for n, packet in enumerate(container.demux(wanted)):
            if not pending or n >= _MAX_PACKETS:
                break
            idx = packet.stream.index
            if idx not in pending:
                continue
            try:
                frames = packet.decode()
            except av.error.FFmpegError as e:
                errors[idx] = _reason(e)
                continue
            for frame in frames:
                if isinstance(frame, av.VideoFrame):
                    rotations[idx] = (frame.rotation % 360, bool(frame.interlaced_frame))
                pending.discard(idx)
                errors.pop(idx, None)
                break
    except av.error.FFmpegError as e:
        raise ProbeError(f"corrupt {what} file: {_reason(e)}") from e
    if pending:
        idx = min(pending)
        kind = container.streams[idx].type
        why = errors.get(idx, "no decodable frame")
        raise ProbeError(f"corrupt {what} file: {kind} stream {idx}: {why}")
    return rotations


def _is_attached_pic(st: Any) -> bool:
    return bool(st.disposition & av.stream.Disposition.attached_pic)


def _stream_info(st: Any, first: tuple[int, bool] | None) -> StreamInfo | None:
    rotation, interlaced = first if first is not None else (None, False)
    kind = st.type
    if kind not in ("video", "audio", "subtitle"):
        return None
    meta = st.metadata or {}
    language = meta.get("language") or None
    if language == "und":
        language = None
    cc = st.codec_context
    codec = (cc.codec.canonical_name if cc is not None else None) or "unknown"
    common: dict[str, Any] = {
        "index": st.index,
        "kind": kind,
        "codec": codec,
        "language": language,
        "title": meta.get("title") or None,
        "bit_rate": (cc.bit_rate if cc is not None else None) or None,
    }
    if kind == "video":
        return StreamInfo(
            **common,
            width=cc.width or None,
            height=cc.height or None,
            frame_rate=_rate(st.average_rate) or _rate(st.guessed_rate),
            rotation=_normalise(rotation if rotation is not None else _legacy_rotate(meta)),
            pixel_format=cc.pix_fmt,
            attached_picture=_is_attached_pic(st),
            interlaced=interlaced,
        )
    if kind == "audio":
        return StreamInfo(
            **common,
            channels=cc.channels or None,
            sample_rate=cc.sample_rate or None,
        )
    return StreamInfo(**common)


def _rate(r: Fraction | None) -> float | None:
    if not r:
        return None
    value = float(r)
    return value if math.isfinite(value) and value > 0 else None


def _legacy_rotate(meta: dict[str, str]) -> int:
    """The old `rotate` tag is clockwise; the display matrix is counter-clockwise."""
    try:
        return -int(float(meta.get("rotate", "0")))
    except ValueError:
        return 0


def _normalise(degrees: int) -> int:
    return (round(degrees / 90) * 90) % 360


def _duration(container: Any) -> float | None:
    if container.duration:
        return float(container.duration) / av.time_base
    longest = 0.0
    for st in container.streams:
        if st.duration and st.time_base:
            longest = max(longest, float(st.duration * st.time_base))
    return longest or None
