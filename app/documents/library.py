"""The knowledge base's documents as admins manage them: find, regroup, delete, look inside.

Thin over `ingest.catalog` and the vector store; the admin pages and `/api/v1/documents` share it.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, fields
from pathlib import Path

from app.accounts.user import clean_group
from ingest.access import Access
from ingest.catalog import DocumentCatalog, DocumentRecord, OkRecord
from ingest.pipeline import remove_document
from ingest.store import VectorStore
from ingest.types import Passage

STATUSES = ("ok", "failed", "skipped", "pending")
EVERYONE = "(everyone)"  # the group filter's name for documents without groups


class DocumentNotFound(LookupError):
    pass


def find_document(catalog: DocumentCatalog, ref: str) -> DocumentRecord:
    """A document by id, id prefix (8+ characters) or file path."""
    record = catalog.get(ref) or catalog.get_by_source(str(Path(ref).resolve()))
    if record:
        return record
    matches = [r for r in catalog.all() if len(ref) >= 8 and r.doc_id.startswith(ref)]
    if len(matches) == 1:
        return matches[0]
    raise DocumentNotFound(f"no document matches {ref!r} (use an id from `docent docs list`)")


def readable_chunks(catalog: DocumentCatalog, access: Access) -> int:
    """Passages searchable by someone with `access`: the documents their groups allow."""
    return sum(
        r.chunk_count
        for r in catalog.all()
        if r.status == "ok" and r.version and access.allows(r.groups)
    )


@dataclass(frozen=True)
class DocumentFilter:
    q: str = ""  # words in the title or file name
    status: str = ""
    kind: str = ""  # file type: "pdf", "md"...
    group: str = ""  # a group name, or EVERYONE

    def matches(self, record: DocumentRecord) -> bool:
        words = self.q.lower().split()
        haystack = f"{record.title} {record.source}".lower()
        return (
            all(word in haystack for word in words)
            and (not self.status or record.status == self.status)
            and (not self.kind or file_type(record) == self.kind)
            and (not self.group or _in_group(record, self.group))
        )


def _in_group(record: DocumentRecord, group: str) -> bool:
    return not record.groups if group == EVERYONE else group in record.groups


def file_type(record: DocumentRecord) -> str:
    return Path(record.source).suffix.lower().lstrip(".")


def find(catalog: DocumentCatalog, where: DocumentFilter) -> list[DocumentRecord]:
    return [record for record in catalog.all() if where.matches(record)]


@dataclass(frozen=True)
class Facets:
    """The values the filters can take, from the documents there are."""

    types: list[str]
    groups: list[str]
    counts: dict[str, int]  # documents per status


def facets(records: Iterable[DocumentRecord]) -> Facets:
    types: set[str] = set()
    groups: set[str] = set()
    counts = dict.fromkeys(STATUSES, 0)
    for record in records:
        types.add(file_type(record))
        groups.update(record.groups)
        counts[record.status] = counts.get(record.status, 0) + 1
    return Facets(sorted(t for t in types if t), sorted(groups), counts)


def parse_groups(values: Iterable[str]) -> tuple[str, ...]:
    """Group names from form values (checkboxes, or comma-separated text); AccountError on a
    bad name."""
    names = {clean_group(part) for value in values for part in value.split(",") if part.strip()}
    return tuple(sorted(names))


def regroup(
    record: DocumentRecord, groups: Sequence[str], store: VectorStore, catalog: DocumentCatalog
) -> None:
    """Change who may read an ingested document: the stored passages' payload and the catalog,
    nothing re-embedded (what `docent ingest --group` does for an unchanged file)."""
    if record.status != "ok" or not record.version:
        raise ValueError(f"{record.title or record.source} is not ingested ({record.status_text})")
    store.update_document(record.doc_id, {"groups": list(groups)})
    kept = {f.name: getattr(record, f.name) for f in fields(OkRecord) if f.name != "groups"}
    catalog.record_ok(OkRecord(**kept, groups=tuple(groups)))
    store.delete_document(record.doc_id, keep_version=record.version)
    catalog.mark_cleaned(record.doc_id)


def delete(
    record: DocumentRecord, store: VectorStore, catalog: DocumentCatalog, uploads: Path
) -> bool:
    """Remove a document from the knowledge base; its file too when it is an upload (docent's
    own copy). Returns whether a file was deleted."""
    remove_document(record.doc_id, store, catalog)
    source = Path(record.source)
    if source.parent.resolve() == uploads.resolve() and source.is_file():
        source.unlink()
        return True
    return False


def chunks(record: DocumentRecord, store: VectorStore) -> list[Passage]:
    """The document's searchable chunks, in order (none for a document not ingested)."""
    return store.document_chunks(record.doc_id, record.version) if record.version else []


def as_dict(record: DocumentRecord) -> dict[str, object]:
    """A catalog record for the JSON API."""
    return {
        "id": record.doc_id,
        "title": record.title,
        "source": record.source,
        "type": file_type(record),
        "status": record.status,
        "error": record.error,
        "chunks": record.chunk_count,
        "pages": record.pages,
        "groups": list(record.groups),
        "created_at": record.created_at,
        "updated_at": record.updated_at,
    }
