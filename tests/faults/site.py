"""A knowledge base for the fault tests: accounts, an API token, one demo document, made once
with the real CLI and copied for each test; checks that the catalog and the vector store agree."""

from __future__ import annotations

import re
import shutil
from dataclasses import dataclass
from pathlib import Path

import httpx

from app.accounts.db import make_engine
from app.answering.retrieve import retrieve
from app.demo import demo_documents
from app.documents.catalog import DatabaseCatalog
from app.services import open_store
from app.settings import Settings
from ingest.access import Access
from tests.fakes import FakeEmbedder
from tests.serving import clean_env, docent, free_port

SETTINGS = {
    "DOCENT_MODEL": "smollm2-135m",
    "DOCENT_TEMPERATURE": "0",
    "DOCENT_N_CTX": "2048",
    "DOCENT_MAX_ANSWER_TOKENS": "120",
    "DOCENT_MIN_EVIDENCE": "0",  # SmolLM2 answers every question: generation always runs
    "DOCENT_MAX_FILE_MB": "5",
    "DOCENT_LOG_LEVEL": "warning",
}
ADMIN, PASSWORD = "ada", "fault-admin-pass"


@dataclass
class Site:
    root: Path  # the server's working folder (logs, documents to ingest)
    data: Path
    env: dict[str, str]
    token: str  # the admin's API token

    @property
    def auth(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}


def make_template(root: Path) -> tuple[Path, str]:
    """An admin with an API token and the office FAQ ingested; (data dir, token)."""
    env = clean_env(root / "data", **SETTINGS)
    docent(["users", "add", ADMIN, "--admin", "--password-stdin"], env, root, PASSWORD + "\n")
    printed = docent(["users", "token", ADMIN], env, root).stdout
    token = re.search(r"dct_[\w-]+", printed)
    assert token, printed
    faq = [str(p) for p in demo_documents() if p.name == "office-faq.txt"]
    docent(["ingest", *faq], env, root)
    return root / "data", token.group(0)


def copy_site(template: tuple[Path, str], root: Path, **settings: str) -> Site:
    """A copy of the template's data for one test, with its own port (DOCENT_PORT) and
    `settings` added."""
    data, token = template
    shutil.copytree(data, root / "data")
    env = clean_env(root / "data", **SETTINGS, DOCENT_PORT=str(free_port()), **settings)
    return Site(root, root / "data", env, token)


def write_documents(folder: Path, count: int, prefix: str, paragraphs: int = 40) -> list[str]:
    """`count` Markdown files `{prefix}-{n}.md`, each with its own marker word in every
    paragraph, long enough to take seconds to embed; returns the marker words."""
    folder.mkdir(parents=True, exist_ok=True)
    words = []
    for n in range(count):
        word = f"{prefix}{n}marker"
        body = "\n\n".join(
            f"## Part {i}\n\nSection {i} of policy {n} says {word} applies to case {i * 7}, "
            f"with rules for travel, leave, equipment and security, item {i}."
            for i in range(paragraphs)
        )
        (folder / f"{prefix}-{n}.md").write_text(f"# Policy {prefix} {n}\n\n{body}\n")
        words.append(word)
    return words


def site_catalog(data: Path) -> DatabaseCatalog:
    """The catalog the server of `data` keeps (in its app database)."""
    settings = Settings(data_dir=data)
    return DatabaseCatalog(make_engine(settings.database_url), data)


def assert_consistent(data: Path, words: list[str]) -> DatabaseCatalog:
    """With the server stopped: every committed version has all its chunks (with the catalog's
    groups), and search shows only committed versions of catalogued documents, one version
    per document. Returns the catalog (open) for more checks."""
    settings = Settings(data_dir=data)
    store, catalog = open_store(settings), site_catalog(data)
    try:
        live = {}
        for record in catalog.all():
            if record.version:
                chunks = store.document_chunks(record.doc_id, record.version)
                assert len(chunks) == record.chunk_count, record
                assert {c.groups for c in chunks} <= {record.groups}, record
                live[record.doc_id] = record.version
        for word in words:
            shown = retrieve(
                word,
                embedder=FakeEmbedder(),
                store=store,
                limit=50,
                live_versions=catalog.live_versions,
                mode="sparse",
                access=Access.admin(),
            )
            for passage in shown:
                assert live.get(passage.doc_id) == passage.version, (word, passage)
        return catalog
    finally:
        store.close()


def stored_points(data: Path) -> int:
    store = open_store(Settings(data_dir=data))
    try:
        return store.count()
    finally:
        store.close()


def upload_state(url: str, site: Site, job_id: str) -> dict[str, object]:
    response = httpx.get(f"{url}/api/v1/uploads/{job_id}", headers=site.auth, timeout=10)
    assert response.status_code == 200, response.text
    body: dict[str, object] = response.json()
    return body
