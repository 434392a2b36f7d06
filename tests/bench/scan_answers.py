"""Answer-set questions over a real document and over a scanned copy of it, side by side.

    python -m tests.bench.scan_answers [--json]

The pages of eval/debian-docs' bash.pdf that answer bash-02, bash-04 and bash-08 are copied
twice: as they are (a text layer) and "scanned" (rendered at 200 dpi, grey, speckled, turned by
up to a degree, saved as a picture-only PDF). Each copy is ingested into a data folder of its
own with `docent ingest` and the questions are asked with `docent ask --json` (the chat model
`make run` uses). Prints each question's key fact, whether each answer holds it, and the cited
page. Progress goes to stderr.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import subprocess
import sys
from pathlib import Path
from typing import Any

from tests.ingest.scans import save_pdf

ROOT = Path(__file__).resolve().parents[2]
PDF = ROOT / "eval" / "debian-docs" / "docs" / "bash" / "bash.pdf"
QUESTIONS = ROOT / "eval" / "debian-docs" / "questions.jsonl"
ASKED = ("bash-02", "bash-04", "bash-08")
PAGES = (2, 16, 17)  # where their answers are
WORK = ROOT / "data" / "bench" / "scan-answers"


def copies() -> dict[str, Path]:
    """The answering pages as a text PDF and as a scanned, picture-only PDF."""
    import pypdfium2 as pdfium
    from PIL import ImageFilter
    from pypdf import PdfReader, PdfWriter

    text, scan = WORK / "text" / "bash-pages.pdf", WORK / "scan" / "bash-pages-scan.pdf"
    for path in (text, scan):
        path.parent.mkdir(parents=True, exist_ok=True)
    writer = PdfWriter()
    reader = PdfReader(PDF)
    for number in PAGES:
        writer.add_page(reader.pages[number - 1])
    with text.open("wb") as handle:
        writer.write(handle)
    rng = random.Random(14)
    document = pdfium.PdfDocument(str(text))
    pictures = []
    for index in range(len(document)):
        page = document[index].render(scale=200 / 72).to_pil().convert("L")
        page = page.rotate(rng.uniform(-1, 1), expand=False, fillcolor=255)
        pictures.append(page.filter(ImageFilter.GaussianBlur(0.5)))
    save_pdf(pictures, scan, dpi=200)
    return {"text": text.parent, "scan": scan.parent}


DOCENT = (sys.executable, "-c", "from app.cli.main import main; main()")  # this checkout's


def chat_model() -> str:
    """DOCENT_MODEL_PATH, else the model `make run` chose (in the default data folder)."""
    from app.services import choose_chat_model
    from app.settings import Settings

    return os.environ.get("DOCENT_MODEL_PATH") or str(choose_chat_model(Settings()).path)


def docent(args: list[str], data: Path) -> str:
    env = os.environ | {
        "DOCENT_DATA_DIR": str(data),
        "DOCENT_INGEST_DEMO": "false",
        "DOCENT_MODEL_PATH": chat_model(),
    }
    done = subprocess.run(
        [*DOCENT, *args], env=env, cwd=ROOT, capture_output=True, text=True, check=True
    )
    return done.stdout


def answers(folder: Path, questions: list[dict[str, Any]]) -> list[dict[str, Any]]:
    data = WORK / f"data-{folder.name}"
    print(f"ingesting {folder}", file=sys.stderr)
    docent(["ingest", str(folder)], data)
    found = []
    for question in questions:
        print(f"asking {question['id']} ({folder.name})", file=sys.stderr)
        answer = json.loads(docent(["ask", "--json", question["question"]], data))
        text = answer.get("answer") or ""
        facts = [any(f.lower() in text.lower() for f in group) for group in question["key_facts"]]
        pages = sorted({c["page_start"] for c in answer.get("citations", [])} - {None})
        found.append({"id": question["id"], "answer": text, "facts": all(facts), "pages": pages})
    return found


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--json", action="store_true", help="print the results as JSON")
    args = parser.parse_args(argv)
    lines = QUESTIONS.read_text(encoding="utf-8").splitlines()
    questions = [q for q in map(json.loads, lines) if q["id"] in ASKED]
    results = {name: answers(folder, questions) for name, folder in copies().items()}
    if args.json:
        print(json.dumps(results, indent=2))
        return 0
    for index, question in enumerate(questions):
        print(f"{question['id']}: {question['question']} (key facts {question['key_facts']})")
        for name, found in results.items():
            row = found[index]
            print(f"  {name:<5} facts {'yes' if row['facts'] else 'no '} pages {row['pages']}:")
            print(f"        {' '.join(row['answer'].split())[:300]}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
