"""Where the client keeps its server address and API token.

`partage login` writes `config.toml` in the user config directory
(`platformdirs.user_config_dir("partage")`, e.g. `~/.config/partage/`) with
mode 0600. Two environment variables override the file, each on its own:
`PARTAGE_URL` (the server's address) and `PARTAGE_TOKEN` (an API token). They
are the only environment variables the client reads.

Unfinished uploads remember their tus URLs in `uploads/` in the user cache
directory: losing it only means the next run starts over.
"""

from __future__ import annotations

import contextlib
import os
import tomllib
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

from platformdirs import user_cache_dir, user_config_dir

from partage.cli.client_errors import ClientError

APP = "partage"
NOT_LOGGED_IN = "not logged in: run `partage login URL`"


def config_file() -> Path:
    return Path(user_config_dir(APP)) / "config.toml"


def upload_store_dir() -> Path:
    return Path(user_cache_dir(APP)) / "uploads"


@dataclass(frozen=True)
class Config:
    url: str | None
    token: str | None

    def require(self) -> tuple[str, str]:
        """The server address and token, or the one-line error telling how to log in."""
        if not self.url or not self.token:
            raise ClientError(NOT_LOGGED_IN)
        return self.url, self.token


def normalise_url(raw: str) -> str:
    """`files.example.org` → `https://files.example.org`; no trailing slash."""
    text = raw.strip().rstrip("/")
    if "://" not in text:
        text = "https://" + text
    parts = urlsplit(text)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise ClientError(f"{raw!r} is not a server address (like https://files.example.org)")
    return text


def _read_file(path: Path) -> dict[str, str]:
    try:
        with path.open("rb") as fh:
            data = tomllib.load(fh)
    except FileNotFoundError:
        return {}
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise ClientError(f"cannot read {path}: {exc}") from None
    return {k: v for k, v in data.items() if isinstance(v, str) and v}


def load() -> Config:
    stored = _read_file(config_file())
    env_url = os.environ.get("PARTAGE_URL")
    url = normalise_url(env_url) if env_url else None
    stored_url = normalise_url(stored["url"]) if stored.get("url") else None
    token = os.environ.get("PARTAGE_TOKEN")
    if not token and (url is None or url == stored_url):
        token = stored.get("token")  # never hand the stored token to another server
    return Config(url or stored_url, token.strip() if token else None)


def _toml_string(value: str) -> str:
    escaped = value.replace("\\", "\\\\").replace('"', '\\"')
    return '"' + "".join(c if c.isprintable() else f"\\u{ord(c):04x}" for c in escaped) + '"'


def save(url: str, token: str) -> Path:
    """Write the file readable by its owner only, replacing any previous one atomically."""
    path = config_file()
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    tmp = path.with_name(path.name + ".tmp")
    with contextlib.suppress(FileNotFoundError):
        tmp.unlink()
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as fh:
        fh.write("# Written by `partage login`. Keep it private: it holds an API token.\n")
        fh.write(f"url = {_toml_string(url)}\ntoken = {_toml_string(token)}\n")
    os.chmod(tmp, 0o600)  # whatever the umask did
    os.replace(tmp, path)
    return path


def clear() -> bool:
    """Remove the stored login; False when there was none."""
    try:
        config_file().unlink()
    except FileNotFoundError:
        return False
    return True
