from __future__ import annotations

import os
import stat
from collections.abc import Iterator
from pathlib import Path

import imageio_ffmpeg
import pytest

from partage.media.ffmpeg import FFmpegNotFound, clear_cache, ffmpeg_path, ffmpeg_version
from partage.settings import Settings


@pytest.fixture(autouse=True)
def _fresh_cache() -> Iterator[None]:
    clear_cache()
    yield
    clear_cache()


def test_discovered_binary_runs(ffmpeg: str) -> None:
    assert Path(ffmpeg).is_file()
    version = ffmpeg_version(ffmpeg)
    assert version and version[0].isalnum()


def test_configured_missing_binary(tmp_path: Path) -> None:
    missing = tmp_path / "nope" / "ffmpeg"
    with pytest.raises(FFmpegNotFound, match=r"PARTAGE_FFMPEG=.*no such file"):
        ffmpeg_path(Settings(ffmpeg=str(missing)))


def test_configured_not_executable(tmp_path: Path) -> None:
    f = tmp_path / "ffmpeg"
    f.write_text("#!/bin/sh\n")
    f.chmod(0o644)
    with pytest.raises(FFmpegNotFound, match="not an executable"):
        ffmpeg_path(Settings(ffmpeg=str(f)))


def test_configured_binary_wins(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    real = imageio_ffmpeg.get_ffmpeg_exe()
    link = tmp_path / "my-ffmpeg"
    link.symlink_to(real)
    monkeypatch.setenv("PARTAGE_FFMPEG", str(link))
    assert ffmpeg_path(Settings()) == str(link.resolve())


def test_ffmpeg_on_path(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "ffmpeg").symlink_to(imageio_ffmpeg.get_ffmpeg_exe())
    monkeypatch.setenv("PATH", str(tmp_path))
    assert ffmpeg_path(Settings()) == str(tmp_path / "ffmpeg")


def test_imageio_fallback_without_path(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    empty = tmp_path / "bin"
    empty.mkdir()
    monkeypatch.setenv("PATH", str(empty))
    monkeypatch.delenv("PARTAGE_FFMPEG", raising=False)
    monkeypatch.delenv("IMAGEIO_FFMPEG_EXE", raising=False)
    path = ffmpeg_path(Settings())
    assert path == imageio_ffmpeg.get_ffmpeg_exe()
    assert os.stat(path).st_mode & stat.S_IXUSR
    assert ffmpeg_version(path)


def test_version_of_a_non_ffmpeg(tmp_path: Path) -> None:
    fake = tmp_path / "fake"
    fake.write_text("#!/bin/sh\necho hello\n")
    fake.chmod(0o755)
    with pytest.raises(FFmpegNotFound, match="not ffmpeg"):
        ffmpeg_version(str(fake))
