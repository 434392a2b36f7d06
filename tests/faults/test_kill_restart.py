"""SIGKILL the real server during uploads, a batch ingestion and a streamed answer; restart it:
the catalog and the vector store agree, no document is half-visible, queued uploads resume
with their groups, and the server answers again. (tests/ingest/test_crash_safety.py kills the
pipeline itself at each step of its write order; these kill the whole server around it.)"""

from __future__ import annotations

import contextlib
import subprocess
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest

from ingest.catalog import DocumentCatalog
from tests.faults.site import (
    Site,
    assert_consistent,
    copy_site,
    site_catalog,
    stored_points,
    upload_state,
    write_documents,
)
from tests.serving import DOCENT, Server, launch, serve

pytestmark = pytest.mark.slow
FINISHED = {"done", "failed"}
QUESTION = "What are the office opening hours?"


def _serve(site: Site) -> Server:
    return serve(site.env, site.root, port=int(site.env["DOCENT_PORT"]))


def _wait_for(check: Callable[[], bool], what: str, timeout: float = 180.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return
        time.sleep(0.2)
    raise AssertionError(f"timed out waiting for {what}")


def _states(server: Server, site: Site, ids: list[str]) -> list[object]:
    states = [upload_state(server.url, site, job_id)["state"] for job_id in ids]
    print("upload states:", states, flush=True)
    return states


def _finished(server: Server, site: Site, job_id: str) -> dict[str, object]:
    """The upload job once it is done or failed."""
    _wait_for(lambda: upload_state(server.url, site, job_id)["state"] in FINISHED, job_id)
    return upload_state(server.url, site, job_id)


def _half_upload(server: Server, site: Site, release: threading.Event) -> threading.Thread:
    """An upload whose body stops in the middle of its file (the client is still sending when
    the server dies)."""
    boundary = "faultsboundary"

    def body() -> Iterator[bytes]:
        yield (
            f'--{boundary}\r\nContent-Disposition: form-data; name="files"; '
            f'filename="half.md"\r\nContent-Type: text/markdown\r\n\r\n'
        ).encode()
        yield b"# Half\n\n" + b"words that never finish arriving " * 4000
        release.wait(120)

    def send() -> None:
        headers = site.auth | {
            "Content-Type": f"multipart/form-data; boundary={boundary}",
            "Content-Length": str(1 << 20),  # declared; the body stops well short of it
        }
        # the server is killed under it, or the body ends short of its length: either way
        # this request only has to be half-received when the kill comes
        with contextlib.suppress(Exception):
            httpx.post(f"{server.url}/admin/uploads", content=body(), headers=headers, timeout=120)

    thread = threading.Thread(target=send, daemon=True)
    thread.start()
    return thread


def test_killed_during_uploads_the_queue_resumes_with_groups_and_nothing_is_half_visible(
    template: tuple[Path, str], tmp_path: Path
) -> None:
    site = copy_site(template, tmp_path)
    docs = tmp_path / "docs"
    words = write_documents(docs, 4, "upl", paragraphs=30)
    incoming = site.data / "uploads" / ".incoming"
    server = _serve(site)
    release = threading.Event()
    try:
        files = [
            ("files", (p.name, p.read_bytes(), "text/markdown")) for p in sorted(docs.iterdir())
        ]
        response = httpx.post(
            f"{server.url}/api/v1/documents",
            files=files,
            data={"groups": "hr"},
            headers=site.auth,
            timeout=120,
        )
        assert response.status_code == 202, response.text
        ids = [str(job["id"]) for job in response.json()["jobs"]]
        sender = _half_upload(server, site, release)
        _wait_for(lambda: _files(incoming) != [], "a half-received file")
        _wait_for(lambda: _states(server, site, ids)[0] != "queued", "the first file's turn")
        assert _states(server, site, ids)[-1] == "queued"  # killed mid-queue
    finally:
        server.kill()
        release.set()
    sender.join(30)
    assert server.family and server.survivors() == []  # no parser outlives the server

    server = _serve(site)
    try:
        states = {job_id: _finished(server, site, job_id) for job_id in ids}  # same ids
        assert [s["state"] for s in states.values()] == ["done"] * len(ids), states
        assert all(s["groups"] == ["hr"] for s in states.values()), states
        assert _files(incoming) == []  # the half-received file is gone
        assert httpx.get(f"{server.url}/healthz", timeout=10).status_code == 200
    finally:
        server.stop()

    catalog = assert_consistent(site.data, words)
    uploaded = [r for r in catalog.all() if "/uploads/" in r.source]
    assert sorted(Path(r.source).name for r in uploaded) == sorted(p.name for p in docs.iterdir())
    assert {(r.status, r.groups) for r in uploaded} == {("ok", ("hr",))}
    assert stored_points(site.data) == _committed_chunks(catalog)  # no stray points
    catalog.close()


def test_killed_during_a_batch_ingestion_through_the_server_the_rerun_converges(
    template: tuple[Path, str], tmp_path: Path
) -> None:
    site = copy_site(template, tmp_path)
    batch = tmp_path / "batch"
    words = write_documents(batch, 6, "bat", paragraphs=30)
    server = _serve(site)
    cli = subprocess.Popen(
        [*DOCENT, "ingest", str(batch), "--group", "ops"],
        env=site.env,
        cwd=site.root,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    catalog = site_catalog(site.data)
    try:
        _wait_for(lambda: _ok_under(catalog, batch) >= 1, "the first file of the batch")
        assert _ok_under(catalog, batch) < 6  # killed mid-batch
    finally:
        server.kill()
        catalog.close()
    assert server.family and server.survivors() == []  # no parser outlives the server
    output, _ = cli.communicate(timeout=120)  # the CLI does not hang on a dead server
    assert cli.returncode != 0, output
    assert_consistent(site.data, words).close()

    server = _serve(site)
    try:
        rerun = subprocess.run(
            [*DOCENT, "ingest", str(batch), "--group", "ops"],
            env=site.env,
            cwd=site.root,
            capture_output=True,
            text=True,
            timeout=600,
        )
        assert rerun.returncode == 0, rerun.stdout + rerun.stderr
    finally:
        server.stop()
    catalog = assert_consistent(site.data, words)
    assert _ok_under(catalog, batch) == 6
    assert {r.groups for r in catalog.all() if str(batch) in r.source} == {("ops",)}
    assert not any(r.cleanup_pending for r in catalog.all())
    assert stored_points(site.data) == _committed_chunks(catalog)
    catalog.close()


def test_killed_while_streaming_an_answer_the_client_sees_the_stream_break_and_it_restarts(
    template: tuple[Path, str], tmp_path: Path
) -> None:
    site = copy_site(template, tmp_path)
    server = _serve(site)
    after_kill: list[str] = []
    try:
        params = {"q": QUESTION}
        url = f"{server.url}/ask/stream"
        with httpx.stream("GET", url, params=params, headers=site.auth, timeout=600) as stream:
            lines = stream.iter_lines()
            for line in lines:
                if line == "event: token":
                    break
            else:
                raise AssertionError("the answer ended before its first token")
            server.kill()
            with pytest.raises(httpx.HTTPError):
                after_kill.extend(lines)
    finally:
        server.kill()
    assert "event: done" not in after_kill

    server = _serve(site)
    try:
        events = _events(server.url, site)
        assert "token" in events and events[-1] == "done"
        answer = httpx.post(
            f"{server.url}/api/v1/ask", json={"question": QUESTION}, headers=site.auth, timeout=600
        )
        assert answer.status_code == 200 and answer.json()["answer"], answer.text
        second = launch(site.env, site.root, log_name="second.log")  # same data dir: refused
        assert second.wait_exit() == 1
        log = " ".join(second.log.read_text().split())  # the console wraps long lines
        assert "is open in another process" in log and "Traceback" not in log, log
    finally:
        server.stop()
    assert_consistent(site.data, ["office"]).close()


def _events(url: str, site: Site) -> list[str]:
    with httpx.stream(
        "GET", f"{url}/ask/stream", params={"q": QUESTION}, headers=site.auth, timeout=600
    ) as stream:
        return [
            line.removeprefix("event: ")
            for line in stream.iter_lines()
            if line.startswith("event: ")
        ]


def _files(folder: Path) -> list[Path]:
    """The files under `folder` (each app process receives into a folder of its own)."""
    return [p for p in folder.rglob("*") if p.is_file()] if folder.is_dir() else []


def _ok_under(catalog: DocumentCatalog, folder: Path) -> int:
    return sum(1 for r in catalog.all() if r.status == "ok" and str(folder) in r.source)


def _committed_chunks(catalog: DocumentCatalog) -> int:
    return sum(r.chunk_count for r in catalog.all() if r.version)
