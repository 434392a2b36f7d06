"""Resumable, verified downloads from a Hugging Face-style model hub."""

from __future__ import annotations

import hashlib
import os
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import quote

from app.models.errors import ChecksumMismatch, HubError, HubUnreachable
from app.models.files import (
    CHUNK_SIZE,
    ensure_free_space,
    finalize,
    hash_file,
    normalize_sha256,
    part_path,
    require_sha256,
)

if TYPE_CHECKING:
    import httpx

__all__ = [
    "ChecksumMismatch",
    "HubError",
    "HubUnreachable",
    "ProgressCallback",
    "advertised_sha256",
    "download",
    "hub_file_url",
]

ProgressCallback = Callable[[int, int | None], None]
"""Called with (bytes done, total bytes or None when unknown)."""

_TRANSIENT_STATUS = frozenset({408, 429})


def hub_file_url(hub_url: str, repo: str, filename: str, revision: str = "main") -> str:
    """URL of ``filename`` in ``repo`` at ``revision`` (Hugging Face layout)."""
    base = hub_url.rstrip("/")
    return f"{base}/{quote(repo)}/resolve/{quote(revision, safe='')}/{quote(filename)}"


def download(
    url: str,
    dest: Path,
    *,
    sha256: str | None,
    progress: ProgressCallback | None = None,
    timeout: float = 30.0,
    client: httpx.Client | None = None,
    token: str | None = None,
    chunk_size: int = CHUNK_SIZE,
) -> Path:
    """Download ``url`` to ``dest``, resuming ``dest.part``, verifying sha256.

    With ``sha256=None`` the hub's advertised sha256 (``X-Linked-Etag``, or a
    64-hex ``ETag``) is used; a hub advertising none is refused. A verified
    file gets a ``<dest>.sha256`` sidecar.
    """
    import httpx

    dest = Path(dest)
    dest.parent.mkdir(parents=True, exist_ok=True)
    pinned = require_sha256(sha256) if sha256 is not None else None
    http = client if client is not None else httpx.Client()
    fetch = _Fetch(http, url, dest, pinned, progress, timeout, token, chunk_size)
    try:
        resumed = part_path(dest).exists()
        try:
            return fetch.run()
        except ChecksumMismatch:
            if not resumed or part_path(dest).exists():
                raise
            return fetch.run()  # the kept partial was stale and is gone: start over once
    finally:
        if client is None:
            http.close()


def advertised_sha256(response: httpx.Response) -> str | None:
    """The sha256 the hub advertises along the redirect chain, if any."""
    chain = [*response.history, response]
    for header in ("x-linked-etag", "etag"):
        for hop in chain:
            digest = normalize_sha256(hop.headers.get(header))
            if digest is not None:
                return digest
    return None


class _Fetch:
    """One download attempt's fixed inputs."""

    def __init__(
        self,
        http: httpx.Client,
        url: str,
        dest: Path,
        pinned: str | None,
        progress: ProgressCallback | None,
        timeout: float,
        token: str | None,
        chunk_size: int,
    ) -> None:
        self.http = http
        self.url = url
        self.dest = dest
        self.part = part_path(dest)
        self.pinned = pinned
        self.progress = progress
        self.timeout = timeout
        self.token = token
        self.chunk_size = chunk_size

    def run(self) -> Path:
        """Request the file (ranged when a part exists) and finish it."""
        import httpx

        offset = self.part.stat().st_size if self.part.exists() else 0
        try:
            with self.http.stream(
                "GET",
                self.url,
                headers=self._headers(offset),
                follow_redirects=True,
                timeout=self.timeout,
            ) as response:
                return self._handle(response, offset)
        except httpx.UnsupportedProtocol as exc:
            raise HubError(f"Bad hub URL {self.url}: {exc}", url=self.url) from exc
        except httpx.TooManyRedirects as exc:
            raise HubError(f"Too many redirects for {self.url}", url=self.url) from exc
        except httpx.TimeoutException as exc:
            raise HubUnreachable(self.url, f"timed out after {self.timeout:g}s") from exc
        except httpx.TransportError as exc:
            raise HubUnreachable(self.url, _describe(exc)) from exc

    def _headers(self, offset: int) -> dict[str, str]:
        headers = {"Accept-Encoding": "identity"}
        if offset:
            headers["Range"] = f"bytes={offset}-"
        if self.token:
            headers["Authorization"] = f"Bearer {self.token}"
        return headers

    def _handle(self, response: httpx.Response, offset: int) -> Path:
        _check_status(self.url, response, token_sent=bool(self.token))
        expected, origin = self._expected(response)
        if response.status_code == 416:
            return self._range_not_satisfiable(response, offset, expected, origin)
        start, total = _resume_point(self.url, response, offset)
        ensure_free_space(self.dest.parent, None if total is None else total - start)
        digest = self._write(response, start, total)
        return finalize(self.part, self.dest, expected=expected, actual=digest, origin=origin)

    def _expected(self, response: httpx.Response) -> tuple[str, str]:
        advertised = advertised_sha256(response)
        if self.pinned is not None:
            if advertised is not None and advertised != self.pinned:
                raise ChecksumMismatch(
                    self.url,
                    expected=self.pinned,
                    actual=advertised,
                    origin="pinned; the hub advertises the other value",
                    note="The file changed upstream; nothing was downloaded.",
                )
            return self.pinned, "pinned"
        if advertised is None:
            raise HubError(
                f"{self.url} advertises no sha256 (no X-Linked-Etag or sha256 ETag) and none "
                "is pinned for this model; refusing an unverifiable download.",
                url=self.url,
            )
        return advertised, "advertised by the hub"

    def _range_not_satisfiable(
        self, response: httpx.Response, offset: int, expected: str, origin: str
    ) -> Path:
        total = _content_range_total(response.headers.get("content-range"))
        if total is not None and total == offset:  # the part is already complete
            if self.progress:
                self.progress(offset, total)
            digest = hash_file(self.part).hexdigest()
            return finalize(self.part, self.dest, expected=expected, actual=digest, origin=origin)
        self.part.unlink(missing_ok=True)
        return self.run()

    def _write(self, response: httpx.Response, start: int, total: int | None) -> str:
        hasher = hashlib.sha256()
        if start:
            hash_file(self.part, hasher)
        done = start
        with self.part.open("ab" if start else "wb") as fh:
            if self.progress:
                self.progress(done, total)
            for chunk in response.iter_bytes(self.chunk_size):
                fh.write(chunk)
                hasher.update(chunk)
                done += len(chunk)
                if self.progress:
                    self.progress(done, total)
            fh.flush()
            os.fsync(fh.fileno())
        if total is not None and done != total:
            raise HubUnreachable(self.url, f"connection closed after {done} of {total} bytes")
        return hasher.hexdigest()


def _check_status(url: str, response: httpx.Response, *, token_sent: bool) -> None:
    """Map a non-success status to HubError (4xx) or HubUnreachable (5xx)."""
    code = response.status_code
    if code in (200, 206, 416):
        return
    what = f"HTTP {code} {response.reason_phrase}".strip()
    if code >= 500 or code in _TRANSIENT_STATUS:
        raise HubUnreachable(url, what)
    if code in (401, 403):
        hint = (
            "the token was rejected or lacks access to this repository"
            if token_sent
            else "the repository may be gated or private: accept its terms on the hub "
            "and pass an access token"
        )
        raise HubError(f"Access denied to {url} ({what}): {hint}.", url=url, status_code=code)
    if code == 404:
        raise HubError(
            f"Not found: {url} ({what}). Check the repository id, file name and revision, "
            "and the hub URL.",
            url=url,
            status_code=code,
        )
    raise HubError(f"The hub refused {url} ({what}).", url=url, status_code=code)


def _resume_point(url: str, response: httpx.Response, offset: int) -> tuple[int, int | None]:
    """Return (first byte of the body, total size) for a 200 or 206 answer."""
    if response.status_code == 206:
        header = response.headers.get("content-range", "")
        first = _content_range_start(header)
        if first != offset:
            raise HubError(
                f"{url} answered a resume at byte {offset} with range {header!r}.", url=url
            )
        return offset, _content_range_total(header)
    length = response.headers.get("content-length")
    return 0, int(length) if length and length.isdigit() else None


def _content_range_start(header: str) -> int | None:
    """First byte of ``bytes a-b/N``."""
    try:
        return int(header.split()[1].split("-", 1)[0])
    except (IndexError, ValueError):
        return None


def _content_range_total(header: str | None) -> int | None:
    """N of ``bytes a-b/N`` or ``bytes */N`` (None for ``*`` or garbage)."""
    if not header or "/" not in header:
        return None
    total = header.rsplit("/", 1)[1].strip()
    return int(total) if total.isdigit() else None


def _describe(exc: Exception) -> str:
    """Short human reason for a transport error."""
    text = str(exc).strip()
    return text or type(exc).__name__
