"""The media job's life under real conditions: lowest rung first, cancel and re-run
from the admin CLI, a time limit, a transient failure retried once, a worker killed
mid-job, in embedded mode and with Redis and a separate `partage worker`."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path
from typing import Any
from urllib.parse import urljoin

import pytest

from tests.streaming.conftest import Stream, _run, get, make_admin, start_stream


@pytest.fixture(scope="session")
def long_clip(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """24 s of 1280x720: three rungs, a few seconds of work on two cores."""
    path = tmp_path_factory.mktemp("long") / "long.mp4"
    _run("-f", "lavfi", "-i", "testsrc2=size=1280x720:rate=30",
         "-f", "lavfi", "-i", "sine=frequency=330:sample_rate=48000", "-t", "24",
         "-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p", "-c:a", "aac",
         "-movflags", "+faststart", path)  # fmt: skip
    return path


@pytest.fixture(scope="session")
def medium_clip(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """12 s of 854x480: long enough to be caught running, quick to finish."""
    path = tmp_path_factory.mktemp("medium") / "medium.mp4"
    _run("-f", "lavfi", "-i", "testsrc2=size=854x480:rate=30",
         "-f", "lavfi", "-i", "sine=frequency=550:sample_rate=48000", "-t", "12",
         "-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p", "-c:a", "aac",
         "-movflags", "+faststart", path)  # fmt: skip
    return path


def _variant_urls(master_url: str) -> list[str]:
    lines = get(master_url).text.splitlines()
    return [urljoin(master_url, lines[i + 1]) for i, x in enumerate(lines)
            if x.startswith("#EXT-X-STREAM-INF")]  # fmt: skip


def admin_cli(stream: Stream, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "partage.cli.main", "admin", "media", *args,
         "--data-dir", str(stream.server.data_dir)],
        env=stream.server.full_env(), capture_output=True, text=True, timeout=60,
    )  # fmt: skip


def ffmpeg_running(data_dir: Path) -> bool:
    found = subprocess.run(["pgrep", "-f", f"ffmpeg.*{data_dir}"], capture_output=True)
    return found.returncode == 0


def _mid_ladder(v: dict[str, Any]) -> bool:
    """The ladder is being made: its lowest rung is out, the rest is not."""
    return v["state"] == "running" and v["hls_url"] is not None and not v["complete"]


def test_lowest_rung_first_then_cancel_and_retry(stream: Stream, long_clip: Path) -> None:
    acc = stream.account()
    code = stream.upload(acc, long_clip, "lowest-first.mp4")
    early = stream.wait(acc, code, lambda v: v["hls_url"] is not None or v["state"] == "done")
    assert early["state"] == "running" and not early["complete"], "ladder ended too soon"
    # Only the lowest rung is published while the others are made.
    (variant,) = _variant_urls(early["hls_url"])
    assert variant.endswith("/hls/360p/index.m3u8")
    playlist = get(variant).text
    assert "#EXT-X-PLAYLIST-TYPE:EVENT" in playlist and "#EXT-X-ENDLIST" not in playlist
    first = next(x for x in playlist.splitlines() if x.endswith(".m4s"))
    assert get(urljoin(variant, first)).status_code == 200

    # The API, not the CLI: a CLI process can take seconds to start on a busy machine,
    # and the ladder must still be running when the cancel lands.
    with make_admin(stream) as admin:
        r = admin.post(f"/api/v1/admin/media/{code}/cancel")
    assert r.status_code == 200, r.text
    failed = stream.wait(acc, code, timeout=30)
    assert failed["state"] == "failed" and "cancelled" in failed["error"]
    deadline = time.monotonic() + 10
    while ffmpeg_running(stream.server.data_dir) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert not ffmpeg_running(stream.server.data_dir)
    again = admin_cli(stream, "cancel", code)
    assert again.returncode == 1 and "nothing to cancel" in again.stderr

    listed = admin_cli(stream, "list", "--state", "failed")
    assert code in listed.stdout
    assert admin_cli(stream, "retry", code).returncode == 0
    final = stream.wait(acc, code, timeout=180)
    assert (final["state"], final["attempts"], final["complete"]) == ("done", 1, True)
    urls = _variant_urls(final["hls_url"])
    assert [u.rsplit("/", 2)[1] for u in urls] == ["360p", "480p", "720p"]
    assert all(get(u).text.rstrip().endswith("#EXT-X-ENDLIST") for u in urls)


def test_time_limit_kills_and_retries_once(tmp_path: Path, long_clip: Path) -> None:
    st = start_stream("embedded", tmp_path / "data", PARTAGE_MEDIA_TIMEOUT="1")
    try:
        acc = st.account()
        code = st.upload(acc, long_clip)
        v = st.wait(acc, code, timeout=60)
        assert v["state"] == "failed" and v["attempts"] == 2
        assert "longer than its limit (1 s)" in v["error"]
        assert not ffmpeg_running(st.server.data_dir)
    finally:
        st.server.stop()


def test_transient_failure_is_retried_once(tmp_path: Path, medium_clip: Path) -> None:
    """An ffmpeg that fails for a reason other than the input: the job runs again."""
    flags = tmp_path / "flags"
    flags.mkdir()
    wrapper = tmp_path / "flaky-ffmpeg"
    # The ladder's run fails the first time (or always, once `always` exists).
    wrapper.write_text(
        "#!/bin/sh\n"
        'case "$*" in *"-f hls"*)\n'
        f"  if [ -e {flags}/always ] || [ ! -e {flags}/once ]; then\n"
        f"    touch {flags}/once; echo 'Killed: out of memory' >&2; exit 137\n  fi;;\nesac\n"
        'exec ffmpeg "$@"\n'
    )
    wrapper.chmod(0o755)
    st = start_stream("embedded", tmp_path / "data", PARTAGE_FFMPEG=str(wrapper))
    try:
        acc = st.account()
        v = st.wait(acc, st.upload(acc, medium_clip, "flaky.mp4"), timeout=180)
        assert (v["state"], v["attempts"]) == ("done", 2)
        (flags / "always").touch()
        short = tmp_path / "short.mp4"
        _run("-f", "lavfi", "-i", "testsrc2=size=320x240", "-t", "1", short)
        v = st.wait(acc, st.upload(acc, short), timeout=60)
        assert (v["state"], v["attempts"]) == ("failed", 2)
        assert "exited with status 137" in v["error"]
        time.sleep(2)  # and no third run
        assert st.media(acc, v["code"])["attempts"] == 2
    finally:
        st.server.stop()


@pytest.mark.parametrize("mode", ["embedded", "redis"])
def test_job_of_a_killed_worker_is_picked_up(mode: str, tmp_path: Path, long_clip: Path) -> None:
    """Embedded: the whole server is killed and restarted. Redis: the worker process is
    killed and another one started. Either way the job is run again to the end."""
    st = start_stream(mode, tmp_path / "data")
    try:
        acc = st.account()
        code = st.upload(acc, long_clip)
        st.wait(acc, code, _mid_ladder)
        if st.worker is not None:
            st.worker.kill()
        else:
            st.server.kill()
        time.sleep(0.5)
        assert not ffmpeg_running(st.server.data_dir), "ffmpeg outlived its worker"
        if st.worker is not None:
            st.worker.start()
        else:
            st.server.start()
        v = st.wait(acc, code, timeout=180)
        assert (v["state"], v["attempts"], v["complete"]) == ("done", 2, True)
    finally:
        if st.worker is not None:
            st.worker.stop()
        st.server.stop()


def _plays(view: dict[str, Any], rungs: list[str]) -> None:
    """The view's outputs are all there: every rung's playlist is complete, its first
    segment and the poster download."""
    assert view["playable"] and view["complete"], view
    urls = _variant_urls(view["hls_url"])
    assert [u.rsplit("/", 2)[1] for u in urls] == rungs
    for u in urls:
        text = get(u).text
        assert text.rstrip().endswith("#EXT-X-ENDLIST"), text
        first = next(x for x in text.splitlines() if x.endswith(".m4s"))
        assert get(urljoin(u, first)).status_code == 200
    assert get(view["poster"]).status_code == 200


def test_a_cancelled_rerun_leaves_the_previous_outputs_playing(
    stream: Stream, long_clip: Path
) -> None:
    """A re-run builds beside what plays and swaps only when done: while it runs and
    after it is cancelled, the previous ladder keeps playing and the file is not listed
    as failed. (A re-run that ends swaps its outputs in: the retry at the end of
    test_lowest_rung_first_then_cancel_and_retry, whose first run left a playable rung.)"""
    acc = stream.account()
    code = stream.upload(acc, long_clip, "rerun.mp4")
    rungs = ["360p", "480p", "720p"]
    done = stream.wait(acc, code, timeout=180)
    assert done["state"] == "done"
    _plays(done, rungs)

    with make_admin(stream) as admin:
        assert admin.post(f"/api/v1/admin/media/{code}/retry").status_code == 200
        running = stream.wait(acc, code, lambda v: v["state"] == "running")
        _plays(running, rungs)  # mid-run: the previous outputs, whole
        r = admin.post(f"/api/v1/admin/media/{code}/cancel")
        assert r.status_code == 200, r.text  # it landed while the re-run ran
        after = stream.wait(acc, code, lambda v: v["state"] not in ("pending", "running"))
        assert after["state"] == "done", after
        _plays(after, rungs)
        sha = acc.client.get(f"/api/v1/files/{code}").json()["sha256"]
        jobs = admin.get("/api/v1/admin/media", params={"state": "failed"}).json()["items"]
        assert sha not in {j["sha256"] for j in jobs}
        (job,) = [j for j in admin.get("/api/v1/admin/media").json()["items"] if j["sha256"] == sha]
        assert "previous outputs are kept" in job["last_error"]
    deadline = time.monotonic() + 10
    while ffmpeg_running(stream.server.data_dir) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert list((stream.server.data_dir / "media").glob("*/.next-*")) == []
