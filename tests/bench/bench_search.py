"""Search benchmark: hybrid search with an access filter over N synthetic chunks, per store kind.

    python -m tests.bench.bench_search [--sizes 20000 100000] [--kinds qdrant-local edge] [--json]
                                       [--queries 100] [--torch-threads 1] [--rebuild]

Each (store, size) runs in its own process, so its memory figures are its own. A store is built
once under `data/bench/search-<kind>-<N>/` and reused while its manifest (`bench.json`, written
last) matches; its build figures come from that manifest.

Data: chunk texts are made-up topical prose (seeded), with the packaged MiniLM's sparse twin
(`ingest.sparse`). Dense vectors: the first `--real` chunks get real MiniLM embeddings of their
first sentence; every other chunk gets the real vector of a chunk on the same topic plus
Gaussian noise (cosine ~0.8 to it), so the vectors cluster like real ones instead of being
uniformly random (the worst case for HNSW). ~30% of documents belong to 1-2 of five groups;
queries ask as a member of one group. A query's time includes embedding its text with MiniLM;
embedding and search are also reported apart. Progress goes to stderr, the report to stdout.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import statistics
import subprocess
import sys
import time
from collections.abc import Iterator, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from ingest.access import Access
from ingest.edge_store import EdgeStore
from ingest.embed import Embedder
from ingest.planning import point_id
from ingest.sparse import encode_document, encode_query
from ingest.store import QdrantStore, VectorStore
from ingest.types import Chunk, StoredChunk

BENCH_DIR = Path(__file__).resolve().parents[2] / "data" / "bench"
KINDS = ("qdrant-local", "edge")
DATA_VERSION = 1  # bump when the data or the store layout changes: cached stores are rebuilt
SEED = 4242
DIMENSION = 384
CHUNKS_PER_DOC = 10
BATCH = 256  # chunks per upsert, as ingestion writes them
LIMIT = 10  # top_k 5 with the retriever's overfetch of 2
NOISE = 0.04  # per dimension: |noise| ~ 0.78 against a unit vector
GROUPS = ("g0", "g1", "g2", "g3", "g4")
ASKER = Access.member_of(["g1"])
TOPICS = {
    "volcano": "magma lava crater eruption basalt ash vent caldera",
    "orchard": "apple pear cider harvest blossom graft pruning cultivar",
    "payroll": "salary payslip tax deduction bonus overtime pension invoice",
    "database": "index query table transaction replica shard schema cursor",
    "sailing": "hull mast keel rudder spinnaker mooring tide regatta",
    "astronomy": "telescope galaxy nebula comet orbit parallax quasar eclipse",
    "kitchen": "oven whisk dough simmer braise ferment spice skillet",
    "network": "router packet latency firewall subnet gateway bandwidth socket",
    "medicine": "dosage vaccine symptom diagnosis clinic antibody therapy triage",
    "geology": "sediment fossil stratum erosion quartz tectonic mineral glacier",
    "finance": "portfolio dividend bond equity ledger audit liquidity hedge",
    "garden": "compost mulch seedling trellis perennial irrigation soil weed",
    "aviation": "runway cockpit altitude turbine airspeed hangar pilot fuselage",
    "music": "chord tempo melody rhythm octave cadence harmony sonata",
    "security": "password token breach encryption certificate phishing audit key",
    "railway": "locomotive signal platform timetable freight sleeper junction track",
}
FILLER = (
    "team report process system change result policy customer project plan quarter review "
    "budget service update support request issue schedule office record"
)
VERBS = "improves delays measures replaces checks follows supports limits reviews shapes"
ADJECTIVES = "new old large small quick careful annual weekly local remote main spare"


# --- data ----------------------------------------------------------------------------------


def sentence(rng: random.Random, topic: str) -> str:
    def pick(words: str) -> str:
        return rng.choice(words.split())

    nouns = [pick(TOPICS[topic]) if rng.random() < 0.7 else pick(FILLER) for _ in range(3)]
    return (
        f"The {pick(ADJECTIVES)} {nouns[0]} {pick(VERBS)} the {nouns[1]} "
        f"near the {nouns[2]} for the {pick(FILLER)}."
    )


def topic_of(index: int) -> str:
    names = list(TOPICS)
    return names[(index // CHUNKS_PER_DOC) % len(names)]


def chunk_text(index: int) -> str:
    rng = random.Random(SEED * 1_000_003 + index)
    return " ".join(sentence(rng, topic_of(index)) for _ in range(rng.randint(4, 6)))


def document_groups(doc: int) -> tuple[str, ...]:
    rng = random.Random(SEED + 7 * doc)
    if rng.random() >= 0.3:
        return ()
    return tuple(sorted(rng.sample(GROUPS, rng.randint(1, 2))))


def real_vectors(embedder: Embedder, count: int) -> np.ndarray:
    """MiniLM vectors of the first sentence of chunks 0..count-1, cached beside the stores."""
    path = BENCH_DIR / f"search-vectors-{DATA_VERSION}-{count}.npy"
    if path.exists():
        return np.load(path)
    log(f"embedding {count} sentences with {embedder.name} (cached for later runs)")
    texts = [chunk_text(i).split(".")[0] for i in range(count)]
    vectors = np.asarray(embedder.embed(texts), dtype=np.float32)
    path.parent.mkdir(parents=True, exist_ok=True)
    np.save(path.with_suffix(".tmp.npy"), vectors)
    path.with_suffix(".tmp.npy").replace(path)
    return vectors


def dense_vectors(real: np.ndarray, start: int, stop: int) -> np.ndarray:
    """Real vectors for the first chunks, noisy copies of same-topic ones for the rest."""
    out = np.empty((stop - start, DIMENSION), dtype=np.float32)
    rng = np.random.default_rng(SEED + start)
    stride = CHUNKS_PER_DOC * len(TOPICS)  # chunk i and i + stride share a topic
    for row, index in enumerate(range(start, stop)):
        if index < len(real):
            out[row] = real[index]
            continue
        base = index % stride + stride * int(rng.integers(0, max(1, len(real) // stride)))
        vector = real[min(base, len(real) - 1)] + rng.normal(0, NOISE, DIMENSION)
        out[row] = vector / np.linalg.norm(vector)
    return out


def stored_batches(real: np.ndarray, total: int) -> Iterator[list[StoredChunk]]:
    for start in range(0, total, BATCH):
        stop = min(total, start + BATCH)
        vectors = dense_vectors(real, start, stop)
        yield [stored(i, vectors[i - start].tolist()) for i in range(start, stop)]


def stored(index: int, dense: list[float]) -> StoredChunk:
    doc, position = divmod(index, CHUNKS_PER_DOC)
    text = chunk_text(index)
    doc_id = f"doc-{doc:06d}"
    chunk = Chunk(position, text, 0, len(text), (topic_of(index),), ("NarrativeText",), None, None)
    return StoredChunk(
        point_id=point_id(doc_id, "v1", position),
        doc_id=doc_id,
        version="v1",
        chunk=chunk,
        title=f"{topic_of(index)} notes {doc}",
        source=f"/bench/{doc_id}.md",
        dense=dense,
        sparse=encode_document(text),
        groups=document_groups(doc),
    )


def query_texts(count: int) -> list[str]:
    rng = random.Random(SEED - 1)
    names = list(TOPICS)
    return [sentence(rng, rng.choice(names)).replace("The ", "Which ", 1) for _ in range(count)]


# --- one case: build or reuse a store, then time queries -----------------------------------


@dataclass
class Build:
    upsert_s: float
    index_s: float  # HNSW and payload index build (edge); qdrant-local has none
    unindexed_search_ms: dict[str, float] = field(default_factory=dict)  # edge before indexing


@dataclass
class CaseResult:
    kind: str
    chunks: int
    build: Build
    built_now: bool
    open_s: float
    queries: int
    search_ms: dict[str, float]
    embed_ms: dict[str, float]
    total_ms: dict[str, float]
    rss_mib: dict[str, float]
    load_average: float  # 1-minute load average at the end: other work on the machine


def open_store(kind: str, directory: Path) -> VectorStore:
    if kind == "qdrant-local":
        return QdrantStore("bench", path=directory / "store")
    return EdgeStore("bench", path=directory / "store", optimize_after=None)


def build_store(
    kind: str, directory: Path, total: int, embedder: Embedder, probe: Sequence[str], real: int
) -> Build:
    shutil.rmtree(directory, ignore_errors=True)
    vectors = real_vectors(embedder, min(total, real))
    store = open_store(kind, directory)
    try:
        store.ensure_collection(DIMENSION)
        start = time.perf_counter()
        for n, batch in enumerate(stored_batches(vectors, total)):
            store.upsert(batch)
            if n % 40 == 0:
                log(f"  {kind}: {n * BATCH + len(batch)}/{total} chunks upserted")
        build = Build(upsert_s=time.perf_counter() - start, index_s=0.0)
        if isinstance(store, EdgeStore):
            timings = time_queries(store, embedder, probe)
            build.unindexed_search_ms = percentiles(timings["search"])
            log(f"  {kind}: building indexes")
            start = time.perf_counter()
            store.optimize()
            build.index_s = time.perf_counter() - start
    finally:
        store.close()
    return build


def time_queries(
    store: VectorStore, embedder: Embedder, texts: Sequence[str]
) -> dict[str, list[float]]:
    """Milliseconds per query: embedding, search (sparse encoding included), both."""
    timings: dict[str, list[float]] = {"embed": [], "search": [], "total": []}
    for text in texts:
        start = time.perf_counter()
        dense = embedder.embed([text])[0]
        embedded = time.perf_counter()
        store.search(dense, encode_query(text), LIMIT, mode="hybrid", access=ASKER)
        done = time.perf_counter()
        timings["embed"].append((embedded - start) * 1000)
        timings["search"].append((done - embedded) * 1000)
        timings["total"].append((done - start) * 1000)
    return timings


def percentiles(values: Sequence[float]) -> dict[str, float]:
    cuts = statistics.quantiles(values, n=20, method="inclusive")
    return {"p50": round(statistics.median(values), 2), "p95": round(cuts[18], 2)}


def run_case(kind: str, total: int, args: argparse.Namespace) -> CaseResult:
    from app.services import load_embedder
    from app.settings import Settings

    if args.torch_threads:
        import torch

        torch.set_num_threads(args.torch_threads)
    embedder = load_embedder(Settings())
    texts = query_texts(args.queries + 5)
    embedder.embed(texts[:5])  # warm the model up
    directory = BENCH_DIR / f"search-{kind}-{total}"
    manifest = directory / "bench.json"
    build, built_now = cached_build(manifest, total)
    if build is None or args.rebuild:
        build = build_store(kind, directory, total, embedder, texts[5:55], args.real)
        built_now = True
        write_manifest(manifest, total, build)
    before = rss_mib()
    start = time.perf_counter()
    store = open_store(kind, directory)
    store.ensure_collection(DIMENSION)
    open_s = time.perf_counter() - start
    opened = rss_mib()
    try:
        time_queries(store, embedder, texts[:5])  # warm the store up
        timings = time_queries(store, embedder, texts[5:])
    finally:
        store.close()
    rss = {"before_open": before, "after_open": opened, "peak": peak_rss_mib()}
    return CaseResult(
        kind,
        total,
        build,
        built_now,
        round(open_s, 2),
        args.queries,
        percentiles(timings["search"]),
        percentiles(timings["embed"]),
        percentiles(timings["total"]),
        rss,
        os.getloadavg()[0],
    )


def cached_build(manifest: Path, total: int) -> tuple[Build | None, bool]:
    if not manifest.exists():
        return None, False
    data = json.loads(manifest.read_text())
    if data.get("version") != DATA_VERSION or data.get("chunks") != total:
        return None, False
    return Build(**data["build"]), False


def write_manifest(manifest: Path, total: int, build: Build) -> None:
    data = {"version": DATA_VERSION, "chunks": total, "build": asdict(build)}
    manifest.write_text(json.dumps(data, indent=2))


def rss_mib() -> float:
    return _status_kib("VmRSS") / 1024


def peak_rss_mib() -> float:
    return _status_kib("VmHWM") / 1024


def _status_kib(key: str) -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(key + ":"):
            return round(float(line.split()[1]), 1)
    return 0.0


# --- the driver: one process per case, then a table ----------------------------------------


def run_in_child(kind: str, total: int, args: argparse.Namespace) -> dict[str, Any]:
    queries = args.queries if kind != "qdrant-local" or total <= 20_000 else args.slow_queries
    command = [sys.executable, "-m", "tests.bench.bench_search", "--case", f"{kind}:{total}"]
    command += ["--queries", str(queries), "--real", str(args.real)]
    command += ["--rebuild"] if args.rebuild else []
    command += ["--torch-threads", str(args.torch_threads)] if args.torch_threads else []
    log(f"== {kind}, {total} chunks, {queries} queries")
    done = subprocess.run(command, check=True, stdout=subprocess.PIPE, text=True)
    result: dict[str, Any] = json.loads(done.stdout)
    return result


def render_table(results: Sequence[dict[str, Any]]) -> str:
    header = (
        "store", "chunks", "build s", "(upsert+index)", "open s", "search p50/p95 ms",
        "+embed p50/p95 ms", "embed p50 ms", "RSS MiB +open/peak", "queries", "load",
    )  # fmt: skip
    rows = [header] + [table_row(r) for r in results]
    widths = [max(len(row[i]) for row in rows) for i in range(len(header))]
    lines = ["  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)) for row in rows]
    notes = [table_note(r) for r in results if r["build"]["unindexed_search_ms"]]
    return "\n".join([*lines, "", *notes])


def table_row(r: dict[str, Any]) -> tuple[str, ...]:
    b, s, t, e, m = r["build"], r["search_ms"], r["total_ms"], r["embed_ms"], r["rss_mib"]
    cached = "" if r["built_now"] else " (cached)"
    return (
        r["kind"],
        str(r["chunks"]),
        f"{b['upsert_s'] + b['index_s']:.1f}{cached}",
        f"{b['upsert_s']:.1f}+{b['index_s']:.1f}",
        f"{r['open_s']:.2f}",
        f"{s['p50']:.2f} / {s['p95']:.2f}",
        f"{t['p50']:.2f} / {t['p95']:.2f}",
        f"{e['p50']:.2f}",
        f"{m['after_open'] - m['before_open']:+.0f} / {m['peak']:.0f}",
        str(r["queries"]),
        f"{r['load_average']:.1f}",
    )


def table_note(r: dict[str, Any]) -> str:
    u = r["build"]["unindexed_search_ms"]
    return (
        f"{r['kind']} {r['chunks']}: before its index build, search p50/p95 "
        f"{u['p50']:.2f} / {u['p95']:.2f} ms (exact scan)"
    )


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--sizes", type=int, nargs="+", default=[20_000, 100_000])
    parser.add_argument("--kinds", nargs="+", choices=KINDS, default=list(KINDS))
    parser.add_argument("--queries", type=int, default=100, help="timed queries per case (100)")
    parser.add_argument(
        "--slow-queries", type=int, default=20, help="for qdrant-local above 20,000 chunks (20)"
    )
    parser.add_argument("--real", type=int, default=4000, help="real MiniLM vectors (4000)")
    parser.add_argument("--rebuild", action="store_true", help="ignore cached stores")
    parser.add_argument("--torch-threads", type=int, help="torch threads (default: torch's)")
    parser.add_argument("--json", action="store_true", help="print the report as JSON")
    parser.add_argument("--case", help=argparse.SUPPRESS)  # KIND:N, run in this process
    args = parser.parse_args(argv)
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    if args.case:
        kind, total = args.case.split(":")
        result = run_case(kind, int(total), args)
        print(json.dumps(asdict(result)))
        return 0
    results = [run_in_child(k, n, args) for n in args.sizes for k in args.kinds]
    print(json.dumps(results, indent=2) if args.json else render_table(results))
    return 0


if __name__ == "__main__":
    sys.exit(main())
