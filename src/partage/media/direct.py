"""Direct play: serving the original file (or a cheap copy of it) to `<video>`/`<audio>`.

Before the HLS ladder exists, or for audio that needs no ladder at all, a
browser can often play the upload itself. `direct_play` answers whether the
current Chromium, Firefox and Safari all can, from the codecs alone:

- MP4/MOV: H.264 in 8-bit 4:2:0 (or no video) with AAC or MP3 audio (or none);
- WebM: VP8, VP9 or AV1 with Vorbis or Opus. PyAV names the demuxer
  `matroska,webm` for both `.mkv` and `.webm`, so a Matroska file whose codecs
  are WebM's qualifies (browsers sniff the content, not the name) and an `.mkv`
  with H.264 does not;
- audio only: MP3, AAC (MP4 or ADTS), Opus/Vorbis (Ogg or WebM), FLAC, PCM WAV.

An MP4 whose `moov` box follows the media data cannot start playing before it
is fully downloaded: `needs_faststart` spots it by reading only the top-level
box headers, and `remux_faststart` copies the streams with `moov` first.
Audio browsers cannot play (WMA, AC-3, ALAC, ...) gets an AAC copy from
`transcode_audio`.
"""

from __future__ import annotations

import os
import struct
from pathlib import Path

from typing_extensions import Unpack

from partage.media.probe import MediaInfo, StreamInfo
from partage.media.run import EncodeError, Hooks, ffmpeg_command, run_ffmpeg

MP4_VIDEO = frozenset({"h264"})
MP4_PIXEL_FORMATS = frozenset({"yuv420p", "yuvj420p"})
MP4_AUDIO = frozenset({"aac", "mp3"})
WEBM_VIDEO = frozenset({"vp8", "vp9", "av1"})
WEBM_AUDIO = frozenset({"vorbis", "opus"})
WAV_AUDIO = frozenset({"pcm_u8", "pcm_s16le", "pcm_s24le", "pcm_f32le"})
# Audio-only containers (PyAV demuxer names, first of the list) and the codecs they may hold.
AUDIO_ONLY: dict[str, frozenset[str]] = {
    "mp3": frozenset({"mp3"}),
    "aac": frozenset({"aac"}),  # ADTS
    "ogg": WEBM_AUDIO,
    "flac": frozenset({"flac"}),
    "wav": WAV_AUDIO,
}

AUDIO_BITRATE = "160k"
AUDIO_RATE = "48000"

# Top-level ISO-BMFF boxes a file may start with: anything else is not MP4/MOV.
_FIRST_BOXES = {b"ftyp", b"styp", b"moov", b"mdat", b"free", b"skip", b"wide", b"pnot", b"uuid"}


def direct_play(info: MediaInfo) -> bool:
    """Can Chromium, Firefox and Safari all play this file as it is?"""
    video = info.video
    audio = info.audio_streams[0] if info.audio_streams else None
    if video is None and audio is None:
        return False
    formats = set(info.format_name.split(","))
    if "mp4" in formats or "mov" in formats:
        return _ok_mp4_video(video) and (audio is None or audio.codec in MP4_AUDIO)
    if "webm" in formats or "matroska" in formats:
        return (video is None or video.codec in WEBM_VIDEO) and (
            audio is None or audio.codec in WEBM_AUDIO
        )
    if video is not None or audio is None:
        return False
    allowed = AUDIO_ONLY.get(info.format_name.split(",")[0])
    return allowed is not None and audio.codec in allowed


def _ok_mp4_video(video: StreamInfo | None) -> bool:
    if video is None:
        return True
    return video.codec in MP4_VIDEO and video.pixel_format in MP4_PIXEL_FORMATS


def needs_faststart(path: Path) -> bool:
    """True for an MP4/MOV file whose `moov` box comes after its `mdat` box.

    Reads the 8- or 16-byte header of each top-level box and seeks over the
    body, so a multi-gigabyte file costs a handful of reads.
    """
    try:
        size = path.stat().st_size
        with path.open("rb") as f:
            offset = 0
            seen_mdat = False
            first = True
            while offset + 8 <= size:
                f.seek(offset)
                header = f.read(8)
                if len(header) < 8:
                    return False
                box_size, box_type = struct.unpack(">I4s", header)
                if first and box_type not in _FIRST_BOXES:
                    return False
                first = False
                header_len = 8
                if box_size == 1:  # 64-bit largesize follows the type
                    large = f.read(8)
                    if len(large) < 8:
                        return False
                    (box_size,) = struct.unpack(">Q", large)
                    header_len = 16
                elif box_size == 0:  # the box runs to the end of the file
                    box_size = size - offset
                if box_type == b"moov":
                    return seen_mdat
                if box_type == b"mdat":
                    seen_mdat = True
                if box_size < header_len:
                    return False  # corrupt: a box smaller than its own header
                offset += box_size
    except OSError:
        return False
    return False


def remux_faststart(
    ffmpeg: str,
    source: Path,
    dest: Path,
    **hooks: Unpack[Hooks],
) -> Path:
    """Copy the first video and all audio streams into `dest` with `moov` first.

    No re-encode: the packets are copied as they are. The file is written under
    a temporary name in `dest`'s directory and renamed, so `dest` is complete or absent.
    """
    cmd = [*ffmpeg_command(ffmpeg, progress=True), "-i", str(source)]
    cmd += ["-map", "0:v:0?", "-map", "0:a?", "-c", "copy", "-movflags", "+faststart"]
    _write(cmd, dest, "mp4", "faststart remux", None, hooks)
    return dest


def transcode_audio(
    ffmpeg: str,
    source: Path,
    dest: Path,
    info: MediaInfo,
    **hooks: Unpack[Hooks],
) -> Path:
    """Encode the first audio stream to AAC-LC, 48 kHz stereo, 160 kb/s, in an `.m4a`."""
    if not info.audio_streams:
        raise EncodeError("this file has no audio to convert", bad_input=True)
    cmd = [
        *ffmpeg_command(ffmpeg, progress=True),
        "-i",
        str(source),
        "-map",
        "0:a:0",
        "-vn",
        "-sn",
        "-dn",
    ]
    cmd += ["-c:a", "aac", "-profile:a", "aac_low", "-b:a", AUDIO_BITRATE]
    cmd += ["-ar", AUDIO_RATE, "-ac", "2", "-movflags", "+faststart"]
    _write(cmd, dest, "ipod", "audio conversion", info.duration, hooks)
    return dest


def _write(
    cmd: list[str],
    dest: Path,
    muxer: str,
    what: str,
    duration: float | None,
    hooks: Hooks,
) -> None:
    """Finish `cmd` with a temporary output next to `dest`, run it, rename on success."""
    dest.parent.mkdir(parents=True, exist_ok=True)
    tmp = dest.with_name(f".{dest.name}.{os.getpid()}.part")
    try:
        run_ffmpeg(
            [*cmd, "-f", muxer, str(tmp)],
            what=what,
            duration=duration,
            **hooks,
        )
        if not tmp.is_file() or tmp.stat().st_size == 0:
            raise EncodeError(f"{what}: ffmpeg wrote nothing", bad_input=True)
        tmp.replace(dest)
    finally:
        tmp.unlink(missing_ok=True)
    if (progress := hooks.get("progress")) is not None:
        progress(100.0)
