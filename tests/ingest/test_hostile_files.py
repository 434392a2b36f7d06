"""Hostile and broken input through the real pipeline: real parsers, a real (in-memory) Qdrant,
the SQLite catalog; only the embedder is the FakeEmbedder.

Every file gets one clear status and a reason a person can read; the good files stay searchable;
the store and the catalog agree (no points of failed documents, no half-visible document); a
second run converges without parsing unchanged files again.
"""

from __future__ import annotations

import os
import shutil
import tracemalloc
from collections.abc import Iterator
from dataclasses import dataclass, replace
from pathlib import Path

import pytest

from ingest import pipeline as pipeline_module
from ingest.catalog import Catalog
from ingest.ocr import OCR_OFF, OcrOptions
from ingest.pipeline import IngestOptions, IngestResult, ingest_paths
from ingest.planning import Plan, is_utf8
from ingest.store import QdrantStore
from ingest.workers import Outcome
from tests.fakes import FakeEmbedder
from tests.ingest import bombs, hostile
from tests.ingest.hostile import SKIPPED, Case, Good
from tests.ingest.invariants import (
    OPTIONS,
    assert_clear,
    assert_findable,
    assert_store_matches_catalog,
    by_source,
    ingest,
    printable,
)

INLINE = replace(OPTIONS, workers=0)
TEXTY = (".csv", ".tsv", ".html", ".md", ".txt", ".eml")


# --- the mixed batch -------------------------------------------------------------------------


@dataclass
class Batch:
    root: Path
    good: list[Good]
    cases: list[Case]
    direct: list[Good]  # dot files a folder walk leaves out, so named directly

    @property
    def paths(self) -> list[Path]:
        return [self.root, *(g.path for g in self.direct)]


def _content_cases(folder: Path) -> list[Case]:
    folder.mkdir()
    cases = []
    for seed, suffix in enumerate(hostile.SUFFIXES):
        cases.append(hostile.random_bytes(folder, suffix, seed))
        cases.append(hostile.empty_file(folder, suffix))
    cases += [hostile.random_text_bytes(folder, suffix, seed) for seed, suffix in enumerate(TEXTY)]
    cases += [hostile.truncated_pdf(folder, f) for f in (0.1, 0.5, 0.98)]
    cases += [hostile.header_only_pdf(folder), hostile.nul_after_sniff(folder)]
    cases += [hostile.encrypted_pdf(folder, a) for a in ("RC4-40", "AES-256")]
    cases.append(bombs.pdf_bomb(folder))
    cases += [hostile.ole_container(folder, suffix, 7) for suffix in (".docx", ".xlsx", ".pptx")]
    for suffix in hostile.ZIP_SUFFIXES:
        cases.append(bombs.ratio_bomb(folder, suffix))
        cases.append(bombs.lying_bomb(folder, suffix))
        cases.append(bombs.entity_bomb(folder, suffix))
    cases.append(bombs.many_members_bomb(folder, ".xlsx"))
    cases += [hostile.nested_html(folder), hostile.nested_markdown(folder)]
    cases.append(hostile.huge_csv_field(folder))
    return cases


def _link_cases(folder: Path, outside: Path) -> tuple[list[Good], list[Case]]:
    folder.mkdir()
    secret = outside / "secret.md"
    secret.write_text("# Secret\n\nThe nightjar code is outside the shared folder.\n")
    real = hostile.named(folder, "real.md", "cormorant")
    links = [
        (hostile.symlink(folder / "to-outside.md", secret), "outside the folders"),
        (hostile.symlink(folder / "to-folder", outside), "to the folder"),
        (hostile.symlink(folder / "dangling.md", folder / "nowhere.md"), "broken symbolic link"),
        (hostile.symlink(folder / "loop-a.md", folder / "loop-b.md"), "loops"),
        (hostile.symlink(folder / "loop-b.md", folder / "loop-a.md"), "loops"),
        (hostile.symlink(folder / "alias.md", real), "under its own name"),
    ]
    os.mkfifo(folder / "pipe.md")
    cases = [Case(link, "symbolic link", SKIPPED, reason) for link, reason in links]
    cases.append(Case(folder / "pipe.md", "a named pipe", SKIPPED, "not a regular file"))
    return [Good(real, "cormorant")], cases


def _name_cases(folder: Path) -> tuple[list[Good], list[Case], list[Good]]:
    """Good notes under awkward names; one name that is not UTF-8; dot names to name directly."""
    folder.mkdir()
    good = [
        Good(hostile.named(folder, name, f"namemark{index}x"), f"namemark{index}x")
        for index, name in enumerate(hostile.HOSTILE_NAMES)
    ]
    latin1 = hostile.named(folder, b"caf\xe9 menu.md", "espresso")
    odd = [Case(latin1, "a name that is not UTF-8", SKIPPED, "not valid UTF-8")]
    direct = [
        Good(hostile.named(folder, name, f"dotmark{index}x"), f"dotmark{index}x")
        for index, name in enumerate(hostile.HIDDEN_TRAVERSAL_NAMES)
    ]
    return good, odd, direct


def _duplicates(root: Path) -> list[Good]:
    made = []
    for folder, word in (("east", "walrus"), ("west", "narwhal")):
        (root / folder).mkdir()
        made.append(Good(hostile.named(root / folder, "report.md", word), word))
    shutil.copy(root / "east" / "report.md", root / "copy-of-east-report.md")
    return made


@pytest.fixture(scope="module")
def batch(tmp_path_factory: pytest.TempPathFactory) -> Batch:
    base = tmp_path_factory.mktemp("hostile")
    root, outside = base / "docs", base / "outside"
    outside.mkdir()
    good = hostile.good_files(root / "good")
    good.append(Good(hostile.owner_locked_pdf(root / "good").path, "pelican"))
    linked_good, links = _link_cases(root / "links", outside)
    named_good, named_odd, direct = _name_cases(root / "names")
    (root / ".hidden-notes.md").write_text("# Hidden\n\nNot for ingestion.\n")
    good += linked_good + named_good + direct + _duplicates(root)
    return Batch(root, good, _content_cases(root / "broken") + links + named_odd, direct)


def _source(path: Path) -> str:
    """The source a result names: a link's own place; a name that is not UTF-8 escaped."""
    if not path.is_symlink() and path.exists() and is_utf8(str(path)):
        return str(path.resolve())
    return printable(path.parent.resolve() / path.name)


def test_a_hostile_batch_gives_every_file_a_clear_status_and_keeps_the_good_ones(
    batch: Batch, store: QdrantStore, catalog: Catalog, monkeypatch: pytest.MonkeyPatch
) -> None:
    results = by_source(ingest(batch.paths, store, catalog))

    copy = str((batch.root / "copy-of-east-report.md").resolve())
    expected = {_source(g.path) for g in batch.good} | {_source(c.path) for c in batch.cases}
    assert set(results) == expected | {copy}  # one result per file; the hidden one is left out
    for result in results.values():
        assert_clear(result)
    for good in batch.good:
        assert results[_source(good.path)].status == "new", results[_source(good.path)]
        assert_findable(good, store, catalog)
    problems = []
    for case in batch.cases:
        result = results[_source(case.path)]
        reason = (result.reason or "").lower()
        if result.status not in case.statuses or case.reason.lower() not in reason:
            problems.append(f"{case.kind}: {result.status}: {result.reason}")
    assert not problems, "\n".join(problems)
    _assert_catalog_tells_the_same(results, catalog)
    assert_store_matches_catalog(store, catalog)

    parsed = _record_parsed(monkeypatch)
    again = by_source(ingest(batch.paths, store, catalog))

    assert set(again) == set(results)
    for source, first in results.items():
        second = again[source]
        if first.status == "new":
            assert (second.status, second.chunks) == ("unchanged", first.chunks), second
        else:  # failed files are tried again (the cause may have gone); the outcome holds
            assert (second.status, second.reason) == (first.status, first.reason), source
    retried = {str(p.resolve()) for p in parsed}  # only what failed in a parser before
    assert retried == {s for s, r in results.items() if r.status == "failed"}
    assert_store_matches_catalog(store, catalog)
    for good in batch.good:
        assert_findable(good, store, catalog)


def _assert_catalog_tells_the_same(results: dict[str, IngestResult], catalog: Catalog) -> None:
    """`docs list` shows what the run said (a name the catalog cannot hold is not recorded)."""
    records = {r.source: r for r in catalog.all()}
    for source, result in results.items():
        record = records.get(source)
        if "not valid UTF-8" in (result.reason or ""):
            assert record is None
            continue
        assert record is not None, source
        status = {"new": "ok"}.get(result.status, result.status)
        assert (record.status, record.error) == (status, result.reason), source


def _record_parsed(monkeypatch: pytest.MonkeyPatch) -> list[Path]:
    """Which paths the pipeline hands to the parsers (the real parse still runs)."""
    parsed: list[Path] = []
    real = pipeline_module.parse_in_order

    def recording(
        items: list[tuple[Plan, Path]],
        workers: int,
        max_bytes: int,
        timeout: float | None = None,
        ocr: OcrOptions = OCR_OFF,
    ) -> Iterator[tuple[Plan, Outcome]]:
        parsed.extend(path for _, path in items)
        return real(items, workers, max_bytes, timeout, ocr)

    monkeypatch.setattr(pipeline_module, "parse_in_order", recording)
    return parsed


# --- size ------------------------------------------------------------------------------------


def test_a_100_mb_text_file_is_refused_clearly_without_reading_it_into_memory(
    tmp_path: Path, store: QdrantStore, catalog: Catalog
) -> None:
    docs = tmp_path / "docs"
    docs.mkdir()
    huge = docs / "server.log.txt"
    hostile.big_text(huge, 100)
    default = IngestOptions()
    assert huge.stat().st_size < default.max_file_bytes  # under the general file limit

    tracemalloc.start()
    try:
        [result] = ingest_paths(
            [docs], embedder=FakeEmbedder(), store=store, catalog=catalog, options=INLINE
        )
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()

    assert result.status == "skipped"
    assert "100.0 MB" in (result.reason or "") and "limit for text" in (result.reason or "")
    assert peak < 16 << 20, f"{peak / (1 << 20):.1f} MB allocated to refuse the file"
    [record] = catalog.all()
    assert (record.status, record.error) == ("skipped", result.reason)
    assert store.count() == 0


# --- files that change under the run ---------------------------------------------------------


def test_a_file_that_disappears_mid_run_fails_clearly_and_the_rest_goes_on(
    tmp_path: Path, store: QdrantStore, catalog: Catalog
) -> None:
    docs = tmp_path / "docs"
    docs.mkdir()
    (docs / "a-first.md").write_text("# First\n\nThe albatross note is read first.\n")
    (docs / "b.xyz").write_text("unsupported: reported while the folder is being planned")
    (docs / "c-listed.md").write_text("# Listed\n\nListed, then deleted before planning.\n")
    (docs / "m-planned.md").write_text("# Planned\n\nPlanned, then deleted before parsing.\n")
    (docs / "n.xyz").write_text("unsupported: reported after m-planned.md was planned")
    (docs / "z-last.md").write_text("# Last\n\nThe kittiwake survives the others.\n")
    deletes = {"b.xyz": "c-listed.md", "n.xyz": "m-planned.md"}

    def vandal(result: IngestResult) -> None:
        if doomed := deletes.get(Path(result.source).name):
            (docs / doomed).unlink()

    results = ingest_paths(
        [docs], embedder=FakeEmbedder(), store=store, catalog=catalog, options=INLINE,
        on_result=vandal,
    )  # fmt: skip

    status = {Path(r.source).name: (r.status, r.reason) for r in results}
    assert status["a-first.md"][0] == status["z-last.md"][0] == "new"
    assert status["c-listed.md"] == ("failed", "no such file")
    assert status["m-planned.md"][0] == "failed"
    assert "disappeared" in (status["m-planned.md"][1] or "")
    assert_store_matches_catalog(store, catalog)
    assert_findable(Good(docs / "z-last.md", "kittiwake"), store, catalog)

    again = ingest([docs], store, catalog, workers=0, sync=True)

    assert sorted((Path(r.source).name, r.status) for r in again) == [
        ("a-first.md", "unchanged"),
        ("b.xyz", "skipped"),
        ("m-planned.md", "removed"),
        ("n.xyz", "skipped"),
        ("z-last.md", "unchanged"),
    ]
    assert_store_matches_catalog(store, catalog)
