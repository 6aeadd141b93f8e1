"""Subtitles as WebVTT: the only text track format every browser plays.

Two sources:

- `to_webvtt` converts a file a person uploads (`.srt`, `.vtt`, `.ass`/`.ssa`).
  Such files come from anywhere, so the format is read from the content (the
  extension only breaks ties) and the text encoding is detected: byte-order
  marks, then UTF-8, then a check for Western European text in Windows-1252
  (the most common legacy encoding of subtitle files, which
  `charset-normalizer` tends to misread on short texts), then
  `charset-normalizer`, then Windows-1252 as a last resort. The decoded text is
  handed to ffmpeg as UTF-8. Anything wrong with the file raises
  `SubtitleError`, whose message is meant for the person (a 422 answer).
- `extract_embedded` converts the text subtitle streams of a video (SubRip,
  ASS, WebVTT, mov_text) in one ffmpeg run. Bitmap subtitles (Blu-ray PGS, DVD,
  DVB) would need OCR: they are skipped.

ffmpeg's WebVTT encoder turns ASS bold/italic/underline into `<b>`/`<i>`/`<u>`
and drops other override tags; any `{\\...}` block it leaves is stripped here.
"""

from __future__ import annotations

import re
import tempfile
import unicodedata
from dataclasses import dataclass
from pathlib import Path

import charset_normalizer
from typing_extensions import Unpack

from partage.media.probe import MediaInfo
from partage.media.run import EncodeError, Hooks, ffmpeg_command, run_ffmpeg, without_progress
from partage.web.i18n import N_

MAX_SUBTITLE_BYTES = 5 * 1024 * 1024

TEXT_SUBTITLE_CODECS = frozenset({"subrip", "srt", "ass", "ssa", "webvtt", "mov_text", "text"})
BITMAP_SUBTITLE_CODECS = frozenset({"hdmv_pgs_subtitle", "dvd_subtitle", "dvb_subtitle"})

NO_CUES = N_("This file has no subtitle cues: is it an .srt, .vtt or .ass file?")

# ISO 639-2 (bibliographic and terminology forms) and ISO 639-1 -> (BCP 47, English name).
_LANGUAGES: dict[str, tuple[str, str]] = {}
for _codes, _tag, _name in [
    (("eng", "en"), "en", "English"),
    (("fra", "fre", "fr"), "fr", "French"),
    (("deu", "ger", "de"), "de", "German"),
    (("spa", "es"), "es", "Spanish"),
    (("ita", "it"), "it", "Italian"),
    (("por", "pt"), "pt", "Portuguese"),
    (("nld", "dut", "nl"), "nl", "Dutch"),
    (("jpn", "ja"), "ja", "Japanese"),
    (("zho", "chi", "zh"), "zh", "Chinese"),
    (("kor", "ko"), "ko", "Korean"),
    (("rus", "ru"), "ru", "Russian"),
    (("ara", "ar"), "ar", "Arabic"),
    (("pol", "pl"), "pl", "Polish"),
    (("swe", "sv"), "sv", "Swedish"),
    (("nor", "no"), "no", "Norwegian"),
    (("nob", "nb"), "nb", "Norwegian Bokmål"),
    (("dan", "da"), "da", "Danish"),
    (("fin", "fi"), "fi", "Finnish"),
    (("tur", "tr"), "tr", "Turkish"),
    (("ell", "gre", "el"), "el", "Greek"),
    (("heb", "he"), "he", "Hebrew"),
    (("hin", "hi"), "hi", "Hindi"),
    (("ces", "cze", "cs"), "cs", "Czech"),
    (("slk", "slo", "sk"), "sk", "Slovak"),
    (("hun", "hu"), "hu", "Hungarian"),
    (("ron", "rum", "ro"), "ro", "Romanian"),
    (("ukr", "uk"), "uk", "Ukrainian"),
    (("bul", "bg"), "bg", "Bulgarian"),
    (("hrv", "hr"), "hr", "Croatian"),
    (("srp", "sr"), "sr", "Serbian"),
    (("slv", "sl"), "sl", "Slovenian"),
    (("cat", "ca"), "ca", "Catalan"),
    (("eus", "baq", "eu"), "eu", "Basque"),
    (("glg", "gl"), "gl", "Galician"),
    (("vie", "vi"), "vi", "Vietnamese"),
    (("tha", "th"), "th", "Thai"),
    (("ind", "id"), "id", "Indonesian"),
    (("msa", "may", "ms"), "ms", "Malay"),
    (("fas", "per", "fa"), "fa", "Persian"),
]:
    for _code in _codes:
        _LANGUAGES[_code] = (_tag, _name)

_TIMING = re.compile(r"^\s*(?:\d+:)?\d{1,2}:\d{2}[,.]\d{1,3}\s*-->\s*(?:\d+:)?\d{1,2}:\d{2}", re.M)
_VTT_CUE = re.compile(r"^\s*(?:\d+:)?\d{2}:\d{2}\.\d{3}\s+-->\s+(?:\d+:)?\d{2}:\d{2}\.\d{3}", re.M)
_ASS_HEADER = re.compile(r"^\s*\[Script Info\]", re.M | re.I)
_ASS_EVENTS = re.compile(r"^\s*\[Events\]\s*$.*^\s*Dialogue\s*:", re.M | re.I | re.S)
_ASS_TAG = re.compile(r"\{\\[^}]*\}")
_VTT_META_BLOCK = re.compile(r"(?:STYLE|REGION|NOTE)(?:[ \t]|$)", re.M)

# Besides ASCII, what Western European text in Windows-1252 contains.
_WESTERN_PUNCTUATION = set("«»‘’‚“”„–—…•€°¡¿·ªº©®™§¶ \u00a0")
_MAX_FOREIGN_LETTER_SHARE = 0.3  # accented letters among all letters, for that guess
_MAX_CONTROL_SHARE = 0.01
_NON_ASCII = re.compile(r"[^\x00-\x7f]")
_ASCII_LETTER = re.compile(r"[A-Za-z]")
_CONTROL = re.compile(r"[\x00-\x08\x0e-\x1f\x7f-\x9f]")  # Cc, less tab and line ends


class SubtitleError(ValueError):
    """An uploaded subtitle file that cannot be used; `message` is for the person."""

    def __init__(self, message: str, **params: object) -> None:
        # A template and its values, like a PartageError's, so pages can translate it.
        self.template = message
        self.params = params
        self.message = message % params if params else message
        super().__init__(self.message)


@dataclass(frozen=True)
class ExtractedSubtitle:
    stream_index: int  # in the source file
    language: str | None  # BCP 47 (`en`), see `normalise_language`
    label: str  # what a player's menu shows
    vtt: str


def normalise_language(code: str | None) -> str | None:
    """A BCP 47 tag for an ISO 639 code: `eng` -> `en`, `fre` -> `fr`.

    Known codes map to their two-letter form; other well-formed codes are kept
    (lowercased: BCP 47 accepts three-letter ISO 639 codes); `und` and junk give None.
    """
    if not code:
        return None
    code = code.strip().lower()
    if code in _LANGUAGES:
        return _LANGUAGES[code][0]
    if code in ("und", "mul", "zxx", "mis") or not re.fullmatch(r"[a-z]{2,3}(?:-[a-z0-9]+)*", code):
        return None
    return code


def language_label(code: str | None, fallback: str) -> str:
    """The English name of an ISO 639 language code (`fra` -> `French`), else `fallback`."""
    if not code:
        return fallback
    code = code.strip().lower()
    known = _LANGUAGES.get(code) or _LANGUAGES.get(code.split("-")[0])
    return known[1] if known else fallback


def cue_count(vtt: str) -> int:
    """How many cues (timing lines) a WebVTT text holds."""
    return len(_VTT_CUE.findall(vtt))


def to_webvtt(
    data: bytes,
    filename: str,
    ffmpeg: str,
    **hooks: Unpack[Hooks],
) -> str:
    """Convert an uploaded subtitle file to WebVTT text; raise `SubtitleError` if unusable."""
    if len(data) > MAX_SUBTITLE_BYTES:
        raise SubtitleError(
            "This subtitle file is too large (%(size)s MiB): the limit is %(max)s MiB.",
            size=format(len(data) / 1024 / 1024, ".1f"),
            max=MAX_SUBTITLE_BYTES // (1024 * 1024),
        )
    if not data.strip():
        raise SubtitleError("This subtitle file is empty.")
    text = decode_text(data)
    if not text.strip():
        raise SubtitleError("This subtitle file is empty.")
    fmt = detect_format(text, filename)
    if fmt is None:
        raise SubtitleError(NO_CUES)
    if fmt == "webvtt":
        if not text.lstrip().startswith("WEBVTT"):
            text = "WEBVTT\n\n" + text  # cues without the header, named .vtt
        text = _strip_vtt_blocks(text)
    suffix = {"srt": ".srt", "webvtt": ".vtt", "ass": ".ass"}[fmt]
    with tempfile.TemporaryDirectory(prefix="partage-subs-") as tmp:
        src, out = Path(tmp) / f"in{suffix}", Path(tmp) / "out.vtt"
        src.write_text(text, encoding="utf-8")
        cmd = [
            *ffmpeg_command(ffmpeg),
            "-f",
            fmt,
            "-i",
            str(src),
            "-map",
            "0:s:0",
            "-c:s",
            "webvtt",
            "-f",
            "webvtt",
            str(out),
        ]
        try:
            run_ffmpeg(cmd, what="subtitle conversion", **without_progress(hooks))
        except EncodeError as e:
            if e.bad_input:
                raise SubtitleError(
                    "This %(format)s file could not be read: is it a valid subtitle file?",
                    format=suffix,
                ) from e
            raise
        vtt = _clean(out.read_text(encoding="utf-8", errors="replace")) if out.is_file() else ""
    if not vtt.startswith("WEBVTT") or cue_count(vtt) == 0:
        raise SubtitleError(NO_CUES)
    if (progress := hooks.get("progress")) is not None:
        progress(100.0)
    return vtt


def decode_text(data: bytes) -> str:
    """The text of an uploaded file, whatever its encoding; `SubtitleError` if binary."""
    for bom, encoding in (
        (b"\xff\xfe\x00\x00", "utf-32-le"),
        (b"\x00\x00\xfe\xff", "utf-32-be"),
        (b"\xef\xbb\xbf", "utf-8"),
        (b"\xff\xfe", "utf-16-le"),
        (b"\xfe\xff", "utf-16-be"),
    ):
        if data.startswith(bom):
            return _checked(data[len(bom) :].decode(encoding, errors="replace"))
    if b"\x00" in data:
        utf16 = _utf16_without_bom(data)
        if utf16 is None:
            raise SubtitleError("This is not a subtitle file: it holds binary data, not text.")
        return _checked(data.decode(utf16, errors="replace"))
    try:
        return _checked(data.decode("utf-8"))
    except UnicodeDecodeError:
        pass
    western = _western_cp1252(data)
    if western is not None:
        return _checked(western)
    best = charset_normalizer.from_bytes(data).best()
    if best is not None:
        return _checked(str(best))
    return _checked(data.decode("cp1252", errors="replace"))


def _utf16_without_bom(data: bytes) -> str | None:
    """`utf-16-le`/`-be` when every other byte is mostly NUL (ASCII-heavy text)."""
    even, odd = data[0::2], data[1::2]
    if not even or not odd:
        return None
    even_nul = even.count(0) / len(even)
    odd_nul = odd.count(0) / len(odd)
    if odd_nul > 0.4 and even_nul < 0.05:
        return "utf-16-le"
    if even_nul > 0.4 and odd_nul < 0.05:
        return "utf-16-be"
    return None


def _western_cp1252(data: bytes) -> str | None:
    """The text, when `data` reads as Western European text in Windows-1252.

    Accented letters must be a minority among letters: Cyrillic or Greek bytes
    also decode to Latin-1 letters, but then nearly every letter is accented.
    """
    try:
        text = data.decode("cp1252")
    except UnicodeDecodeError:
        return None
    accented = 0
    for ch in _NON_ASCII.findall(text):
        if ch.isalpha() and unicodedata.name(ch, "").startswith("LATIN"):
            accented += 1
        elif ch not in _WESTERN_PUNCTUATION:
            return None
    letters = len(_ASCII_LETTER.findall(text)) + accented
    if letters == 0 or accented / letters > _MAX_FOREIGN_LETTER_SHARE:
        return None
    return text


def _checked(text: str) -> str:
    """Refuse text with many control characters: a binary file that happened to decode."""
    text = text.lstrip("\ufeff")
    controls = len(_CONTROL.findall(text))
    if text and controls / len(text) > _MAX_CONTROL_SHARE:
        raise SubtitleError("This is not a subtitle file: it holds binary data, not text.")
    return text


def detect_format(text: str, filename: str) -> str | None:
    """`srt`, `webvtt` or `ass` (ffmpeg demuxer names) from the content; None if no cues.

    The extension only breaks a tie: cue lines without a `WEBVTT` header and
    with WebVTT's `.` before the milliseconds are WebVTT when the name ends in
    `.vtt`, SubRip otherwise (ffmpeg's SubRip reader accepts both separators).
    """
    head = text.lstrip("\ufeff \t\r\n")
    if head.startswith("WEBVTT"):
        return "webvtt"
    if _ASS_HEADER.search(text) or _ASS_EVENTS.search(text):
        return "ass"
    timing = _TIMING.search(text)
    if timing is None:
        return None
    if "," not in timing.group(0) and filename.lower().endswith(".vtt"):
        return "webvtt"
    return "srt"


def _clean(vtt: str) -> str:
    """Strip ASS override blocks ffmpeg left and normalise line ends."""
    return _ASS_TAG.sub("", vtt.lstrip("\ufeff").replace("\r\n", "\n"))


def _strip_vtt_blocks(text: str) -> str:
    """Drop WebVTT STYLE, REGION and NOTE blocks, which ffmpeg 5.1 reads as broken cues."""
    blocks = re.split(r"\n[ \t]*\n", text.replace("\r\n", "\n").replace("\r", "\n"))
    kept = [b for b in blocks if not _VTT_META_BLOCK.match(b.lstrip("\n"))]
    return "\n\n".join(kept) + "\n"


def extract_embedded(
    ffmpeg: str,
    source: Path,
    info: MediaInfo,
    out_dir: Path,
    **hooks: Unpack[Hooks],
) -> list[ExtractedSubtitle]:
    """Every text subtitle stream of `source` as WebVTT, from one ffmpeg run.

    Each stream is also written to `out_dir/subtitle-<stream index>.vtt`.
    Streams that hold no cue are left out of the answer. Cue times are shifted
    to the file's start as ffmpeg does for any output, so they match the HLS
    ladder made from the same file.
    """
    streams = [s for s in info.subtitle_streams if s.codec in TEXT_SUBTITLE_CODECS]
    if not streams:
        if (progress := hooks.get("progress")) is not None:
            progress(100.0)
        return []
    out_dir.mkdir(parents=True, exist_ok=True)
    cmd = [*ffmpeg_command(ffmpeg), "-i", str(source)]
    paths = []
    for s in streams:
        path = out_dir / f"subtitle-{s.index}.vtt"
        paths.append(path)
        cmd += ["-map", f"0:{s.index}", "-vn", "-an", "-dn", "-c:s", "webvtt"]
        cmd += ["-f", "webvtt", str(path)]
    run_ffmpeg(cmd, what="subtitle extraction", **without_progress(hooks))
    found = []
    for n, (s, path) in enumerate(zip(streams, paths, strict=True), start=1):
        if not path.is_file():
            continue
        vtt = _clean(path.read_text(encoding="utf-8", errors="replace"))
        if not vtt.startswith("WEBVTT") or cue_count(vtt) == 0:
            continue
        path.write_text(vtt, encoding="utf-8")
        label = s.title or language_label(s.language, f"Subtitles {n}")
        found.append(
            ExtractedSubtitle(
                stream_index=s.index,
                language=normalise_language(s.language),
                label=label,
                vtt=vtt,
            )
        )
    if (progress := hooks.get("progress")) is not None:
        progress(100.0)
    return found
