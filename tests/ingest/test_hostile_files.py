"""Hostile and broken input through the real pipeline: real parsers, a real (in-memory) Qdrant,
the SQLite catalog; only the embedder is the FakeEmbedder.

Every file gets one clear status and a reason a person can read; the good files stay searchable;
the store and the catalog agree (no points of failed documents, no half-visible document); a
second run converges without parsing unchanged files again.
"""

from __future__ import annotations

import itertools
import os
import shutil
import tracemalloc
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, replace
from pathlib import Path

import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from app.retrieve import retrieve
from ingest import pipeline as pipeline_module
from ingest.catalog import Catalog
from ingest.pipeline import IngestOptions, IngestResult, ingest_paths
from ingest.planning import Plan
from ingest.sparse import encode_query
from ingest.store import QdrantStore
from ingest.types import Passage
from ingest.workers import Outcome
from tests.fakes import FakeEmbedder
from tests.ingest import hostile
from tests.ingest.hostile import SKIPPED, Case, Good

OPTIONS = IngestOptions(chunk_tokens=40, chunk_overlap=5, workers=1)  # workers=1: the default
INLINE = replace(OPTIONS, workers=0)
RESULT_STATUSES = {"new", "updated", "unchanged", "failed", "skipped"}
MAX_REASON = 600
TEXTY = (".csv", ".tsv", ".html", ".md", ".txt", ".eml")


# --- checks shared by every test ------------------------------------------------------------


def ingest(
    paths: Sequence[Path],
    store: QdrantStore,
    catalog: Catalog,
    *,
    workers: int = 1,
    sync: bool = False,
) -> list[IngestResult]:
    options = replace(OPTIONS, workers=workers, sync=sync)
    return ingest_paths(
        paths, embedder=FakeEmbedder(), store=store, catalog=catalog, options=options
    )


def assert_clear(result: IngestResult) -> None:
    """A status from the list, and for files not ingested a short reason in plain text."""
    assert result.status in RESULT_STATUSES, result
    if result.status in ("failed", "skipped"):
        reason = result.reason or ""
        assert reason.strip(), f"{result.source!r}: {result.status} without a reason"
        assert len(reason) <= MAX_REASON, f"{result.source!r}: a {len(reason)}-character reason"
        reason.encode("utf-8")  # printable anywhere: no lone surrogates
    result.source.encode("utf-8")


def stored_points(store: QdrantStore, dimension: int) -> list[Passage]:
    """Every point in the store (a dense query ranks all of them)."""
    probe = [1.0] + [0.0] * (dimension - 1)
    return store.search(probe, encode_query(""), limit=100_000, mode="dense")


def assert_store_matches_catalog(store: QdrantStore, catalog: Catalog) -> None:
    """Each committed document has exactly its current version's chunks in the store; nothing
    else is there (no points of failed, skipped or pending documents, no stale versions)."""
    records = {r.doc_id: r for r in catalog.all()}
    points: dict[str, list[Passage]] = {}
    for point in stored_points(store, FakeEmbedder().dimension):
        points.setdefault(point.doc_id, []).append(point)
    assert not [r for r in records.values() if r.status == "pending"]
    assert set(points) <= {d for d, r in records.items() if r.status == "ok"}, "orphan points"
    for doc_id, record in records.items():
        mine = points.get(doc_id, [])
        if record.status != "ok":
            assert not mine, f"{record.source!r} is {record.status} but has points"
            continue
        assert {p.version for p in mine} == {record.version}, record.source
        assert sorted(p.chunk_index for p in mine) == list(range(record.chunk_count))
        assert {p.source for p in mine} == {record.source}
        assert not record.cleanup_pending


def assert_findable(good: Good, store: QdrantStore, catalog: Catalog) -> None:
    hits = retrieve(
        good.word,
        embedder=FakeEmbedder(),
        store=store,
        limit=3,
        live_versions=catalog.live_versions,
        mode="sparse",
    )
    assert hits, f"{good.word} ({good.path.name}) is not searchable"
    assert hits[0].source == str(good.path.resolve())
    assert good.word in hits[0].text.lower()


def by_source(results: Iterable[IngestResult]) -> dict[str, IngestResult]:
    table: dict[str, IngestResult] = {}
    for result in results:
        assert result.source not in table, f"two results for {result.source!r}"
        table[result.source] = result
    return table


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
    cases.append(hostile.pdf_bomb(folder))
    for suffix in hostile.ZIP_SUFFIXES:
        cases.append(hostile.ratio_bomb(folder, suffix))
        cases.append(hostile.lying_bomb(folder, suffix))
        cases.append(hostile.entity_bomb(folder, suffix))
    cases.append(hostile.many_members_bomb(folder, ".xlsx"))
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
    if not path.is_symlink() and path.exists() and _utf8(str(path)):
        return str(path.resolve())
    return os.fsencode(path.parent.resolve() / path.name).decode("utf-8", "backslashreplace")


def _utf8(text: str) -> bool:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


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
        status = "new" if result.status == "new" else result.status
        if status not in case.statuses or case.reason.lower() not in (result.reason or "").lower():
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
    retried = {str(p.resolve()) for p in parsed}
    assert not retried & {s for s, r in results.items() if r.status == "new"}
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
        items: list[tuple[Plan, Path]], workers: int, max_bytes: int
    ) -> Iterator[tuple[Plan, Outcome]]:
        parsed.extend(path for _, path in items)
        return real(items, workers, max_bytes)

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


# --- properties ------------------------------------------------------------------------------

_counter = itertools.count()
PROPERTY = settings(
    max_examples=30,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)


@dataclass
class Scratch:
    """One store and catalog for all examples of a property: damage would accumulate."""

    folder: Path
    store: QdrantStore
    catalog: Catalog
    templates: dict[str, bytes]


@pytest.fixture(scope="module")
def scratch(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Scratch]:
    base = tmp_path_factory.mktemp("property")
    store, catalog = QdrantStore("property", path=None), Catalog(base / "catalog.sqlite3")
    good = hostile.good_files(base / "templates")
    templates = {g.path.suffix: g.path.read_bytes() for g in good}
    yield Scratch(base / "files", store, catalog, templates)
    store.close()
    catalog.close()


contents = st.one_of(
    st.binary(max_size=2048),
    st.text(max_size=400).map(str.encode),
    st.tuples(
        st.sampled_from([b"%PDF-1.7\n", b"PK\x03\x04", b"<html><body>", b"From: a@b.c\n\n"]),
        st.binary(max_size=1024),
    ).map(b"".join),
)


@pytest.mark.filterwarnings("ignore::UserWarning")  # parsers warn on garbage; production too
@PROPERTY
@given(suffix=st.sampled_from(hostile.SUFFIXES), data=contents)
def test_arbitrary_bytes_under_any_extension_leave_a_consistent_state(
    scratch: Scratch, suffix: str, data: bytes
) -> None:
    _ingest_bytes_and_check(scratch, suffix, data)


@pytest.mark.filterwarnings("ignore::UserWarning")
@PROPERTY
@given(
    suffix=st.sampled_from([".pdf", ".docx", ".xlsx", ".pptx", ".eml", ".csv"]),
    cuts=st.lists(
        st.tuples(st.integers(0, 1 << 16), st.binary(min_size=1, max_size=16)), max_size=4
    ),
    keep=st.one_of(st.just(1.0), st.floats(0.05, 1.0)),
)
def test_damaged_real_documents_leave_a_consistent_state(
    scratch: Scratch, suffix: str, cuts: list[tuple[int, bytes]], keep: float
) -> None:
    damaged = hostile.damaged(scratch.templates[suffix], suffix, cuts, keep)
    _ingest_bytes_and_check(scratch, suffix, damaged)


def _ingest_bytes_and_check(scratch: Scratch, suffix: str, data: bytes) -> None:
    """The same path each time per extension, so updates over good and failed versions occur."""
    scratch.folder.mkdir(exist_ok=True)
    path = scratch.folder / f"sample{suffix}"
    path.write_bytes(data)

    [result] = ingest([path], scratch.store, scratch.catalog, workers=0)

    assert_clear(result)
    event(f"{suffix} {result.status}")  # shown by --hypothesis-show-statistics
    assert_store_matches_catalog(scratch.store, scratch.catalog)
    [again] = ingest([path], scratch.store, scratch.catalog, workers=0)
    if result.status in ("new", "updated", "unchanged"):
        assert again.status == "unchanged"
    else:
        assert (again.status, again.reason) == (result.status, result.reason)


file_names = st.text(
    st.characters(exclude_categories=["Cs"], exclude_characters="/\x00"),
    min_size=1,
    max_size=60,
).filter(lambda n: not n.startswith(".") and len(os.fsencode(n)) <= 240)


@PROPERTY
@given(name=file_names)
def test_arbitrary_file_names_round_trip_to_the_catalog_and_search(
    scratch: Scratch, name: str
) -> None:
    folder = scratch.folder / f"names{next(_counter)}"
    folder.mkdir(parents=True)
    word = f"roundtrip{next(_counter)}x"
    path = hostile.named(folder, f"{name}.md", word)

    [result] = ingest([folder], scratch.store, scratch.catalog, workers=0)

    assert (result.status, result.source) == ("new", str(path.resolve()))
    record = scratch.catalog.get_by_source(result.source)
    assert record is not None and (record.status, record.source) == ("ok", result.source)
    assert_findable(Good(path, word), scratch.store, scratch.catalog)
    [again] = ingest([folder], scratch.store, scratch.catalog, workers=0)
    assert again.status == "unchanged"


byte_names = st.binary(min_size=1, max_size=200).filter(
    lambda n: b"/" not in n and b"\0" not in n and not n.startswith(b".")
)


@PROPERTY
@given(name=byte_names)
def test_names_that_are_not_utf8_are_skipped_and_others_ingested(
    scratch: Scratch, name: bytes
) -> None:
    folder = scratch.folder / f"bytes{next(_counter)}"
    folder.mkdir(parents=True)
    word = f"bytename{next(_counter)}x"
    path = hostile.named(folder, name + b".md", word)

    [result] = ingest([folder], scratch.store, scratch.catalog, workers=0)

    assert_clear(result)
    if _utf8(str(path)):
        assert (result.status, result.source) == ("new", str(path.resolve()))
    else:
        assert result.status == "skipped" and "not valid UTF-8" in (result.reason or "")
        assert "\\x" in result.source  # the undecodable bytes, escaped
        assert not [r for r in scratch.catalog.all() if r.source.startswith(str(folder))]
    assert_store_matches_catalog(scratch.store, scratch.catalog)
