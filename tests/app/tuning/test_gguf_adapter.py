"""The GGUF adapter layout: names, shapes, alpha, Llama's permuted query/key rows, checks."""

from __future__ import annotations

from pathlib import Path

import gguf
import numpy as np
import pytest

from app.tuning.gguf_adapter import (
    AdapterError,
    BaseModel,
    LoraPair,
    check_fits,
    read_adapter,
    write_adapter,
)

LLAMA = BaseModel("llama", "Tiny Llama", blocks=2, heads=4, kv_heads=2)
QWEN = BaseModel("qwen2", "Tiny Qwen", blocks=2, heads=4, kv_heads=2)
RANK, WIDTH = 2, 8


def _pair(out: int, seed: int) -> LoraPair:
    rng = np.random.default_rng(seed)
    return LoraPair(rng.normal(size=(RANK, WIDTH)), rng.normal(size=(out, RANK)))


PAIRS = {
    "model.layers.0.self_attn.q_proj": _pair(16, 1),  # 4 heads of 4 rows
    "model.layers.0.self_attn.k_proj": _pair(8, 2),  # 2 kv heads of 4 rows
    "model.layers.1.self_attn.v_proj": _pair(WIDTH // 2, 3),
    "model.layers.1.mlp.down_proj": _pair(WIDTH, 4),
}


def _tensors(path: Path) -> dict[str, np.ndarray]:
    return {t.name: np.array(t.data) for t in gguf.GGUFReader(path).tensors}


def _reverse_permute(rows: np.ndarray, heads: int) -> np.ndarray:
    """What transformers does to a Llama GGUF's query/key rows when it loads them."""
    from transformers.modeling_gguf_pytorch_utils import LlamaTensorProcessor

    return LlamaTensorProcessor()._reverse_permute_weights(rows, heads, heads)


def test_an_adapter_is_written_in_llama_cpps_layout(tmp_path: Path) -> None:
    path = write_adapter(tmp_path / "a.gguf", PAIRS, LLAMA, alpha=16.0)
    fields = gguf.GGUFReader(path).fields
    assert fields["general.type"].contents() == "adapter"
    assert fields["general.architecture"].contents() == "llama"
    assert fields["adapter.type"].contents() == "lora"
    assert fields["adapter.lora.alpha"].contents() == 16.0
    tensors = _tensors(path)
    assert sorted(tensors) == [
        "blk.0.attn_k.weight.lora_a",
        "blk.0.attn_k.weight.lora_b",
        "blk.0.attn_q.weight.lora_a",
        "blk.0.attn_q.weight.lora_b",
        "blk.1.attn_v.weight.lora_a",
        "blk.1.attn_v.weight.lora_b",
        "blk.1.ffn_down.weight.lora_a",
        "blk.1.ffn_down.weight.lora_b",
    ]
    v = PAIRS["model.layers.1.self_attn.v_proj"]
    np.testing.assert_allclose(tensors["blk.1.attn_v.weight.lora_a"], v.a, rtol=1e-6)
    np.testing.assert_allclose(tensors["blk.1.attn_v.weight.lora_b"], v.b, rtol=1e-6)
    info = read_adapter(path)
    assert (info.architecture, info.base_model, info.alpha, info.tensors) == (
        "llama",
        "Tiny Llama",
        16.0,
        8,
    )


def test_llama_query_and_key_rows_are_permuted_as_transformers_undoes_it(tmp_path: Path) -> None:
    tensors = _tensors(write_adapter(tmp_path / "a.gguf", PAIRS, LLAMA, alpha=16.0))
    q, k = PAIRS["model.layers.0.self_attn.q_proj"], PAIRS["model.layers.0.self_attn.k_proj"]
    stored_q, stored_k = (
        tensors["blk.0.attn_q.weight.lora_b"],
        tensors["blk.0.attn_k.weight.lora_b"],
    )
    assert not np.allclose(stored_q, q.b)  # reordered...
    np.testing.assert_allclose(_reverse_permute(stored_q, LLAMA.heads), q.b, rtol=1e-6)
    np.testing.assert_allclose(_reverse_permute(stored_k, LLAMA.kv_heads), k.b, rtol=1e-6)
    np.testing.assert_allclose(tensors["blk.0.attn_q.weight.lora_a"], q.a, rtol=1e-6)


def test_qwen2_rows_stay_in_order(tmp_path: Path) -> None:
    tensors = _tensors(write_adapter(tmp_path / "a.gguf", PAIRS, QWEN, alpha=8.0))
    q = PAIRS["model.layers.0.self_attn.q_proj"]
    np.testing.assert_allclose(tensors["blk.0.attn_q.weight.lora_b"], q.b, rtol=1e-6)


def test_what_cannot_be_exported_is_refused(tmp_path: Path) -> None:
    with pytest.raises(AdapterError, match="'gemma3' model is not supported"):
        write_adapter(tmp_path / "a.gguf", PAIRS, BaseModel("gemma3", "G", 2, 4, 2), alpha=1)
    with pytest.raises(AdapterError, match="no LoRA weights"):
        write_adapter(tmp_path / "a.gguf", {}, LLAMA, alpha=1)
    with pytest.raises(AdapterError, match=r"model\.vision\.proj has no llama\.cpp tensor"):
        write_adapter(tmp_path / "a.gguf", {"model.vision.proj": _pair(8, 5)}, LLAMA, alpha=1)


def test_an_adapter_for_another_model_or_no_adapter_is_refused(tmp_path: Path) -> None:
    info = read_adapter(write_adapter(tmp_path / "a.gguf", PAIRS, LLAMA, alpha=16.0))
    check_fits(info, LLAMA)
    with pytest.raises(AdapterError, match="trained on 'Tiny Llama', the chat model is 'Other'"):
        check_fits(info, BaseModel("llama", "Other", 2, 4, 2))
    with pytest.raises(AdapterError, match="is for a llama model, the chat model is qwen2"):
        check_fits(info, QWEN)
    model = gguf.GGUFWriter(str(tmp_path / "model.gguf"), "llama")
    model.add_tensor("token_embd.weight", np.zeros((4, 8), dtype=np.float32))
    model.write_header_to_file()
    model.write_kv_data_to_file()
    model.write_tensors_to_file()
    model.close()
    with pytest.raises(AdapterError, match=r"model\.gguf is not a GGUF LoRA adapter"):
        read_adapter(tmp_path / "model.gguf")
    (tmp_path / "junk.gguf").write_bytes(b"not a gguf at all")
    with pytest.raises(AdapterError, match=r"junk\.gguf is not a readable GGUF file"):
        read_adapter(tmp_path / "junk.gguf")
