"""Which ffmpeg binary to run.

`PARTAGE_FFMPEG` when set (it must exist and be executable), else `ffmpeg` on
`PATH`, else the static binary shipped by the `imageio-ffmpeg` package, so a
fresh machine needs no system package.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from functools import lru_cache
from pathlib import Path

from partage.settings import Settings


class FFmpegNotFound(RuntimeError):
    """No usable ffmpeg binary: a configuration problem, not bad input."""


def ffmpeg_path(settings: Settings) -> str:
    """The absolute path of the ffmpeg binary to run (resolved once per value)."""
    return _resolve(settings.ffmpeg)


def clear_cache() -> None:
    """Forget the resolved binary (after PATH or the setting changed)."""
    _resolve.cache_clear()
    ffmpeg_version.cache_clear()


@lru_cache(maxsize=8)
def _resolve(configured: str | None) -> str:
    if configured:
        path = Path(configured).expanduser()
        if not path.exists():
            raise FFmpegNotFound(f"PARTAGE_FFMPEG={configured}: no such file")
        if not path.is_file() or not os.access(path, os.X_OK):
            raise FFmpegNotFound(f"PARTAGE_FFMPEG={configured}: not an executable file")
        return str(path.resolve())
    found = shutil.which("ffmpeg")
    if found:
        return found
    try:
        import imageio_ffmpeg

        return str(imageio_ffmpeg.get_ffmpeg_exe())
    except (ImportError, RuntimeError) as e:
        raise FFmpegNotFound(
            "no ffmpeg: set PARTAGE_FFMPEG, install ffmpeg on PATH, "
            f"or install the imageio-ffmpeg package ({e})"
        ) from e


@lru_cache(maxsize=8)
def ffmpeg_version(path: str) -> str:
    """The version string of the binary at `path`, e.g. `7.1` or `n9.0.2-17-g2a571b6068`."""
    try:
        out = subprocess.run(
            [path, "-hide_banner", "-version"],
            capture_output=True,
            text=True,
            timeout=30,
            check=True,
        ).stdout
    except (OSError, subprocess.SubprocessError) as e:
        raise FFmpegNotFound(f"{path}: cannot run ffmpeg -version ({e})") from e
    first = out.splitlines()[0] if out else ""
    parts = first.split()
    if len(parts) >= 3 and parts[0] == "ffmpeg" and parts[1] == "version":
        return parts[2]
    raise FFmpegNotFound(f"{path}: not ffmpeg (its -version printed {first!r})")
