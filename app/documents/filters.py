"""Search filters from what a user typed (CLI options, JSON fields), checked and normalised.

The store applies them inside the search query, on top of the access filter, so a filter can
only narrow what the asker may read (see ingest.types.SearchFilters).
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, date, datetime
from typing import TYPE_CHECKING

from app.documents.library import find_document
from ingest.parse import SUPPORTED_SUFFIXES
from ingest.types import SearchFilters

if TYPE_CHECKING:
    from ingest.catalog import DocumentCatalog

FILE_TYPES = frozenset(suffix.lstrip(".") for suffix in SUPPORTED_SUFFIXES)


class FilterError(ValueError):
    """A filter value docent cannot use; the message says which and why."""


def search_filters(
    *,
    documents: Iterable[str] = (),
    file_types: Iterable[str] = (),
    tags: Iterable[str] = (),
    modified_since: datetime | date | str | None = None,
    modified_before: datetime | date | str | None = None,
    ingested_since: datetime | date | str | None = None,
    ingested_before: datetime | date | str | None = None,
) -> SearchFilters | None:
    """Checked filters, or None when nothing narrows the search. Dates may be ISO strings
    ("2024-05-01", "2024-05-01T09:30"); a date or time without a timezone is read as UTC."""
    filters = SearchFilters(
        documents=_distinct(documents, "document"),
        file_types=file_type_names(file_types),
        tags=_distinct(tags, "tag"),
        modified_since=moment(modified_since, "modified since"),
        modified_before=moment(modified_before, "modified before"),
        ingested_since=moment(ingested_since, "ingested since"),
        ingested_before=moment(ingested_before, "ingested before"),
    )
    _check_order(filters.modified_since, filters.modified_before, "modified")
    _check_order(filters.ingested_since, filters.ingested_before, "ingested")
    return None if filters.empty else filters


def file_type_names(values: Iterable[str]) -> tuple[str, ...]:
    """Type names as stored ("PDF" and ".pdf" are "pdf"); a type docent never ingests is
    refused."""
    names = _distinct((v.strip().lower().lstrip(".") for v in values), "file type")
    unknown = [name for name in names if name not in FILE_TYPES]
    if unknown:
        known = ", ".join(sorted(FILE_TYPES))
        raise FilterError(f"unknown file type {unknown[0]!r}: docent ingests {known}")
    return names


def moment(value: datetime | date | str | None, label: str) -> datetime | None:
    """A timezone-aware datetime (UTC when none is given)."""
    if value is None or value == "":
        return None
    if isinstance(value, str):
        try:
            value = datetime.fromisoformat(value.strip())
        except ValueError:
            raise FilterError(
                f"{label}: {value!r} is not a date (use 2024-05-01 or 2024-05-01T09:30)"
            ) from None
    if not isinstance(value, datetime):
        value = datetime(value.year, value.month, value.day)
    return value if value.tzinfo is not None else value.replace(tzinfo=UTC)


def _distinct(values: Iterable[str], label: str) -> tuple[str, ...]:
    cleaned = tuple(dict.fromkeys(v.strip() for v in values))
    if any(not v for v in cleaned):
        raise FilterError(f"an empty {label} filter matches nothing: leave it out")
    return cleaned


def _check_order(since: datetime | None, before: datetime | None, label: str) -> None:
    if since is not None and before is not None and since >= before:
        raise FilterError(
            f"{label} since {since.isoformat()} is not before {before.isoformat()}: "
            "nothing can match"
        )


def resolve_documents(catalog: DocumentCatalog, refs: Iterable[str]) -> tuple[str, ...]:
    """Document ids for what an operator typed: ids, id prefixes or file paths."""
    try:
        return tuple(dict.fromkeys(find_document(catalog, ref).doc_id for ref in refs))
    except LookupError as exc:
        raise FilterError(str(exc)) from exc
