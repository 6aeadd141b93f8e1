"""Encode a video into an HLS ladder (fMP4/CMAF segments) with one ffmpeg process.

The source is decoded once; `split` feeds one `scale` per rung, plus the
storyboard branch when one is asked for. ffmpeg autorotates on decode, so the
frames reaching the filters are already upright and the rung sizes (computed
from the display size) apply as they are. Layout of `out_dir`::

    360p/index.m3u8  360p/init_<k>.mp4  360p/seg_000.m4s ...   (video only)
    480p/...
    audio_0/index.m3u8  audio_0/init_<k>.mp4  audio_0/seg_000.m4s ...
    storyboard.jpg
    master.m3u8   (audio group + variants; the server renders its own per request)

Audio is a group of alternate renditions (`GROUP-ID="aud"`): each source audio
stream is encoded once, to stereo 48 kHz AAC-LC, whatever the number of rungs.
Every variant gets a keyframe every 2 s (forced, no scene-cut keyframes) and
4 s segments, so each segment starts on a keyframe.

While ffmpeg runs the media playlists are EVENT playlists, updated by ffmpeg
after each complete segment, so `on_playable()` can announce the file early;
after a successful run they are rewritten (atomically) as VOD playlists.
`BANDWIDTH` and `AVERAGE-BANDWIDTH` are measured on the segments written.

ffmpeg runs through `run_ffmpeg`: at nice 10; `should_stop()` (polled about
once a second) kills it and raises `Cancelled`; passing `deadline` (a
`time.monotonic()` value) kills it and raises `TimedOut`; a failure raises
`EncodeError`, with `bad_input=True` when ffmpeg blamed the source.
"""

from __future__ import annotations

import dataclasses
import json
import logging
import shutil
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from partage.media.ladder import MIN_AUDIO_BITRATE, Rung
from partage.media.playlists import (
    AUDIO_GROUP,
    AudioRendition,
    SubtitleRendition,
    VariantInfo,
    read_media_playlist,
    render_master,
    subtitle_playlist,
    to_vod,
    write_atomic,
)
from partage.media.probe import MediaInfo, StreamInfo
from partage.media.run import (
    Cancelled,
    EncodeError,
    Progress,
    ShouldStop,
    TimedOut,
    ffmpeg_command,
    run_ffmpeg,
)
from partage.media.storyboard import (
    STORYBOARD_NAME,
    StoryboardResult,
    StoryboardSpec,
    plan_storyboard,
    storyboard_filter,
    storyboard_vtt,
    tiles,
)

__all__ = [
    "AudioRendition", "Cancelled", "EncodeError", "HlsResult", "StoryboardResult",
    "StoryboardSpec", "SubtitleRendition", "TimedOut", "VariantInfo", "audio_title", "bcp47",
    "build_command", "encode_hls", "plan_storyboard", "provisional_result", "reference_command",
    "render_master", "storyboard_vtt", "subtitle_playlist",
]  # fmt: skip

log = logging.getLogger(__name__)

SEGMENT_SECONDS = 4
KEYFRAME_SECONDS = 2
MASTER_NAME = "master.m3u8"
VARIANT_NAME = "index.m3u8"
INIT_NAME = "init.mp4"  # ffmpeg suffixes it with the variant stream's index: init_0.mp4
SEGMENT_NAME = "seg_%03d.m4s"
AUDIO_CODEC = "mp4a.40.2"  # AAC-LC
AUDIO_BITRATE = 128_000
X264_PRESET = "veryfast"

# ISO 639-2 (both the terminology and the bibliographic codes) to BCP 47, with a name.
_LANGUAGES: dict[str, tuple[str, str]] = {
    "eng": ("en", "English"), "fra": ("fr", "French"), "fre": ("fr", "French"),
    "deu": ("de", "German"), "ger": ("de", "German"), "spa": ("es", "Spanish"),
    "ita": ("it", "Italian"), "por": ("pt", "Portuguese"), "nld": ("nl", "Dutch"),
    "dut": ("nl", "Dutch"), "jpn": ("ja", "Japanese"), "zho": ("zh", "Chinese"),
    "chi": ("zh", "Chinese"), "kor": ("ko", "Korean"), "rus": ("ru", "Russian"),
    "ara": ("ar", "Arabic"),
}  # fmt: skip
_NAMES = {code: name for code, name in _LANGUAGES.values()}


@dataclass(frozen=True)
class HlsResult:
    """What an encode produced; `dataclasses.asdict` / `to_json` give plain JSON."""

    variants: tuple[VariantInfo, ...]  # lowest first
    audio: tuple[AudioRendition, ...]  # the default one first
    storyboard: StoryboardResult | None = None

    def to_json(self) -> dict[str, Any]:
        """Plain JSON types only (lists, not tuples), as a database JSON column gives back."""
        plain: dict[str, Any] = json.loads(json.dumps(dataclasses.asdict(self)))
        return plain

    @classmethod
    def from_json(cls, d: dict[str, Any]) -> HlsResult:
        board = d.get("storyboard")
        if board is not None:
            board = StoryboardResult(board["path"], StoryboardSpec(**board["spec"]), board["count"])
        return cls(
            variants=tuple(VariantInfo(**v) for v in d["variants"]),
            audio=tuple(AudioRendition(**a) for a in d["audio"]),
            storyboard=board,
        )

    def master(self, subtitles: Sequence[SubtitleRendition] = ()) -> str:
        return render_master(self.variants, self.audio, subtitles)


def bcp47(language: str | None) -> str | None:
    """`eng` → `en` for common languages; other tags as they are; `und`/empty → None."""
    if not language or language.lower() in ("und", "unk", "mis", "zxx"):
        return None
    code = _LANGUAGES.get(language.lower())
    return code[0] if code else language


def audio_title(stream: StreamInfo, n: int) -> str:
    """The stream's title, else its language's English name, else `Audio <n + 1>`."""
    if stream.title and stream.title.strip():
        return stream.title.strip()
    lang = bcp47(stream.language)
    return _NAMES.get(lang or "", f"Audio {n + 1}")


def audio_bitrate(stream: StreamInfo) -> int:
    rate = min(AUDIO_BITRATE, stream.bit_rate or AUDIO_BITRATE)
    return max(MIN_AUDIO_BITRATE, rate)


def _video_chains(info: MediaInfo | None, rungs: Sequence[Rung], extra: int) -> list[str]:
    n = len(rungs) + extra
    video = info.video if info is not None else None
    head = f"[0:{video.index}]" if video is not None else "[0:v:0]"  # not the cover art
    if video is not None and video.interlaced:
        # One frame out per frame in; only frames flagged interlaced are touched.
        head += "bwdif=mode=send_frame:deint=interlaced,"
    chains = [f"{head}split={n}" + "".join(f"[s{i}]" for i in range(n))]
    source_rate = video.frame_rate if video is not None else None
    for i, r in enumerate(rungs):
        filters = [f"scale={r.width}:{r.height}", "setsar=1"]
        if source_rate is None or source_rate > r.frame_rate + 0.01:
            filters.append(f"fps={r.frame_rate:g}")
        filters.append("format=yuv420p")
        chains.append(f"[s{i}]" + ",".join(filters) + f"[v{i}]")
    return chains


def _x264(rungs: Sequence[Rung]) -> list[str]:
    cmd = [
        "-c:v", "libx264",
        "-preset", X264_PRESET,
        "-profile:v", "high",
        "-pix_fmt", "yuv420p",
        "-sc_threshold", "0",
        "-force_key_frames", f"expr:gte(t,n_forced*{KEYFRAME_SECONDS})",
        "-fps_mode", "cfr",
    ]  # fmt: skip
    for i, r in enumerate(rungs):
        v = r.video_bitrate
        cmd += [f"-b:v:{i}", str(v), f"-maxrate:v:{i}", str(v), f"-bufsize:v:{i}", str(v * 2)]
    return cmd


def _hls(out: Path, playlist_type: str, stream_map: str) -> list[str]:
    return [
        "-f", "hls",
        "-hls_time", str(SEGMENT_SECONDS),
        "-hls_playlist_type", playlist_type,
        "-hls_segment_type", "fmp4",
        "-hls_flags", "independent_segments",
        "-hls_fmp4_init_filename", INIT_NAME,
        "-hls_segment_filename", str(out / "%v" / SEGMENT_NAME),
        "-var_stream_map", stream_map,
    ]  # fmt: skip


def build_command(
    ffmpeg: str,
    source: str | Path,
    info: MediaInfo,
    rungs: Sequence[Rung],
    out_dir: str | Path,
    *,
    audio_streams: Sequence[StreamInfo] | None = None,
    storyboard: StoryboardSpec | None = None,
) -> list[str]:
    """The ffmpeg argument list encoding `source` into `rungs` under `out_dir`."""
    if not rungs:
        raise ValueError("no rungs to encode")
    if info.video is None:
        raise ValueError("source has no video stream")
    out = Path(out_dir)
    audio = list(info.audio_streams if audio_streams is None else audio_streams)
    chains = _video_chains(info, rungs, 1 if storyboard else 0)
    if storyboard is not None:
        board = storyboard_filter(storyboard, info.duration or storyboard.interval)
        chains.append(f"[s{len(rungs)}]{board}[sb]")
    cmd = [
        *ffmpeg_command(ffmpeg, progress=True),
        "-i",
        str(source),
        "-filter_complex",
        ";".join(chains),
    ]
    for i in range(len(rungs)):
        cmd += ["-map", f"[v{i}]"]
    for a in audio:
        cmd += ["-map", f"0:{a.index}"]
    cmd += _x264(rungs)
    if audio:
        cmd += ["-c:a", "aac", "-ac", "2", "-ar", "48000"]
        for k, a in enumerate(audio):
            cmd += [f"-b:a:{k}", str(audio_bitrate(a))]
    group = f",agroup:{AUDIO_GROUP}" if audio else ""
    stream_map = [f"a:{k}{group},name:audio_{k}" for k in range(len(audio))]
    stream_map += [f"v:{i}{group},name:{r.name}" for i, r in enumerate(rungs)]
    cmd += ["-map_metadata", "-1", "-map_chapters", "-1"]
    cmd += _hls(out, "event", " ".join(stream_map)) + [str(out / "%v" / VARIANT_NAME)]
    if storyboard is not None:
        cmd += ["-map", "[sb]", "-frames:v", "1", "-c:v", "mjpeg", "-q:v", "4", "-update", "1"]
        cmd += [str(out / STORYBOARD_NAME)]
    return cmd


def reference_command(
    ffmpeg: str, source: str | Path, rungs: Sequence[Rung], out_dir: str | Path, has_audio: bool
) -> list[str]:
    """A tutorial-style command with the same encode settings, for benchmarks.

    Same rungs, x264 settings, keyframes and segments, but the audio (first
    stream) is encoded again into every variant, the playlists are plain VOD
    ones and ffmpeg writes its own master playlist; no storyboard.
    """
    if not rungs:
        raise ValueError("no rungs to encode")
    out = Path(out_dir)
    cmd = [*ffmpeg_command(ffmpeg, progress=True), "-i", str(source)]
    cmd += ["-filter_complex", ";".join(_video_chains(None, rungs, 0))]
    for i in range(len(rungs)):
        cmd += ["-map", f"[v{i}]"] + (["-map", "0:a:0"] if has_audio else [])
    cmd += _x264(rungs)
    if has_audio:
        cmd += ["-c:a", "aac", "-ac", "2", "-ar", "48000"]
        for i, r in enumerate(rungs):
            cmd += [f"-b:a:{i}", str(r.audio_bitrate or AUDIO_BITRATE)]
    stream_map = " ".join(
        f"v:{i}" + (f",a:{i}" if has_audio else "") + f",name:{r.name}" for i, r in enumerate(rungs)
    )
    cmd += _hls(out, "vod", stream_map)
    return cmd + ["-master_pl_name", MASTER_NAME, str(out / "%v" / VARIANT_NAME)]


def _segment_rates(playlist: Path) -> tuple[int, int] | None:
    """(peak, average) bit rate of the segments a playlist lists; None without any."""
    media = read_media_playlist(playlist)
    if media is None or not media.segments:
        return None
    peak = 0.0
    total_bytes = 0
    for duration, uri in media.segments:
        size = (playlist.parent / uri).stat().st_size
        total_bytes += size
        peak = max(peak, size * 8 / max(duration, 0.001))
    return round(peak), round(total_bytes * 8 / max(media.duration, 0.001))


def _video_codecs(variant_dir: Path) -> str:
    """RFC 6381 codecs of a variant, read from its init segment's avcC box."""
    try:
        media = read_media_playlist(variant_dir / VARIANT_NAME)
        data = (variant_dir / (media.init if media and media.init else INIT_NAME)).read_bytes()
        at = data.index(b"avcC") + 4
        # configurationVersion, AVCProfileIndication, profile_compatibility, AVCLevelIndication
        return "avc1." + data[at + 1 : at + 4].hex()
    except (OSError, ValueError):
        return "avc1.640028"  # High@4.0: a safe statement if the box cannot be read


def provisional_result(
    out_dir: str | Path,
    info: MediaInfo,
    rungs: Sequence[Rung],
    *,
    audio_streams: Sequence[StreamInfo] | None = None,
) -> HlsResult:
    """What is playable under `out_dir` now: the renditions listing a segment or more.

    Figures are measured over the segments listed so far: called from
    `on_playable()` (typically with `rungs[:1]`), it describes an encode still
    running; `encode_hls` calls it after the run for its final result.
    """
    out = Path(out_dir)
    audio = list(info.audio_streams if audio_streams is None else audio_streams)
    renditions: list[AudioRendition] = []
    for k, stream in enumerate(audio):
        rates = _segment_rates(out / f"audio_{k}" / VARIANT_NAME)
        if rates is None:
            continue
        renditions.append(
            AudioRendition(
                name=f"audio_{k}",
                stream_index=stream.index,
                language=bcp47(stream.language),
                title=audio_title(stream, k),
                default=k == 0,
                codecs=AUDIO_CODEC,
                bandwidth=rates[0],
                average_bandwidth=rates[1],
                uri=f"audio_{k}/{VARIANT_NAME}",
            )
        )
    # RFC 8216 4.3.4.2: the largest sum over the playable combinations of renditions.
    audio_peak = max((a.bandwidth for a in renditions), default=0)
    audio_average = max((a.average_bandwidth for a in renditions), default=0)
    variants: list[VariantInfo] = []
    for r in rungs:
        rates = _segment_rates(out / r.name / VARIANT_NAME)
        if rates is None:
            continue
        variants.append(
            VariantInfo(
                name=r.name,
                width=r.width,
                height=r.height,
                frame_rate=r.frame_rate,
                video_codecs=_video_codecs(out / r.name),
                bandwidth=rates[0] + audio_peak,
                average_bandwidth=rates[1] + audio_average,
                uri=f"{r.name}/{VARIANT_NAME}",
            )
        )
    return HlsResult(variants=tuple(variants), audio=tuple(renditions))


def encode_hls(
    ffmpeg: str,
    source: str | Path,
    info: MediaInfo,
    rungs: Sequence[Rung],
    out_dir: str | Path,
    *,
    audio_streams: Sequence[StreamInfo] | None = None,
    storyboard: StoryboardSpec | None = None,
    progress: Progress | None = None,
    should_stop: ShouldStop | None = None,
    deadline: float | None = None,
    tick: Callable[[], None] | None = None,
    on_playable: Callable[[], None] | None = None,
) -> HlsResult:
    """Run the encode; see the module docstring for the layout and the rules.

    `audio_streams` defaults to every audio stream of `info`. `on_playable()` is
    called once, as soon as the lowest rung and every audio rendition list a
    complete segment (checked about once a second), or after the run at the
    latest; an exception it raises is logged, never aborts the encode.
    Raises `Cancelled`, `TimedOut` or `EncodeError` (all `EncodeError`s).
    """
    out = Path(out_dir)
    audio = list(info.audio_streams if audio_streams is None else audio_streams)
    cmd = build_command(
        ffmpeg, source, info, rungs, out, audio_streams=audio, storyboard=storyboard
    )
    out.mkdir(parents=True, exist_ok=True)
    names = [f"audio_{k}" for k in range(len(audio))] + [r.name for r in rungs]
    # A retry must not mistake the playlists of an earlier attempt for progress.
    for stale in [out / MASTER_NAME, out / STORYBOARD_NAME]:
        stale.unlink(missing_ok=True)
    for name in names:
        shutil.rmtree(out / name, ignore_errors=True)
        (out / name).mkdir()
    watched = [out / rungs[0].name / VARIANT_NAME]
    watched += [out / f"audio_{k}" / VARIANT_NAME for k in range(len(audio))]
    announced = False

    def announce() -> None:
        nonlocal announced
        announced = True
        if on_playable is not None:
            try:
                on_playable()
            except Exception:
                log.exception("on_playable() failed for %s", source)

    def heartbeat() -> None:
        if tick is not None:
            tick()
        if not announced and on_playable is not None and all(map(_has_segment, watched)):
            announce()

    run_ffmpeg(
        cmd,
        what=f"HLS encode of {source}",
        duration=info.duration,
        progress=progress,
        should_stop=should_stop,
        deadline=deadline,
        tick=heartbeat,
    )
    for name in names:
        playlist = out / name / VARIANT_NAME
        media = read_media_playlist(playlist)
        if media is None or not media.segments:
            raise EncodeError(f"HLS encode of {source}: ffmpeg wrote no segment for {name}")
        write_atomic(playlist, to_vod(playlist.read_text()))
    result = provisional_result(out, info, rungs, audio_streams=audio)
    if storyboard is not None:
        image = out / STORYBOARD_NAME
        if not image.is_file():
            raise EncodeError(f"HLS encode of {source}: ffmpeg wrote no storyboard")
        count = tiles(storyboard, info.duration or storyboard.interval)
        board = StoryboardResult(path=str(image), spec=storyboard, count=count)
        result = dataclasses.replace(result, storyboard=board)
    write_atomic(out / MASTER_NAME, result.master())
    if not announced:
        announce()
    if progress is not None:
        progress(100.0)
    return result


def _has_segment(playlist: Path) -> bool:
    try:
        media = read_media_playlist(playlist)
    except (OSError, ValueError):
        return False
    return bool(media and media.segments and (playlist.parent / media.segments[0][1]).is_file())
