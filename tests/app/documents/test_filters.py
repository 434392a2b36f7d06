"""Search filters (document, type, tag, date) from the CLI and the JSON API down to the query;
they narrow what the asker may read and never widen it."""

from __future__ import annotations

import os
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from app.answering.retrieve import retrieve
from app.cli.main import cli
from app.documents.filters import FilterError, resolve_documents, search_filters
from app.services import Services
from app.settings import Settings
from app.web import create_app
from ingest.access import Access
from ingest.pipeline import IngestOptions, ingest_paths
from ingest.types import SearchFilters
from tests.app.signin import add_user
from tests.fakes import FakeGenerator

OLD = datetime(2022, 6, 1, tzinfo=UTC)
QUESTION = "What do the remote work, expenses and salary rules say?"
DOCUMENTS = {  # file: (groups, tags, text)
    "remote.md": ((), ("policy",), "The remote work rule allows three days a week."),
    "expenses.txt": ((), ("policy", "finance"), "The expenses rule refunds trains."),
    "salaries.md": (("hr",), ("policy",), "The salary rule sets band seven."),
    "notes.md": ((), (), "Old notes about the remote work rule and expenses."),
}
READABLE = {"anonymous": Access.public(), "hr": Access.member_of(["hr"]), "admin": Access.admin()}


@pytest.fixture
def kb(services: Services, tmp_path: Path) -> Services:
    for name, (groups, tags, text) in DOCUMENTS.items():
        path = tmp_path / "docs" / name
        path.parent.mkdir(exist_ok=True)
        path.write_text(f"# {name}\n\n{text}\n")
        if name == "notes.md":
            os.utime(path, (OLD.timestamp(), OLD.timestamp()))
        options = IngestOptions(chunk_tokens=60, chunk_overlap=5, groups=groups, tags=tags)
        ingest_paths(
            [path],
            embedder=services.embedder,
            store=services.store,
            catalog=services.catalog,
            options=options,
        )
    return services


def names(kb: Services, filters: SearchFilters | None, asker: str = "admin") -> set[str]:
    found = retrieve(
        QUESTION,
        embedder=kb.embedder,
        store=kb.store,
        limit=20,
        live_versions=kb.catalog.live_versions,
        access=READABLE[asker],
        filters=filters,
    )
    return {Path(p.source).name for p in found}


# --- checking what users typed ----------------------------------------------------------


def test_filters_are_normalised() -> None:
    filters = search_filters(
        file_types=["PDF", ".md", "pdf"],
        tags=[" policy ", "policy"],
        modified_since="2024-05-01",
        modified_before="2024-05-02T09:30+02:00",
    )
    assert filters == SearchFilters(
        file_types=("pdf", "md"),
        tags=("policy",),
        modified_since=datetime(2024, 5, 1, tzinfo=UTC),
        modified_before=datetime.fromisoformat("2024-05-02T09:30+02:00"),
    )
    assert search_filters() is None


@pytest.mark.parametrize(
    ("given", "message"),
    [
        ({"file_types": ["exe"]}, "unknown file type 'exe': docent ingests"),
        ({"tags": [""]}, "empty tag"),
        ({"modified_since": "last week"}, "'last week' is not a date"),
        ({"ingested_since": "2024-05-02", "ingested_before": "2024-05-01"}, "nothing can match"),
    ],
)
def test_unusable_filters_are_refused_with_the_reason(
    given: dict[str, object], message: str
) -> None:
    with pytest.raises(FilterError, match=message):
        search_filters(**given)  # type: ignore[arg-type]


def test_documents_are_found_by_id_prefix_or_path(kb: Services, tmp_path: Path) -> None:
    remote = kb.catalog.get_by_source(str((tmp_path / "docs" / "remote.md").resolve()))
    assert remote is not None
    refs = [remote.doc_id[:8], str(tmp_path / "docs" / "remote.md"), remote.doc_id]
    assert resolve_documents(kb.catalog, refs) == (remote.doc_id,)
    with pytest.raises(FilterError, match=r"no document matches 'nowhere\.md'"):
        resolve_documents(kb.catalog, ["nowhere.md"])


# --- retrieval --------------------------------------------------------------------------


def test_each_filter_narrows_retrieval(kb: Services, tmp_path: Path) -> None:
    remote = str((tmp_path / "docs" / "remote.md").resolve())
    assert names(kb, None) == set(DOCUMENTS)
    assert names(kb, SearchFilters(documents=(remote,))) == {"remote.md"}
    assert names(kb, SearchFilters(file_types=("txt",))) == {"expenses.txt"}
    assert names(kb, SearchFilters(tags=("finance",))) == {"expenses.txt"}
    assert names(kb, SearchFilters(tags=("policy",))) == {
        "remote.md",
        "expenses.txt",
        "salaries.md",
    }
    cutoff = datetime(2023, 1, 1, tzinfo=UTC)
    assert names(kb, SearchFilters(modified_before=cutoff)) == {"notes.md"}
    assert names(kb, SearchFilters(modified_since=cutoff, file_types=("md",))) == {
        "remote.md",
        "salaries.md",
    }


@pytest.mark.parametrize(
    "filters",
    [
        None,
        SearchFilters(tags=("policy",)),
        SearchFilters(file_types=("md",)),
        SearchFilters(documents=("salaries.md",)),
        SearchFilters(modified_since=OLD),
    ],
)
def test_filters_never_open_a_document_the_asker_may_not_read(
    kb: Services, filters: SearchFilters | None
) -> None:
    assert "salaries.md" not in names(kb, filters, "anonymous")
    salaries = kb.catalog.all()
    ids = tuple(r.doc_id for r in salaries if r.source.endswith("salaries.md"))
    assert names(kb, SearchFilters(documents=ids), "anonymous") == set()
    assert names(kb, SearchFilters(documents=ids), "hr") == {"salaries.md"}


def test_answers_use_only_the_filtered_documents(kb: Services, generator: FakeGenerator) -> None:
    generator.enqueue("Trains are refunded [1].")
    answer = kb.answerer.answer(QUESTION, filters=SearchFilters(tags=("finance",)))
    assert {Path(p.source).name for p in answer.passages} == {"expenses.txt"}
    prompt = generator.calls[-1][1].content
    assert "refunds trains" in prompt and "three days a week" not in prompt


# --- surfaces ---------------------------------------------------------------------------


@pytest.fixture
def client(settings: Settings, kb: Services) -> Iterator[TestClient]:
    with TestClient(create_app(settings, kb)) as client:
        yield client


def _bearer(kb: Services, groups: tuple[str, ...] = ()) -> dict[str, str]:
    user = add_user(kb.accounts, "alice", groups=groups)
    return {"Authorization": f"Bearer {kb.accounts.issue_api_token(user.id, 'script')}"}


def test_json_api_takes_filters(client: TestClient, kb: Services) -> None:
    headers = _bearer(kb)
    body = {"question": QUESTION, "filters": {"types": ["TXT"], "tags": ["policy"]}}
    response = client.post("/api/v1/ask", json=body, headers=headers)
    assert response.status_code == 200, response.text
    assert {Path(p["source"]).name for p in response.json()["passages"]} == {"expenses.txt"}

    hidden = {"question": QUESTION, "filters": {"documents": ["salaries.md"], "tags": ["policy"]}}
    salaries = [r.doc_id for r in kb.catalog.all() if r.source.endswith("salaries.md")]
    hidden["filters"]["documents"] = salaries  # type: ignore[index]
    response = client.post("/api/v1/ask", json=hidden, headers=headers)
    assert response.status_code == 200
    assert response.json()["passages"] == []  # alice is not in hr


def test_json_api_refuses_bad_filters(client: TestClient, kb: Services) -> None:
    body = {"question": QUESTION, "filters": {"types": ["exe"]}}
    response = client.post("/api/v1/ask", json=body, headers=_bearer(kb))
    assert response.status_code == 422
    assert "unknown file type 'exe'" in response.json()["detail"]


@pytest.mark.parametrize(
    ("options", "message"),
    [
        (["--type", "exe"], "unknown file type 'exe'"),
        (["--doc", "nowhere.md"], "no document matches 'nowhere.md'"),
        (["--since", "yesterday"], "'yesterday' is not a date"),
    ],
)
def test_cli_refuses_bad_filters_before_loading_models(options: list[str], message: str) -> None:
    result = CliRunner().invoke(cli, ["ask", "anything?", *options], env={"COLUMNS": "200"})
    assert result.exit_code == 2
    assert message in result.output
