"""A fixed, mixed corpus for the ingestion benchmark: seeded made-up prose in seven formats.

Generated once under `data/bench/corpus/pages-<N>/` and reused while its manifest (`pages-<N>.json`
beside it, written last) lists it whole. Pages are PDF pages, and `PAGE_CHARS` characters of text
for the formats that have no pages.
"""

from __future__ import annotations

import html
import json
import random
import re
import shutil
import zipfile
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass, field
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

if TYPE_CHECKING:
    from fpdf import FPDF

SEED = 1729
PAGE_CHARS = 3000
CORPUS_VERSION = 1  # bump when the generator changes: cached corpora are then made again
DEFAULT_ROOT = Path(__file__).resolve().parents[2] / "data" / "bench" / "corpus"
_MODIFIED = re.compile(rb"(<dcterms:modified[^>]*>)[^<]*")  # openpyxl stamps the save time
_FIXED_TIME = datetime(2024, 1, 1, 12, 0, 0)
# format, files per 300 pages, share of the pages
_PLAN = (
    ("pdf", 20, 0.40),
    ("docx", 15, 0.20),
    ("md", 20, 0.16),
    ("html", 10, 0.10),
    ("txt", 10, 0.07),
    ("pptx", 4, 0.04),
    ("xlsx", 3, 0.03),
)


# --- made-up prose ----------------------------------------------------------------------------
def _words(text: str) -> tuple[str, ...]:
    return tuple(text.split())


def _phrases(text: str) -> tuple[str, ...]:
    return tuple(text.split("|"))


_NOUNS = _words(
    "server invoice contract policy backup report schedule budget customer supplier warehouse "
    "ticket release database laptop badge meeting deadline audit license printer vendor shipment "
    "refund account password network office manager engineer form request approval incident "
    "checklist template dashboard spreadsheet firewall router calendar payroll expense receipt "
    "training handbook project milestone review quota forecast inventory pallet crate sample "
    "permit inspection site visitor parcel timesheet roadmap"
)
_ADJECTIVES = _words(
    "quarterly annual urgent internal external shared remote secure legacy new pending approved "
    "regional central temporary signed encrypted weekly monthly local primary secondary optional "
    "mandatory detailed brief"
)
_VERBS = _words(
    "reviews approves updates archives sends checks records replaces schedules tracks rejects "
    "signs stores copies restores assigns closes opens escalates measures exports prints "
    "validates renews cancels"
)
_PARTICIPLES = _words(
    "reviewed approved updated archived signed filed checked replaced renewed closed logged "
    "escalated"
)
_SUBJECTS = _phrases(
    "the finance team|each engineer|the site manager|a new employee|the help desk|"
    "the auditor|every contractor|the release manager|the facilities team|the data owner|"
    "the on-call engineer|a supervisor|the procurement office|the night shift"
)
_ADVERBS = _phrases(
    "carefully|promptly|once a week|before noon|every Monday|at month end|without delay|"
    "in writing|twice a year|after each release|on request"
)
_PREPOSITIONS = ("for", "with", "from", "before", "after", "during", "under", "within")
_CONNECTORS = _phrases(
    "Meanwhile,|In practice,|As a rule,|If needed,|Afterwards,|In most cases,|"
    "For this reason,|Otherwise,"
)

BlockKind = Literal["h1", "h2", "p", "ul", "ol", "table"]


@dataclass(frozen=True)
class Block:
    kind: BlockKind
    text: str = ""
    items: tuple[str, ...] = ()  # list items, or table rows with cells joined by "\t"

    @property
    def chars(self) -> int:
        return len(self.text) + sum(len(item) for item in self.items)

    @property
    def rows(self) -> list[list[str]]:
        return [item.split("\t") for item in self.items]


def _a(word: str) -> str:
    return f"an {word}" if word[0] in "aeiou" else f"a {word}"


class Prose:
    """Sentences, headings, lists and tables from word lists, driven by one seeded RNG."""

    def __init__(self, seed: str) -> None:
        self.rng = random.Random(seed)

    def _pick(self, words: tuple[str, ...]) -> str:
        return self.rng.choice(words)

    def sentence(self) -> str:
        n, a, v = self._pick(_NOUNS), self._pick(_ADJECTIVES), self._pick(_VERBS)
        p = self._pick(_PARTICIPLES)
        s, adv = self._pick(_SUBJECTS), self._pick(_ADVERBS)
        templates = (
            f"{s} {v} the {a} {n} {adv}.",
            f"{self._pick(_CONNECTORS)} {s} {v} every {n} {self._pick(_PREPOSITIONS)} the "
            f"{a} {self._pick(_NOUNS)}.",
            f"the {a} {n} must be {p} within {self.rng.randint(2, 30)} days of the "
            f"{self._pick(_NOUNS)}.",
            f"when the {n} is {p}, {s} {v} the {self._pick(_NOUNS)} and "
            f"{self._pick(_VERBS)} the {a} {self._pick(_NOUNS)}.",
            f"about {self.rng.randint(3, 97)} percent of all {a} {n} records are {p} {adv}.",
            f"use form {self._code()} to request {_a(a)} {n}; {s} {v} it {adv}.",
            f"questions about the {n} go to {s}, who {v} each {self._pick(_NOUNS)} {adv}.",
            f"the {n} {self._pick(_NOUNS)} is kept in room {self.rng.randint(100, 499)} and {p} "
            f"{adv}.",
        )
        text = self._pick(templates)
        return text[0].upper() + text[1:]

    def _code(self) -> str:
        return f"{self.rng.choice('ABCDFGHKMPRT')}-{self.rng.randint(100, 999)}"

    def paragraph(self) -> str:
        return " ".join(self.sentence() for _ in range(self.rng.randint(3, 8)))

    def heading(self) -> str:
        if self.rng.random() < 0.3:
            return f"How to {self._pick(_VERBS)[:-1]} the {self._pick(_NOUNS)}".capitalize()
        words = [self._pick(_ADJECTIVES), self._pick(_NOUNS), self._pick(_NOUNS)]
        return " ".join(words[: self.rng.randint(2, 3)]).title()

    def item(self) -> str:
        if self.rng.random() < 0.5:
            verb = self._pick(_VERBS)[:-1].capitalize()
            return (
                f"{verb} the {self._pick(_ADJECTIVES)} {self._pick(_NOUNS)} {self._pick(_ADVERBS)}"
            )
        return self.sentence()

    def table(self) -> Block:
        header = "Item\tOwner\tDue\tStatus"
        rows = [
            f"{self._pick(_ADJECTIVES)} {self._pick(_NOUNS)}\t{self._pick(_SUBJECTS)}\t"
            f"day {self.rng.randint(1, 90)}\t{self._pick(_PARTICIPLES)}"
            for _ in range(self.rng.randint(3, 7))
        ]
        return Block("table", items=(header, *rows))

    def blocks(self) -> Iterator[Block]:
        """A title, then sections without end: the caller takes as many as it needs."""
        yield Block("h1", self.heading())
        while True:
            yield Block("h2", self.heading())
            for _ in range(self.rng.randint(1, 4)):
                yield Block("p", self.paragraph())
            roll = self.rng.random()
            if roll < 0.25:
                yield Block("ul", items=tuple(self.item() for _ in range(self.rng.randint(3, 6))))
            elif roll < 0.4:
                yield Block("ol", items=tuple(self.item() for _ in range(self.rng.randint(3, 6))))
            elif roll < 0.5:
                yield self.table()


def take_chars(blocks: Iterator[Block], chars: int) -> list[Block]:
    taken, total = [], 0
    while total < chars:
        block = next(blocks)
        taken.append(block)
        total += block.chars
    return taken


# --- the corpus -------------------------------------------------------------------------------
@dataclass(frozen=True)
class CorpusFile:
    path: str  # relative to the corpus folder
    format: str
    pages: float
    chars: int


@dataclass
class Corpus:
    root: Path
    seed: int
    files: list[CorpusFile] = field(default_factory=list)

    @property
    def pages(self) -> float:
        return sum(f.pages for f in self.files)

    def pages_by_format(self) -> dict[str, float]:
        totals: dict[str, float] = {}
        for f in self.files:
            totals[f.format] = totals.get(f.format, 0.0) + f.pages
        return totals


def load_or_generate(pages: int = 300, root: Path = DEFAULT_ROOT) -> tuple[Corpus, bool]:
    """The corpus for `pages` (made now if missing or stale); True when it was just made."""
    folder = root / f"pages-{pages}"
    manifest_path = root / f"pages-{pages}.json"  # beside the folder: ingest sees only the files
    cached = _load(folder, manifest_path)
    if cached is not None:
        return cached, False
    shutil.rmtree(folder, ignore_errors=True)
    corpus = generate(folder, pages)
    manifest: dict[str, Any] = {"version": CORPUS_VERSION, "seed": SEED, "target_pages": pages}
    manifest["files"] = [asdict(f) for f in corpus.files]
    manifest_path.write_text(json.dumps(manifest, indent=1))  # written last: the corpus is whole
    return corpus, True


def _load(folder: Path, manifest_path: Path) -> Corpus | None:
    try:
        manifest = json.loads(manifest_path.read_text())
    except (OSError, ValueError):
        return None
    if manifest.get("version") != CORPUS_VERSION or manifest.get("seed") != SEED:
        return None
    files = [CorpusFile(**f) for f in manifest["files"]]
    if not all((folder / f.path).is_file() for f in files):
        return None
    return Corpus(folder, SEED, files)


def generate(folder: Path, pages: int) -> Corpus:
    corpus = Corpus(folder, SEED)
    plan_rng = random.Random(f"{SEED}:plan:{pages}")
    for fmt, per_300, share in _PLAN:
        count = max(1, round(per_300 * pages / 300))
        weights = [plan_rng.uniform(0.5, 1.5) for _ in range(count)]
        for i, weight in enumerate(weights):
            file_pages = share * pages * weight / sum(weights)
            prose = Prose(f"{SEED}:{fmt}:{i}")
            blocks = prose.blocks()
            stem = f"{fmt}/{_slug(prose.heading())}-{i + 1:02d}.{fmt}"
            path = folder / stem
            path.parent.mkdir(parents=True, exist_ok=True)
            corpus.files.append(_WRITERS[fmt](path, blocks, file_pages, fmt, stem))
    return corpus


def _slug(text: str) -> str:
    return "-".join(text.lower().split())


# --- writers: each takes blocks until its share of pages is filled ----------------------------
def _write_text(
    path: Path, blocks: Iterator[Block], pages: float, fmt: str, rel: str
) -> CorpusFile:
    taken = take_chars(blocks, round(pages * PAGE_CHARS))
    render = {"md": _markdown, "txt": _plain, "html": _html}[fmt]
    path.write_text(render(taken), encoding="utf-8")
    chars = sum(b.chars for b in taken)
    return CorpusFile(rel, fmt, round(chars / PAGE_CHARS, 2), chars)


def _markdown(blocks: list[Block]) -> str:
    out = []
    for b in blocks:
        if b.kind in ("h1", "h2"):
            out.append(f"{'#' if b.kind == 'h1' else '##'} {b.text}")
        elif b.kind == "p":
            out.append(b.text)
        elif b.kind in ("ul", "ol"):
            out.append(
                "\n".join(
                    f"{'-' if b.kind == 'ul' else f'{n}.'} {item}"
                    for n, item in enumerate(b.items, 1)
                )
            )
        else:
            rows = b.rows
            lines = [f"| {' | '.join(r)} |" for r in rows]
            lines.insert(1, "|" + "---|" * len(rows[0]))
            out.append("\n".join(lines))
    return "\n\n".join(out) + "\n"


def _plain(blocks: list[Block]) -> str:
    out = []
    for b in blocks:
        if b.kind in ("h1", "h2"):
            out.append(b.text.upper() if b.kind == "h1" else b.text)
        elif b.kind == "p":
            out.append(b.text)
        elif b.kind in ("ul", "ol"):
            out.append("\n".join(f"* {item}" for item in b.items))
        else:
            out.append("\n".join("    ".join(r) for r in b.rows))
    return "\n\n".join(out) + "\n"


def _html(blocks: list[Block]) -> str:
    body = []
    for b in blocks:
        if b.kind in ("h1", "h2", "p"):
            body.append(f"<{b.kind}>{html.escape(b.text)}</{b.kind}>")
        elif b.kind in ("ul", "ol"):
            items = "".join(f"<li>{html.escape(i)}</li>" for i in b.items)
            body.append(f"<{b.kind}>{items}</{b.kind}>")
        else:
            cells = [["".join(f"<td>{html.escape(c)}</td>" for c in r)] for r in b.rows]
            body.append("<table>" + "".join(f"<tr>{c[0]}</tr>" for c in cells) + "</table>")
    title = html.escape(blocks[0].text)
    return (
        f"<!DOCTYPE html>\n<html><head><meta charset='utf-8'><title>{title}</title></head>\n"
        f"<body>\n{chr(10).join(body)}\n</body></html>\n"
    )


def _write_pdf(path: Path, blocks: Iterator[Block], pages: float, fmt: str, rel: str) -> CorpusFile:
    from fpdf import FPDF

    target = max(1, round(pages))
    pdf = FPDF(format="A4")
    pdf.set_creation_date(_FIXED_TIME)
    pdf.set_auto_page_break(auto=True, margin=18)
    pdf.add_page()
    chars = 0
    while pdf.page_no() < target or pdf.get_y() < pdf.h * 0.75:
        block = next(blocks)
        chars += block.chars
        _pdf_block(pdf, block)
    pdf.output(str(path))
    return CorpusFile(rel, fmt, float(pdf.page_no()), chars)


def _pdf_block(pdf: FPDF, b: Block) -> None:
    if b.kind in ("h1", "h2"):
        pdf.set_font("Helvetica", "B", 16 if b.kind == "h1" else 13)
        pdf.multi_cell(0, 8, b.text, new_x="LMARGIN", new_y="NEXT")
        pdf.ln(1)
    elif b.kind == "p":
        pdf.set_font("Helvetica", "", 11)
        pdf.multi_cell(0, 5.5, b.text, new_x="LMARGIN", new_y="NEXT")
        pdf.ln(2.5)
    elif b.kind in ("ul", "ol"):
        pdf.set_font("Helvetica", "", 11)
        for n, item in enumerate(b.items, 1):
            mark = "-" if b.kind == "ul" else f"{n}."
            pdf.multi_cell(0, 5.5, f"  {mark} {item}", new_x="LMARGIN", new_y="NEXT")
        pdf.ln(2.5)
    else:
        pdf.set_font("Helvetica", "", 10)
        with pdf.table(first_row_as_headings=True) as table:
            for r in b.rows:
                table.row(r)
        pdf.ln(2.5)


def _write_docx(
    path: Path, blocks: Iterator[Block], pages: float, fmt: str, rel: str
) -> CorpusFile:
    import docx

    taken = take_chars(blocks, round(pages * PAGE_CHARS))
    document = docx.Document()
    document.core_properties.created = document.core_properties.modified = _FIXED_TIME
    for b in taken:
        if b.kind in ("h1", "h2"):
            document.add_heading(b.text, level=1 if b.kind == "h1" else 2)
        elif b.kind == "p":
            document.add_paragraph(b.text)
        elif b.kind in ("ul", "ol"):
            style = "List Bullet" if b.kind == "ul" else "List Number"
            for item in b.items:
                document.add_paragraph(item, style=style)
        else:
            rows = b.rows
            table = document.add_table(rows=len(rows), cols=len(rows[0]))
            table.style = "Table Grid"
            for r, row in enumerate(rows):
                for c, cell in enumerate(row):
                    table.cell(r, c).text = cell
    document.save(str(path))
    _freeze_zip(path)
    chars = sum(b.chars for b in taken)
    return CorpusFile(rel, fmt, round(chars / PAGE_CHARS, 2), chars)


def _write_pptx(
    path: Path, blocks: Iterator[Block], pages: float, fmt: str, rel: str
) -> CorpusFile:
    from pptx import Presentation

    deck = Presentation()
    deck.core_properties.created = deck.core_properties.modified = _FIXED_TIME
    chars, budget = 0, round(pages * PAGE_CHARS)
    while chars < budget:
        title = next(b for b in blocks if b.kind in ("h1", "h2"))
        slide = deck.slides.add_slide(deck.slide_layouts[1])
        slide.shapes.title.text = title.text
        body = slide.placeholders[1].text_frame
        points = [next(b for b in blocks if b.kind == "p").text.split(". ")[0] + "."]
        points += [next(b for b in blocks if b.kind == "p").text.split(". ")[0] for _ in range(3)]
        body.text = points[0]
        for point in points[1:]:
            body.add_paragraph().text = point
        chars += len(title.text) + sum(len(p) for p in points)
    deck.save(str(path))
    _freeze_zip(path)
    return CorpusFile(rel, fmt, round(chars / PAGE_CHARS, 2), chars)


def _write_xlsx(
    path: Path, blocks: Iterator[Block], pages: float, fmt: str, rel: str
) -> CorpusFile:
    from openpyxl import Workbook

    book = Workbook()
    book.properties.created = book.properties.modified = _FIXED_TIME
    sheet = book.active
    assert sheet is not None
    sheet.title = "Tracker"
    sheet.append(["Item", "Owner", "Due", "Status", "Note"])
    chars, budget = 0, round(pages * PAGE_CHARS)
    while chars < budget:
        table = next(b for b in blocks if b.kind == "table")
        note = next(b for b in blocks if b.kind == "p").text.split(". ")[0] + "."
        for row in table.rows[1:]:
            sheet.append([*row, note])
            chars += sum(len(c) for c in row) + len(note)
    book.save(str(path))
    _freeze_zip(path)
    return CorpusFile(rel, fmt, round(chars / PAGE_CHARS, 2), chars)


def _freeze_zip(path: Path) -> None:
    """Office files are zips stamped with the time of writing; pin it so bytes repeat."""
    with zipfile.ZipFile(path) as src:
        entries = [(info.filename, src.read(info)) for info in src.infolist()]
    entries = [(n, _MODIFIED.sub(rb"\g<1>2024-01-01T12:00:00Z", d)) for n, d in entries]
    with zipfile.ZipFile(path, "w") as dst:
        for name, data in entries:
            info = zipfile.ZipInfo(name, date_time=(2024, 1, 1, 12, 0, 0))
            dst.writestr(info, data, compress_type=zipfile.ZIP_DEFLATED)


Writer = Callable[[Path, Iterator[Block], float, str, str], CorpusFile]
_WRITERS: dict[str, Writer] = {
    "md": _write_text,
    "txt": _write_text,
    "html": _write_text,
    "pdf": _write_pdf,
    "docx": _write_docx,
    "pptx": _write_pptx,
    "xlsx": _write_xlsx,
}
