"""No code path returns a passage from a document the asker may not read."""

from __future__ import annotations

from pathlib import Path

import pytest

from app.answering.retrieve import retrieve
from app.services import Services
from ingest.access import Access
from ingest.pipeline import IngestOptions, ingest_paths
from ingest.sparse import encode_query
from ingest.store import SearchMode
from ingest.types import SparseVector
from tests.fakes import FakeGenerator

SECRETS = {
    "public": ("public.md", (), "canteen opens at noon"),
    "hr": ("salaries.md", ("hr",), "salary band seven pays ninety thousand"),
    "finance": ("budget.md", ("finance",), "acquisition budget is twelve million"),
    "board": ("merger.md", ("board", "finance"), "merger with zephyrcorp closes in may"),
}
ASKERS = {
    "anonymous": Access.public(),
    "hr member": Access.member_of(["hr"]),
    "finance member": Access.member_of(["finance"]),
    "outsider group": Access.member_of(["sales"]),
    "admin": Access.admin(),
}
MODES: list[SearchMode] = ["dense", "sparse", "hybrid"]


@pytest.fixture
def kb(services: Services, tmp_path: Path) -> Services:
    for name, groups, text in SECRETS.values():
        doc = tmp_path / name
        doc.write_text(f"# {name}\n\nThe {text}. Ask the office for details.\n")
        ingest_paths(
            [doc],
            embedder=services.embedder,
            store=services.store,
            catalog=services.catalog,
            options=IngestOptions(chunk_tokens=60, chunk_overlap=5, groups=groups),
        )
    return services


READABLE = {  # written out by hand: the oracle must not be the code under test
    "anonymous": {"public.md"},
    "hr member": {"public.md", "salaries.md"},
    "finance member": {"public.md", "budget.md", "merger.md"},
    "outsider group": {"public.md"},
    "admin": {"public.md", "salaries.md", "budget.md", "merger.md"},
}


@pytest.mark.parametrize("asker", ASKERS)
@pytest.mark.parametrize("mode", MODES)
def test_search_returns_only_readable_documents(kb: Services, asker: str, mode: SearchMode) -> None:
    access = ASKERS[asker]
    probes = 0
    for _, _, text in SECRETS.values():
        found = retrieve(
            text,
            embedder=kb.embedder,
            store=kb.store,
            limit=20,
            live_versions=kb.catalog.live_versions,
            mode=mode,
            access=access,
        )
        probes += 1
        names = {Path(p.source).name for p in found}
        assert names <= READABLE[asker], f"{asker} saw {names - READABLE[asker]}"
    assert probes == len(SECRETS)


def test_default_access_is_public_only(kb: Services) -> None:
    found = kb.store.search(kb.embedder.embed(["salary band"])[0], _query("salary band"), 20)
    assert {Path(p.source).name for p in found} == {"public.md"}


def test_members_see_their_groups_and_public_documents(kb: Services) -> None:
    found = retrieve(
        "salary band merger canteen budget",
        embedder=kb.embedder,
        store=kb.store,
        limit=20,
        mode="sparse",
        access=Access.member_of(["finance"]),
    )
    assert {Path(p.source).name for p in found} == {"public.md", "budget.md", "merger.md"}


@pytest.mark.parametrize("asker", ["anonymous", "hr member", "outsider group"])
def test_the_model_is_never_shown_a_forbidden_passage(
    kb: Services, generator: FakeGenerator, asker: str
) -> None:
    access = ASKERS[asker]
    forbidden = [text for name, _, text in SECRETS.values() if name not in READABLE[asker]]
    assert forbidden
    for text in forbidden:
        generator.enqueue(f"Here it is: {text} [1].")
        answer = kb.answerer.answer(f"What about the {text}?", access)
        prompt = generator.calls[-1][1].content if generator.calls else ""
        sources = prompt.split("Question:")[0]  # the question itself repeats the text
        assert text not in sources
        shown = {Path(p.source).name for p in answer.passages}
        shown |= {Path(c.passage.source).name for c in answer.citations}
        assert shown <= READABLE[asker]


def _query(text: str) -> SparseVector:
    return encode_query(text)
