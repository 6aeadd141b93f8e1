"""`partage upload`: tus 1.0.0 through tuspy, resumable across runs.

Each upload's tus URL is kept in a tuspy url storage (client_urlstore) under a
fingerprint of the server, the account, the file (path, size, mtime, first
64 KiB) and the options, so running the same command again after a crash or a
kill continues from the offset the server holds rather than from zero.
"""

from __future__ import annotations

import hashlib
import json
import mimetypes
import time
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any

from rich.progress import Progress

from partage.cli import client_config
from partage.cli.client_api import Api, error_from_response
from partage.cli.client_errors import ClientError
from partage.cli.client_progress import error, progress_bar, status

if TYPE_CHECKING:
    from partage.cli.client_urlstore import UrlStore

KiB, MiB = 1024, 1024 * 1024
FIRST_CHUNK, MIN_CHUNK, MAX_CHUNK = 4 * MiB, 256 * KiB, 64 * MiB
CHUNK_SECONDS = 0.5  # aim: a progress update this often, without tiny requests
FINISH_TIMEOUT = 300.0


@dataclass(frozen=True)
class UploadOptions:
    folder: str | None = None
    password: str | None = None
    expires: str | None = None  # as typed (7d or ISO); converted when the upload is created
    expires_iso: str | None = None
    max_downloads: int | None = None
    public: bool | None = None
    limit_rate: int | None = None  # bytes per second


def metadata(path: Path, opts: UploadOptions) -> dict[str, str]:
    meta = {
        "filename": path.name,
        "filetype": mimetypes.guess_type(path.name)[0] or "application/octet-stream",
    }
    if opts.folder:
        meta["folder"] = opts.folder
    if opts.password:
        meta["password"] = opts.password
    if opts.expires_iso:
        meta["expires"] = opts.expires_iso
    if opts.max_downloads is not None:
        meta["max_downloads"] = str(opts.max_downloads)
    if opts.public is not None:
        meta["public"] = "true" if opts.public else "false"
    return meta


def _fingerprinter(server: str, token: str, path: Path, opts: UploadOptions) -> Any:
    from tusclient.fingerprint.interface import Fingerprint

    st = path.stat()
    identity = json.dumps(
        [server, hashlib.sha256(token.encode()).hexdigest(), str(path.resolve()), st.st_size,
         st.st_mtime_ns, opts.folder, opts.password, opts.expires, opts.max_downloads,
         opts.public],
    )  # fmt: skip

    class Keyed(Fingerprint):
        def get_fingerprint(self, fs: IO[bytes]) -> str:
            h = hashlib.sha256(identity.encode())
            h.update(fs.read(64 * KiB))
            return "partage:" + h.hexdigest()

    return Keyed()


def open_store() -> UrlStore:
    from partage.cli.client_urlstore import UrlStore

    return UrlStore(client_config.upload_store_dir())


def sha256_file(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as fh:
        while block := fh.read(4 * MiB):
            h.update(block)
    return h.hexdigest()


def _tus_error(exc: Exception, server: str) -> ClientError:
    status = getattr(exc, "status_code", None)
    content = getattr(exc, "response_content", None)
    if status is None:
        return ClientError(f"cannot reach {server}: {exc}", fatal=True)
    message = ""
    if content:
        try:
            body = json.loads(content)
            message = str(body.get("message") or body.get("error") or "")
        except (ValueError, AttributeError):
            message = content.decode(errors="replace")[:300] if isinstance(content, bytes) else ""
    message = message or f"the server answered {status}"
    return ClientError(message, status=status, fatal=status == 401)


class Uploader:
    """Uploads files one by one to one server, sharing one progress display."""

    def __init__(self, api: Api, token: str, opts: UploadOptions, progress: Progress) -> None:
        from tusclient.client import TusClient

        self.api = api
        self.token = token
        self.opts = opts
        self.progress = progress
        self.endpoint = f"{api.url}/api/v1/uploads"
        self.tus = TusClient(self.endpoint, headers={"Authorization": f"Bearer {token}"})
        self.store = open_store()
        self.hasher = ThreadPoolExecutor(max_workers=1)

    def close(self) -> None:
        self.hasher.shutdown(wait=False, cancel_futures=True)
        self.store.close()

    def upload(self, path: Path) -> dict[str, Any]:
        if not path.is_file():
            raise ClientError(f"{path}: {'a directory' if path.is_dir() else 'no such file'}")
        try:
            size = path.stat().st_size
            local_sha: Future[str] = self.hasher.submit(sha256_file, path)
            fp = _fingerprinter(self.api.url, self.token, path, self.opts)
            with path.open("rb") as fh:
                key = fp.get_fingerprint(fh)
        except OSError as exc:
            raise ClientError(f"{path}: {exc.strerror or exc}") from None
        upload_url, complete = self._known_upload(key)
        if upload_url is None or not complete:
            upload_url = self._send(path, size, fp)
        info = self._finished_file(upload_url)
        self.store.remove_item(key)
        self._verify(path, info, local_sha.result())
        return info

    def _known_upload(self, key: str) -> tuple[str | None, bool]:
        """The stored tus URL for this fingerprint if the server still has that upload,
        and whether it is complete (a run killed after its last chunk)."""
        url: str | None = self.store.get_item(key)
        if url is None:
            return None, False
        r = self.api.send("HEAD", url, headers={"Tus-Resumable": "1.0.0"})
        offset = r.headers.get("upload-offset")
        if r.status_code in (200, 204) and offset is not None:
            return url, offset == r.headers.get("upload-length")
        if r.status_code == 401:
            raise error_from_response(r)
        self.store.remove_item(key)  # expired, finished and cleaned up, or another server
        return None, False

    def _send(self, path: Path, size: int, fp: Any) -> str:
        from tusclient.exceptions import TusCommunicationError

        try:
            up = self.tus.uploader(
                file_path=str(path),
                chunk_size=FIRST_CHUNK,
                metadata=metadata(path, self.opts),
                store_url=True,
                url_storage=self.store,
                fingerprinter=fp,
            )
            if up.url:
                status(self.progress, f"resuming {path.name} at {up.offset:,} of {size:,} bytes")
            else:
                up.set_url(up.create_url())
                up.offset = 0
            self._chunks(up, path.name, size)
        except TusCommunicationError as exc:
            raise _tus_error(exc, self.api.url) from None
        return str(up.url)

    def _chunks(self, up: Any, name: str, size: int) -> None:
        from tusclient.exceptions import TusCommunicationError

        task = self.progress.add_task(name, total=size, completed=up.offset)
        started, sent, retries = time.monotonic(), 0, 0
        limit = self.opts.limit_rate
        while up.offset < size:
            before, t0 = up.offset, time.monotonic()
            try:
                up.upload_chunk()
            except TusCommunicationError as exc:
                # A conflict after a resume (the killed run's last PATCH landing late), a
                # dropped connection or a busy server: ask for the offset and go on.
                if retries >= 3 or exc.status_code not in (None, 409, 423, 500, 502, 503, 504):
                    raise
                retries += 1
                time.sleep(0.5 * retries)
                up.offset = up.get_offset()
                self.progress.update(task, completed=up.offset)
                continue
            retries = 0
            done, dt = up.offset - before, max(time.monotonic() - t0, 1e-3)
            sent += done
            self.progress.update(task, completed=up.offset)
            chunk = min(MAX_CHUNK, max(MIN_CHUNK, int(done / dt * CHUNK_SECONDS)))
            if limit:
                chunk = max(MIN_CHUNK, min(chunk, int(limit * CHUNK_SECONDS)))
                ahead = sent / limit - (time.monotonic() - started)
                if ahead > 0:
                    time.sleep(ahead)
            up.chunk_size = chunk // (64 * KiB) * (64 * KiB)

    def _finished_file(self, upload_url: str) -> dict[str, Any]:
        """The file made from a complete upload; the server may need a moment to ingest it."""
        deadline = time.monotonic() + FINISH_TIMEOUT
        delay = 0.05
        while True:
            r = self.api.send("GET", upload_url)
            if r.status_code >= 400:
                raise error_from_response(r)
            body = r.json()
            if body.get("file"):
                return dict(body["file"])
            if body.get("error") or body.get("message"):
                raise ClientError(str(body.get("message") or body.get("error")))
            if time.monotonic() > deadline:
                raise ClientError("the server did not finish processing the upload in time")
            time.sleep(delay)
            delay = min(1.0, delay * 2)

    def _verify(self, path: Path, info: dict[str, Any], local: str) -> None:
        remote = info.get("sha256")
        if remote == local:
            return
        if not remote:
            raise ClientError(f"{path.name}: the server did not report a SHA-256 to verify")
        try:
            self.api.delete_file(str(info["code"]))
            fate = "the uploaded copy was deleted"
        except ClientError:
            fate = f"delete it with `partage rm {info['code']}`"
        raise ClientError(
            f"{path.name}: SHA-256 mismatch after upload (local {local}, server {remote}); {fate}"
        )


def upload_files(api: Api, token: str, paths: list[Path], opts: UploadOptions) -> int:
    """Upload each file, printing its link on stdout; returns the number that failed."""
    failed = 0
    with progress_bar() as progress:
        up = Uploader(api, token, opts, progress)
        try:
            for path in paths:
                try:
                    info = up.upload(path)
                except ClientError as exc:
                    if exc.fatal:
                        raise
                    error(progress, exc.message)
                    failed += 1
                    continue
                print(info.get("url") or info["code"], flush=True)
        finally:
            up.close()
    return failed
