"""Every kind of media through the real pipeline: upload → job → outputs served over
HTTP, checked with ffprobe (Debian's) against the source."""

from __future__ import annotations

from collections.abc import Iterator
from fractions import Fraction
from typing import Any
from urllib.parse import urljoin

import httpx
import pytest

from tests.conftest import Account
from tests.streaming.conftest import Clips, Stream, ffprobe, get


@pytest.fixture(scope="module")
def processed(stream: Stream, clips: Clips) -> Iterator[tuple[Account, dict[str, dict[str, Any]]]]:
    """Upload every clip at once, then wait for all of them."""
    acc = stream.account()
    names = ["faststart", "plain", "phone", "vfr", "interlaced", "multi", "mp3", "ac3", "png",
             "corrupt", "text"]  # fmt: skip
    codes = {n: stream.upload(acc, getattr(clips, n)) for n in names}
    views = {n: stream.wait(acc, code, timeout=240) for n, code in codes.items()}
    yield acc, views


def _lines(url: str) -> list[str]:
    r = get(url)
    assert r.status_code == 200, (url, r.text)
    return [line.strip() for line in r.text.splitlines() if line.strip()]


def _variants(master_url: str) -> list[tuple[dict[str, str], str]]:
    lines = _lines(master_url)
    out = []
    for i, line in enumerate(lines):
        if line.startswith("#EXT-X-STREAM-INF:"):
            attrs = dict(part.split("=", 1) for part in _split_attrs(line.split(":", 1)[1]))
            out.append((attrs, urljoin(master_url, lines[i + 1])))
    return out


def _split_attrs(text: str) -> list[str]:
    parts, buf, quoted = [], "", False
    for ch in text:
        if ch == '"':
            quoted = not quoted
        if ch == "," and not quoted:
            parts.append(buf)
            buf = ""
        else:
            buf += ch
    return [*parts, buf]


def _media_renditions(master_url: str, kind: str) -> list[dict[str, str]]:
    found = []
    for line in _lines(master_url):
        if line.startswith(f"#EXT-X-MEDIA:TYPE={kind},"):
            attrs = dict(p.split("=", 1) for p in _split_attrs(line.split(":", 1)[1]))
            found.append({k: v.strip('"') for k, v in attrs.items()})
    return found


def _check_variant(url: str, width: int, height: int, duration: float) -> None:
    """ffprobe the variant playlist over HTTP: size, keyframes every 2 s, duration."""
    lines = _lines(url)
    assert lines[-1] == "#EXT-X-ENDLIST"
    assert "#EXT-X-PLAYLIST-TYPE:VOD" in lines
    extinf = [float(x.split(":")[1].rstrip(",")) for x in lines if x.startswith("#EXTINF:")]
    assert extinf and max(extinf) <= 4.05
    assert abs(sum(extinf) - duration) <= 0.1, (sum(extinf), duration)
    info = ffprobe(url, "-show_streams", "-show_format", "-select_streams", "v:0",
                   "-show_entries", "packet=pts_time,flags")  # fmt: skip
    st = info["streams"][0]
    assert (st["codec_name"], st["width"], st["height"]) == ("h264", width, height)
    assert st["pix_fmt"] == "yuv420p"
    keys = [float(p["pts_time"]) for p in info["packets"] if "K" in p["flags"]]
    gaps = [b - a for a, b in zip(keys, keys[1:], strict=False)]
    assert gaps and all(abs(g - 2.0) < 0.05 for g in gaps), keys
    assert abs(float(info["format"]["duration"]) - duration) <= 0.1


def _source_duration(path: Any) -> float:
    return float(ffprobe(path, "-show_format")["format"]["duration"])


def test_browser_ready_mp4_plays_directly_and_gets_a_ladder(
    processed: tuple[Account, dict[str, dict[str, Any]]], clips: Clips
) -> None:
    _, views = processed
    v = views["faststart"]
    assert v["state"] == "done" and v["kind"] == "video" and v["playable"] and v["complete"]
    assert (v["width"], v["height"]) == (854, 480)
    assert [(r["name"], r["width"], r["height"]) for r in v["rungs"]] == [
        ("360p", 640, 360), ("480p", 854, 480)]  # fmt: skip
    # Direct play is the original itself, through a signed download link.
    assert "/d/" in v["direct_url"]
    r = get(v["direct_url"], headers={"Range": "bytes=0-99"})
    assert r.status_code == 206 and len(r.content) == 100
    duration = _source_duration(clips.faststart)
    variants = _variants(v["hls_url"])
    assert [a["RESOLUTION"] for a, _ in variants] == ["640x360", "854x480"]
    for attrs, url in variants:
        w, h = map(int, attrs["RESOLUTION"].split("x"))
        assert int(attrs["BANDWIDTH"]) >= int(attrs["AVERAGE-BANDWIDTH"]) > 0
        assert attrs["CODECS"].startswith('"avc1.') and "mp4a.40.2" in attrs["CODECS"]
        assert float(attrs["FRAME-RATE"]) == pytest.approx(30, abs=0.01)
        _check_variant(url, w, h, duration)
    (audio,) = _media_renditions(v["hls_url"], "AUDIO")
    a = ffprobe(urljoin(v["hls_url"], audio["URI"]), "-show_streams", "-show_format")
    assert a["streams"][0]["codec_name"] == "aac" and a["streams"][0]["channels"] == 2
    assert abs(float(a["format"]["duration"]) - duration) <= 0.1


def test_poster_and_storyboard(processed: tuple[Account, dict[str, dict[str, Any]]]) -> None:
    _, views = processed
    v = views["faststart"]
    for url, longest in ((v["poster"], 854), (v["poster_small"], 320)):
        r = get(url)
        assert r.status_code == 200 and r.headers["content-type"] == "image/jpeg"
        st = ffprobe(url, "-show_streams")["streams"][0]
        assert max(st["width"], st["height"]) == longest
    vtt = get(v["storyboard"]).text
    assert vtt.startswith("WEBVTT")
    cues = [line for line in vtt.splitlines() if "#xywh=" in line]
    assert len(cues) >= 6
    sprite = urljoin(v["storyboard"], cues[0].split("#")[0])
    assert get(sprite).headers["content-type"] == "image/jpeg"


def test_mp4_without_faststart_gets_a_remuxed_copy(
    processed: tuple[Account, dict[str, dict[str, Any]]], clips: Clips
) -> None:
    _, views = processed
    v = views["plain"]
    assert v["state"] == "done" and v["direct_url"].endswith("/direct.mp4")
    data = get(v["direct_url"]).content
    assert data.index(b"moov") < data.index(b"mdat")  # playable before it is all loaded
    src = ffprobe(clips.plain, "-show_streams")["streams"]
    out = ffprobe(v["direct_url"], "-show_streams")["streams"]
    # The same streams, copied, not re-encoded.
    assert [(s["codec_name"], s.get("nb_frames")) for s in out] == [
        (s["codec_name"], s.get("nb_frames")) for s in src]  # fmt: skip


def test_rotated_phone_video_is_portrait(
    processed: tuple[Account, dict[str, dict[str, Any]]],
) -> None:
    _, views = processed
    v = views["phone"]
    assert v["state"] == "done" and (v["width"], v["height"]) == (270, 480)
    # Below the lowest rung: one rung at its own size, upright.
    assert [(r["width"], r["height"]) for r in v["rungs"]] == [(270, 480)]
    ((_, url),) = _variants(v["hls_url"])
    _check_variant(url, 270, 480, 3.0)


def test_variable_frame_rate_comes_out_constant(
    processed: tuple[Account, dict[str, dict[str, Any]]], clips: Clips
) -> None:
    _, views = processed
    v = views["vfr"]
    assert v["state"] == "done" and v["audio_tracks"] == []
    assert _media_renditions(v["hls_url"], "AUDIO") == []
    ((attrs, url),) = _variants(v["hls_url"])
    assert "AUDIO" not in attrs and "mp4a" not in attrs["CODECS"]
    _check_variant(url, 640, 360, _source_duration(clips.vfr))
    st = ffprobe(url, "-show_streams")["streams"][0]
    assert Fraction(st["avg_frame_rate"]) == Fraction(st["r_frame_rate"])


def test_interlaced_source_is_deinterlaced(
    processed: tuple[Account, dict[str, dict[str, Any]]],
) -> None:
    _, views = processed
    v = views["interlaced"]
    assert v["state"] == "done"
    for _, url in _variants(v["hls_url"]):
        st = ffprobe(url, "-show_streams", "-select_streams", "v:0")["streams"][0]
        assert st.get("field_order", "progressive") == "progressive"


def test_two_audio_tracks_and_embedded_subtitles(
    processed: tuple[Account, dict[str, dict[str, Any]]],
) -> None:
    _, views = processed
    v = views["multi"]
    assert v["state"] == "done"
    assert [(a["label"], a["language"], a["default"]) for a in v["audio_tracks"]] == [
        ("English", "en", True), ("Français", "fr", False)]  # fmt: skip
    audio = _media_renditions(v["hls_url"], "AUDIO")
    assert [(a["LANGUAGE"], a["NAME"], a["DEFAULT"]) for a in audio] == [
        ("en", "English", "YES"), ("fr", "Français", "NO")]  # fmt: skip
    for a in audio:
        st = ffprobe(urljoin(v["hls_url"], a["URI"]), "-show_streams")["streams"][0]
        assert st["codec_name"] == "aac"
    (sub,) = v["subtitles"]
    assert (sub["language"], sub["source"]) == ("en", "embedded")
    vtt = get(sub["url"]).text
    assert vtt.startswith("WEBVTT") and "Hello from the MKV" in vtt
    (rendition,) = _media_renditions(v["hls_url"], "SUBTITLES")
    assert rendition["LANGUAGE"] == "en"
    playlist_url = urljoin(v["hls_url"], rendition["URI"])
    seg = [x for x in _lines(playlist_url) if not x.startswith("#")][0]
    assert "Hello from the MKV" in get(urljoin(playlist_url, seg)).text
    for attrs, _ in _variants(v["hls_url"]):
        assert attrs["AUDIO"] == '"aud"' and attrs["SUBTITLES"] == '"subs"'


def test_audio_files_get_a_player_source(
    processed: tuple[Account, dict[str, dict[str, Any]]],
) -> None:
    _, views = processed
    mp3, ac3 = views["mp3"], views["ac3"]
    assert (mp3["kind"], mp3["state"], mp3["playable"]) == ("audio", "done", True)
    assert "/d/" in mp3["direct_url"] and mp3["hls_url"] is None
    assert mp3["duration"] == pytest.approx(3.0, abs=0.1)
    # AC-3 does not play in browsers: an AAC copy does.
    assert ac3["kind"] == "audio" and ac3["direct_url"].endswith("/audio.m4a")
    st = ffprobe(ac3["direct_url"], "-show_streams", "-show_format")
    assert st["streams"][0]["codec_name"] == "aac"
    assert float(st["format"]["duration"]) == pytest.approx(3.0, abs=0.1)


def test_images_get_thumbnails(processed: tuple[Account, dict[str, dict[str, Any]]]) -> None:
    _, views = processed
    v = views["png"]
    assert (v["kind"], v["state"]) == ("image", "done")
    small = ffprobe(v["poster_small"], "-show_streams")["streams"][0]
    large = ffprobe(v["poster"], "-show_streams")["streams"][0]
    assert (small["width"], large["width"]) == (320, 800)  # never upscaled


def test_corrupt_file_fails_once_with_a_reason(
    stream: Stream, processed: tuple[Account, dict[str, dict[str, Any]]]
) -> None:
    acc, views = processed
    v = views["corrupt"]
    assert v["state"] == "failed" and not v["playable"]
    assert v["error"] and "corrupt" in v["error"].lower()
    assert v["attempts"] == 1  # bad input: no retry
    import time

    time.sleep(2)  # still failed, still one attempt: no retry storm
    again = stream.media(acc, v["code"])
    assert (again["state"], again["attempts"]) == ("failed", 1)


def test_text_is_not_media(processed: tuple[Account, dict[str, dict[str, Any]]]) -> None:
    _, views = processed
    v = views["text"]
    assert (v["state"], v["kind"], v["hls_url"], v["direct_url"]) == (
        "not_media", "other", None, None)  # fmt: skip


def test_identical_upload_is_playable_at_once(
    stream: Stream, processed: tuple[Account, dict[str, dict[str, Any]]], clips: Clips
) -> None:
    """Media belongs to the blob: the same bytes from another account are not processed
    again and play immediately."""
    _, views = processed
    other = stream.account()
    code = stream.upload(other, clips.faststart, "copy.mp4")
    v = stream.media(other, code)
    assert (v["state"], v["playable"], v["attempts"]) == ("done", True, 1)
    assert v["rungs"] == views["faststart"]["rungs"]
    r = httpx.get(v["hls_url"], timeout=30)
    assert r.status_code == 200
