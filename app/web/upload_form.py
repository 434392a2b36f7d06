"""Receive uploaded files by streaming the multipart body to disk, with the size limit applied
while the bytes arrive: a file over the limit is cut off (its part discarded), the others are
kept. Requests are refused before any byte is read when Content-Length is already too big.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO

from fastapi import Depends, HTTPException, Request
from python_multipart.multipart import MultipartParser, parse_options_header
from starlette.datastructures import UploadFile

from app.accounts import AccountError, User
from app.documents.jobs import UploadJob
from app.documents.library import parse_groups
from app.documents.uploads import UploadQueue
from app.web.auth import AdminUser, accounts_of
from app.web.deps import settings_of

MAX_FILES = 50  # files in one request
MAX_FIELD_BYTES = 64 << 10  # a non-file field (groups, the CSRF token)
SLACK_BYTES = 1 << 20  # multipart headers and boundaries around the files
COPY_CHUNK = 1 << 20


@dataclass
class ReceivedFile:
    client_name: str  # as the client sent it: never used as a path
    path: Path | None  # the received bytes (under `incoming`), None when refused
    size: int = 0
    error: str | None = None


@dataclass
class ReceivedForm:
    fields: dict[str, list[str]] = field(default_factory=dict)
    files: list[ReceivedFile] = field(default_factory=list)

    def values(self, name: str) -> list[str]:
        return self.fields.get(name, [])


def megabytes(size: int) -> str:
    return f"{size / (1 << 20):.1f} MB"


def too_big(size: int, limit: int) -> str:
    return f"larger than the {megabytes(limit)} limit per file ({megabytes(size)} or more)"


def request_limit(max_file_bytes: int) -> int:
    """The most bytes one upload request may carry: MAX_FILES files at the limit."""
    return max_file_bytes * MAX_FILES + SLACK_BYTES


def check_content_length(request: Request, max_file_bytes: int) -> None:
    """Refuse before reading: no Content-Length (411) or more than a request may carry (413)."""
    declared = request.headers.get("content-length")
    if declared is None or not declared.isdigit():
        raise HTTPException(411, "Send the upload with a Content-Length header.")
    limit = request_limit(max_file_bytes)
    if int(declared) > limit:
        raise HTTPException(
            413,
            f"This upload is {megabytes(int(declared))}: one request may carry at most "
            f"{MAX_FILES} files of {megabytes(max_file_bytes)} each ({megabytes(limit)}).",
        )


async def receive_files(request: Request, incoming: Path, max_file_bytes: int) -> ReceivedForm:
    """Stream the multipart body's files into `incoming` (random names), fields into memory.

    When the CSRF check already read the form (a plain HTML form post), its spooled files are
    copied with the same limit instead.
    """
    if not request.headers.get("content-type", "").startswith("multipart/form-data"):
        raise HTTPException(415, "Send the files as multipart/form-data.")
    receiver = _Receiver(incoming, max_file_bytes)
    try:
        stream = request.stream()
        first = await anext(stream)
    except RuntimeError:  # "Stream consumed": the form was parsed for its CSRF field
        return await _from_parsed_form(request, incoming, max_file_bytes)
    try:
        receiver.start(request.headers["content-type"])
        receiver.write(first)
        async for chunk in stream:
            receiver.write(chunk)
        receiver.finish()
    except BaseException:
        receiver.discard()
        raise
    return receiver.form


class _Receiver:
    """python-multipart callbacks writing file parts to disk as they arrive."""

    def __init__(self, incoming: Path, max_file_bytes: int) -> None:
        self.incoming, self.max_file_bytes = incoming, max_file_bytes
        self.form = ReceivedForm()
        self._parser: MultipartParser | None = None
        self._headers: dict[bytes, bytes] = {}
        self._header_name = self._header_value = b""
        self._file: ReceivedFile | None = None
        self._handle: IO[bytes] | None = None
        self._field: tuple[str, bytearray] | None = None

    def start(self, content_type: str) -> None:
        _, params = parse_options_header(content_type)
        boundary = params.get(b"boundary")
        if not boundary:
            raise HTTPException(400, "The multipart body has no boundary.")
        callbacks: dict[str, Callable[..., None]] = {
            "on_part_begin": self._part_begin,
            "on_header_field": self._header_field,
            "on_header_value": self._header_val,
            "on_header_end": self._header_end,
            "on_headers_finished": self._headers_done,
            "on_part_data": self._data,
            "on_part_end": self._part_end,
        }
        self._parser = MultipartParser(boundary, callbacks)  # type: ignore[arg-type]

    def write(self, chunk: bytes) -> None:
        assert self._parser is not None
        try:
            self._parser.write(chunk)
        except HTTPException:
            raise
        except Exception as exc:
            raise HTTPException(400, f"The multipart body is malformed: {exc}") from exc

    def finish(self) -> None:
        assert self._parser is not None
        self._parser.finalize()
        if self._handle is not None:
            raise HTTPException(400, "The upload ended in the middle of a file.")

    def discard(self) -> None:
        """Remove every received file (the request failed)."""
        if self._handle is not None:
            self._handle.close()
        for received in self.form.files:
            if received.path is not None:
                received.path.unlink(missing_ok=True)
        if self._file is not None and self._file.path is not None:
            self._file.path.unlink(missing_ok=True)

    # --- callbacks -----------------------------------------------------------------------------
    def _part_begin(self) -> None:
        self._headers = {}

    def _header_field(self, data: bytes, start: int, end: int) -> None:
        self._header_name += data[start:end]

    def _header_val(self, data: bytes, start: int, end: int) -> None:
        self._header_value += data[start:end]

    def _header_end(self) -> None:
        self._headers[self._header_name.lower()] = self._header_value
        self._header_name = self._header_value = b""

    def _headers_done(self) -> None:
        _, options = parse_options_header(self._headers.get(b"content-disposition", b""))
        name = options.get(b"name", b"").decode("utf-8", "replace")
        if b"filename" not in options:
            self._field = (name, bytearray())
            return
        if len(self.form.files) >= MAX_FILES:
            raise HTTPException(413, f"At most {MAX_FILES} files per upload.")
        path = self.incoming / f"{uuid.uuid4().hex}.part"
        self._file = ReceivedFile(options[b"filename"].decode("utf-8", "replace"), path)
        self._handle = path.open("xb")

    def _data(self, data: bytes, start: int, end: int) -> None:
        if self._field is not None:
            if len(self._field[1]) + end - start > MAX_FIELD_BYTES:
                raise HTTPException(413, f"The field {self._field[0]!r} is too long.")
            self._field[1].extend(data[start:end])
            return
        received = self._file
        if received is None or received.error is not None:
            return  # refused already: the rest of this part is read and dropped
        received.size += end - start
        if received.size > self.max_file_bytes:
            self._refuse(received, too_big(received.size, self.max_file_bytes))
            return
        assert self._handle is not None
        self._handle.write(data[start:end])

    def _part_end(self) -> None:
        if self._field is not None:
            name, value = self._field
            self.form.fields.setdefault(name, []).append(value.decode("utf-8", "replace"))
            self._field = None
        elif self._file is not None:
            if self._handle is not None:
                self._handle.close()
                self._handle = None
            self.form.files.append(self._file)
            self._file = None

    def _refuse(self, received: ReceivedFile, reason: str) -> None:
        if self._handle is not None:
            self._handle.close()
            self._handle = None
        if received.path is not None:
            received.path.unlink(missing_ok=True)
        received.path, received.error = None, reason


async def _from_parsed_form(request: Request, incoming: Path, max_file_bytes: int) -> ReceivedForm:
    form = await request.form()
    received = ReceivedForm()
    for key, value in form.multi_items():
        if isinstance(value, UploadFile):
            received.files.append(await _copy(value, incoming, max_file_bytes))
        else:
            received.fields.setdefault(key, []).append(value)
    return received


async def _copy(upload: UploadFile, incoming: Path, max_file_bytes: int) -> ReceivedFile:
    path = incoming / f"{uuid.uuid4().hex}.part"
    received = ReceivedFile(upload.filename or "", path)
    with path.open("xb") as handle:
        while chunk := await upload.read(COPY_CHUNK):
            received.size += len(chunk)
            if received.size > max_file_bytes:
                break
            handle.write(chunk)
    if received.size > max_file_bytes:
        path.unlink(missing_ok=True)
        received.path, received.error = None, too_big(received.size, max_file_bytes)
    return received


TRUE = {"on", "true", "1", "yes"}


def upload_size_guard(request: Request, user: AdminUser) -> None:
    """Refuse an upload too big for its Content-Length before reading it (admins only)."""
    check_content_length(request, settings_of(request).max_file_mb << 20)


UploadGuard = Depends(upload_size_guard)


async def accept_uploads(request: Request, user: User, uploads: UploadQueue) -> list[UploadJob]:
    """Stream the request's files to disk and queue them; refused files are listed as failed.

    Form fields: `files` (one or more), `groups` (names, repeated or comma-separated), `replace`
    (a file with the same name is replaced instead of getting a new name).
    """
    limit = settings_of(request).max_file_mb << 20
    received = await receive_files(request, uploads.incoming, limit)
    try:
        groups = parse_groups(received.values("groups"))
    except AccountError as exc:
        _discard(received)
        raise HTTPException(422, str(exc)) from exc
    replace = any(value.lower() in TRUE for value in received.values("replace"))
    accounts = accounts_of(request)
    for group in groups:
        accounts.create_group(group)  # so it can be given to users
    jobs = []
    for item in received.files:
        if item.error is None and item.size == 0 and not item.client_name:
            _discard(ReceivedForm(files=[item]))  # the file input was left empty
            continue
        if item.error is not None or item.path is None:
            job = uploads.add_refused(item.client_name, item.error or "not received", user.username)
        else:
            job = uploads.add_file(
                item.path, item.client_name, groups, user.username, replace_existing=replace
            )
        detail = f"job {job.id}; groups: {', '.join(groups) or '(everyone)'}"
        if job.state == "failed":
            detail += f"; refused: {job.reason}"
        accounts.audit(user, "upload", job.filename, detail)
        jobs.append(job)
    if not jobs:
        raise HTTPException(422, "Choose at least one file to upload.")
    return jobs


def _discard(received: ReceivedForm) -> None:
    for item in received.files:
        if item.path is not None:
            item.path.unlink(missing_ok=True)
