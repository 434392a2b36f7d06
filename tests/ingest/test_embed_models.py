"""The packaged embedding models themselves (slow: they load real weights)."""

from __future__ import annotations

import importlib.metadata
from pathlib import Path

import pytest

from ingest.embed import OnnxEmbedder, SentenceTransformerEmbedder, open_embedder
from ingest.packaged_embedders import MPNET_PARTS

pytestmark = pytest.mark.slow

TEXTS = [
    "Vitamin D deficiency is associated with a higher risk of hip fractures in older women.",
    "Employees may work from home two days a week after their probation period.",
    "short",
    "word " * 400,  # longer than the model reads: truncated the same way
]


def _dot(a: list[float], b: list[float]) -> float:
    return sum(x * y for x, y in zip(a, b, strict=True))


def test_int8_onnx_minilm_agrees_with_the_float_model(tmp_path: Path) -> None:
    fp32 = open_embedder("all-MiniLM-L6-v2", tmp_path)
    int8 = open_embedder("all-MiniLM-L6-v2-int8", tmp_path)
    assert isinstance(fp32, SentenceTransformerEmbedder)
    assert isinstance(int8, OnnxEmbedder)
    assert (int8.dimension, int8.max_tokens) == (fp32.dimension, fp32.max_tokens)
    for a, b in zip(fp32.embed(TEXTS), int8.embed(TEXTS), strict=True):
        assert _dot(a, b) > 0.995
    assert [int8.count_tokens(t) for t in TEXTS] == [fp32.count_tokens(t) for t in TEXTS]
    query, relevant, other = int8.embed(["vitamin D and fractures", TEXTS[0], TEXTS[1]])
    assert _dot(query, relevant) > _dot(query, other) + 0.2


def _mpnet_installed() -> bool:
    try:
        for package in MPNET_PARTS:
            importlib.metadata.distribution(package)
    except importlib.metadata.PackageNotFoundError:
        return False
    return True


@pytest.mark.skipif(not _mpnet_installed(), reason="optional: all-mpnet-base-v2 parts")
def test_mpnet_unpacks_and_embeds(tmp_path: Path) -> None:
    embedder = open_embedder("all-mpnet-base-v2", tmp_path)
    assert (embedder.dimension, embedder.max_tokens) == (768, 382)
    query, relevant, other = embedder.embed(["vitamin D and fractures", TEXTS[0], TEXTS[1]])
    assert _dot(query, relevant) > _dot(query, other) + 0.2
