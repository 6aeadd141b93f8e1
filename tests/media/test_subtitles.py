"""Subtitle conversion to WebVTT, run through the real ffmpeg."""

from __future__ import annotations

import dataclasses
import os
from pathlib import Path

import pytest

from partage.media.probe import MediaInfo, probe
from partage.media.subtitles import (
    MAX_SUBTITLE_BYTES,
    NO_CUES,
    ExtractedSubtitle,
    SubtitleError,
    cue_count,
    extract_embedded,
    language_label,
    normalise_language,
    to_webvtt,
)

from .conftest import ExtraSamples, Samples

FRENCH_SRT = """1
00:00:01,000 --> 00:00:02,500
Déjà vu, très bien

2
00:00:03,000 --> 00:00:04,000
Ça va ? « Oui », à demain.
"""

VTT = """WEBVTT
Kind: captions

STYLE
::cue { color: yellow }

NOTE a comment
over two lines

intro
00:00:01.000 --> 00:00:02.000 align:start position:10%
<b>Hello</b> there

00:00:02.500 --> 00:00:03.000
Second
"""

ASS = r"""[Script Info]
ScriptType: v4.00+
PlayResX: 384
PlayResY: 288

[V4+ Styles]
Format: Name, Fontname, Fontsize, PrimaryColour, SecondaryColour, OutlineColour, BackColour, Bold, Italic, Underline, StrikeOut, ScaleX, ScaleY, Spacing, Angle, BorderStyle, Outline, Shadow, Alignment, MarginL, MarginR, MarginV, Encoding
Style: Default,Arial,16,&Hffffff,&Hffffff,&H0,&H0,0,0,0,0,100,100,0,0,1,1,0,2,10,10,10,0

[Events]
Format: Layer, Start, End, Style, Name, MarginL, MarginR, MarginV, Effect, Text
Dialogue: 0,0:00:01.00,0:00:02.00,Default,,0,0,0,,{\b1}Bold{\b0} and {\pos(10,10)\c&H00FF00&}green
Dialogue: 0,0:00:03.00,0:00:04.50,Default,,0,0,0,,Line one\NLine two
"""  # noqa: E501


def _cues(vtt: str) -> list[tuple[str, str]]:
    """(timing line, text) of each cue."""
    out = []
    for block in vtt.split("\n\n"):
        lines = block.strip("\n").split("\n")
        for i, line in enumerate(lines):
            if "-->" in line:
                out.append((line.strip(), "\n".join(lines[i + 1 :])))
                break
    return out


def _times(timing: str) -> tuple[float, float]:
    """Seconds of a `mm:ss.fff --> mm:ss.fff` line."""

    def seconds(stamp: str) -> float:
        return sum(float(p) * 60**i for i, p in enumerate(reversed(stamp.split(":"))))

    start, _, end = timing.partition(" --> ")
    return seconds(start), seconds(end.split()[0])


def _french_checks(vtt: str) -> None:
    assert vtt.startswith("WEBVTT")
    assert cue_count(vtt) == 2
    [(t1, c1), (t2, c2)] = _cues(vtt)
    assert t1 == "00:01.000 --> 00:02.500"
    assert c1 == "Déjà vu, très bien"
    assert t2 == "00:03.000 --> 00:04.000"
    assert c2 == "Ça va ? « Oui », à demain."
    vtt.encode("utf-8")  # a str: no lone surrogates


def test_utf8_srt(ffmpeg: str) -> None:
    seen: list[float] = []
    vtt = to_webvtt(FRENCH_SRT.encode("utf-8"), "film.srt", ffmpeg, progress=seen.append)
    _french_checks(vtt)
    assert seen == [100.0]


@pytest.mark.parametrize(
    "data",
    [
        pytest.param(FRENCH_SRT.encode("cp1252"), id="cp1252"),
        pytest.param(FRENCH_SRT.encode("latin-1"), id="latin-1"),
        pytest.param(FRENCH_SRT.encode("utf-16"), id="utf-16-bom"),
        pytest.param(b"\xfe\xff" + FRENCH_SRT.encode("utf-16-be"), id="utf-16-be-bom"),
        pytest.param(FRENCH_SRT.encode("utf-16-le"), id="utf-16-le-no-bom"),
        pytest.param(b"\xef\xbb\xbf" + FRENCH_SRT.encode("utf-8"), id="utf-8-bom"),
        pytest.param(FRENCH_SRT.replace("\n", "\r\n").encode("cp1252"), id="cp1252-crlf"),
    ],
)
def test_srt_encodings(ffmpeg: str, data: bytes) -> None:
    _french_checks(to_webvtt(data, "film.srt", ffmpeg))


def test_cyrillic_windows_1251(ffmpeg: str) -> None:
    text = "1\n00:00:01,000 --> 00:00:02,000\nПривет мир, как дела? Хорошо, спасибо.\n"
    vtt = to_webvtt(text.encode("cp1251"), "ru.srt", ffmpeg)
    assert _cues(vtt) == [("00:01.000 --> 00:02.000", "Привет мир, как дела? Хорошо, спасибо.")]


def test_srt_without_counters(ffmpeg: str) -> None:
    data = b"00:00:01,000 --> 00:00:02,000\nHello\n\n00:00:03,000 --> 00:00:04,000\nWorld\n"
    vtt = to_webvtt(data, "a.srt", ffmpeg)
    assert [c for _, c in _cues(vtt)] == ["Hello", "World"]


def test_webvtt_with_style_and_note_blocks(ffmpeg: str) -> None:
    vtt = to_webvtt(VTT.encode(), "captions.vtt", ffmpeg)
    assert _cues(vtt) == [
        ("00:01.000 --> 00:02.000", "<b>Hello</b> there"),
        ("00:02.500 --> 00:03.000", "Second"),
    ]
    assert "STYLE" not in vtt and "NOTE" not in vtt


def test_content_decides_not_the_extension(ffmpeg: str) -> None:
    # WebVTT named .srt, SubRip named .vtt and .txt: all read by what they hold.
    assert cue_count(to_webvtt(VTT.encode(), "wrong.srt", ffmpeg)) == 2
    srt = FRENCH_SRT.encode()
    _french_checks(to_webvtt(srt, "wrong.vtt", ffmpeg))
    _french_checks(to_webvtt(srt, "subs.txt", ffmpeg))


def test_headerless_vtt_cues_named_vtt(ffmpeg: str) -> None:
    vtt = to_webvtt(b"00:01.000 --> 00:02.000\nHi\n", "x.vtt", ffmpeg)
    assert _cues(vtt) == [("00:01.000 --> 00:02.000", "Hi")]


def test_ass_styling_is_stripped(ffmpeg: str) -> None:
    vtt = to_webvtt(ASS.encode(), "anime.ass", ffmpeg)
    cues = _cues(vtt)
    assert [t for t, _ in cues] == ["00:01.000 --> 00:02.000", "00:03.000 --> 00:04.500"]
    first = cues[0][1]
    assert "Bold" in first and "green" in first
    assert "{" not in vtt and "\\" not in vtt
    assert cues[1][1] == "Line one\nLine two"


def test_ssa_v4(ffmpeg: str) -> None:
    ssa = ASS.replace("v4.00+", "v4.00").replace("[V4+ Styles]", "[V4 Styles]")
    vtt = to_webvtt(ssa.encode(), "old.ssa", ffmpeg)
    assert cue_count(vtt) == 2


def test_too_large(ffmpeg: str) -> None:
    data = FRENCH_SRT.encode() * (MAX_SUBTITLE_BYTES // len(FRENCH_SRT.encode()) + 1)
    assert len(data) > MAX_SUBTITLE_BYTES
    with pytest.raises(SubtitleError, match="too large") as e:
        to_webvtt(data, "huge.srt", ffmpeg)
    assert "5 MiB" in e.value.message


@pytest.mark.parametrize("data", [b"", b"   \r\n\n\t", b"\xef\xbb\xbf\n"])
def test_empty(ffmpeg: str, data: bytes) -> None:
    with pytest.raises(SubtitleError, match="empty"):
        to_webvtt(data, "empty.srt", ffmpeg)


@pytest.mark.parametrize(
    "data",
    [
        pytest.param(b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(300), id="png"),
        pytest.param(bytes(range(256)) * 8, id="all-bytes"),
        pytest.param(os.urandom(4096).replace(b"\x00", b"\x01"), id="random-no-nul"),
    ],
)
def test_binary(ffmpeg: str, data: bytes) -> None:
    with pytest.raises(SubtitleError, match="binary") as e:
        to_webvtt(data, "movie.srt", ffmpeg)
    assert e.value.message.startswith("This is not a subtitle file")


@pytest.mark.parametrize(
    "data",
    [
        pytest.param(b"Just some notes.\nNothing timed here.\n", id="prose"),
        pytest.param(b"WEBVTT\n\nNOTE only a note\n", id="vtt-without-cues"),
        pytest.param(b"[Script Info]\nTitle: x\n\n[Events]\n", id="ass-without-events"),
    ],
)
def test_no_cues(ffmpeg: str, data: bytes) -> None:
    with pytest.raises(SubtitleError) as e:
        to_webvtt(data, "notes.srt", ffmpeg)
    assert e.value.message == NO_CUES
    assert isinstance(e.value, ValueError)


def test_cue_count() -> None:
    assert cue_count("WEBVTT\n\n") == 0
    assert (
        cue_count("WEBVTT\n\n00:01.000 --> 00:02.000\na\n\n01:00:01.000 --> 01:00:02.000\nb\n") == 2
    )


def test_languages() -> None:
    assert normalise_language("eng") == "en"
    assert normalise_language("fre") == "fr"
    assert normalise_language("fra") == "fr"
    assert normalise_language("ger") == "de"
    assert normalise_language("chi") == "zh"
    assert normalise_language("EN") == "en"
    assert normalise_language("tlh") == "tlh"  # unknown but well formed: kept
    assert normalise_language("und") is None
    assert normalise_language(None) is None
    assert normalise_language("not a code") is None
    assert language_label("dut", "x") == "Dutch"
    assert language_label("jpn", "x") == "Japanese"
    assert language_label("pt-BR", "x") == "Portuguese"
    assert language_label("tlh", "Subtitles 3") == "Subtitles 3"
    assert language_label(None, "Subtitles 1") == "Subtitles 1"


def _probe(path: Path) -> MediaInfo:
    info = probe(path)
    assert info is not None
    return info


def test_extract_embedded_srt(ffmpeg: str, samples: Samples, tmp_path: Path) -> None:
    info = _probe(samples.mkv)
    [stream] = info.subtitle_streams
    seen: list[float] = []
    found = extract_embedded(ffmpeg, samples.mkv, info, tmp_path, progress=seen.append)
    assert len(found) == 1
    sub = found[0]
    assert isinstance(sub, ExtractedSubtitle)
    assert sub.stream_index == stream.index
    assert sub.language == "en"
    assert sub.label == "English subtitles"
    cues = _cues(sub.vtt)
    assert [text for _, text in cues] == ["Hello", "World"]
    # ffmpeg shifts times to the file's start as it does for the HLS ladder: ffmpeg 5.1
    # counts the AAC priming of this MKV (23 ms), later releases do not.
    assert [_times(timing) for timing, _ in cues] == [
        (pytest.approx(0.0, abs=0.05), pytest.approx(1.0, abs=0.05)),
        (pytest.approx(1.0, abs=0.05), pytest.approx(2.0, abs=0.05)),
    ]
    assert (tmp_path / f"subtitle-{stream.index}.vtt").read_text() == sub.vtt
    assert seen[-1] == 100.0


def test_extract_embedded_labels_from_language(
    ffmpeg: str, extra_samples: ExtraSamples, tmp_path: Path
) -> None:
    info = _probe(extra_samples.subs_mp4)
    streams = info.subtitle_streams
    assert [s.codec for s in streams] == ["mov_text", "mov_text"]
    found = extract_embedded(ffmpeg, extra_samples.subs_mp4, info, tmp_path)
    assert [(s.stream_index, s.language, s.label) for s in found] == [
        (streams[0].index, "fr", "French"),
        (streams[1].index, None, "Subtitles 2"),
    ]
    for s in found:
        [(timing, text)] = _cues(s.vtt)
        assert text == "Bonjour"
        start, end = _times(timing)
        assert start == pytest.approx(0.0, abs=0.05) and end == pytest.approx(1.0, abs=0.05)


def test_bitmap_subtitles_are_skipped(ffmpeg: str, samples: Samples, tmp_path: Path) -> None:
    info = _probe(samples.mkv)
    as_pgs = tuple(
        dataclasses.replace(s, codec="hdmv_pgs_subtitle") if s.kind == "subtitle" else s
        for s in info.streams
    )
    found = extract_embedded(
        ffmpeg, samples.mkv, dataclasses.replace(info, streams=as_pgs), tmp_path
    )
    assert found == []
    assert list(tmp_path.iterdir()) == []


def test_video_without_subtitles(ffmpeg: str, samples: Samples, tmp_path: Path) -> None:
    assert extract_embedded(ffmpeg, samples.mp4, _probe(samples.mp4), tmp_path) == []
