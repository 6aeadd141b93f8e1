"""S3-compatible object storage (AWS, Scaleway, MinIO, Ceph RGW, Garage) through boto3.

Layout under `s3://bucket/prefix/`:

- `blobs/ab/cd/<sha256>`: content-addressed blobs, as on local disk;
- `media/ab/<sha256>/…`: a blob's media outputs (HLS ladder, posters);
- `uploads/<id>…`: resumable uploads in progress (tus), see `uploads/s3staging.py`.

Large bodies always move as streams: files go up with boto3's managed
multipart transfer, reads are ranged GETs consumed in bounded chunks, and a
staged object becomes a blob by server-side copy. An object is visible only
once its upload completes, so a crash never leaves a partial blob.
"""

from __future__ import annotations

import hashlib
import os
import tempfile
from collections.abc import AsyncIterator, Iterable, Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import anyio
import boto3
from boto3.s3.transfer import TransferConfig
from botocore.config import Config
from botocore.exceptions import ClientError

from partage.storage.base import BlobIntegrityError, StoredBlob, check_key

READ_CHUNK = 256 * 1024
_MISSING = ("404", "NoSuchKey", "NotFound", "NoSuchUpload")


def is_missing(exc: ClientError) -> bool:
    return str(exc.response.get("Error", {}).get("Code")) in _MISSING


def parse_s3_url(url: str) -> tuple[str, str]:
    """`s3://bucket/some/prefix` → ("bucket", "some/prefix/"); the prefix may be empty."""
    parts = urlsplit(url)
    if parts.scheme != "s3" or not parts.netloc:
        raise ValueError(f"PARTAGE_STORAGE_URL: {url!r} is not s3://bucket/prefix")
    prefix = parts.path.strip("/")
    return parts.netloc, f"{prefix}/" if prefix else ""


class S3BlobStore:
    def __init__(
        self,
        bucket: str,
        prefix: str = "",
        *,
        endpoint_url: str | None = None,
        region: str | None = None,
        access_key_id: str | None = None,
        secret_access_key: str | None = None,
        addressing_style: str = "auto",
        part_size: int = 8 * 1024**2,
        spool_dir: Path | None = None,
        profile: str | None = None,
    ) -> None:
        self.bucket = bucket
        self.prefix = prefix
        self.part_size = part_size
        self.spool_dir = Path(spool_dir) if spool_dir else Path(tempfile.gettempdir())
        config = Config(
            s3={"addressing_style": addressing_style},
            signature_version="s3v4",  # presigned URLs too (boto3 may default to SigV2)
            retries={"max_attempts": 5, "mode": "standard"},
            max_pool_connections=64,
            connect_timeout=5,
            read_timeout=60,
        )
        self.client: Any = boto3.session.Session(profile_name=profile).client(
            "s3",
            endpoint_url=endpoint_url,
            region_name=region,
            aws_access_key_id=access_key_id,
            aws_secret_access_key=secret_access_key,
            config=config,
        )
        self.transfer = TransferConfig(
            multipart_threshold=part_size, multipart_chunksize=part_size, max_concurrency=4
        )

    # -- names ------------------------------------------------------------------------

    def name_for(self, key: str) -> str:
        check_key(key)
        return f"{self.prefix}blobs/{key[:2]}/{key[2:4]}/{key}"

    def full(self, name: str) -> str:
        """The object key of a name relative to the store's prefix."""
        return self.prefix + name

    # -- blobs ------------------------------------------------------------------------

    def put_staged(self, path: Path, sha256: str) -> StoredBlob:
        size = path.stat().st_size
        if not self.exists(sha256):
            self.client.upload_file(
                str(path), self.bucket, self.name_for(sha256), Config=self.transfer
            )
        path.unlink(missing_ok=True)
        return StoredBlob(sha256, sha256, size)

    def put_chunks(self, chunks: Iterable[bytes], expected_sha256: str | None = None) -> StoredBlob:
        # The key is the hash, known only at the end: spool to disk, then upload.
        self.spool_dir.mkdir(parents=True, exist_ok=True)
        fd, name = tempfile.mkstemp(dir=self.spool_dir, prefix="s3-spool-")
        spool = Path(name)
        try:
            h = hashlib.sha256()
            with os.fdopen(fd, "wb") as f:
                for chunk in chunks:
                    h.update(chunk)
                    f.write(chunk)
            digest = h.hexdigest()
            if expected_sha256 and digest != expected_sha256:
                raise BlobIntegrityError(f"expected {expected_sha256}, got {digest}")
            return self.put_staged(spool, digest)
        finally:
            spool.unlink(missing_ok=True)

    def adopt(self, name: str, sha256: str) -> StoredBlob:
        """Make the staged object `name` the blob `sha256` by server-side copy. The caller
        deletes `name` (after its transaction commits)."""
        size = self.object_size(name)
        if size is None:
            raise FileNotFoundError(name)
        if not self.exists(sha256):
            self.client.copy(
                {"Bucket": self.bucket, "Key": self.full(name)},
                self.bucket,
                self.name_for(sha256),
                Config=self.transfer,
            )
        return StoredBlob(sha256, sha256, size)

    def head_bytes(self, name: str, n: int) -> bytes:
        """The first `n` bytes of an object (content sniffing); b"" for an empty one."""
        try:
            body = self.client.get_object(
                Bucket=self.bucket, Key=self.full(name), Range=f"bytes=0-{n - 1}"
            )["Body"]
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") == "InvalidRange":
                return b""
            raise
        with body:
            return bytes(body.read())

    def exists(self, key: str) -> bool:
        return self.size(key) is not None

    def size(self, key: str) -> int | None:
        return self._head(self.name_for(key))

    def local_path(self, key: str) -> Path | None:
        check_key(key)
        return None

    def read_range(self, key: str, start: int, end: int) -> AsyncIterator[bytes]:
        return self._read(self.name_for(key), start, end)

    def delete(self, key: str) -> None:
        self.client.delete_object(Bucket=self.bucket, Key=self.name_for(key))

    def keys(self) -> Iterator[str]:
        for name, _size in self.list_objects("blobs/"):
            key = name.rsplit("/", 1)[-1]
            if len(key) == 64:
                yield key

    def list_blobs(self) -> Iterator[tuple[str, int, float]]:
        """(key, size, modification time) of every stored blob, for maintenance."""
        for name, size, mtime in self.list_objects_with_times("blobs/"):
            key = name.rsplit("/", 1)[-1]
            if len(key) == 64 and name == self.name_for_relative(key):
                yield key, size, mtime

    def name_for_relative(self, key: str) -> str:
        """A blob's object name relative to the store's prefix."""
        return self.name_for(key)[len(self.prefix) :]

    def upload_blob(self, path: Path, key: str) -> None:
        """Upload a local file as blob `key`, leaving the file in place (the caller has
        checked that it hashes to `key`)."""
        self.client.upload_file(str(path), self.bucket, self.name_for(key), Config=self.transfer)

    def download_blob(self, key: str, path: Path) -> None:
        self.client.download_file(self.bucket, self.name_for(key), str(path), Config=self.transfer)

    def check(self) -> None:
        probe = self.full(f".probe/{os.urandom(8).hex()}")
        self.client.put_object(Bucket=self.bucket, Key=probe, Body=b"ok")
        self.client.delete_object(Bucket=self.bucket, Key=probe)

    def presigned_url(
        self, key: str, ttl: int, *, filename: str | None = None, content_type: str | None = None
    ) -> str:
        return self.presign_object(self.name_for(key), ttl, filename=filename,
                                   content_type=content_type, full=True)  # fmt: skip

    # -- named objects (media outputs, upload staging) ---------------------------------

    def put_file(self, name: str, path: Path, content_type: str | None = None) -> None:
        extra = {"ContentType": content_type} if content_type else None
        self.client.upload_file(str(path), self.bucket, self.full(name),
                                ExtraArgs=extra, Config=self.transfer)  # fmt: skip

    def put_bytes(self, name: str, data: bytes) -> None:
        self.client.put_object(Bucket=self.bucket, Key=self.full(name), Body=data)

    def object_size(self, name: str) -> int | None:
        return self._head(self.full(name))

    def read_object(self, name: str, start: int, end: int) -> AsyncIterator[bytes]:
        return self._read(self.full(name), start, end)

    def download(self, name: str, path: Path) -> None:
        self.client.download_file(self.bucket, self.full(name), str(path), Config=self.transfer)

    def delete_object(self, name: str) -> None:
        self.client.delete_object(Bucket=self.bucket, Key=self.full(name))

    def delete_prefix(self, prefix: str) -> int:
        """Remove every object under `prefix` (relative to the store's prefix)."""
        removed = 0
        batch: list[dict[str, str]] = []
        for name, _size in self.list_objects(prefix):
            batch.append({"Key": self.full(name)})
            if len(batch) == 1000:
                removed += self._delete_batch(batch)
                batch = []
        if batch:
            removed += self._delete_batch(batch)
        return removed

    def list_objects(self, prefix: str) -> Iterator[tuple[str, int]]:
        """(name, size) of every object under `prefix`, names relative to the store's prefix."""
        pages = self.client.get_paginator("list_objects_v2").paginate(
            Bucket=self.bucket, Prefix=self.full(prefix)
        )
        cut = len(self.prefix)
        for page in pages:
            for item in page.get("Contents", []):
                yield item["Key"][cut:], int(item["Size"])

    def list_objects_with_times(self, prefix: str) -> Iterator[tuple[str, int, float]]:
        """(name, size, last modified as a Unix time) of every object under `prefix`."""
        pages = self.client.get_paginator("list_objects_v2").paginate(
            Bucket=self.bucket, Prefix=self.full(prefix)
        )
        cut = len(self.prefix)
        for page in pages:
            for item in page.get("Contents", []):
                yield item["Key"][cut:], int(item["Size"]), item["LastModified"].timestamp()

    def presign_object(
        self,
        name: str,
        ttl: int,
        *,
        filename: str | None = None,
        content_type: str | None = None,
        full: bool = False,
    ) -> str:
        params: dict[str, Any] = {"Bucket": self.bucket, "Key": name if full else self.full(name)}
        if filename is not None:
            # The same header the app sends itself (with an ASCII fallback for curl -OJ).
            from partage.files.http_semantics import content_disposition

            params["ResponseContentDisposition"] = content_disposition(filename).decode()
        if content_type is not None:
            params["ResponseContentType"] = content_type
        return str(self.client.generate_presigned_url("get_object", Params=params, ExpiresIn=ttl))

    # -- internals --------------------------------------------------------------------

    def _head(self, full_name: str) -> int | None:
        try:
            head = self.client.head_object(Bucket=self.bucket, Key=full_name)
        except ClientError as exc:
            if is_missing(exc):
                return None
            raise
        return int(head["ContentLength"])

    def _delete_batch(self, batch: list[dict[str, str]]) -> int:
        self.client.delete_objects(Bucket=self.bucket, Delete={"Objects": batch, "Quiet": True})
        return len(batch)

    async def _read(self, full_name: str, start: int, end: int) -> AsyncIterator[bytes]:
        try:
            resp = await anyio.to_thread.run_sync(
                lambda: self.client.get_object(
                    Bucket=self.bucket, Key=full_name, Range=f"bytes={start}-{end}"
                )
            )
        except ClientError as exc:
            if is_missing(exc):
                raise FileNotFoundError(full_name) from exc
            raise
        body = resp["Body"]
        try:
            while True:
                chunk = await anyio.to_thread.run_sync(body.read, READ_CHUNK)
                if not chunk:
                    break
                yield chunk
        finally:
            body.close()
