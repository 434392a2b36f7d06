"""Decide what each file needs before any parsing: nothing, a move, a regroup, or a full write."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from ingest.catalog import DocumentCatalog, DocumentRecord
from ingest.parse import SUPPORTED_SUFFIXES, file_hash

_NAMESPACE = uuid.UUID("6f1c1d3e-9b1a-4a53-8d0e-2f6c0d6e7a11")

SETTINGS_CHANGED = "re-embedded: the embedding model or chunk settings changed"
NOT_UTF8 = "the file name is not valid UTF-8: rename the file to ingest it"

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
    """Paths named directly, and every entry under folders but the folders themselves (hidden
    ones skipped), sorted. Links and special files are listed too, so that each gets a status."""
    for path in paths:
        if path.is_dir():
            for child in sorted(path.rglob("*")):
                hidden = any(part.startswith(".") for part in child.relative_to(path).parts)
                if not hidden and (child.is_symlink() or not child.is_dir()):
                    yield child
        else:
            yield path


def plan_file(
    path: Path,
    catalog: DocumentCatalog,
    fingerprint: str,
    groups: Sequence[str],
    *,
    force: bool = False,
    roots: Sequence[Path] = (),
) -> Plan:
    """What `path` needs. `roots` are the paths the run was given: a link found under a folder
    is not followed, a link named directly is."""
    try:
        refused = _refusal(path, roots)
        return refused or _plan_readable(path, catalog, fingerprint, groups, force)
    except OSError as exc:  # gone since the folder was listed, unreadable, a name too long
        source = _location(path)
        reason = "no such file" if isinstance(exc, FileNotFoundError) else exc.strerror
        return Plan(path, source, "fail", reason=f"cannot read the file: {reason or exc}")


def _plan_readable(
    path: Path, catalog: DocumentCatalog, fingerprint: str, groups: Sequence[str], force: bool
) -> Plan:
    source = str(path.resolve())
    if path.suffix.lower() not in SUPPORTED_SUFFIXES:
        unsupported = f"unsupported file type {path.suffix or '(none)'}"
        return Plan(path, source, "skip", document_id(path), reason=unsupported)
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


def _refusal(path: Path, roots: Sequence[Path]) -> Plan | None:
    """Files that are not read at all: names the catalog cannot hold, links found in folders,
    pipes and devices (reading a pipe would wait forever)."""
    if not is_utf8(str(path)):
        return _not_utf8(path)
    location = _location(path)
    link = _link_problem(path, roots) if path.is_symlink() and path not in roots else None
    if link is not None:
        return Plan(path, location, "skip", _location_id(location), reason=link)
    if not path.exists():
        return Plan(path, str(path), "fail", reason="no such file")
    if not is_utf8(str(path.resolve())):  # a folder on the way, or a link's target
        return _not_utf8(path.resolve())
    if not path.is_file():
        reason = "not a regular file (a named pipe, socket or device)"
        return Plan(path, location, "skip", _location_id(location), reason=reason)
    return None


def _not_utf8(path: Path) -> Plan:
    return Plan(path, _printable(path), "skip", reason=NOT_UTF8)  # no doc_id: not recorded


def _link_problem(link: Path, roots: Sequence[Path]) -> str:
    try:
        target = link.resolve(strict=True)
    except FileNotFoundError:
        missing = _printable(Path(os.readlink(link)))
        return f"a broken symbolic link (its target {missing} does not exist)"
    except (RuntimeError, OSError):  # RuntimeError: a loop, in Python 3.11
        return "a symbolic link that loops back on itself"
    shown = _printable(target)
    if target.is_dir():
        return f"a symbolic link to the folder {shown} (links are not followed)"
    folders = [root.resolve() for root in roots if root.is_dir()]
    if any(folder in target.parents for folder in folders):
        return f"a symbolic link to {shown}, which is ingested under its own name"
    return f"a symbolic link to {shown}, outside the folders being ingested (not followed)"


def _printable(path: Path) -> str:
    """A path as text that any output can hold (bytes that are not UTF-8 become \\xNN)."""
    return os.fsencode(path).decode("utf-8", "backslashreplace")


def _location(path: Path) -> str:
    """Where the entry itself is (a link's own place, not its target's)."""
    return str(path.parent.resolve() / path.name)


def _location_id(location: str) -> str:
    return str(uuid.uuid5(_NAMESPACE, location))


def is_utf8(text: str) -> bool:
    """False for text holding lone surrogates (an undecodable file name, a JSON escape)."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def _is_current(record: DocumentRecord, digest: str, fingerprint: str) -> bool:
    """Stored from these very bytes with these very settings, and not failed since."""
    return (
        record.status == "ok"
        and record.error is None
        and record.content_hash == digest
        and record.pipeline == fingerprint
    )


def _moved_from(catalog: DocumentCatalog, digest: str, fingerprint: str) -> DocumentRecord | None:
    """A document with the same bytes whose file is gone: the file was renamed or moved."""
    for record in catalog.with_hash(digest):
        if _is_current(record, digest, fingerprint) and not Path(record.source).exists():
            return record
    return None


def vanished(catalog: DocumentCatalog, roots: Sequence[Path]) -> list[DocumentRecord]:
    """Catalog documents under `roots` (folders, or files named) whose file no longer exists."""
    scopes = [root.resolve() for root in roots]
    gone = []
    for record in catalog.all():
        source = Path(record.source)
        if os.path.lexists(source):  # a broken link recorded as skipped is still there
            continue
        if any(source == scope or scope in source.parents for scope in scopes):
            gone.append(record)
    return gone
