"""Hub downloads against a real local stand-in HTTP server (no network)."""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from pathlib import Path

import pytest
from gguf import GGUFReader

from app.models.files import read_sidecar
from app.models.hub import (
    ChecksumMismatch,
    HubError,
    HubUnreachable,
    download,
    hub_file_url,
)
from tests.app.models_standin import ProgressRecorder, StandInHub, closed_port_url, tiny_gguf

REPO = "acme/Tiny-GGUF"
FILE = "tiny-Q4_K_M.gguf"
CHUNK = 16 * 1024


@pytest.fixture
def hub(tmp_path: Path) -> Iterator[StandInHub]:
    server = StandInHub(tmp_path / "hub").start()
    yield server
    server.stop()


@pytest.fixture
def model(tmp_path: Path) -> bytes:
    return tiny_gguf(tmp_path / "source.gguf")


def _publish(hub: StandInHub, data: bytes) -> tuple[str, str]:
    sha = hub.add_file(REPO, FILE, data)
    return hub_file_url(hub.url, REPO, FILE), sha


def test_hub_file_url_uses_hf_layout() -> None:
    url = hub_file_url("https://huggingface.co/", "bartowski/Qwen2.5-7B-Instruct-GGUF", "a.gguf")
    assert url == "https://huggingface.co/bartowski/Qwen2.5-7B-Instruct-GGUF/resolve/main/a.gguf"
    assert hub_file_url("http://h", "o/r", "f.gguf", "v1") == "http://h/o/r/resolve/v1/f.gguf"


def test_download_verifies_against_advertised_sha_and_writes_sidecar(
    hub: StandInHub, model: bytes, tmp_path: Path
) -> None:
    url, sha = _publish(hub, model)
    dest = tmp_path / "models" / FILE
    progress = ProgressRecorder()

    assert download(url, dest, sha256=None, progress=progress, chunk_size=CHUNK) == dest

    assert dest.read_bytes() == model
    assert read_sidecar(dest) == sha
    assert not dest.with_suffix(".gguf.part").exists()
    assert GGUFReader(dest).fields["general.name"].contents() == "docent stand-in model"
    # HF-like: a 302 with X-Linked-Etag, then the CDN bytes
    assert [r.status for r in hub.requests] == [302, 200]
    done = progress.done
    assert done[0] == 0 and done[-1] == len(model)
    assert progress.strictly_increasing()
    assert {total for _, total in progress.calls} == {len(model)}


def test_download_with_pinned_sha_and_plain_etag(
    hub: StandInHub, model: bytes, tmp_path: Path
) -> None:
    hub.behaviour.redirect = False
    hub.behaviour.advertise = "etag"  # W/"<sha256>" straight on the file response
    url, sha = _publish(hub, model)
    dest = tmp_path / FILE
    download(url, dest, sha256=sha.upper(), chunk_size=CHUNK)
    assert hashlib.sha256(dest.read_bytes()).hexdigest() == sha
    assert read_sidecar(dest) == sha


def test_checksum_mismatch_raises_and_leaves_nothing(
    hub: StandInHub, model: bytes, tmp_path: Path
) -> None:
    url, _ = _publish(hub, model)
    hub.behaviour.advertised_sha[f"{REPO}/main/{FILE}"] = "ab" * 32
    dest = tmp_path / FILE
    with pytest.raises(ChecksumMismatch) as info:
        download(url, dest, sha256=None, chunk_size=CHUNK)
    assert "ab" * 32 in str(info.value)
    assert list(tmp_path.glob(f"{FILE}*")) == []


def test_pinned_sha_differing_from_advertised_fails_before_writing(
    hub: StandInHub, model: bytes, tmp_path: Path
) -> None:
    url, _ = _publish(hub, model)
    with pytest.raises(ChecksumMismatch, match="changed upstream"):
        download(url, tmp_path / FILE, sha256="cd" * 32)
    assert list(tmp_path.glob(f"{FILE}*")) == []


def test_resume_from_partial_uses_range(hub: StandInHub, model: bytes, tmp_path: Path) -> None:
    url, sha = _publish(hub, model)
    dest = tmp_path / FILE
    kept = 70_000
    dest.with_suffix(".gguf.part").write_bytes(model[:kept])
    progress = ProgressRecorder()

    download(url, dest, sha256=None, progress=progress, chunk_size=CHUNK)

    assert dest.read_bytes() == model and read_sidecar(dest) == sha
    cdn = [r for r in hub.requests if r.path.startswith("/cdn/")]
    assert [(r.status, r.range, r.body_bytes) for r in cdn] == [
        (206, f"bytes={kept}-", len(model) - kept)
    ]
    assert progress.done[0] == kept and progress.done[-1] == len(model)


def test_dropped_connection_keeps_part_and_next_call_resumes(
    hub: StandInHub, model: bytes, tmp_path: Path
) -> None:
    url, _ = _publish(hub, model)
    dest = tmp_path / FILE
    hub.behaviour.drop_after = 50_000
    with pytest.raises(HubUnreachable):
        download(url, dest, sha256=None, chunk_size=CHUNK)
    part = dest.with_suffix(".gguf.part")
    assert part.exists() and 0 < part.stat().st_size <= 50_000
    assert not dest.exists()

    hub.behaviour.drop_after = None
    download(url, dest, sha256=None, chunk_size=CHUNK)
    assert dest.read_bytes() == model
    assert hub.requests[-1].status == 206


def test_server_ignoring_range_restarts_cleanly(
    hub: StandInHub, model: bytes, tmp_path: Path
) -> None:
    hub.behaviour.honour_range = False
    url, sha = _publish(hub, model)
    dest = tmp_path / FILE
    dest.with_suffix(".gguf.part").write_bytes(b"stale junk that is not the model" * 100)
    progress = ProgressRecorder()

    download(url, dest, sha256=None, progress=progress, chunk_size=CHUNK)

    assert dest.read_bytes() == model and read_sidecar(dest) == sha
    cdn = [r for r in hub.requests if r.path.startswith("/cdn/")]
    assert [(r.status, r.range) for r in cdn] == [(200, "bytes=3200-")]
    assert progress.done[0] == 0 and progress.done[-1] == len(model)


def test_stale_part_with_range_is_retried_from_scratch(
    hub: StandInHub, model: bytes, tmp_path: Path
) -> None:
    url, _ = _publish(hub, model)
    dest = tmp_path / FILE
    dest.with_suffix(".gguf.part").write_bytes(b"\0" * 1000)  # wrong bytes, Range honoured
    download(url, dest, sha256=None, chunk_size=CHUNK)
    assert dest.read_bytes() == model
    cdn = [r for r in hub.requests if r.path.startswith("/cdn/")]
    assert [(r.status, r.range) for r in cdn] == [(206, "bytes=1000-"), (200, None)]


def test_complete_part_is_verified_without_refetching(
    hub: StandInHub, model: bytes, tmp_path: Path
) -> None:
    url, sha = _publish(hub, model)
    dest = tmp_path / FILE
    dest.with_suffix(".gguf.part").write_bytes(model)
    download(url, dest, sha256=None)
    assert read_sidecar(dest) == sha
    assert [(r.status, r.body_bytes) for r in hub.requests if r.path.startswith("/cdn/")] == [
        (416, 0)
    ]


def test_404_is_hub_error_naming_the_url(hub: StandInHub, tmp_path: Path) -> None:
    url = hub_file_url(hub.url, REPO, "missing.gguf")
    with pytest.raises(HubError) as info:
        download(url, tmp_path / "missing.gguf", sha256=None)
    assert info.value.status_code == 404
    assert url in str(info.value) and "404" in str(info.value)
    assert not isinstance(info.value, HubUnreachable)


def test_401_suggests_a_token_and_token_is_sent(
    hub: StandInHub, model: bytes, tmp_path: Path
) -> None:
    hub.behaviour.require_token = "hf_secret"
    url, _ = _publish(hub, model)
    with pytest.raises(HubError, match="token") as info:
        download(url, tmp_path / FILE, sha256=None)
    assert info.value.status_code == 401 and url in str(info.value)

    download(url, tmp_path / FILE, sha256=None, token="hf_secret")
    assert hub.requests[-2].authorization == "Bearer hf_secret"
    assert (tmp_path / FILE).read_bytes() == model


def test_5xx_is_unreachable(hub: StandInHub, model: bytes, tmp_path: Path) -> None:
    hub.behaviour.fail_status = 503
    url, _ = _publish(hub, model)
    with pytest.raises(HubUnreachable, match="503") as info:
        download(url, tmp_path / FILE, sha256=None)
    assert url in str(info.value)


def test_hub_without_any_sha_is_refused(hub: StandInHub, model: bytes, tmp_path: Path) -> None:
    hub.behaviour.advertise = "none"
    url, sha = _publish(hub, model)
    with pytest.raises(HubError, match="advertises no sha256"):
        download(url, tmp_path / FILE, sha256=None)
    download(url, tmp_path / FILE, sha256=sha)  # pinning makes it acceptable
    assert read_sidecar(tmp_path / FILE) == sha


def test_closed_port_is_unreachable(tmp_path: Path) -> None:
    url = hub_file_url(closed_port_url(), REPO, FILE)
    with pytest.raises(HubUnreachable) as info:
        download(url, tmp_path / FILE, sha256=None, timeout=2)
    assert url in str(info.value)
    assert info.value.reason


def test_timeout_is_unreachable(hub: StandInHub, model: bytes, tmp_path: Path) -> None:
    hub.behaviour.delay = 0.5
    url, _ = _publish(hub, model)
    with pytest.raises(HubUnreachable, match="timed out"):
        download(url, tmp_path / FILE, sha256=None, timeout=0.1)


def test_malformed_pinned_sha_is_rejected(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="sha256"):
        download("http://127.0.0.1:9/x", tmp_path / "x", sha256="not-a-hash")
