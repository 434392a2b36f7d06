"""Two worker processes on PostgreSQL ingest one `docent ingest` batch together: each file
exactly once, the per-file progress readable from a third process, and a worker SIGKILLed in
the middle of a file has that file finished by the other (its lease runs out).

The processes share the app database (jobs and catalog); each has its own in-memory vector
store, so what is checked is who ingested what, and the catalog."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import pytest

from app.accounts.db import make_engine
from app.documents.batches import BatchRequest, follow, submit
from app.documents.catalog import DatabaseCatalog
from app.documents.jobs import JobTable

ROOT = Path(__file__).resolve().parents[3]
FILES = 6


def _worker(url: str, data: Path, batch: str, *extra: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "tests.app.documents.batch_worker", url, str(data), batch, *extra],
        cwd=ROOT,
        env=os.environ | {"PYTHONPATH": str(ROOT)},
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )


def _ingested(output: str) -> list[str]:
    return [line.split()[1] for line in output.splitlines() if line.startswith("ingested ")]


def test_two_processes_share_a_batch_and_a_killed_ones_file_is_finished_by_the_other(
    postgres_url: str, tmp_path: Path
) -> None:
    docs = tmp_path / "docs"
    docs.mkdir()
    for i in range(FILES):
        text = f"# Rule {i}\n\nRule {i} of the handbook says something of its own, rule {i}.\n"
        (docs / f"rule{i}.md").write_text(text)
    engine = make_engine(postgres_url)
    table = JobTable(engine)
    batch = submit(table, BatchRequest((docs,), groups=("ops",), workers=0))
    flag = tmp_path / "stalled"
    stall = ("--stall-at", "2", "--flag", str(flag))  # in its second file, for good
    doomed = _worker(postgres_url, tmp_path / "data", batch.id, *stall)
    survivor = _worker(postgres_url, tmp_path / "data", batch.id)
    try:
        deadline = time.monotonic() + 60
        while not flag.exists() and doomed.poll() is None and time.monotonic() < deadline:
            time.sleep(0.05)
        assert flag.exists(), "the first worker never stalled in a file"
        # the progress, read from this third process: the file the doomed worker is in
        held = [j for j in table.batch(batch.id) if j.state in ("parsing", "embedding")]
        assert held, [(j.filename, j.state) for j in table.batch(batch.id)]
        doomed.send_signal(signal.SIGKILL)
        doomed_output = doomed.communicate(timeout=30)[0]
        seen = follow(table, batch.id, poll=0.1, timeout=90)
        survivor_output = survivor.communicate(timeout=60)[0]
    finally:
        for process in (doomed, survivor):
            if process.poll() is None:
                process.kill()
    assert survivor.returncode == 0, survivor_output
    by_doomed, by_survivor = _ingested(doomed_output), _ingested(survivor_output)
    counts = Counter(by_doomed + by_survivor)
    assert sorted(counts) == sorted(str((docs / f"rule{i}.md").resolve()) for i in range(FILES))
    assert set(counts.values()) == {1}, counts  # each file exactly once
    assert by_doomed and by_survivor  # both took part
    assert len(seen) == FILES and {r.status for r in seen} == {"new"}
    rows = table.batch(batch.id)
    assert {(j.state, j.groups) for j in rows} == {("done", ("ops",))}
    catalog = DatabaseCatalog(engine, tmp_path / "data")
    assert sorted(r.status for r in catalog.all()) == ["ok"] * FILES
    engine.dispose()


pytestmark = pytest.mark.usefixtures("postgres_url")
