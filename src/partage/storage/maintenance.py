"""Checking, cleaning and moving a blob store: `partage admin verify | gc | migrate-storage`.

The `blobs` table says which blobs must exist. An object without a row is an
orphan only once it is older than a grace period: a blob is stored before its
row commits (`files.blobs.blob_from_staged`), so a young one may be an upload
in flight. Media outputs (`ab/<sha256>/…`, in `settings.media_root` on local
storage, under `media/` in an S3 store) belong to the blob of that hash.

Everything streams: blobs are hashed in bounded chunks, listings and table
rows are read in batches, so memory stays flat whatever the store's size.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import sys
import tempfile
import time
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol, TypeGuard, TypeVar

import anyio
from sqlalchemy import func, select

from partage.db import Database
from partage.files.models import Blob
from partage.settings import Settings
from partage.storage import describe_store, primary_of
from partage.storage.base import BlobIntegrityError, BlobStore
from partage.storage.fallback import FallbackBlobStore
from partage.storage.local import LocalBlobStore, _is_key

if TYPE_CHECKING:
    from partage.storage.s3 import S3BlobStore

GRACE = 3600.0  # seconds an unreferenced object is taken for an upload in flight
BATCH = 500  # keys per database lookup
LIST_LIMIT = 10_000  # orphans kept for the report (they are all counted)
CHUNK = 1024 * 1024
_TYPES = {".m3u8": "application/vnd.apple.mpegurl", ".m4s": "video/iso.segment",
          ".mp4": "video/mp4", ".m4a": "audio/mp4", ".jpg": "image/jpeg",
          ".vtt": "text/vtt; charset=utf-8"}  # fmt: skip

T = TypeVar("T")
R = TypeVar("R")


class Progress(Protocol):
    def total(self, items: int, nbytes: int) -> None: ...

    def advance(self, nbytes: int) -> None: ...


def _is_s3(store: BlobStore) -> TypeGuard[S3BlobStore]:
    # boto3 takes a while to import: a store can only be an S3 one once it is loaded.
    module = sys.modules.get("partage.storage.s3")
    return module is not None and isinstance(store, module.S3BlobStore)


class _NoProgress:
    def total(self, items: int, nbytes: int) -> None:
        pass

    def advance(self, nbytes: int) -> None:
        pass


@dataclass
class Problem:
    key: str
    kind: str  # missing | corrupt | error
    detail: str
    size: int | None = None

    def as_json(self) -> dict[str, Any]:
        return {"key": self.key, "kind": self.kind, "detail": self.detail, "size": self.size}


@dataclass
class Orphan:
    key: str  # a blob key, or the sha256 of a media output directory
    size: int
    age: float  # seconds since it was last written


# -- media output areas ------------------------------------------------------------------


class MediaArea(Protocol):
    ident: str

    def dirs(self) -> Iterator[tuple[str, float]]:
        """(sha256, newest modification time) of every output directory."""
        ...

    def files(self, sha: str) -> Iterator[tuple[str, int]]:
        """(name relative to the area, size) of every file of one blob's outputs."""
        ...

    def local_path(self, name: str) -> Path | None: ...

    def fetch(self, name: str, dest: Path) -> None: ...

    def remove(self, sha: str) -> None: ...


class LocalMedia:
    def __init__(self, root: Path) -> None:
        self.root = Path(root).resolve()
        self.ident = f"file://{self.root}"

    def dirs(self) -> Iterator[tuple[str, float]]:
        for shard in sorted(_names(self.root)):
            for sha in sorted(_names(self.root / shard)):
                d = self.root / shard / sha
                if _is_key(sha) and sha[:2] == shard and d.is_dir():
                    try:
                        mtimes = [d.stat().st_mtime] + [p.stat().st_mtime for p in d.iterdir()]
                    except FileNotFoundError:
                        continue  # removed meanwhile
                    yield sha, max(mtimes)

    def files(self, sha: str) -> Iterator[tuple[str, int]]:
        base = self.root / sha[:2] / sha
        for dirpath, _dirs, names in os.walk(base):
            for n in sorted(names):
                p = Path(dirpath) / n
                yield p.relative_to(self.root).as_posix(), p.stat().st_size

    def local_path(self, name: str) -> Path | None:
        return self.root / name

    def fetch(self, name: str, dest: Path) -> None:
        shutil.copyfile(self.root / name, dest)

    def remove(self, sha: str) -> None:
        shutil.rmtree(self.root / sha[:2] / sha, ignore_errors=True)

    def put_from(self, src: MediaArea, name: str) -> int:
        """Copy `name` from `src` under the same name: a temp file, then a rename."""
        dest = self.root / name
        dest.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=dest.parent, prefix=".migrate-")
        os.close(fd)
        try:
            src.fetch(name, Path(tmp))
            os.replace(tmp, dest)
        finally:
            Path(tmp).unlink(missing_ok=True)
        return dest.stat().st_size


class S3Media:
    def __init__(self, store: S3BlobStore) -> None:
        self.store = store
        self.ident = f"{describe_store(store)}/media"

    def dirs(self) -> Iterator[tuple[str, float]]:
        current, newest = "", 0.0
        for name, _size, mtime in self.store.list_objects_with_times("media/"):
            parts = name.split("/")  # media/ab/<sha256>/…
            ok = len(parts) > 3 and _is_key(parts[2]) and parts[1] == parts[2][:2]
            sha = parts[2] if ok else ""
            if sha != current:
                if current:
                    yield current, newest
                current, newest = sha, 0.0
            newest = max(newest, mtime)
        if current:
            yield current, newest

    def files(self, sha: str) -> Iterator[tuple[str, int]]:
        for name, size in self.store.list_objects(f"media/{sha[:2]}/{sha}/"):
            yield name.removeprefix("media/"), size

    def local_path(self, name: str) -> Path | None:
        return None

    def fetch(self, name: str, dest: Path) -> None:
        from botocore.exceptions import ClientError

        from partage.storage.s3 import is_missing

        try:
            self.store.download(f"media/{name}", dest)
        except ClientError as e:
            if is_missing(e):
                raise FileNotFoundError(name) from e
            raise

    def remove(self, sha: str) -> None:
        self.store.delete_prefix(f"media/{sha[:2]}/{sha}/")

    def put_from(self, src: MediaArea, name: str, work_dir: Path) -> int:
        path = src.local_path(name)
        tmp: Path | None = None
        if path is None:
            fd, spool = tempfile.mkstemp(dir=work_dir, prefix="migrate-media-")
            os.close(fd)
            tmp = path = Path(spool)
            src.fetch(name, path)
        try:
            self.store.put_file(f"media/{name}", path, _TYPES.get(Path(name).suffix))
        finally:
            if tmp is not None:
                tmp.unlink(missing_ok=True)
        return self.store.object_size(f"media/{name}") or 0


def media_areas(store: BlobStore, settings: Settings) -> list[MediaArea]:
    """Where `store`'s media outputs live; a fallback store has the primary's first."""
    if isinstance(store, FallbackBlobStore):
        found = media_areas(store.primary, settings)
        for area in media_areas(store.fallback, settings):
            if area.ident not in {a.ident for a in found}:
                found.append(area)
        return found
    if _is_s3(store):
        return [S3Media(store)]
    if isinstance(store, LocalBlobStore):
        return [LocalMedia(settings.media_root)]
    return []


def _names(path: Path) -> list[str]:
    try:
        return [n for n in os.listdir(path) if len(n) == 2 or len(n) == 64]
    except (FileNotFoundError, NotADirectoryError):
        return []


# -- helpers ---------------------------------------------------------------------------------


def _batches(items: Iterable[T], n: int = BATCH) -> Iterator[list[T]]:
    batch: list[T] = []
    for item in items:
        batch.append(item)
        if len(batch) == n:
            yield batch
            batch = []
    if batch:
        yield batch


def _known_keys(db: Database, keys: list[str]) -> set[str]:
    with db.read() as s:
        return set(s.scalars(select(Blob.storage_key).where(Blob.storage_key.in_(keys))))


def _known_shas(db: Database, shas: list[str]) -> set[str]:
    with db.read() as s:
        return set(s.scalars(select(Blob.sha256).where(Blob.sha256.in_(shas))))


def _bounded_map(fn: Callable[[T], R], items: Iterable[T], workers: int) -> Iterator[R]:
    """`fn` over `items` on `workers` threads, at most 2×workers in flight; any order."""
    with ThreadPoolExecutor(max_workers=workers) as pool:
        pending: set[Future[R]] = set()
        for item in items:
            pending.add(pool.submit(fn, item))
            if len(pending) >= 2 * workers:
                done, pending = wait(pending, return_when=FIRST_COMPLETED)
                for f in done:
                    yield f.result()
        for f in pending:
            yield f.result()


@dataclass(frozen=True)
class Row:
    key: str
    sha256: str
    size: int


def _all_rows(db: Database) -> Iterator[Row]:
    last = 0
    while True:
        with db.read() as s:
            rows = s.execute(
                select(Blob.id, Blob.storage_key, Blob.sha256, Blob.size)
                .where(Blob.id > last).order_by(Blob.id).limit(BATCH)
            ).all()  # fmt: skip
        if not rows:
            return
        for r in rows:
            yield Row(r.storage_key, r.sha256, r.size)
        last = rows[-1].id


def _row_exists(db: Database, key: str) -> bool:
    with db.read() as s:
        return s.scalar(select(Blob.id).where(Blob.storage_key == key)) is not None


def _inner(store: BlobStore, key: str) -> BlobStore:
    """The store that actually holds `key` (the primary or the fallback of a fallback store)."""
    while isinstance(store, FallbackBlobStore):
        store = store.primary if store.primary.exists(key) else store.fallback
    return store


def hash_blob(store: BlobStore, key: str, size: int) -> str:
    """SHA-256 of the stored bytes, read through the store in bounded chunks."""
    h = hashlib.sha256()
    path = store.local_path(key)
    if path is not None:
        with open(path, "rb") as f:
            while chunk := f.read(CHUNK):
                h.update(chunk)
        return h.hexdigest()
    if size > 0:

        async def read() -> None:
            async for chunk in store.read_range(key, 0, size - 1):
                h.update(chunk)

        anyio.run(read)
    return h.hexdigest()


def _hash_file(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        while chunk := f.read(CHUNK):
            h.update(chunk)
    return h.hexdigest()


# -- verify -------------------------------------------------------------------------------


def check_blob(store: BlobStore, row: Row) -> Problem | None:
    """None when the stored blob has the row's size and hash."""
    actual = store.size(row.key)
    if actual is None:
        return Problem(row.key, "missing", "no object in the store", row.size)
    if actual != row.size:
        return Problem(row.key, "corrupt", f"{actual} bytes stored, {row.size} expected", row.size)
    try:
        digest = hash_blob(store, row.key, row.size)
    except FileNotFoundError:
        return Problem(row.key, "missing", "vanished while being read", row.size)
    if digest != row.sha256:
        return Problem(row.key, "corrupt", f"SHA-256 is {digest}", row.size)
    return None


@dataclass
class VerifyReport:
    store: str
    blobs: int = 0
    checked: int = 0
    checked_bytes: int = 0
    sample: int | None = None
    problems: list[Problem] = field(default_factory=list)
    orphans: list[Orphan] = field(default_factory=list)
    orphan_count: int = 0
    orphan_bytes: int = 0
    recent: int = 0  # unreferenced objects younger than the grace period
    orphan_media: list[Orphan] = field(default_factory=list)

    @property
    def missing(self) -> list[Problem]:
        return [p for p in self.problems if p.kind == "missing"]

    @property
    def corrupt(self) -> list[Problem]:
        return [p for p in self.problems if p.kind == "corrupt"]

    @property
    def errors(self) -> list[Problem]:
        return [p for p in self.problems if p.kind == "error"]

    @property
    def ok(self) -> bool:
        return not self.problems

    def as_json(self) -> dict[str, Any]:
        return {
            "store": self.store, "blobs": self.blobs, "checked": self.checked,
            "checked_bytes": self.checked_bytes, "sample": self.sample,
            "missing": [p.as_json() for p in self.missing],
            "corrupt": [p.as_json() for p in self.corrupt],
            "errors": [p.as_json() for p in self.errors],
            "orphans": [vars(o) for o in self.orphans], "orphan_count": self.orphan_count,
            "orphan_bytes": self.orphan_bytes, "recent_unreferenced": self.recent,
            "orphan_media": [vars(o) for o in self.orphan_media], "ok": self.ok,
        }  # fmt: skip


def find_orphans(
    db: Database, store: BlobStore, *, grace: float = GRACE, now: float | None = None
) -> Iterator[tuple[Orphan, bool]]:
    """(object, old enough) for every object of the store's primary without a blob row."""
    now = time.time() if now is None else now
    listing = getattr(primary_of(store), "list_blobs", None)
    if listing is None:
        return
    for batch in _batches(listing()):
        known = _known_keys(db, [key for key, _, _ in batch])
        for key, size, mtime in batch:
            if key not in known:
                yield Orphan(key, size, max(0.0, now - mtime)), now - mtime >= grace


def find_orphan_media(
    db: Database, area: MediaArea, *, grace: float = GRACE, now: float | None = None
) -> Iterator[Orphan]:
    """Media output directories older than the grace period whose blob row is gone."""
    now = time.time() if now is None else now
    for batch in _batches(area.dirs()):
        known = _known_shas(db, [sha for sha, _ in batch])
        for sha, mtime in batch:
            if sha not in known and now - mtime >= grace:
                yield Orphan(sha, 0, now - mtime)


def verify(
    db: Database,
    store: BlobStore,
    media: list[MediaArea],
    *,
    sample: int | None = 100,
    grace: float = GRACE,
    now: float | None = None,
    workers: int = 4,
    progress: Progress | None = None,
) -> VerifyReport:
    """Re-hash `sample` random blobs (all when None) and look for orphans."""
    progress = progress or _NoProgress()
    report = VerifyReport(describe_store(store), sample=sample)
    with db.read() as s:
        report.blobs = s.scalar(select(func.count()).select_from(Blob)) or 0
        if sample is not None:
            picked = s.execute(select(Blob.storage_key, Blob.sha256, Blob.size)
                               .order_by(func.random()).limit(sample)).all()  # fmt: skip
            rows: Iterable[Row] = [Row(r.storage_key, r.sha256, r.size) for r in picked]
            progress.total(len(picked), sum(r.size for r in picked))
        else:
            total = s.scalar(select(func.coalesce(func.sum(Blob.size), 0))) or 0
            rows = _all_rows(db)
            progress.total(report.blobs, int(total))

    def one(row: Row) -> tuple[Row, Problem | None]:
        try:
            found = check_blob(store, row)
        except Exception as e:  # unreadable (permissions, network): a problem, not a crash
            found = Problem(row.key, "error", f"{type(e).__name__}: {e}", row.size)
        progress.advance(row.size)
        return row, found

    for row, problem in _bounded_map(one, rows, workers):
        report.checked += 1
        report.checked_bytes += row.size
        if problem is not None:
            report.problems.append(problem)
    for orphan, old in find_orphans(db, store, grace=grace, now=now):
        if not old:
            report.recent += 1
            continue
        report.orphan_count += 1
        report.orphan_bytes += orphan.size
        if len(report.orphans) < LIST_LIMIT:
            report.orphans.append(orphan)
    for area in media[:1]:  # the primary's: a fallback store is never cleaned
        report.orphan_media.extend(find_orphan_media(db, area, grace=grace, now=now))
    return report


# -- gc -------------------------------------------------------------------------------------


@dataclass
class GcReport:
    store: str
    dry_run: bool
    removed: list[Orphan] = field(default_factory=list)
    removed_bytes: int = 0
    media_removed: list[Orphan] = field(default_factory=list)
    temp_removed: int = 0
    kept_recent: int = 0

    def as_json(self) -> dict[str, Any]:
        return {
            "store": self.store, "dry_run": self.dry_run,
            "removed": [vars(o) for o in self.removed], "removed_bytes": self.removed_bytes,
            "media_removed": [vars(o) for o in self.media_removed],
            "temp_removed": self.temp_removed, "kept_recent": self.kept_recent,
        }  # fmt: skip


def gc(
    db: Database,
    store: BlobStore,
    media: list[MediaArea],
    *,
    dry_run: bool = False,
    grace: float = GRACE,
    now: float | None = None,
) -> GcReport:
    """Remove orphans older than `grace` from the primary store: blobs without a row,
    media output directories without a blob, temporary files of interrupted writes."""
    now = time.time() if now is None else now
    primary = primary_of(store)
    report = GcReport(describe_store(primary), dry_run)
    for orphan, old in find_orphans(db, primary, grace=grace, now=now):
        if not old:
            report.kept_recent += 1
            continue
        # Checked again just before deleting: an identical upload may have claimed it.
        if not dry_run:
            if _row_exists(db, orphan.key):
                continue
            primary.delete(orphan.key)
        report.removed.append(orphan)
        report.removed_bytes += orphan.size
    for area in media[:1]:
        for orphan in find_orphan_media(db, area, grace=grace, now=now):
            if not dry_run:
                if _known_shas(db, [orphan.key]):
                    continue
                area.remove(orphan.key)
            report.media_removed.append(orphan)
    if isinstance(primary, LocalBlobStore) and primary.tmp.is_dir():
        for p in primary.tmp.iterdir():
            try:
                if p.is_file() and now - p.stat().st_mtime >= grace:
                    if not dry_run:
                        p.unlink()
                    report.temp_removed += 1
            except FileNotFoundError:
                pass
    return report


# -- migrate --------------------------------------------------------------------------------


@dataclass
class MigrateReport:
    source: str
    target: str
    blobs: int = 0
    copied: int = 0
    copied_bytes: int = 0
    skipped: int = 0
    gone: int = 0  # deleted while the migration ran
    failed: list[Problem] = field(default_factory=list)
    media_copied: int = 0
    media_bytes: int = 0
    media_skipped: int = 0
    media_failed: list[Problem] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.failed and not self.media_failed

    def as_json(self) -> dict[str, Any]:
        return {
            "source": self.source, "target": self.target, "blobs": self.blobs,
            "copied": self.copied, "copied_bytes": self.copied_bytes, "skipped": self.skipped,
            "gone": self.gone, "failed": [p.as_json() for p in self.failed],
            "media_copied": self.media_copied, "media_bytes": self.media_bytes,
            "media_skipped": self.media_skipped,
            "media_failed": [p.as_json() for p in self.media_failed], "ok": self.ok,
        }  # fmt: skip


class CopyError(Exception):
    def __init__(self, kind: str, detail: str) -> None:
        super().__init__(detail)
        self.kind = kind
        self.detail = detail


def _fetch(src: BlobStore, key: str, size: int, dest: Path) -> None:
    """The source blob into the local file `dest`."""
    if _is_s3(src):
        src.download_blob(key, dest)
        return

    async def copy() -> None:
        with open(dest, "wb") as f:
            if size:
                async for chunk in src.read_range(key, 0, size - 1):
                    f.write(chunk)

    anyio.run(copy)


def copy_blob(src: BlobStore, dst: BlobStore, row: Row, work_dir: Path) -> bool:
    """Copy one blob unless `dst` has it with the right size; True when copied.

    The copy is hashed on the way (it must hash to the row's SHA-256) and its size
    checked once stored; `CopyError` says why a blob could not be copied."""
    have = dst.size(row.key)
    if have == row.size:
        return False
    src = _inner(src, row.key)
    found = src.size(row.key)
    if found is None:
        raise CopyError("missing", "not in the source store")
    if found != row.size:
        raise CopyError("corrupt", f"source has {found} bytes, {row.size} expected")
    if have is not None:
        dst.delete(row.key)  # a wrong copy from before: both backends keep what exists
    local = src.local_path(row.key)
    if isinstance(dst, LocalBlobStore) and local is not None:
        with open(local, "rb") as f:
            try:
                dst.put_chunks(iter(lambda: f.read(CHUNK), b""), row.sha256)
            except BlobIntegrityError as e:
                got = str(e).rsplit(" ", 1)[-1]  # "expected <sha256>, got <sha256>"
                raise CopyError("corrupt", f"source hashes to {got}") from e
    else:
        spool = dst.tmp if isinstance(dst, LocalBlobStore) else work_dir
        tmp: Path | None = None
        if local is None:
            fd, name = tempfile.mkstemp(dir=spool, prefix="migrate-")
            os.close(fd)
            tmp = local = Path(name)
        try:
            if tmp is not None:
                _fetch(src, row.key, row.size, tmp)
            digest = _hash_file(local)
            if digest != row.sha256:
                raise CopyError("corrupt", f"source hashes to {digest}")
            if _is_s3(dst):
                dst.upload_blob(local, row.key)
            elif tmp is not None:
                dst.put_staged(tmp, row.sha256)  # a rename on local disk
            else:
                with open(local, "rb") as f:
                    dst.put_chunks(iter(lambda: f.read(CHUNK), b""), row.sha256)
        finally:
            if tmp is not None:
                tmp.unlink(missing_ok=True)
    stored = dst.size(row.key)
    if stored != row.size:
        raise CopyError("error", f"the copy has {stored} bytes, {row.size} expected")
    return True


def migrate(
    db: Database,
    src: BlobStore,
    dst: BlobStore,
    src_media: list[MediaArea],
    dst_media: MediaArea | None,
    *,
    work_dir: Path,
    workers: int = 4,
    progress: Progress | None = None,
) -> MigrateReport:
    """Copy every blob with a row, then the media outputs of those blobs, from `src` to
    `dst`; what `dst` has with the right size is skipped, so a re-run resumes."""
    progress = progress or _NoProgress()
    report = MigrateReport(describe_store(src), describe_store(dst))
    work_dir.mkdir(parents=True, exist_ok=True)
    with db.read() as s:
        count = s.scalar(select(func.count()).select_from(Blob)) or 0
        total = s.scalar(select(func.coalesce(func.sum(Blob.size), 0))) or 0
    progress.total(count, int(total))

    def one(row: Row) -> tuple[Row, bool | Problem]:
        try:
            outcome: bool | Problem = copy_blob(src, dst, row, work_dir)
        except CopyError as e:
            outcome = Problem(row.key, e.kind, e.detail, row.size)
        except Exception as e:  # one blob's network or disk error must not stop the rest
            outcome = Problem(row.key, "error", f"{type(e).__name__}: {e}", row.size)
        progress.advance(row.size)
        return row, outcome

    for row, outcome in _bounded_map(one, _all_rows(db), workers):
        report.blobs += 1
        if outcome is True:
            report.copied += 1
            report.copied_bytes += row.size
        elif outcome is False:
            report.skipped += 1
        elif isinstance(outcome, Problem):
            if outcome.kind == "missing" and not _row_exists(db, row.key):
                report.gone += 1
            else:
                report.failed.append(outcome)
    if dst_media is not None:
        for area in src_media:
            if area.ident != dst_media.ident:
                _migrate_media(db, area, dst_media, report, work_dir)
    return report


def _migrate_media(
    db: Database, src: MediaArea, dst: MediaArea, report: MigrateReport, work_dir: Path
) -> None:
    for batch in _batches(src.dirs()):
        known = _known_shas(db, [sha for sha, _ in batch])
        for sha, _mtime in batch:
            if sha not in known:
                continue  # outputs of deleted content: `partage admin gc` removes them
            have = dict(dst.files(sha))
            for name, size in src.files(sha):
                if have.get(name) == size:
                    report.media_skipped += 1
                    continue
                try:
                    if isinstance(dst, LocalMedia):
                        copied = dst.put_from(src, name)
                    else:
                        assert isinstance(dst, S3Media)
                        copied = dst.put_from(src, name, work_dir)
                except FileNotFoundError:
                    continue  # the directory went away (its content was deleted meanwhile)
                except Exception as e:
                    report.media_failed.append(Problem(name, "error", f"{type(e).__name__}: {e}"))
                    continue
                if copied != size:
                    detail = f"the copy has {copied} bytes, {size} expected"
                    report.media_failed.append(Problem(name, "error", detail, size))
                    continue
                report.media_copied += 1
                report.media_bytes += size
