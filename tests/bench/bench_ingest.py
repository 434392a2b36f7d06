"""Ingestion benchmark: a fixed mixed corpus through `ingest_paths` with the packaged MiniLM.

    python -m tests.bench.bench_ingest [--pages N] [--keep] [--json] [--workers N]
                                        [--scan-pages N]

Measures and prints; asserts nothing. Reports the first run (files, pages, chunks per second),
the embedding-only ceiling over the very texts that run embedded, a second run over the unchanged
corpus, and peak memory; then the scanned-document part (`tests.bench.bench_scans`, in a process
of its own so its memory is its own): OCR pages per second, peak RSS and character accuracy.
Progress goes to stderr, the report to stdout.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import resource
import shutil
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from pathlib import Path
from typing import Any

from ingest.catalog import Catalog
from ingest.embed import Embedder, SentenceTransformerEmbedder, resolve_embedder_path
from ingest.pipeline import IngestOptions, IngestResult, ingest_paths
from ingest.store import QdrantStore
from tests.bench.bench_scans import render as render_scans
from tests.bench.corpus import DEFAULT_ROOT, Corpus, load_or_generate

EMBEDDER = "all-MiniLM-L6-v2"
RERUN_GOAL = 0.02  # a second run over unchanged files should cost at most 2% of the first
BENCH_DIR = DEFAULT_ROOT.parent


class RecordingEmbedder:
    """Passes everything to the real embedder; records each embed() call and the time spent."""

    def __init__(self, inner: Embedder) -> None:
        self.inner = inner
        self.name, self.dimension, self.max_tokens = inner.name, inner.dimension, inner.max_tokens
        self.reset()

    def reset(self) -> None:
        self.calls: list[list[str]] = []
        self.embed_s = self.count_s = 0.0
        self.count_calls = 0

    def embed(self, texts: Sequence[str]) -> list[list[float]]:
        self.calls.append(list(texts))
        start = time.perf_counter()
        try:
            return self.inner.embed(texts)
        finally:
            self.embed_s += time.perf_counter() - start

    def count_tokens(self, text: str) -> int:
        start = time.perf_counter()
        try:
            return self.inner.count_tokens(text)
        finally:
            self.count_calls += 1
            self.count_s += time.perf_counter() - start


@dataclass
class RunStats:
    wall_s: float
    cpu_s: float  # user + system, this process and its finished children
    statuses: dict[str, int]
    chunks: int
    failures: list[str]
    calls: list[list[str]]  # the texts passed to embed(), call by call
    embed_s: float
    count_s: float
    count_calls: int

    @property
    def stored_files(self) -> int:
        return self.statuses.get("new", 0) + self.statuses.get("updated", 0)

    @property
    def embedded(self) -> int:
        return sum(len(call) for call in self.calls)


@dataclass
class Measurements:
    corpus: Corpus
    corpus_note: str
    options: IngestOptions
    batch_size: int
    first: RunStats
    second: RunStats
    stored_points: int
    ceiling_s: float
    ceiling_cpu_s: float
    kept: Path | None
    load_before: float  # 1-minute load average when the runs started


def cpu_seconds() -> float:
    t = os.times()
    return t.user + t.system + t.children_user + t.children_system


def timed_ingest(
    corpus: Corpus,
    *,
    embedder: RecordingEmbedder,
    store: QdrantStore,
    catalog: Catalog,
    options: IngestOptions,
    label: str,
) -> RunStats:
    total, done = len(corpus.files), 0

    def progress(result: IngestResult) -> None:
        nonlocal done
        done += 1
        if sys.stderr.isatty():
            print(f"\r  {label}: {done}/{total} files", end="", file=sys.stderr)

    log(f"{label} ...")
    embedder.reset()
    cpu, start = cpu_seconds(), time.perf_counter()
    results = ingest_paths(
        [corpus.root],
        embedder=embedder,
        store=store,
        catalog=catalog,
        options=options,
        on_result=progress,
    )
    wall, cpu = time.perf_counter() - start, cpu_seconds() - cpu
    if sys.stderr.isatty():
        print(file=sys.stderr)
    failures = [f"{Path(r.source).name}: {r.reason}" for r in results if r.status == "failed"]
    for failure in failures:
        log(f"  failed: {failure}")
    return RunStats(
        wall_s=wall,
        cpu_s=cpu,
        statuses=dict(Counter(str(r.status) for r in results)),
        chunks=sum(r.chunks for r in results if r.status in ("new", "updated")),
        failures=failures,
        calls=embedder.calls,
        embed_s=embedder.embed_s,
        count_s=embedder.count_s,
        count_calls=embedder.count_calls,
    )


def embedding_ceiling(embedder: Embedder, calls: list[list[str]]) -> tuple[float, float]:
    """Wall and CPU seconds to embed the recorded calls again, alone, in the same order."""
    log(f"embedding only: {sum(map(len, calls))} texts in {len(calls)} calls ...")
    cpu, start = cpu_seconds(), time.perf_counter()
    for texts in calls:
        embedder.embed(texts)
    return time.perf_counter() - start, cpu_seconds() - cpu


def peak_rss_mib() -> dict[str, float]:
    """Linux reports kilobytes. Children: the largest finished child, parse workers included,
    but also any short fork+exec (python-magic runs `ldconfig -p` at import), which reports the
    parent's size at the time: read it as worker memory only when parse workers ran."""
    own = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    children = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    return {"self": round(own, 1), "children": round(children, 1)}


def load_embedder() -> tuple[SentenceTransformerEmbedder, int]:
    from app.settings import Settings

    batch_size = int(Settings.model_fields["embedding_batch_size"].default)
    path = resolve_embedder_path(EMBEDDER)
    return SentenceTransformerEmbedder(path, EMBEDDER, batch_size=batch_size), batch_size


def measure(pages: int, keep: bool, workers: int | None = None) -> Measurements:
    started = time.perf_counter()
    corpus, generated = load_or_generate(pages)
    note = f"generated in {time.perf_counter() - started:.1f} s" if generated else "cached"
    log(f"corpus: {len(corpus.files)} files, {corpus.pages:.1f} pages ({note}) in {corpus.root}")
    log(f"loading {EMBEDDER} ...")
    real, batch_size = load_embedder()
    real.embed(["warm-up: the first forward pass pays one-time setup"])
    load_before = round(os.getloadavg()[0], 2)
    embedder = RecordingEmbedder(real)
    options = IngestOptions() if workers is None else replace(IngestOptions(), workers=workers)

    run_dir = BENCH_DIR / f"run-{datetime.now().strftime('%Y%m%d-%H%M%S')}"
    store = QdrantStore("bench", path=run_dir / "qdrant")
    catalog = Catalog(run_dir / "catalog.sqlite3")
    try:
        kwargs: dict[str, Any] = dict(embedder=embedder, store=store, catalog=catalog)
        first = timed_ingest(corpus, **kwargs, options=options, label="run 1: fresh store")
        second = timed_ingest(corpus, **kwargs, options=options, label="run 2: unchanged corpus")
        stored_points = store.count()
    finally:
        store.close()
        catalog.close()
        if not keep:
            shutil.rmtree(run_dir, ignore_errors=True)
    ceiling_s, ceiling_cpu_s = embedding_ceiling(real, first.calls)
    return Measurements(
        corpus=corpus,
        corpus_note=note,
        options=options,
        batch_size=batch_size,
        first=first,
        second=second,
        stored_points=stored_points,
        ceiling_s=ceiling_s,
        ceiling_cpu_s=ceiling_cpu_s,
        kept=run_dir if keep else None,
        load_before=load_before,
    )


def _per_s(count: float, seconds: float) -> float:
    return round(count / seconds, 2) if seconds > 0 else 0.0


def build_report(m: Measurements) -> dict[str, Any]:
    import torch

    corpus, first, second = m.corpus, m.first, m.second
    e2e_rate = _per_s(first.chunks, first.wall_s)
    ceiling_rate = _per_s(first.embedded, m.ceiling_s)
    return {
        "corpus": {
            "root": str(corpus.root),
            "files": len(corpus.files),
            "pages": round(corpus.pages, 1),
            "pages_by_format": {k: round(v, 1) for k, v in corpus.pages_by_format().items()},
            "files_by_format": dict(Counter(f.format for f in corpus.files)),
            "note": m.corpus_note,
        },
        "setup": {
            "embedder": EMBEDDER,
            "batch_size": m.batch_size,
            "chunk_tokens": m.options.chunk_tokens,
            "chunk_overlap": m.options.chunk_overlap,
            "parse_workers": getattr(m.options, "workers", 0),
            "torch_threads": torch.get_num_threads(),
            "cpus": os.cpu_count(),
            "load_avg": [m.load_before, round(os.getloadavg()[0], 2)],  # other work skews times
        },
        "run": {
            "files": first.stored_files,
            "statuses": first.statuses,
            "failures": first.failures,
            "pages": round(corpus.pages, 1),
            "chunks": first.chunks,
            "stored_points": m.stored_points,
            "wall_s": round(first.wall_s, 2),
            "cpu_s": round(first.cpu_s, 2),
            "files_per_s": _per_s(first.stored_files, first.wall_s),
            "pages_per_s": _per_s(corpus.pages, first.wall_s),
            "chunks_per_s": e2e_rate,
            "embed_s_in_run": round(first.embed_s, 2),
            "count_tokens_calls": first.count_calls,
            "count_tokens_s": round(first.count_s, 2),
        },
        "embedding_ceiling": {
            "texts": first.embedded,
            "calls": len(first.calls),
            "wall_s": round(m.ceiling_s, 2),
            "cpu_s": round(m.ceiling_cpu_s, 2),
            "chunks_per_s": ceiling_rate,
            "end_to_end_ratio": round(e2e_rate / ceiling_rate, 3) if ceiling_rate else None,
        },
        "rerun": {
            "statuses": second.statuses,
            "embedded_texts": second.embedded,
            "wall_s": round(second.wall_s, 3),
            "share_of_first": round(second.wall_s / first.wall_s, 4) if first.wall_s else None,
            "goal": RERUN_GOAL,
        },
        "peak_rss_mib": peak_rss_mib(),
        "kept": str(m.kept) if m.kept else None,
    }


def render_table(report: dict[str, Any]) -> str:
    corpus, setup, run = report["corpus"], report["setup"], report["run"]
    ceiling, rerun, rss = report["embedding_ceiling"], report["rerun"], report["peak_rss_mib"]
    formats = ", ".join(
        f"{fmt} {corpus['files_by_format'][fmt]}/{pages:g}p"
        for fmt, pages in corpus["pages_by_format"].items()
    )
    share, load = rerun["share_of_first"], setup["load_avg"]
    skewed = (
        "  (above the CPU count: other work skews the times)" if max(load) > setup["cpus"] else ""
    )
    verdict = "within" if share is not None and share <= rerun["goal"] else "over"
    rows = [
        (
            "corpus",
            f"{corpus['files']} files, {corpus['pages']:g} pages ({formats}; {corpus['note']})",
        ),
        (
            "setup",
            f"{setup['embedder']}, batch {setup['batch_size']}, chunks "
            f"{setup['chunk_tokens']}/{setup['chunk_overlap']} tokens, "
            f"{setup['parse_workers']} parse workers, "
            f"{setup['torch_threads']} torch threads on {setup['cpus']} CPUs",
        ),
        ("load average", f"{load[0]} at start, {load[1]} at end{skewed}"),
        ("", ""),
        ("run 1 (fresh store)", ""),
        ("  files stored", f"{run['files']}  (statuses {run['statuses']})"),
        ("  pages", f"{run['pages']:g}"),
        ("  chunks", f"{run['chunks']}  (points in store: {run['stored_points']})"),
        ("  wall time", f"{run['wall_s']:.1f} s  (CPU {run['cpu_s']:.1f} s)"),
        ("  files/s", f"{run['files_per_s']:.2f}"),
        ("  pages/s", f"{run['pages_per_s']:.2f}"),
        ("  chunks/s", f"{run['chunks_per_s']:.2f}"),
        ("  in embed()", f"{run['embed_s_in_run']:.1f} s"),
        (
            "  in count_tokens()",
            f"{run['count_tokens_s']:.1f} s ({run['count_tokens_calls']} calls)",
        ),
        ("", ""),
        ("embedding only", f"{ceiling['texts']} texts in {ceiling['calls']} calls"),
        ("  wall time", f"{ceiling['wall_s']:.1f} s  (CPU {ceiling['cpu_s']:.1f} s)"),
        ("  chunks/s ceiling", f"{ceiling['chunks_per_s']:.2f}"),
        ("  end-to-end/ceiling", f"{ceiling['end_to_end_ratio']}"),
        ("", ""),
        ("run 2 (unchanged)", f"statuses {rerun['statuses']}, {rerun['embedded_texts']} embedded"),
        ("  wall time", f"{rerun['wall_s']:.2f} s"),
        ("  share of run 1", f"{share:.2%}  ({verdict} the {rerun['goal']:.0%} goal)"),
        ("", ""),
        ("peak RSS", f"{rss['self']:.0f} MiB"),
    ]
    if setup["parse_workers"]:
        rows.append(("  largest child", f"{rss['children']:.0f} MiB"))
    if run["failures"]:
        rows.append(("failed files", "; ".join(run["failures"])))
    if report["kept"]:
        rows.append(("kept", report["kept"]))
    width = max(len(label) for label, _ in rows)
    return "\n".join(f"{label:<{width}}  {value}".rstrip() for label, value in rows)


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--pages", type=int, default=300, help="corpus size in pages (300)")
    parser.add_argument("--keep", action="store_true", help="keep data/bench/run-<timestamp>/")
    parser.add_argument("--json", action="store_true", help="print the report as JSON")
    parser.add_argument("--workers", type=int, help="parser processes (IngestOptions default)")
    parser.add_argument("--scan-pages", type=int, default=6, help="scanned pages (6; 0: none)")
    args = parser.parse_args(argv)
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("DO_NOT_TRACK", "1")
    logging.getLogger("unstructured").setLevel(logging.ERROR)
    report = build_report(measure(args.pages, args.keep, args.workers))
    scans = scanned_part(args.scan_pages) if args.scan_pages else None
    if args.json:
        print(json.dumps(report | {"scanned": scans}, indent=2))
    else:
        print(render_table(report))
        print(render_scans(scans) if scans else "")
    return 0


def scanned_part(pages: int) -> dict[str, Any]:
    log(f"scanned documents: OCR of {pages} generated pages")
    command = [sys.executable, "-m", "tests.bench.bench_scans", "--pages", str(pages), "--json"]
    done = subprocess.run(command, capture_output=True, text=True, check=True)
    report: dict[str, Any] = json.loads(done.stdout)
    return report


if __name__ == "__main__":
    sys.exit(main())
