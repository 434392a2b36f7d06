"""A local stand-in for a Hugging Face-style model hub, and small test helpers.

The hub is a real HTTP server on 127.0.0.1 (ThreadingHTTPServer in a thread).
``/{repo}/resolve/{revision}/{file}`` answers like Hugging Face does for LFS
files: a 302 carrying ``X-Linked-Etag`` (the sha256) and ``X-Linked-Size``, to a
``/cdn/...`` URL that serves the bytes with a non-sha ETag and honours Range.
Every request is recorded.
"""

from __future__ import annotations

import hashlib
import itertools
import socket
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Literal
from urllib.parse import quote, unquote

import numpy as np
from gguf import GGUFWriter

Advertise = Literal["x-linked-etag", "etag", "none"]


@dataclass
class Recorded:
    """One request the stand-in hub received and what it answered."""

    method: str
    path: str
    range: str | None
    authorization: str | None
    status: int
    body_bytes: int = 0


@dataclass
class HubBehaviour:
    """Knobs a test may turn between requests."""

    honour_range: bool = True
    redirect: bool = True
    advertise: Advertise = "x-linked-etag"
    advertised_sha: dict[str, str] = field(default_factory=dict)  # path -> override
    require_token: str | None = None
    fail_status: int | None = None
    delay: float = 0.0
    drop_after: int | None = None  # close the connection after this many body bytes


class StandInHub:
    """Serves files from ``root`` under ``/{repo}/resolve/{revision}/{file}``."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.behaviour = HubBehaviour()
        self.requests: list[Recorded] = []
        self.errors: list[BaseException] = []
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), _make_handler(self))
        self._server.daemon_threads = True
        self._server.handle_error = self._record_error  # type: ignore[method-assign]
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True
        )

    @property
    def url(self) -> str:
        """Base URL, like ``https://huggingface.co``."""
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}"

    def add_file(self, repo: str, filename: str, data: bytes, revision: str = "main") -> str:
        """Publish ``data``; return its sha256."""
        path = self.root / repo / revision / filename
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
        return hashlib.sha256(data).hexdigest()

    def downloads(self) -> list[Recorded]:
        """Requests that were answered with file bytes (200/206/416)."""
        return [r for r in self.requests if r.path.startswith("/cdn/") or r.status != 302]

    def start(self) -> StandInHub:
        """Start serving in a background thread."""
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop serving and close the socket."""
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)

    def _record_error(self, request: object, client_address: object) -> None:
        import sys

        err = sys.exc_info()[1]
        if err is not None:
            self.errors.append(err)


def _make_handler(hub: StandInHub) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, format: str, *args: object) -> None:
            pass

        def do_GET(self) -> None:
            b = hub.behaviour
            if b.delay:
                time.sleep(b.delay)
            path = unquote(self.path)
            if path.startswith("/cdn/"):
                self._serve_bytes(path, path[len("/cdn/") :])
            elif "/resolve/" in path:
                self._resolve(path)
            else:
                self._answer(path, 404, b"Not found")

        def _resolve(self, path: str) -> None:
            b = hub.behaviour
            repo, rest = path.lstrip("/").split("/resolve/", 1)
            revision, filename = rest.split("/", 1)
            key = f"{repo}/{revision}/{filename}"
            if b.require_token and self.headers.get("Authorization") != f"Bearer {b.require_token}":
                self._answer(path, 401, b"Invalid credentials", {"X-Error-Code": "GatedRepo"})
                return
            if b.fail_status:
                self._answer(path, b.fail_status, b"failure")
                return
            file = hub.root / key
            if not file.is_file():
                self._answer(path, 404, b"Entry not found", {"X-Error-Code": "EntryNotFound"})
                return
            if not b.redirect:
                self._serve_bytes(path, key)
                return
            headers = {"Location": "/cdn/" + quote(key), "X-Linked-Size": str(file.stat().st_size)}
            if b.advertise == "x-linked-etag":
                headers["X-Linked-Etag"] = f'"{self._sha(key)}"'
            self._answer(path, 302, b"", headers)

        def _sha(self, key: str) -> str:
            override = hub.behaviour.advertised_sha.get(key)
            return override or hashlib.sha256((hub.root / key).read_bytes()).hexdigest()

        def _serve_bytes(self, path: str, key: str) -> None:
            b = hub.behaviour
            file = hub.root / key
            if not file.is_file():
                self._answer(path, 404, b"Not found")
                return
            data = file.read_bytes()
            size = len(data)
            headers = {"ETag": f'"{hashlib.md5(data).hexdigest()}"', "Accept-Ranges": "bytes"}
            if b.advertise == "etag":
                headers["ETag"] = f'W/"{self._sha(key)}"'
            elif b.advertise == "x-linked-etag" and not b.redirect:
                headers["X-Linked-Etag"] = f'"{self._sha(key)}"'
            start = self._range_start()
            if start is not None and b.honour_range:
                if start >= size:
                    headers["Content-Range"] = f"bytes */{size}"
                    self._answer(path, 416, b"", headers)
                    return
                headers["Content-Range"] = f"bytes {start}-{size - 1}/{size}"
                self._answer(path, 206, data[start:], headers)
                return
            self._answer(path, 200, data, headers)

        def _range_start(self) -> int | None:
            value = self.headers.get("Range")
            if not value or not value.startswith("bytes="):
                return None
            return int(value[len("bytes=") :].split("-", 1)[0])

        def _answer(
            self, path: str, status: int, body: bytes, headers: dict[str, str] | None = None
        ) -> None:
            record = Recorded(
                "GET", path, self.headers.get("Range"), self.headers.get("Authorization"), status
            )
            hub.requests.append(record)
            self.send_response(status)
            for name, value in (headers or {}).items():
                self.send_header(name, value)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            limit = hub.behaviour.drop_after
            payload = body if limit is None else body[:limit]
            for offset in range(0, len(payload), 16384):
                self.wfile.write(payload[offset : offset + 16384])
                record.body_bytes += len(payload[offset : offset + 16384])
            self.wfile.flush()
            if limit is not None and limit < len(body):
                self.close_connection = True
                self.connection.shutdown(socket.SHUT_RDWR)

    return Handler


def closed_port_url() -> str:
    """URL of a 127.0.0.1 port nobody listens on (connection refused)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    return f"http://127.0.0.1:{port}"


def tiny_gguf(path: Path, *, elements: int = 50_000, seed: int = 7) -> bytes:
    """Write a valid tiny GGUF (one random float32 tensor) at ``path``; return its bytes."""
    rng = np.random.default_rng(seed)
    writer = GGUFWriter(str(path), "llama")
    writer.add_name("docent stand-in model")
    writer.add_context_length(256)
    writer.add_tensor("token_embd.weight", rng.standard_normal(elements).astype(np.float32))
    writer.write_header_to_file()
    writer.write_kv_data_to_file()
    writer.write_tensors_to_file()
    writer.close()
    return path.read_bytes()


def write_part_modules(root: Path, prefix: str, chunks: list[bytes]) -> None:
    """Create importable modules ``<prefix>1..N`` under ``root``, each with get_part_path()."""
    for index, chunk in enumerate(chunks, start=1):
        package = root / f"{prefix}{index}"
        package.mkdir(parents=True)
        (package / "part.bin").write_bytes(chunk)
        (package / "__init__.py").write_text(
            "from pathlib import Path\n\n\n"
            "def get_part_path():\n"
            "    return Path(__file__).with_name('part.bin')\n",
            encoding="utf-8",
        )


class ProgressRecorder:
    """A ProgressCallback that records every call."""

    def __init__(self) -> None:
        self.calls: list[tuple[int, int | None]] = []

    def __call__(self, done: int, total: int | None) -> None:
        self.calls.append((done, total))

    @property
    def done(self) -> list[int]:
        return [done for done, _ in self.calls]

    def strictly_increasing(self) -> bool:
        return all(b > a for a, b in itertools.pairwise(self.done))


class Notes:
    """A notify callback that records messages."""

    def __init__(self) -> None:
        self.messages: list[str] = []

    def __call__(self, message: str) -> None:
        self.messages.append(message)
