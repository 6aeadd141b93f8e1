"""HLS playlist text: reading the media playlists ffmpeg writes, writing the others.

Nothing here runs ffmpeg. `render_master` and `subtitle_playlist` are pure
functions, meant to be called per request: the master playlist of a file
depends on the subtitles its owner uploaded, which are not part of the
(shared) encode. Every value that may come from a user (a track title, a
language tag, a URI) is made safe before it lands in a playlist: HLS
quoted-strings have no escape mechanism, so double quotes and control
characters are replaced rather than escaped.
"""

from __future__ import annotations

import math
import os
import re
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

PLAYLIST_VERSION = 7
AUDIO_GROUP = "aud"
SUBTITLE_GROUP = "subs"


@dataclass(frozen=True)
class VariantInfo:
    """One video rendition, as the master playlist describes it."""

    name: str  # e.g. `360p`: also its directory
    width: int
    height: int
    frame_rate: float
    video_codecs: str  # RFC 6381, e.g. `avc1.64001f`
    bandwidth: int  # measured peak segment bit rate, video + the audio rendition's
    average_bandwidth: int  # measured average bit rate, video + the audio rendition's
    uri: str  # relative to the master playlist: `360p/index.m3u8`


@dataclass(frozen=True)
class AudioRendition:
    """One audio-only rendition of the `aud` group."""

    name: str  # `audio_0`: also its directory
    stream_index: int  # the source stream it was encoded from
    language: str | None  # BCP 47
    title: str  # what a player shows in its audio menu
    default: bool
    codecs: str  # `mp4a.40.2`
    bandwidth: int
    average_bandwidth: int
    uri: str  # `audio_0/index.m3u8`


@dataclass(frozen=True)
class SubtitleRendition:
    """One WebVTT track of the `subs` group (see `subtitle_playlist`)."""

    name: str
    language: str | None
    uri: str  # the URI of its media playlist


@dataclass(frozen=True)
class MediaPlaylist:
    """What partage needs from a media playlist written by ffmpeg."""

    init: str | None  # the `#EXT-X-MAP` URI
    segments: tuple[tuple[float, str], ...]  # (EXTINF duration, URI)
    playlist_type: str | None  # `EVENT`, `VOD` or None
    ended: bool  # `#EXT-X-ENDLIST` present

    @property
    def duration(self) -> float:
        return sum(d for d, _ in self.segments)


_MAP_URI = re.compile(r'#EXT-X-MAP:URI="([^"]+)"')


def parse_media_playlist(text: str) -> MediaPlaylist:
    init = None
    segments: list[tuple[float, str]] = []
    playlist_type = None
    ended = False
    pending: float | None = None
    for raw in text.splitlines():
        line = raw.strip()
        if not line:
            continue
        if line.startswith("#EXTINF:"):
            pending = float(line[len("#EXTINF:") :].split(",", 1)[0])
        elif line.startswith("#EXT-X-MAP:"):
            found = _MAP_URI.match(line)
            init = found.group(1) if found else None
        elif line.startswith("#EXT-X-PLAYLIST-TYPE:"):
            playlist_type = line.partition(":")[2]
        elif line == "#EXT-X-ENDLIST":
            ended = True
        elif not line.startswith("#") and pending is not None:
            segments.append((pending, line))
            pending = None
    return MediaPlaylist(init, tuple(segments), playlist_type, ended)


def read_media_playlist(path: Path) -> MediaPlaylist | None:
    """The playlist at `path`, or None when it does not exist (yet)."""
    try:
        return parse_media_playlist(path.read_text())
    except FileNotFoundError:
        return None


def to_vod(text: str) -> str:
    """An EVENT playlist (ffmpeg's, complete) turned into a VOD one ending in ENDLIST."""
    lines = [line for line in text.splitlines() if line.strip() and line != "#EXT-X-ENDLIST"]
    lines = [line for line in lines if not line.startswith("#EXT-X-PLAYLIST-TYPE:")]
    at = next((i + 1 for i, line in enumerate(lines) if line.startswith("#EXT-X-MEDIA-SEQ")), 1)
    lines.insert(at, "#EXT-X-PLAYLIST-TYPE:VOD")
    return "\n".join([*lines, "#EXT-X-ENDLIST"]) + "\n"


def write_atomic(path: Path, text: str) -> None:
    """Write `text` to a temporary file beside `path`, then rename it over `path`."""
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(text)
        os.chmod(tmp, 0o644)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


_CONTROL = re.compile(r"[\x00-\x1f\x7f]+")
_LANGUAGE = re.compile(r"^[A-Za-z]{2,8}(-[A-Za-z0-9]{1,8})*$")


def quoted(value: str) -> str:
    """`value` as an HLS quoted-string: no double quote, no line break survives."""
    clean = _CONTROL.sub(" ", value).replace('"', "'").strip()
    return f'"{clean}"'


def safe_uri(uri: str) -> str:
    """Percent-encode what would end a quoted-string or a playlist line."""
    return re.sub(r'[\x00-\x20\x7f"]', lambda m: f"%{ord(m.group(0)):02X}", uri)


def safe_language(language: str | None) -> str | None:
    return language if language and _LANGUAGE.match(language) else None


def _media(kind: str, group: str, name: str, language: str | None) -> list[str]:
    attrs = [f"TYPE={kind}", f'GROUP-ID="{group}"', f"NAME={quoted(name)}"]
    lang = safe_language(language)
    if lang:
        attrs.append(f'LANGUAGE="{lang}"')
    return attrs


def render_master(
    variants: Sequence[VariantInfo],
    audio: Sequence[AudioRendition],
    subtitles: Sequence[SubtitleRendition] = (),
) -> str:
    """The master playlist: audio and subtitle groups, then the variants in order."""
    out = ["#EXTM3U", f"#EXT-X-VERSION:{PLAYLIST_VERSION}", "#EXT-X-INDEPENDENT-SEGMENTS"]
    for a in audio:
        attrs = _media("AUDIO", AUDIO_GROUP, a.title, a.language)
        attrs += [f"DEFAULT={'YES' if a.default else 'NO'}", "AUTOSELECT=YES", 'CHANNELS="2"']
        attrs.append(f'URI="{safe_uri(a.uri)}"')
        out.append("#EXT-X-MEDIA:" + ",".join(attrs))
    for s in subtitles:
        attrs = _media("SUBTITLES", SUBTITLE_GROUP, s.name, s.language)
        attrs += ["DEFAULT=NO", "AUTOSELECT=YES", "FORCED=NO", f'URI="{safe_uri(s.uri)}"']
        out.append("#EXT-X-MEDIA:" + ",".join(attrs))
    audio_codecs = sorted({a.codecs for a in audio})
    for v in variants:
        codecs = ",".join([v.video_codecs, *audio_codecs])
        attrs = [
            f"BANDWIDTH={v.bandwidth}",
            f"AVERAGE-BANDWIDTH={v.average_bandwidth}",
            f"RESOLUTION={v.width}x{v.height}",
            f'CODECS="{codecs}"',
            f"FRAME-RATE={v.frame_rate:.3f}",
        ]
        if audio:
            attrs.append(f'AUDIO="{AUDIO_GROUP}"')
        if subtitles:
            attrs.append(f'SUBTITLES="{SUBTITLE_GROUP}"')
        out += ["#EXT-X-STREAM-INF:" + ",".join(attrs), safe_uri(v.uri)]
    return "\n".join(out) + "\n"


def subtitle_playlist(vtt_uri: str, duration: float) -> str:
    """A VOD media playlist whose single segment is the whole WebVTT file."""
    seconds = max(round(duration, 3), 0.001)
    return (
        "\n".join(
            [
                "#EXTM3U",
                "#EXT-X-VERSION:3",
                f"#EXT-X-TARGETDURATION:{math.ceil(seconds)}",
                "#EXT-X-MEDIA-SEQUENCE:0",
                "#EXT-X-PLAYLIST-TYPE:VOD",
                f"#EXTINF:{seconds:.3f},",
                safe_uri(vtt_uri),
                "#EXT-X-ENDLIST",
            ]
        )
        + "\n"
    )
