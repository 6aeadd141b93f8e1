"""Streaming multipart/form-data: each file part goes straight to a staging file,
hashed as it arrives (python-multipart's push parser; nothing is spooled and re-read).
Text fields are small and kept in memory.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

from python_multipart.exceptions import FormParserError
from python_multipart.multipart import MultipartParser, parse_options_header

from partage.errors import BadRequest, PartageError
from partage.files.names import clean_name
from partage.uploads.staging import StagedWriter

MAX_FIELD = 64 * 1024
MAX_FIELDS = 100
MAX_FILES = 1000


@dataclass
class FormFile:
    name: str
    content_type: str | None
    writer: StagedWriter


def _decode(value: bytes) -> str:
    try:
        text = value.decode("utf-8")
    except UnicodeDecodeError:
        text = value.decode("latin-1")
    # Browsers and httpx escape these three in a quoted filename (HTML form encoding).
    return text.replace("%22", '"').replace("%0D", "\r").replace("%0A", "\n")


class FormReceiver:
    """Feed it the request stream; afterwards `files` and `fields` hold the form."""

    def __init__(
        self,
        staging_dir: Path,
        boundary: bytes,
        *,
        file_limit: int,
        file_error: PartageError,
        total_limit: int,
        total_error: PartageError,
    ) -> None:
        self.staging_dir = staging_dir
        self.boundary = boundary
        self.file_limit = file_limit
        self.file_error = file_error
        self.total_limit = total_limit
        self.total_error = total_error
        self.total = 0
        self.files: list[FormFile] = []
        self.fields: dict[str, str] = {}
        self.finished = False
        self._headers: dict[bytes, bytes] = {}
        self._hname = bytearray()
        self._hvalue = bytearray()
        self._field: str | None = None
        self._value = bytearray()
        self._writer: StagedWriter | None = None
        self._skip = False

    # -- parser callbacks (run inline in the event loop, like the tus PATCH loop) ------

    def _on_part_begin(self) -> None:
        self._headers, self._field, self._writer, self._skip = {}, None, None, False
        self._value = bytearray()

    def _on_header_field(self, data: bytes, start: int, end: int) -> None:
        self._hname += data[start:end]

    def _on_header_value(self, data: bytes, start: int, end: int) -> None:
        self._hvalue += data[start:end]

    def _on_header_end(self) -> None:
        self._headers[bytes(self._hname).lower()] = bytes(self._hvalue)
        self._hname, self._hvalue = bytearray(), bytearray()

    def _on_headers_finished(self) -> None:
        _, options = parse_options_header(self._headers.get(b"content-disposition", b""))
        if b"name" not in options:
            raise BadRequest("multipart: every part needs a Content-Disposition name.")
        if b"filename" not in options:
            if len(self.fields) >= MAX_FIELDS:
                raise BadRequest("multipart: %(max)s form fields at most.", max=MAX_FIELDS)
            self._field = _decode(options[b"name"])
            return
        filename = _decode(options[b"filename"])
        if filename == "":  # an empty file input of a browser form
            self._skip = True
            return
        if len(self.files) >= MAX_FILES:
            raise BadRequest("multipart: %(max)s files at most per request.", max=MAX_FILES)
        name = clean_name(filename)  # refuse a bad name before storing its bytes
        ctype = self._headers.get(b"content-type")
        writer = StagedWriter(self.staging_dir, self.file_limit, self.file_error)
        self.files.append(FormFile(name, ctype.decode("latin-1") if ctype else None, writer))
        self._writer = writer

    def _on_part_data(self, data: bytes, start: int, end: int) -> None:
        if self._writer is not None:
            n = end - start
            self.total += n
            if self.total > self.total_limit:
                raise self.total_error
            self._writer.write(memoryview(data)[start:end])
        elif self._field is not None:
            if len(self._value) + end - start > MAX_FIELD:
                raise BadRequest(
                    "multipart: the field %(field)s is over 64 KiB.", field=repr(self._field)
                )
            self._value += data[start:end]

    def _on_part_end(self) -> None:
        if self._writer is not None:
            self._writer.close()
        elif self._field is not None:
            self.fields[self._field] = _decode(bytes(self._value)).replace("\r\n", "\n")

    def _on_end(self) -> None:
        self.finished = True

    # -------------------------------------------------------------------------------

    async def receive(self, stream: AsyncIterator[bytes]) -> None:
        parser = MultipartParser(
            self.boundary,
            {
                "on_part_begin": self._on_part_begin,
                "on_part_data": self._on_part_data,
                "on_part_end": self._on_part_end,
                "on_header_field": self._on_header_field,
                "on_header_value": self._on_header_value,
                "on_header_end": self._on_header_end,
                "on_headers_finished": self._on_headers_finished,
                "on_end": self._on_end,
            },
        )
        try:
            async for chunk in stream:
                parser.write(chunk)
            parser.finalize()
        except FormParserError:
            self.discard()
            raise BadRequest("The multipart/form-data body is malformed.") from None
        except BaseException:
            self.discard()
            raise
        if not self.finished:
            self.discard()
            raise BadRequest("The multipart/form-data body ended early (no closing boundary).")

    def discard(self) -> None:
        for f in self.files:
            f.writer.discard()
