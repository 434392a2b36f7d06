"""LoRA weights written as (and read back from) a GGUF adapter in llama.cpp's layout.

llama.cpp pairs tensors named `<base tensor>.lora_a` / `.lora_b` with the base model's tensor of
that name (`blk.3.attn_q.weight.lora_a`). In numpy order `lora_a` is (rank, in) and `lora_b` is
(out, rank), as peft keeps them; the adapter says `general.type=adapter`, `adapter.type=lora`
and `adapter.lora.alpha`, and llama.cpp scales B·A by alpha / rank. A Llama GGUF stores its
query and key weights with rows permuted for its rotary embedding (transformers undoes that
when it reads the GGUF): their `lora_b` rows get the same permutation here.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import gguf
import numpy as np

BASE_KEY = "docent.base_model"  # general.name of the model the adapter was trained on
# architectures whose export is checked against llama.cpp (logits agree; see tests)
PERMUTED_QK = {"llama": True, "qwen2": False}


class AdapterError(ValueError):
    """An adapter that cannot be written or served with this base model."""


@dataclass(frozen=True)
class BaseModel:
    """What an adapter must match in its base GGUF."""

    architecture: str
    name: str
    blocks: int
    heads: int
    kv_heads: int

    @classmethod
    def read(cls, path: Path) -> BaseModel:
        fields = gguf.GGUFReader(path).fields
        arch = str(fields["general.architecture"].contents())

        def number(key: str) -> int:
            return int(fields[f"{arch}.{key}"].contents())

        name = fields.get("general.name")
        return cls(
            architecture=arch,
            name=str(name.contents()) if name is not None else path.name,
            blocks=number("block_count"),
            heads=number("attention.head_count"),
            kv_heads=number("attention.head_count_kv"),
        )


@dataclass(frozen=True)
class LoraPair:
    """One adapted linear layer: a (rank, in), b (out, rank), in transformers' row order."""

    a: np.ndarray
    b: np.ndarray


def write_adapter(
    path: Path, pairs: Mapping[str, LoraPair], base: BaseModel, *, alpha: float
) -> Path:
    """Write `pairs` (keyed by transformers module name, e.g. model.layers.0.self_attn.q_proj)
    as a GGUF LoRA adapter for `base`; `alpha` / rank is the scale peft applied."""
    if base.architecture not in PERMUTED_QK:
        known = ", ".join(sorted(PERMUTED_QK))
        raise AdapterError(
            f"exporting an adapter for a {base.architecture!r} model is not supported "
            f"(supported: {known})"
        )
    if not pairs:
        raise AdapterError("no LoRA weights to export")
    names = gguf.get_tensor_name_map(_arch(base.architecture), base.blocks)
    writer = gguf.GGUFWriter(str(path), base.architecture)
    writer.add_type(gguf.GGUFType.ADAPTER)
    writer.add_string(gguf.Keys.Adapter.TYPE, "lora")
    writer.add_float32(gguf.Keys.Adapter.LORA_ALPHA, float(alpha))
    writer.add_string(BASE_KEY, base.name)
    for module, pair in sorted(pairs.items()):
        target = names.get_name(module + ".weight", try_suffixes=(".weight",))
        if target is None:
            raise AdapterError(f"{module} has no llama.cpp tensor in a {base.architecture} model")
        b = _llama_rows(pair.b, target, base)
        writer.add_tensor(target + ".lora_a", np.ascontiguousarray(pair.a, dtype=np.float32))
        writer.add_tensor(target + ".lora_b", np.ascontiguousarray(b, dtype=np.float32))
    writer.write_header_to_file()
    writer.write_kv_data_to_file()
    writer.write_tensors_to_file()
    writer.close()
    return path


@dataclass(frozen=True)
class AdapterInfo:
    path: Path
    architecture: str
    base_model: str  # "" when the adapter was not written by docent
    alpha: float
    tensors: int


def read_adapter(path: Path) -> AdapterInfo:
    """The adapter's header, checked to be a LoRA adapter."""
    try:
        reader = gguf.GGUFReader(path)
    except (OSError, ValueError) as exc:
        raise AdapterError(f"{path} is not a readable GGUF file: {exc}") from exc
    fields = reader.fields

    def text(key: str) -> str:
        field = fields.get(key)
        return "" if field is None else str(field.contents())

    if text("general.type") != "adapter" or text(gguf.Keys.Adapter.TYPE) != "lora":
        raise AdapterError(f"{path} is not a GGUF LoRA adapter")
    alpha = fields.get(gguf.Keys.Adapter.LORA_ALPHA)
    return AdapterInfo(
        path=path,
        architecture=text("general.architecture"),
        base_model=text(BASE_KEY),
        alpha=float(alpha.contents()) if alpha is not None else 0.0,
        tensors=len(reader.tensors),
    )


def check_fits(adapter: AdapterInfo, base: BaseModel) -> None:
    """Refuse an adapter trained on another model (llama.cpp would refuse only other shapes)."""
    if adapter.architecture != base.architecture:
        raise AdapterError(
            f"the adapter {adapter.path.name} is for a {adapter.architecture} model, "
            f"the chat model is {base.architecture}"
        )
    if adapter.base_model and adapter.base_model != base.name:
        raise AdapterError(
            f"the adapter {adapter.path.name} was trained on {adapter.base_model!r}, "
            f"the chat model is {base.name!r}"
        )


def _llama_rows(b: np.ndarray, target: str, base: BaseModel) -> np.ndarray:
    """B's rows in the GGUF's order: Llama's query and key rows are permuted per head."""
    if not PERMUTED_QK[base.architecture]:
        return b
    if ".attn_q." in target:
        return _permute(b, base.heads)
    if ".attn_k." in target:
        return _permute(b, base.kv_heads)
    return b


def _permute(rows: np.ndarray, heads: int) -> np.ndarray:
    """convert_hf_to_gguf's permutation: each head's halves interleaved (rows only)."""
    half = rows.shape[0] // heads // 2
    return rows.reshape(heads, 2, half, *rows.shape[1:]).swapaxes(1, 2).reshape(rows.shape)


def _arch(name: str) -> gguf.MODEL_ARCH:
    by_name = {value: key for key, value in gguf.MODEL_ARCH_NAMES.items()}
    return by_name[name]
