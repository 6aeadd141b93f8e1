"""Bare Starlette reference apps for bench/transfer.py, served by granian exactly like
`partage serve` (ASGI interface, one worker).

Run: granian --interface asgi --workers 1 --working-dir bench bare_apps:app

Routes
- `GET /f/{name}`: a Starlette `FileResponse` of BENCH_FILES_DIR/name. Under granian,
  Starlette sends whole-file 200 responses with the ASGI `http.response.pathsend`
  extension, so the body never goes through Python.
- `PUT|PATCH /upload`: the minimal honest equivalent of a tus PATCH: stream
  `request.stream()` into a new file under BENCH_UPLOAD_DIR while computing its SHA-256;
  answers the size and digest. `?fsync=1` also fsyncs the file before answering (what a
  durable blob store must do once the upload is complete). The file is kept, like an
  upload would be; the benchmark empties BENCH_UPLOAD_DIR between runs.
"""

from __future__ import annotations

import hashlib
import os
import tempfile
from pathlib import Path

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import FileResponse, JSONResponse, Response
from starlette.routing import Route

FILES_DIR = Path(os.environ.get("BENCH_FILES_DIR", "."))
UPLOAD_DIR = Path(os.environ.get("BENCH_UPLOAD_DIR", tempfile.gettempdir()))


async def serve_file(request: Request) -> Response:
    return FileResponse(FILES_DIR / request.path_params["name"])


async def upload(request: Request) -> Response:
    fsync = request.query_params.get("fsync") == "1"
    digest = hashlib.sha256()
    size = 0
    fd, _ = tempfile.mkstemp(dir=UPLOAD_DIR, prefix="bare-upload-")
    with os.fdopen(fd, "wb", buffering=0) as f:
        async for chunk in request.stream():
            digest.update(chunk)
            f.write(chunk)
            size += len(chunk)
        if fsync:
            os.fsync(f.fileno())
    return JSONResponse({"size": size, "sha256": digest.hexdigest()})


app = Starlette(
    routes=[
        Route("/f/{name}", serve_file, methods=["GET", "HEAD"]),
        Route("/upload", upload, methods=["PUT", "PATCH"]),
    ]
)
