"""Scanned-document benchmark: OCR pages per second, peak memory and character accuracy on a
generated scan set (real text, from eval/debian-docs, drawn at 200 and 300 dpi with noise and a
slight rotation, saved as a picture-only PDF and as PNGs), read by the real engine through
`parse_file`, in this process (run alone, so its peak RSS is the parser's).

    python -m tests.bench.bench_scans [--pages N] [--dpi 150 200 ...] [--json]

`--dpi` lists the resolutions PDF pages are rendered at to be read (DOCENT_OCR_DPI): how the
default was chosen. Progress goes to stderr, the report to stdout.
"""

from __future__ import annotations

import argparse
import html
import json
import random
import re
import resource
import sys
import tempfile
import textwrap
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from ingest.ocr import OcrOptions
from ingest.parse import parse_file
from tests.ingest.scans import char_accuracy, save_pdf, save_png, scanned

TEXTS = Path(__file__).resolve().parents[2] / "eval" / "debian-docs" / "docs"
LINES_PER_PAGE = 38
WIDTH = 78  # characters a line: a page of 11 pt text


def page_texts(count: int) -> list[list[str]]:
    """`count` pages of real prose, wrapped as a typed page is."""
    words = []
    for path in sorted(TEXTS.rglob("*"))[:40]:
        if path.is_file():
            words += _prose(path.read_text(encoding="utf-8", errors="replace")).split()
    lines = textwrap.wrap(" ".join(w for w in words if w.isprintable()), WIDTH)
    return [lines[i * LINES_PER_PAGE : (i + 1) * LINES_PER_PAGE] for i in range(count)]


def _prose(text: str) -> str:
    """The text of a document, its HTML markup (if any) taken out."""
    text = re.sub(r"<(script|style)\b.*?</\1>", " ", text, flags=re.S | re.I)
    return html.unescape(re.sub(r"<[^>]+>", " ", text))


def make_scans(folder: Path, pages: list[list[str]]) -> tuple[list[Path], Path, list[str]]:
    rng = random.Random(14)
    pictures, images, expected = [], [], []
    for number, lines in enumerate(pages, 1):
        dpi = 200 if number % 2 else 300
        image = scanned(
            lines,
            dpi=dpi,
            width_in=8.5,
            height_in=11,
            rotate=rng.uniform(-1.5, 1.5),
            noise=0.004,
            seed=number,
        )
        pictures.append(save_png(image, folder / f"page-{number:03}.png", dpi))
        images.append(image.resize((round(8.5 * 200), (11 * 200))))
        expected.append(" ".join(lines))
    pdf = save_pdf(images, folder / "scan.pdf", dpi=200)
    return pictures, pdf, expected


def timed(paths: Sequence[Path], options: OcrOptions) -> tuple[float, float, list[str]]:
    start, cpu = time.perf_counter(), time.process_time()
    texts = []
    for path in paths:
        document = parse_file(path, options)
        by_page: dict[int, list[str]] = {}
        for element in document.elements:
            by_page.setdefault(element.page or 1, []).append(element.text)
        texts += [" ".join(by_page[p]) for p in sorted(by_page)]
    return time.perf_counter() - start, time.process_time() - cpu, texts


def accuracy(expected: Sequence[str], got: Sequence[str]) -> float:
    scores = [char_accuracy(e, g) for e, g in zip(expected, got, strict=False)]
    return round(sum(scores) / len(expected), 4)


def measure(pages: int, dpis: Sequence[int]) -> dict[str, Any]:
    texts = page_texts(pages)
    with tempfile.TemporaryDirectory() as folder:
        pictures, pdf, expected = make_scans(Path(folder), texts)
        warm = OcrOptions()
        parse_file(pictures[0], warm)  # load the models before timing
        seconds, cpu, got = timed(pictures, warm)
        report: dict[str, Any] = {"pages": pages, "png": _row(pages, seconds, cpu, expected, got)}
        for dpi in dpis:
            seconds, cpu, got = timed([pdf], OcrOptions(dpi=dpi))
            report[f"pdf@{dpi}dpi"] = _row(pages, seconds, cpu, expected, got)
            print(f"pdf at {dpi} dpi: {report[f'pdf@{dpi}dpi']}", file=sys.stderr)
    report["peak_rss_mib"] = round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)
    return report


def _row(pages: int, seconds: float, cpu: float, expected: list[str], got: list[str]) -> dict:  # type: ignore[type-arg]
    return {
        "pages_per_s": round(pages / seconds, 3),
        "s_per_page": round(seconds / pages, 2),
        "cpu_s_per_page": round(cpu / pages, 2),
        "char_accuracy": accuracy(expected, got),
    }


def render(report: dict[str, Any]) -> str:
    rows = [f"Scanned documents: {report['pages']} generated pages (real text, noise, rotation)"]
    for name, row in report.items():
        if isinstance(row, dict):
            rows.append(
                f"  {name:<12} {row['pages_per_s']:.2f} pages/s ({row['s_per_page']:.1f} s,"
                f" {row['cpu_s_per_page']:.1f} CPU-s a page), character accuracy"
                f" {row['char_accuracy']:.1%}"
            )
    rows.append(f"  peak RSS     {report['peak_rss_mib']:.0f} MiB (models, one page at a time)")
    return "\n".join(rows)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--pages", type=int, default=6, help="scanned pages (6)")
    parser.add_argument("--dpi", type=int, nargs="+", default=[150], help="PDF render dpi (150)")
    parser.add_argument("--json", action="store_true", help="print the report as JSON")
    args = parser.parse_args(argv)
    report = measure(args.pages, args.dpi)
    print(json.dumps(report, indent=2) if args.json else render(report))
    return 0


if __name__ == "__main__":
    sys.exit(main())
