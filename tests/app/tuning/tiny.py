"""A tiny random Llama and a byte tokenizer with a ChatML template, and a GGUF header that
names them: training, checkpoints and export run for real in seconds, without weights."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import gguf
import numpy as np

HEADS, KV_HEADS, WIDTH, BLOCKS = 4, 2, 32, 2


class ByteTokenizer:
    """One token per byte (a 256-token vocabulary), ChatML like SmolLM2's and Qwen's."""

    def apply_chat_template(
        self,
        chat: list[dict[str, str]],
        tokenize: bool = False,
        add_generation_prompt: bool = False,
    ) -> str:
        text = "".join(f"<|im_start|>{m['role']}\n{m['content']}<|im_end|>\n" for m in chat)
        return text + ("<|im_start|>assistant\n" if add_generation_prompt else "")

    def __call__(self, text: str, add_special_tokens: bool = False) -> dict[str, Any]:
        return {"input_ids": list(text.encode("utf-8"))}


def tiny_llama(path: Path, device: str) -> tuple[Any, Any]:
    """A loader for `train`: the same random model every time (seeded)."""
    import torch
    from transformers import LlamaConfig, LlamaForCausalLM

    torch.manual_seed(1234)
    config = LlamaConfig(
        vocab_size=256,
        hidden_size=WIDTH,
        intermediate_size=64,
        num_hidden_layers=BLOCKS,
        num_attention_heads=HEADS,
        num_key_value_heads=KV_HEADS,
        max_position_embeddings=1024,
    )
    return LlamaForCausalLM(config).to(device), ByteTokenizer()


def tiny_header(path: Path) -> Path:
    """A GGUF that says what the tiny model is (architecture, name, blocks, heads)."""
    writer = gguf.GGUFWriter(str(path), "llama")
    writer.add_name("Tiny Llama")
    writer.add_block_count(BLOCKS)
    writer.add_head_count(HEADS)
    writer.add_head_count_kv(KV_HEADS)
    writer.add_tensor("token_embd.weight", np.zeros((256, WIDTH), dtype=np.float32))
    writer.write_header_to_file()
    writer.write_kv_data_to_file()
    writer.write_tensors_to_file()
    writer.close()
    return path
