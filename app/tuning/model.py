"""The chat model for training: read from its own GGUF by transformers (which dequantizes it),
with peft's LoRA layers on the chosen modules. Heavy imports stay inside the functions."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from app.tuning.gguf_adapter import LoraPair

log = logging.getLogger(__name__)

# Defaults (see README "Tuning the model"): attention and MLP projections, rank 8, alpha 16.
TARGET_MODULES = ("q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj")


class TuningUnavailable(RuntimeError):
    """The training libraries are not installed."""


@dataclass(frozen=True)
class LoraConfig:
    rank: int = 8
    alpha: float = 16.0
    dropout: float = 0.05
    targets: tuple[str, ...] = TARGET_MODULES


@dataclass
class TrainableModel:
    """A causal LM with LoRA layers (peft) and its tokenizer, on one torch device."""

    model: Any  # peft.PeftModel
    tokenizer: Any
    device: str

    def lora_pairs(self) -> tuple[dict[str, LoraPair], float]:
        """The adapted layers' weights by transformers module name, and the alpha that gives
        llama.cpp peft's scale (alpha / rank)."""
        from peft.tuners.lora import LoraLayer

        pairs: dict[str, LoraPair] = {}
        scales: set[float] = set()
        ranks: set[int] = set()
        for name, module in self.model.named_modules():
            if not isinstance(module, LoraLayer) or "default" not in module.lora_A:
                continue
            a = _weights(module.lora_A["default"])
            b = _weights(module.lora_B["default"])
            pairs[name.removeprefix("base_model.model.")] = LoraPair(a, b)
            scales.add(float(module.scaling["default"]))
            ranks.add(a.shape[0])
        if len(scales) != 1 or len(ranks) != 1:
            raise ValueError("every adapted layer must have the same rank and scale")
        return pairs, scales.pop() * ranks.pop()


def _weights(layer: Any) -> Any:
    return layer.weight.detach().float().cpu().numpy()


def torch_device(choice: str = "auto") -> str:
    """ "cuda" when asked or (auto) when a CUDA GPU is present, else "cpu"."""
    import torch

    if choice == "auto":
        return "cuda" if torch.cuda.is_available() else "cpu"
    if choice == "cuda" and not torch.cuda.is_available():
        raise ValueError("--device cuda: no CUDA GPU is visible to torch")
    return choice


def load_base(gguf_path: Path, device: str) -> tuple[Any, Any]:
    """(model, tokenizer) from the GGUF the app serves; float32 on CPU, bfloat16 on a GPU."""
    torch, transformers = _libraries()
    dtype = torch.bfloat16 if device == "cuda" else torch.float32
    folder, name = str(gguf_path.parent), gguf_path.name
    tokenizer = transformers.AutoTokenizer.from_pretrained(folder, gguf_file=name)
    model = transformers.AutoModelForCausalLM.from_pretrained(folder, gguf_file=name, dtype=dtype)
    return model.to(device), tokenizer


def with_lora(model: Any, tokenizer: Any, device: str, config: LoraConfig) -> TrainableModel:
    import peft

    present = {name.rsplit(".", 1)[-1] for name, _ in model.named_modules()}
    missing = [t for t in config.targets if t not in present]
    if missing:
        raise ValueError(f"the model has no modules named {', '.join(missing)}")
    lora = peft.LoraConfig(
        r=config.rank,
        lora_alpha=config.alpha,  # type: ignore[arg-type]  # a float works (scale = alpha / r)
        lora_dropout=config.dropout,
        target_modules=list(config.targets),
        task_type="CAUSAL_LM",
    )
    return TrainableModel(peft.get_peft_model(model, lora), tokenizer, device)


def _libraries() -> tuple[Any, Any]:
    try:
        import peft  # noqa: F401 - checked here so the message names the extra
        import torch
        import transformers
    except ImportError as exc:
        raise TuningUnavailable(
            f"tuning needs torch, transformers and peft ({exc.name} is missing): "
            'pip install -e ".[tune]"'
        ) from exc
    return torch, transformers
