"""A folder as one zip, streamed while it is made (zipstream-ng): no temporary file,
and never a whole file in memory.

Entries are stored, not compressed: most shared files (video, images, archives) are
compressed already, deflating would cost a core per download, and stored entries
give the archive a size known in advance (`Content-Length`, so browsers show
progress). zipstream-ng switches to ZIP64 by itself past 4 GiB or 65,535 entries.

Blobs are read in bounded chunks, from the local path when the store has one, else
through `store.read_range` (S3). The archive is generated in a worker thread (Starlette
iterates a sync iterator in its thread pool), from which the async reads are run on
the event loop with `anyio.from_thread`.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Iterator
from typing import Any

import anyio.from_thread
from zipstream import ZIP_STORED, ZipStream

from partage.context import Context
from partage.files.folder_share import ZipEntry

log = logging.getLogger(__name__)

CHUNK = 256 * 1024


def _read_local(path: str, size: int) -> Iterator[bytes]:
    with open(path, "rb") as f:
        left = size
        while left > 0:
            chunk = f.read(min(CHUNK, left))
            if not chunk:
                raise OSError(f"{path} ended {left} bytes early")
            left -= len(chunk)
            yield chunk


def _read_store(ctx: Context, key: str, size: int) -> Iterator[bytes]:
    if size == 0:
        return
    stream: AsyncIterator[bytes] = ctx.store.read_range(key, 0, size - 1)

    async def next_chunk() -> bytes | None:
        try:
            return await stream.__anext__()
        except StopAsyncIteration:
            return None

    while (chunk := anyio.from_thread.run(next_chunk)) is not None:
        yield chunk


def blob_chunks(ctx: Context, key: str, size: int) -> Iterator[bytes]:
    path = ctx.store.local_path(key)
    if path is not None:
        yield from _read_local(str(path), size)
    else:
        yield from _read_store(ctx, key, size)


def build(ctx: Context, entries: list[ZipEntry], dirs: list[str]) -> ZipStream:
    """The archive, ready to iterate (in a worker thread) and with a known `len()`."""
    zs = ZipStream(compress_type=ZIP_STORED, sized=True)
    for e in entries:
        data: Any = blob_chunks(ctx, e.storage_key, e.size)
        zs.add(data, e.path, size=e.size)
    for d in dirs:
        zs.add(None, d)
    return zs
