"""Property tests (hypothesis) of ingestion under arbitrary input: any bytes under any supported
extension, damaged copies of real documents, any file name. Real parsers, a real in-memory Qdrant
and SQLite catalog shared by all examples of a property, so damage would accumulate and show."""

from __future__ import annotations

import itertools
import os
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from ingest.catalog import Catalog
from ingest.planning import is_utf8
from ingest.store import QdrantStore
from tests.ingest import bombs, hostile
from tests.ingest.hostile import Good
from tests.ingest.invariants import (
    assert_clear,
    assert_findable,
    assert_store_matches_catalog,
    ingest,
)

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
    templates: dict[str, bytes] = field(repr=False)  # a failing example prints the fixture


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
    damaged = bombs.damaged(scratch.templates[suffix], suffix, cuts, keep)
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
    if is_utf8(str(path)):
        assert (result.status, result.source) == ("new", str(path.resolve()))
    else:
        assert result.status == "skipped" and "not valid UTF-8" in (result.reason or "")
        assert "\\x" in result.source  # the undecodable bytes, escaped
        assert not [r for r in scratch.catalog.all() if r.source.startswith(str(folder))]
    assert_store_matches_catalog(scratch.store, scratch.catalog)
