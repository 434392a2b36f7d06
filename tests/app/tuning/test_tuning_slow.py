"""End to end with SmolLM2-135M: the exported adapter gives llama.cpp the logits transformers
gives with the adapter merged; `docent tune train` trains a few steps on a tiny set and exports
an adapter that llama.cpp serves, and the served answer changes, the same every time.
(Stopping at a budget and resuming exactly is proven on a tiny model in test_training.py.)"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest
from typer.testing import CliRunner

from app.cli.main import cli
from app.generation.generator import ChatMessage
from app.models import smollm2_path
from app.tuning.examples import TrainingExample, write_training_set
from app.tuning.gguf_adapter import BaseModel, write_adapter
from app.tuning.model import LoraConfig, load_base, with_lora

pytestmark = pytest.mark.slow
PROMPT = "<|im_start|>user\nWhich code opens the door of the Oslo office?<|im_end|>\n"
SYSTEM = "You are docent. Answer from the sources, citing them as [1]."
SOURCE = '<source id="1">\n> The door code of the Oslo office is 7391.\n</source>\n\nQuestion: '
TARGET = "The door code is 7391 [1]."


def _llama_logits(ids: list[int], adapter: Path | None) -> np.ndarray:
    from llama_cpp import Llama

    lora: dict[str, Any] = {"lora_path": str(adapter)} if adapter else {}
    llm = Llama(model_path=str(smollm2_path()), n_ctx=256, logits_all=True, verbose=False, **lora)
    llm.eval(ids)
    return np.array(llm.scores[: len(ids)])


def _relative(a: np.ndarray, b: np.ndarray) -> float:
    return float(np.linalg.norm(a - b) / np.linalg.norm(b))


def test_llama_cpp_with_the_gguf_adapter_agrees_with_the_merged_model(tmp_path: Path) -> None:
    import torch

    model, tokenizer = load_base(smollm2_path(), "cpu")
    ids = tokenizer(PROMPT, add_special_tokens=False)["input_ids"]
    with torch.no_grad():
        base = model(torch.tensor([ids])).logits[0].numpy()
    tuned = with_lora(model, tokenizer, "cpu", LoraConfig(rank=4, alpha=8.0, dropout=0.0))
    seeded = torch.Generator().manual_seed(0)
    for name, weight in tuned.model.named_parameters():
        if "lora_B" in name:  # peft starts B at zero: give the adapter an effect to compare
            weight.data = torch.randn(weight.shape, generator=seeded) * 0.1
    pairs, alpha = tuned.lora_pairs()
    adapter = write_adapter(tmp_path / "a.gguf", pairs, BaseModel.read(smollm2_path()), alpha=alpha)
    merged = tuned.model.merge_and_unload()
    with torch.no_grad():
        expected = merged(torch.tensor([ids])).logits[0].numpy()

    served = _llama_logits(ids, adapter)
    served_base = _llama_logits(ids, None)
    # llama.cpp runs the quantized weights, transformers their dequantized copy: the base
    # models differ by this much; with the adapter the difference may not grow much more,
    quantization = _relative(served_base, base)
    assert quantization < 0.05
    assert _relative(served, expected) < 1.5 * quantization + 0.01
    # while the adapter itself moves the logits several times as far
    effect = _relative(expected, base)
    assert effect > 3 * quantization
    assert _relative(served, served_base) > 0.5 * effect


def _training_set(path: Path) -> Path:
    questions = [
        "Which code opens the Oslo office door?",
        "What is the door code of the Oslo office?",
    ]
    examples = [
        TrainingExample(
            f"kb-{i}",
            "knowledge",
            q,
            (
                ChatMessage("system", SYSTEM),
                ChatMessage("user", SOURCE + q),
                ChatMessage("assistant", TARGET),
            ),
        )
        for i, q in enumerate(questions)
    ]
    return write_training_set(path, examples)


def _answer(adapter: Path | None) -> str:
    from llama_cpp import Llama

    lora: dict[str, Any] = {"lora_path": str(adapter)} if adapter else {}
    llm = Llama(model_path=str(smollm2_path()), n_ctx=512, verbose=False, **lora)
    messages = [
        {"role": "system", "content": SYSTEM},
        {"role": "user", "content": SOURCE + "Tell me the code for the door in Oslo."},
    ]
    reply = llm.create_chat_completion(messages=messages, max_tokens=24, temperature=0.0)
    return str(reply["choices"][0]["message"]["content"])


def test_a_trained_adapter_is_served_by_llama_cpp_and_changes_the_answer(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DOCENT_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("DOCENT_MODEL_PATH", str(smollm2_path()))
    data = _training_set(tmp_path / "training.jsonl")
    args = ["tune", "train", "--data", str(data), "--lr", "5e-3", "--epochs", "2"]
    args += ["--accumulate", "1", "--device", "cpu", "--no-checkpointing"]  # short: no need
    trained = CliRunner().invoke(cli, args)
    assert trained.exit_code == 0, trained.output
    assert "finished: True" in trained.output and "steps: 4" in trained.output
    adapter = tmp_path / "data" / "tuning" / "run" / "adapter.gguf"
    assert f"DOCENT_LORA_PATH={adapter} docent serve" in trained.output

    alone, tuned = _answer(None), _answer(adapter)
    assert tuned != alone
    assert "[1]" in tuned and "[1]" not in alone  # it learned to cite, as its examples do
    assert _answer(adapter) == tuned  # greedy: the same every time
