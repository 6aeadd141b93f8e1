"""Where a blob's media outputs (direct-play copy, posters, HLS ladder) live.

A job always writes into a local working directory, `media_root/ab/<sha256>/`
(ffmpeg needs files). With local storage that directory is the outputs' home
and readers serve from it. With an object store, a `Publisher` uploads what
the job made to `media/ab/<sha256>/…` beside the blobs, in an order that
never shows a reader a playlist naming a segment it cannot fetch: a step's
files once the step is done, and while the ladder encodes, each variant's
complete segments first, then its playlist. The working directory goes when
the job ends, so any web node, on any machine, serves the outputs.

A re-run of a blob that already has outputs builds beside them, in a staging
directory (`media_root/ab/.next-<sha256>/`), publishes nothing while it runs, and
swaps its outputs in only when it is done (`swap_in`): a re-run that is cancelled,
fails or dies leaves the previous outputs playing, and its staging is discarded.
"""

from __future__ import annotations

import logging
import mimetypes
import shutil
import threading
from collections.abc import AsyncIterator, Iterator
from contextlib import AbstractContextManager
from pathlib import Path
from typing import Protocol

from partage.context import Context
from partage.media.playlists import parse_media_playlist
from partage.media.ticker import every
from partage.storage import primary_of
from partage.storage.local import READ_CHUNK
from partage.storage.s3 import S3BlobStore

log = logging.getLogger("partage.media")

LIVE_SYNC_SECONDS = 2.0
# Files a job makes for itself and never publishes (the source copied from the store).
PRIVATE_PREFIXES = ("source-", ".")
_TYPES = {".m3u8": "application/vnd.apple.mpegurl", ".m4s": "video/iso.segment",
          ".vtt": "text/vtt"}  # fmt: skip


def rel_dir(sha256: str) -> str:
    return f"{sha256[:2]}/{sha256}"


STAGING_PREFIX = ".next-"


def staging_rel_dir(sha256: str) -> str:
    return f"{sha256[:2]}/{STAGING_PREFIX}{sha256}"


def _files(root: Path) -> list[str]:
    """What a job made under `root`, playlists last: whatever they name is already out."""
    found = [
        p.relative_to(root).as_posix()
        for p in root.rglob("*")
        if p.is_file() and not p.name.startswith(PRIVATE_PREFIXES)
    ]
    return sorted(found, key=lambda r: (r.endswith(".m3u8"), r))


class Publisher(Protocol):
    def step(self) -> None:
        """A step finished: publish everything new or changed in the working directory."""

    def live(self) -> None:
        """While the ladder encodes: publish each variant's complete segments, then its
        playlist. Thread-safe."""

    def close(self) -> None:
        """The job ended (well or not): drop what only the job needed."""


class Outputs(Protocol):
    def workdir(self, sha256: str) -> Path: ...

    def reset(self, sha256: str) -> None:
        """Remove an earlier attempt's outputs, wherever they were published."""

    def publisher(self, sha256: str) -> Publisher: ...

    def staging(self, sha256: str) -> Path:
        """A fresh, empty working directory for a re-run beside the current outputs."""

    def discard_staging(self, sha256: str) -> None: ...

    def swap_in(self, sha256: str) -> None:
        """Make the staged re-run's outputs the blob's outputs, dropping the old ones."""

    def local_path(self, sha256: str, rel: str) -> Path | None:
        """The output as a local file, when this backend keeps them on local disk."""

    def size(self, sha256: str, rel: str) -> int | None: ...

    def read(self, sha256: str, rel: str, start: int, end: int) -> AsyncIterator[bytes]: ...

    def presigned_url(self, sha256: str, rel: str, ttl: int) -> str | None: ...

    def remove(self, sha256: str) -> None: ...

    def stored(self) -> Iterator[tuple[str, float]]:
        """(sha256, last modified) of every blob with published outputs."""


class _NoPublisher:
    def step(self) -> None:
        pass

    def live(self) -> None:
        pass

    def close(self) -> None:
        pass


NO_PUBLISHER: Publisher = _NoPublisher()


class LocalOutputs:
    def __init__(self, root: Path) -> None:
        self.root = Path(root)

    def workdir(self, sha256: str) -> Path:
        return self.root / rel_dir(sha256)

    def reset(self, sha256: str) -> None:
        shutil.rmtree(self.workdir(sha256), ignore_errors=True)

    def publisher(self, sha256: str) -> Publisher:
        return NO_PUBLISHER

    def staging(self, sha256: str) -> Path:
        self.discard_staging(sha256)
        path = self.root / staging_rel_dir(sha256)
        path.mkdir(parents=True)
        return path

    def discard_staging(self, sha256: str) -> None:
        shutil.rmtree(self.root / staging_rel_dir(sha256), ignore_errors=True)

    def swap_in(self, sha256: str) -> None:
        # Two renames: a reader may miss the outputs for the instant between them
        # (a 404 its player retries), never see a mix of the two runs.
        live, staged = self.workdir(sha256), self.root / staging_rel_dir(sha256)
        old = live.with_name(f".old-{sha256}")
        shutil.rmtree(old, ignore_errors=True)
        if live.exists():
            live.rename(old)
        staged.rename(live)
        shutil.rmtree(old, ignore_errors=True)

    def local_path(self, sha256: str, rel: str) -> Path | None:
        path = self.workdir(sha256) / rel
        return path if path.is_file() else None

    def size(self, sha256: str, rel: str) -> int | None:
        path = self.local_path(sha256, rel)
        return path.stat().st_size if path else None

    async def read(self, sha256: str, rel: str, start: int, end: int) -> AsyncIterator[bytes]:
        import anyio

        async with await anyio.open_file(self.workdir(sha256) / rel, "rb") as f:
            await f.seek(start)
            left = end - start + 1
            while left > 0:
                chunk = await f.read(min(READ_CHUNK, left))
                if not chunk:
                    break
                left -= len(chunk)
                yield chunk

    def presigned_url(self, sha256: str, rel: str, ttl: int) -> str | None:
        return None

    def remove(self, sha256: str) -> None:
        self.reset(sha256)
        self.discard_staging(sha256)

    def stored(self) -> Iterator[tuple[str, float]]:
        if not self.root.is_dir():
            return
        for shard in self.root.iterdir():
            if shard.is_dir():
                for d in shard.iterdir():
                    if d.is_dir() and not d.name.startswith("."):  # staging: not outputs
                        yield d.name, d.stat().st_mtime


class _S3Publisher:
    def __init__(self, outputs: S3Outputs, sha256: str) -> None:
        self.outputs = outputs
        self.sha = sha256
        self.dir = outputs.workdir(sha256)
        self.sent: dict[str, tuple[int, int]] = {}  # rel → (size, mtime_ns) when uploaded
        self.lock = threading.Lock()

    def _put(self, rel: str) -> None:
        path = self.dir / rel
        st = path.stat()
        if self.sent.get(rel) == (st.st_size, st.st_mtime_ns):
            return
        kind = _TYPES.get(path.suffix) or mimetypes.guess_type(path.name)[0]
        self.outputs.store.put_file(self.outputs.name(self.sha, rel), path, kind)
        self.sent[rel] = (st.st_size, st.st_mtime_ns)

    def step(self) -> None:
        with self.lock:
            for rel in _files(self.dir):
                self._put(rel)

    def live(self) -> None:
        with self.lock:
            hls = self.dir / "hls"
            if not hls.is_dir():
                return
            for playlist in sorted(hls.glob("*/index.m3u8")):
                try:
                    media = parse_media_playlist(playlist.read_text())
                except (OSError, ValueError):
                    continue
                variant = playlist.parent.relative_to(self.dir).as_posix()
                names = [uri for _, uri in media.segments]
                if media.init:
                    names.insert(0, media.init)
                if not names or not all((playlist.parent / n).is_file() for n in names):
                    continue
                for n in names:
                    self._put(f"{variant}/{n}")
                self._put(f"{variant}/index.m3u8")

    def close(self) -> None:
        shutil.rmtree(self.dir, ignore_errors=True)


class S3Outputs:
    def __init__(self, store: S3BlobStore, work_root: Path) -> None:
        self.store = store
        self.work_root = Path(work_root)

    @staticmethod
    def name(sha256: str, rel: str) -> str:
        return f"media/{rel_dir(sha256)}/{rel}"

    def workdir(self, sha256: str) -> Path:
        return self.work_root / rel_dir(sha256)

    def reset(self, sha256: str) -> None:
        shutil.rmtree(self.workdir(sha256), ignore_errors=True)
        self.store.delete_prefix(f"media/{rel_dir(sha256)}/")

    def publisher(self, sha256: str) -> Publisher:
        return _S3Publisher(self, sha256)

    def staging(self, sha256: str) -> Path:
        self.discard_staging(sha256)
        path = self.work_root / staging_rel_dir(sha256)
        path.mkdir(parents=True)
        return path

    def discard_staging(self, sha256: str) -> None:
        shutil.rmtree(self.work_root / staging_rel_dir(sha256), ignore_errors=True)

    def swap_in(self, sha256: str) -> None:
        # Objects cannot be renamed: the new files overwrite the old ones (playlists
        # last), then what only the old run had goes.
        staged = self.work_root / staging_rel_dir(sha256)
        made = _files(staged)
        for rel in made:
            path = staged / rel
            kind = _TYPES.get(path.suffix) or mimetypes.guess_type(path.name)[0]
            self.store.put_file(self.name(sha256, rel), path, kind)
        keep = {self.name(sha256, rel) for rel in made}
        for name, _size in list(self.store.list_objects(f"media/{rel_dir(sha256)}/")):
            if name not in keep:
                self.store.delete_object(name)
        self.discard_staging(sha256)

    def local_path(self, sha256: str, rel: str) -> Path | None:
        return None

    def size(self, sha256: str, rel: str) -> int | None:
        return self.store.object_size(self.name(sha256, rel))

    def read(self, sha256: str, rel: str, start: int, end: int) -> AsyncIterator[bytes]:
        return self.store.read_object(self.name(sha256, rel), start, end)

    def presigned_url(self, sha256: str, rel: str, ttl: int) -> str | None:
        return self.store.presign_object(self.name(sha256, rel), ttl)

    def remove(self, sha256: str) -> None:
        self.reset(sha256)
        self.discard_staging(sha256)

    def stored(self) -> Iterator[tuple[str, float]]:
        # No age: a blob's media row exists before any of its outputs is published, so
        # an output listed before the rows are read and matching no row is an orphan.
        seen: set[str] = set()
        for name, _size in self.store.list_objects("media/"):
            parts = name.split("/")
            if len(parts) > 3 and parts[2] not in seen:
                seen.add(parts[2])
                yield parts[2], 0.0


def outputs_for(ctx: Context) -> Outputs:
    store = primary_of(ctx.store)  # a migration's read-through store writes there
    if isinstance(store, S3BlobStore):
        return S3Outputs(store, ctx.settings.media_root)
    return LocalOutputs(ctx.settings.media_root)


def live_sync(publisher: Publisher) -> AbstractContextManager[None]:
    """Publish a growing ladder every couple of seconds from a thread of its own."""
    return every(LIVE_SYNC_SECONDS, publisher.live, name="media-live-sync",
                 failed="live publish of media outputs failed")  # fmt: skip
