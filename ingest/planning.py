"""Decide what each file needs before any parsing: nothing, a move, a regroup, or a full write."""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from ingest.catalog import Catalog, DocumentRecord
from ingest.parse import SUPPORTED_SUFFIXES, file_hash

_NAMESPACE = uuid.UUID("6f1c1d3e-9b1a-4a53-8d0e-2f6c0d6e7a11")

SETTINGS_CHANGED = "re-embedded: the embedding model or chunk settings changed"

Action = Literal["new", "update", "unchanged", "move", "regroup", "skip", "fail"]


@dataclass(frozen=True)
class Plan:
    path: Path
    source: str  # absolute path: the catalog's key
    action: Action
    doc_id: str = ""
    content_hash: str = ""
    record: DocumentRecord | None = None  # the catalog row this plan starts from
    reason: str | None = None


def document_id(source: Path) -> str:
    """Deterministic id of a new source file (its absolute path); a moved file keeps its id."""
    return str(uuid.uuid5(_NAMESPACE, str(source.resolve())))


def chunk_version(content_hash: str, fingerprint: str) -> str:
    """Identifies one document's chunks: new bytes or new chunk/embedding settings, new version."""
    return str(uuid.uuid5(_NAMESPACE, f"{content_hash}:{fingerprint}"))


def point_id(doc_id: str, version: str, index: int) -> str:
    return str(uuid.uuid5(_NAMESPACE, f"{doc_id}:{version}:{index}"))


def expand_paths(paths: Iterable[Path]) -> Iterator[Path]:
    """Files named directly, and every file under folders (hidden ones skipped), sorted."""
    for path in paths:
        if path.is_dir():
            for child in sorted(path.rglob("*")):
                hidden = any(part.startswith(".") for part in child.relative_to(path).parts)
                if child.is_file() and not hidden:
                    yield child
        else:
            yield path


def plan_file(
    path: Path, catalog: Catalog, fingerprint: str, groups: Sequence[str], *, force: bool = False
) -> Plan:
    if not path.is_file():
        return Plan(path, str(path), "fail", reason="no such file")
    source = str(path.resolve())
    if path.suffix.lower() not in SUPPORTED_SUFFIXES:
        return Plan(path, source, "skip", reason=f"unsupported file type {path.suffix or '(none)'}")
    digest = file_hash(path)
    record = catalog.get_by_source(source)
    if record is None:
        moved = _moved_from(catalog, digest, fingerprint)
        if moved is not None:
            return Plan(path, source, "move", moved.doc_id, digest, moved)
        return Plan(path, source, "new", document_id(path), digest)
    if _is_current(record, digest, fingerprint) and not force:
        action: Action = "unchanged" if set(record.groups) == set(groups) else "regroup"
        return Plan(path, source, action, record.doc_id, digest, record)
    action = "update" if record.status == "ok" else "new"
    reason = None
    if record.status == "ok" and record.content_hash == digest and record.pipeline != fingerprint:
        reason = SETTINGS_CHANGED
    return Plan(path, source, action, record.doc_id, digest, record, reason)


def _is_current(record: DocumentRecord, digest: str, fingerprint: str) -> bool:
    """Stored from these very bytes with these very settings, and not failed since."""
    return (
        record.status == "ok"
        and record.error is None
        and record.content_hash == digest
        and record.pipeline == fingerprint
    )


def _moved_from(catalog: Catalog, digest: str, fingerprint: str) -> DocumentRecord | None:
    """A document with the same bytes whose file is gone: the file was renamed or moved."""
    for record in catalog.with_hash(digest):
        if _is_current(record, digest, fingerprint) and not Path(record.source).exists():
            return record
    return None


def vanished(catalog: Catalog, roots: Sequence[Path]) -> list[DocumentRecord]:
    """Catalog documents under `roots` (folders, or files named) whose file no longer exists."""
    scopes = [root.resolve() for root in roots]
    gone = []
    for record in catalog.all():
        source = Path(record.source)
        if source.exists():
            continue
        if any(source == scope or scope in source.parents for scope in scopes):
            gone.append(record)
    return gone
