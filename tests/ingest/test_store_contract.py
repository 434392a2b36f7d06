"""One contract for every `VectorStore`: qdrant-client in memory, qdrant-client on disk, and
Qdrant Edge on disk must give the same answers."""

from __future__ import annotations

import math
import random
import subprocess
import sys
import threading
from collections.abc import Callable, Iterator, Sequence
from datetime import UTC, datetime
from pathlib import Path

import pytest

from ingest.access import Access
from ingest.edge_store import EdgeStore
from ingest.planning import point_id
from ingest.sparse import encode_document, encode_query
from ingest.store import (
    DEFAULT_PREFETCH,
    Fusion,
    QdrantStore,
    SearchMode,
    StoreLocked,
    StoreMismatch,
    VectorStore,
    prefetch_depth,
)
from ingest.types import Chunk, Passage, Region, SearchFilters, SparseVector, StoredChunk
from tests.fakes import FakeEmbedder

KINDS = ["qdrant-memory", "qdrant-path", "edge"]
MODES: list[SearchMode] = ["dense", "sparse", "hybrid"]
EMBEDDER = FakeEmbedder()
Opener = Callable[[], VectorStore]

FRUIT = [
    "Apples and pears grow in the orchard behind the farmhouse.",
    "The orchard harvest of apples is pressed into cider every autumn.",
]
VOLCANO = [
    "A volcano erupts when magma and lava rise through the crust.",
    "Lava flows from the volcano cooled into black basalt rock.",
]
PAYROLL = ["Payroll runs on the last working day; salaries are confidential."]
ROADMAP = ["The engineering roadmap plans a new storage engine next quarter."]


def stored_chunks(
    doc_id: str,
    texts: Sequence[str],
    *,
    version: str = "v1",
    groups: tuple[str, ...] = (),
    suffix: str = ".md",
    tags: tuple[str, ...] = (),
    modified: datetime | None = None,
    ingested: datetime | None = None,
) -> list[StoredChunk]:
    vectors = EMBEDDER.embed(texts)
    return [
        StoredChunk(
            point_id=point_id(doc_id, version, i),
            doc_id=doc_id,
            version=version,
            chunk=Chunk(
                i,
                text,
                10 * i,
                10 * i + len(text),
                (doc_id, f"part {i}"),
                ("P",),
                i + 1,
                i + 1,
                regions=(Region(10 * i, 10 * i + len(text), i + 1, (0.1, 0.25, 0.9, 0.3125)),),
            ),
            title=f"{doc_id} title",
            source=f"/docs/{doc_id}{suffix}",
            dense=vector,
            sparse=encode_document(text),
            groups=groups,
            tags=tags,
            modified=modified,
            ingested=ingested,
        )
        for i, (text, vector) in enumerate(zip(texts, vectors, strict=True))
    ]


def search(
    store: VectorStore, question: str, mode: SearchMode = "hybrid", **options: Access
) -> list[Passage]:
    dense = EMBEDDER.embed([question])[0]
    return store.search(dense, encode_query(question), 10, mode=mode, **options)


def open_store(kind: str, root: Path) -> VectorStore:
    if kind == "qdrant-memory":
        return QdrantStore("contract", path=None)
    if kind == "qdrant-path":
        return QdrantStore("contract", path=root / "qdrant")
    return EdgeStore("contract", path=root / "edge")


@pytest.fixture(params=KINDS)
def kind(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def opener(kind: str, tmp_path: Path) -> Iterator[Opener]:
    """Opens the store under test (again, for the kinds that persist); closes all at the end."""
    opened: list[VectorStore] = []

    def open_() -> VectorStore:
        opened.append(open_store(kind, tmp_path))
        return opened[-1]

    yield open_
    for store in opened:
        store.close()


@pytest.fixture
def store(opener: Opener) -> VectorStore:
    store = opener()
    store.ensure_collection(EMBEDDER.dimension)
    return store


def fill(store: VectorStore) -> VectorStore:
    """Two public documents, one for HR and one for engineering."""
    store.upsert(stored_chunks("fruit", FRUIT))
    store.upsert(stored_chunks("volcano", VOLCANO))
    store.upsert(stored_chunks("payroll", PAYROLL, groups=("hr",)))
    store.upsert(stored_chunks("roadmap", ROADMAP, groups=("eng", "leads")))
    return store


@pytest.fixture(scope="module", params=KINDS)
def library(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[VectorStore]:
    """A filled store per kind, shared by the tests that only read."""
    store = open_store(str(request.param), tmp_path_factory.mktemp("library"))
    store.ensure_collection(EMBEDDER.dimension)
    yield fill(store)
    store.close()


def persistent(kind: str) -> None:
    if kind == "qdrant-memory":
        pytest.skip("an in-memory store keeps nothing")


@pytest.mark.parametrize("mode", MODES)
def test_each_mode_finds_the_matching_document_first(
    library: VectorStore, mode: SearchMode
) -> None:
    found = search(library, "volcano lava", mode)
    assert found[0].doc_id == "volcano"
    assert found[0].score > 0


@pytest.mark.parametrize("mode", MODES)
def test_hits_carry_their_similarity_to_the_question(
    library: VectorStore, mode: SearchMode
) -> None:
    """Every hit, in every mode, comes with the cosine of the question and its stored vector:
    what a dense search scores it by (the answer's evidence needs no second embedding)."""
    found = search(library, "volcano lava", mode)
    question = EMBEDDER.embed(["volcano lava"])[0]
    every = library.search(question, encode_query("volcano lava"), 50, mode="dense")
    dense = {p.point_id: p.score for p in every}
    assert found and all(p.similarity is not None for p in found)
    for passage in found:
        assert passage.similarity == pytest.approx(dense[passage.point_id], abs=1e-4)


def test_hybrid_finds_what_either_half_finds(library: VectorStore) -> None:
    question = "cider harvest orchard"
    hybrid = {p.point_id for p in search(library, question, "hybrid")}
    assert {p.point_id for p in search(library, question, "sparse")} <= hybrid
    assert search(library, question, "hybrid")[0].doc_id == "fruit"


def test_passages_carry_the_whole_payload(library: VectorStore) -> None:
    top = search(library, "lava basalt rock", "sparse")[0]
    assert isinstance(top, Passage)
    expected = stored_chunks("volcano", VOLCANO)[1]
    assert (top.point_id, top.doc_id, top.version, top.chunk_index) == (
        expected.point_id,
        "volcano",
        "v1",
        1,
    )
    assert (top.text, top.title, top.source) == (VOLCANO[1], "volcano title", "/docs/volcano.md")
    assert (top.headings, top.page_start, top.page_end, top.groups) == (
        ("volcano", "part 1"),
        2,
        2,
        (),
    )
    assert (top.start, top.end) == (10, 10 + len(VOLCANO[1]))
    assert top.regions == (Region(10, 10 + len(VOLCANO[1]), 2, (0.1, 0.25, 0.9, 0.3125)),)


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize(
    ("access", "readable"),
    [
        (Access.public(), {"fruit", "volcano"}),
        (Access.member_of(["hr"]), {"fruit", "volcano", "payroll"}),
        (Access.member_of(["leads", "sales"]), {"fruit", "volcano", "roadmap"}),
        (Access.admin(), {"fruit", "volcano", "payroll", "roadmap"}),
    ],
)
def test_search_returns_only_what_the_asker_may_read(
    library: VectorStore, mode: SearchMode, access: Access, readable: set[str]
) -> None:
    question = "payroll salaries roadmap storage engine orchard volcano"
    found = search(library, question, mode, access=access)
    assert {p.doc_id for p in found} == readable


def test_delete_document_keeps_only_the_named_version(store: VectorStore) -> None:
    store.upsert(stored_chunks("fruit", FRUIT, version="old"))
    store.upsert(stored_chunks("fruit", FRUIT[:1], version="new"))
    store.upsert(stored_chunks("volcano", VOLCANO))

    store.delete_document("fruit", keep_version="new")
    assert store.document_chunks("fruit", "old") == []
    assert len(store.document_chunks("fruit", "new")) == 1
    assert store.count() == 3

    store.delete_document("fruit")
    assert store.count() == 2
    assert {p.doc_id for p in search(store, "apples orchard volcano", "hybrid")} == {"volcano"}


def test_update_document_changes_payload_and_access(store: VectorStore) -> None:
    library = fill(store)
    library.update_document("fruit", {"groups": ["hr"], "source": "/moved/fruit.md"})

    chunks = library.document_chunks("fruit", "v1")
    assert {(p.source, p.groups) for p in chunks} == {("/moved/fruit.md", ("hr",))}
    assert "fruit" not in {p.doc_id for p in search(library, "apples orchard")}
    member = search(library, "apples orchard", access=Access.member_of(["hr"]))
    assert member[0].doc_id == "fruit"


def test_document_chunks_come_in_document_order(store: VectorStore) -> None:
    texts = [f"Paragraph {i} about topic {i % 7}." for i in range(300)]  # more than one page
    chunks = stored_chunks("long", texts)
    random.Random(7).shuffle(chunks)
    store.upsert(chunks)
    store.upsert(stored_chunks("long", texts[:5], version="v2"))

    passages = store.document_chunks("long", "v1")
    assert [p.chunk_index for p in passages] == list(range(300))
    assert [p.text for p in passages[:2]] == texts[:2]
    assert len(store.document_chunks("long", "v2")) == 5
    assert store.document_chunks("missing", "v1") == []


def test_count_and_upsert_replace_by_point_id(opener: Opener) -> None:
    store = opener()
    assert store.count() == 0  # no collection yet
    store.ensure_collection(EMBEDDER.dimension)
    store.upsert([])
    assert store.count() == 0
    store.upsert(stored_chunks("fruit", FRUIT))
    store.upsert(stored_chunks("fruit", FRUIT))  # same ids: replaced, not added
    assert store.count() == 2


def test_another_dimension_is_refused(store: VectorStore) -> None:
    store.upsert(stored_chunks("fruit", FRUIT))
    with pytest.raises(StoreMismatch, match="64-dimensional"):
        store.ensure_collection(EMBEDDER.dimension * 2)
    store.ensure_collection(EMBEDDER.dimension)  # the right one still passes


def test_another_dimension_is_refused_after_reopening(kind: str, opener: Opener) -> None:
    persistent(kind)
    first = opener()
    first.ensure_collection(EMBEDDER.dimension)
    first.close()
    with pytest.raises(StoreMismatch, match="64-dimensional"):
        opener().ensure_collection(32)


def test_chunks_persist_across_close_and_reopen(kind: str, opener: Opener) -> None:
    persistent(kind)
    first = opener()
    first.ensure_collection(EMBEDDER.dimension)
    first.upsert(stored_chunks("volcano", VOLCANO))
    first.upsert(stored_chunks("payroll", PAYROLL, groups=("hr",)))
    before = [p.point_id for p in search(first, "volcano lava payroll", access=Access.admin())]
    first.close()

    again = opener()
    assert again.count() == 3  # readable before ensure_collection
    again.ensure_collection(EMBEDDER.dimension)
    after = [p.point_id for p in search(again, "volcano lava payroll", access=Access.admin())]
    assert after == before
    assert [p.doc_id for p in search(again, "payroll salaries", "sparse")] == []


def test_a_second_opener_gets_store_locked(kind: str, opener: Opener) -> None:
    persistent(kind)
    first = opener()
    with pytest.raises(StoreLocked):
        opener()
    first.close()
    opener().ensure_collection(EMBEDDER.dimension)  # free again once closed


def test_searches_while_another_thread_writes(store: VectorStore) -> None:
    errors: list[BaseException] = []

    def write() -> None:
        try:
            for n in range(20):
                store.upsert(stored_chunks(f"doc{n}", VOLCANO))
        except BaseException as exc:  # reported by the assertion below
            errors.append(exc)

    writer = threading.Thread(target=write)
    writer.start()
    while writer.is_alive():
        search(store, "volcano lava")
    writer.join()
    assert errors == []
    assert store.count() == 40


# --- Qdrant Edge only --------------------------------------------------------------------


def test_edge_points_stay_searchable_through_index_builds(tmp_path: Path) -> None:
    store = EdgeStore("contract", path=tmp_path, optimize_after=3)  # builds on most upserts
    try:
        store.ensure_collection(EMBEDDER.dimension)
        for n in range(5):
            store.upsert(stored_chunks(f"volcano{n}", VOLCANO))
            assert {p.doc_id for p in search(store, "volcano lava")} == {
                f"volcano{i}" for i in range(n + 1)
            }
        store.optimize()
        assert store.count() == 10
    finally:
        store.close()


def test_edge_is_locked_against_another_process(tmp_path: Path) -> None:
    store = EdgeStore("contract", path=tmp_path)
    try:
        other = subprocess.run(
            [sys.executable, "-c", OPEN_IN_CHILD, str(tmp_path)],
            capture_output=True,
            text=True,
            check=False,
            cwd=Path(__file__).resolve().parents[2],
        )
        assert other.returncode == 3, other.stderr
    finally:
        store.close()


OPEN_IN_CHILD = """
import sys
from pathlib import Path
from ingest.edge_store import EdgeStore
from ingest.store import StoreLocked
try:
    EdgeStore("contract", path=Path(sys.argv[1]))
except StoreLocked:
    sys.exit(3)
"""


def test_edge_refuses_writes_before_ensure_collection(tmp_path: Path) -> None:
    store = EdgeStore("contract", path=tmp_path)
    try:
        assert search(store, "anything") == []
        store.delete_document("nothing")
        with pytest.raises(RuntimeError, match="ensure_collection"):
            store.upsert(stored_chunks("fruit", FRUIT))
    finally:
        store.close()


def test_edge_closed_store_says_so(tmp_path: Path) -> None:
    store = EdgeStore("contract", path=tmp_path)
    store.close()
    store.close()  # twice is fine
    with pytest.raises(RuntimeError, match="closed"):
        store.count()


# --- fusion ------------------------------------------------------------------------------

FUSIONS: list[Fusion] = ["rrf", "dbsf"]
# Hand-made vectors: "Y" is far ahead of the rest in the dense half but only fifth by
# keywords; "X" is first by keywords (by a hair) and second in the dense half.
SKEWED = {  # doc: (cosine with the question, keyword weight)
    "Y": (0.99, 0.96),
    "X": (0.30, 1.00),
    "A": (0.29, 0.99),
    "B": (0.28, 0.98),
    "C": (0.27, 0.97),
    "D": (0.26, 0.95),
}
AXIS = [1.0] + [0.0] * (EMBEDDER.dimension - 1)  # the question's dense vector
TERM = SparseVector([7], [1.0])  # the question's one keyword


def skewed_chunks() -> list[StoredChunk]:
    def vector(cosine: float, axis: int) -> list[float]:
        v = [0.0] * EMBEDDER.dimension
        v[0], v[axis] = cosine, math.sqrt(1 - cosine * cosine)
        return v

    return [
        StoredChunk(
            point_id(doc, "v1", 0),
            doc,
            "v1",
            Chunk(0, doc, 0, 1, (), (), None, None),
            doc,
            f"/docs/{doc}.md",
            vector(cosine, axis),
            SparseVector([7], [weight]),
        )
        for axis, (doc, (cosine, weight)) in enumerate(SKEWED.items(), start=1)
    ]


@pytest.mark.parametrize("fusion", FUSIONS)
def test_each_fusion_finds_the_matching_document_first(
    library: VectorStore, fusion: Fusion
) -> None:
    question = "volcano lava"
    dense = EMBEDDER.embed([question])[0]
    found = library.search(dense, encode_query(question), 10, fusion=fusion)
    assert found[0].doc_id == "volcano"


def test_rrf_counts_ranks_and_dbsf_weighs_scores(store: VectorStore) -> None:
    store.upsert(skewed_chunks())
    rrf = store.search(AXIS, TERM, 6, fusion="rrf")
    # 1/(2 + rank), ranks from 0: X is 1st by keywords and 2nd dense; Y 1st dense, 5th keywords
    assert [p.doc_id for p in rrf[:2]] == ["X", "Y"]
    assert rrf[0].score == pytest.approx(1 / 2 + 1 / 3)
    assert rrf[1].score == pytest.approx(1 / 2 + 1 / 6)
    dbsf = store.search(AXIS, TERM, 6, fusion="dbsf")
    # each half's scores mapped from [mean - 3 sd, mean + 3 sd] to [0, 1], then summed:
    # Y 0.840 + 0.366 = 1.206, X 0.444 + 0.722 = 1.166 (worked out by hand)
    assert [p.doc_id for p in dbsf[:2]] == ["Y", "X"]
    assert dbsf[0].score == pytest.approx(1.206, abs=1e-3)
    assert dbsf[1].score == pytest.approx(1.166, abs=1e-3)


def test_unknown_fusion_is_refused(store: VectorStore) -> None:
    store.upsert(skewed_chunks())
    with pytest.raises(ValueError, match="unknown fusion 'max'"):
        store.search(AXIS, TERM, 6, fusion="max")  # type: ignore[arg-type]


def test_a_hybrid_query_prefetches_at_least_its_limit() -> None:
    assert prefetch_depth(10) == DEFAULT_PREFETCH
    assert prefetch_depth(10, 40) == 40
    assert prefetch_depth(300, 40) == 300


# --- filters -----------------------------------------------------------------------------

WINTER = datetime(2023, 1, 10, tzinfo=UTC)
SUMMER = datetime(2024, 6, 1, 12, 30, tzinfo=UTC)
NEW_YEAR = datetime(2024, 1, 1, tzinfo=UTC)
ALL_WORDS = "apples orchard lava volcano payroll salaries roadmap storage engine"
ASKERS = {
    "anonymous": Access.public(),
    "hr": Access.member_of(["hr"]),
    "eng": Access.member_of(["eng"]),
    "admin": Access.admin(),
}


@pytest.fixture(scope="module", params=KINDS)
def labelled(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[VectorStore]:
    """Documents with types, tags and dates; payroll and roadmap are not public."""
    store = open_store(str(request.param), tmp_path_factory.mktemp("labelled"))
    store.ensure_collection(EMBEDDER.dimension)
    store.upsert(stored_chunks("fruit", FRUIT, tags=("farm",), modified=WINTER, ingested=SUMMER))
    store.upsert(
        stored_chunks("volcano", VOLCANO, suffix=".pdf", tags=("geology", "field"), modified=SUMMER)
    )
    store.upsert(
        stored_chunks(
            "payroll", PAYROLL, groups=("hr",), suffix=".pdf", tags=("farm",), modified=WINTER
        )
    )
    store.upsert(stored_chunks("roadmap", ROADMAP, groups=("eng",), suffix=".docx"))  # no dates
    yield store
    store.close()


def filtered(
    store: VectorStore, filters: SearchFilters, asker: str = "admin", mode: SearchMode = "hybrid"
) -> set[str]:
    dense = EMBEDDER.embed([ALL_WORDS])[0]
    found = store.search(
        dense, encode_query(ALL_WORDS), 20, mode=mode, access=ASKERS[asker], filters=filters
    )
    return {p.doc_id for p in found}


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize(
    ("filters", "expected"),
    [
        (SearchFilters(), {"fruit", "volcano", "payroll", "roadmap"}),
        (SearchFilters(documents=("volcano",)), {"volcano"}),
        (SearchFilters(documents=("/docs/fruit.md", "roadmap")), {"fruit", "roadmap"}),
        (SearchFilters(file_types=("pdf",)), {"volcano", "payroll"}),
        (SearchFilters(file_types=("docx", "md")), {"fruit", "roadmap"}),
        (SearchFilters(tags=("farm",)), {"fruit", "payroll"}),
        (SearchFilters(tags=("field", "nothing")), {"volcano"}),
        (SearchFilters(modified_since=NEW_YEAR), {"volcano"}),
        (SearchFilters(modified_since=SUMMER), {"volcano"}),  # since includes the moment
        (SearchFilters(modified_before=SUMMER), {"fruit", "payroll"}),  # before excludes it
        (SearchFilters(modified_since=WINTER, modified_before=NEW_YEAR), {"fruit", "payroll"}),
        (SearchFilters(ingested_since=NEW_YEAR), {"fruit"}),
        (SearchFilters(ingested_before=NEW_YEAR), set()),
        (SearchFilters(tags=("farm",), file_types=("pdf",)), {"payroll"}),
        (SearchFilters(documents=("fruit",), tags=("geology",)), set()),
    ],
)
def test_filters_narrow_the_search(
    labelled: VectorStore, mode: SearchMode, filters: SearchFilters, expected: set[str]
) -> None:
    assert filtered(labelled, filters, mode=mode) == expected


@pytest.mark.parametrize("asker", ASKERS)
@pytest.mark.parametrize(
    "filters",
    [
        SearchFilters(documents=("payroll", "roadmap", "fruit")),
        SearchFilters(documents=("/docs/payroll.pdf",)),
        SearchFilters(file_types=("pdf", "docx")),
        SearchFilters(tags=("farm",)),
        SearchFilters(modified_since=WINTER),
    ],
)
def test_a_filter_never_widens_access(
    labelled: VectorStore, asker: str, filters: SearchFilters
) -> None:
    readable = filtered(labelled, SearchFilters(), asker)
    found = filtered(labelled, filters, asker)
    assert found <= readable
    if asker == "anonymous":
        assert found <= {"fruit", "volcano"}


def test_filters_and_groups_together(labelled: VectorStore) -> None:
    farm = SearchFilters(tags=("farm",))
    assert filtered(labelled, farm, "anonymous") == {"fruit"}
    assert filtered(labelled, farm, "hr") == {"fruit", "payroll"}
    assert filtered(labelled, farm, "eng") == {"fruit"}
    assert filtered(labelled, SearchFilters(file_types=("docx",)), "eng") == {"roadmap"}
    assert filtered(labelled, SearchFilters(file_types=("docx",)), "hr") == set()


def test_edge_adds_missing_filter_indexes_when_reopened(tmp_path: Path) -> None:
    from qdrant_edge import UpdateOperation

    store = EdgeStore("contract", path=tmp_path)
    store.ensure_collection(EMBEDDER.dimension)
    store.upsert(stored_chunks("fruit", FRUIT, tags=("farm",)))
    shard = store._require_shard()
    for name in ("tags", "modified"):  # as a shard written before these filters existed
        shard.update(UpdateOperation.delete_field_index(name))
    assert {"tags", "modified"}.isdisjoint(shard.info().payload_schema)
    store.close()

    again = EdgeStore("contract", path=tmp_path)
    try:
        again.ensure_collection(EMBEDDER.dimension)
        assert {"tags", "modified", "file_type"} <= set(
            again._require_shard().info().payload_schema
        )
        assert filtered(again, SearchFilters(tags=("farm",))) == {"fruit"}
    finally:
        again.close()
