"""The player in Debian's Chromium (Playwright), on real processed media: playback
advances, qualities switch, audio tracks switch, subtitles show, the processing
message gives way to the video, on the watch page and in the iframe player."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.browser import SHOTS
from tests.streaming.conftest import Clips, Stream, start_stream

VENDOR = Path(__file__).resolve().parents[2] / "src/partage/web/static/vendor/hls.min.js"
SRT_FR = "1\n00:00:00,000 --> 00:00:30,000\nDéjà vu, sous-titre français\n"


@pytest.fixture
def page(browser: Any, stream: Stream) -> Iterator[Any]:
    if not VENDOR.exists():
        pytest.fail(f"{VENDOR} is missing: run scripts/build-assets")
    ctx = browser.new_context(base_url=stream.url, viewport={"width": 1280, "height": 800})
    ctx.set_default_timeout(30_000)
    pg = ctx.new_page()
    errors: list[str] = []
    pg.on("pageerror", lambda e: errors.append(str(e)))
    yield pg
    ctx.close()
    assert not errors, errors


def _play_and_advance(page: Any, beyond: float = 1.0) -> None:
    page.evaluate("() => { const v = window.partagePlayer.video; v.muted = true; v.play(); }")
    page.wait_for_function(
        f"() => window.partagePlayer.video.currentTime > {beyond}", timeout=30_000
    )


def _shot(page: Any, name: str) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / f"{name}.png"))


def test_watch_page_plays_switches_quality_and_shows_subtitles(
    stream: Stream, clips: Clips, page: Any
) -> None:
    acc = stream.account()
    code = stream.upload(acc, clips.faststart, "watch-me.mp4")
    stream.wait(acc, code)
    r = acc.client.post(
        f"/api/v1/files/{code}/subtitles",
        files={"file": ("fr.srt", SRT_FR.encode("cp1252"))},
        data={"language": "fr", "label": "Français"},
    )
    assert r.status_code == 201, r.text

    page.goto(f"/v/{code}")
    page.wait_for_function("() => window.partagePlayer && window.partagePlayer.hls")
    page.wait_for_function("() => document.querySelectorAll('#player-quality option').length === 3")
    labels = page.locator("#player-quality option").all_inner_texts()
    assert labels[0].lower().startswith("auto") and sorted(labels[1:]) == ["360p", "480p"]
    _play_and_advance(page)
    assert page.get_attribute("#player", "data-state") == "playing"

    # Quality: pick 480p; hls.js switches and the picture grows to 480 lines.
    value = page.eval_on_selector(
        "#player-quality", "s => [...s.options].find(o => o.text === '480p').value"
    )
    page.select_option("#player-quality", value)
    page.wait_for_function(
        "() => window.partagePlayer.video.videoHeight === 480 && "
        "window.partagePlayer.hls.currentLevel >= 0 && "
        "window.partagePlayer.hls.levels[window.partagePlayer.hls.currentLevel].height === 480"
    )
    _play_and_advance(page, beyond=2.0)

    # Subtitles: the uploaded French track shows its cue.
    page.select_option("#player-subtitles", label="Français")
    page.wait_for_function(
        "() => [...window.partagePlayer.video.textTracks].some(t => t.mode === 'showing' && "
        "t.activeCues && [...t.activeCues].some(c => c.text.includes('Déjà vu')))"
    )
    _shot(page, "player-watch-desktop")
    page.set_viewport_size({"width": 360, "height": 740})
    _shot(page, "player-watch-phone")


def test_embed_plays_with_audio_tracks_and_embedded_subtitles(
    stream: Stream, clips: Clips, page: Any
) -> None:
    acc = stream.account()
    code = stream.upload(acc, clips.multi, "two-languages.mkv")
    stream.wait(acc, code)
    page.goto(f"/embed/{code}")
    assert page.locator("header").count() == 0  # no site chrome in the iframe player
    page.wait_for_function("() => document.querySelectorAll('#player-audio option').length === 2")
    _play_and_advance(page)
    page.select_option("#player-audio", label="Français")
    page.wait_for_function("() => window.partagePlayer.hls.audioTrack === 1")
    _play_and_advance(page, beyond=2.0)
    page.select_option("#player-subtitles", index=1)
    page.evaluate("() => { window.partagePlayer.video.currentTime = 1; }")
    page.wait_for_function(
        "() => [...window.partagePlayer.video.textTracks].some(t => t.mode === 'showing' && "
        "t.activeCues && [...t.activeCues].some(c => c.text.includes('Hello from the MKV')))"
    )
    _shot(page, "player-embed")


@pytest.fixture
def slow_stream(tmp_path: Path) -> Iterator[Stream]:
    """A server whose ladder starts 4 s late: time to see the processing message."""
    wrapper = tmp_path / "slow-ffmpeg"
    wrapper.write_text('#!/bin/sh\ncase "$*" in *"-f hls"*) sleep 4;; esac\nexec ffmpeg "$@"\n')
    wrapper.chmod(0o755)
    st = start_stream("embedded", tmp_path / "data", PARTAGE_FFMPEG=str(wrapper))
    yield st
    st.server.stop()


def test_processing_message_then_playback(
    browser: Any,
    slow_stream: Stream,
    clips: Clips,
) -> None:
    acc = slow_stream.account()
    # Matroska does not play in browsers as it is: nothing to show until the ladder.
    code = slow_stream.upload(acc, clips.vfr, "wait-for-it.mkv")
    ctx = browser.new_context(base_url=slow_stream.url)
    try:
        page = ctx.new_page()
        page.goto(f"/v/{code}")
        assert page.get_attribute("#player", "data-state") == "processing"
        message = page.locator(".player-message")
        assert "processed" in message.inner_text()
        _shot(page, "player-processing")
        page.wait_for_function(
            "() => ['ready', 'playing'].includes(document.querySelector('#player').dataset.state)",
            timeout=60_000,
        )
        _play_and_advance(page)
    finally:
        ctx.close()


def test_audio_file_plays_in_the_audio_player(stream: Stream, clips: Clips, page: Any) -> None:
    acc = stream.account()
    code = stream.upload(acc, clips.mp3, "tone.mp3")
    stream.wait(acc, code)
    page.goto(f"/v/{code}")
    assert page.eval_on_selector("#player-video", "e => e.tagName") == "AUDIO"
    assert page.locator("#player-quality").is_hidden()
    _play_and_advance(page)
    _shot(page, "player-audio")
