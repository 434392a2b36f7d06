"""Training for real on a tiny random Llama: budgets stop it, a checkpoint resumes it exactly
where it stopped, another run's checkpoint is refused, the adapter is exported."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import gguf
import numpy as np
import pytest

from app.generation.generator import ChatMessage
from app.tuning.examples import TrainingExample
from app.tuning.model import LoraConfig
from app.tuning.training import TrainOptions, train
from tests.app.tuning.tiny import tiny_header, tiny_llama

OPTIONS = TrainOptions(
    lora=LoraConfig(rank=4, alpha=8, targets=("q_proj", "k_proj", "v_proj", "down_proj")),
    learning_rate=1e-2,
    epochs=2,
    accumulate=2,
    checkpoint_every=100,
)


def _examples(count: int = 6) -> list[TrainingExample]:
    return [
        TrainingExample(
            f"kb-{i}",
            "knowledge",
            f"Code {i}?",
            (
                ChatMessage("system", "Be docent."),
                ChatMessage("user", f'<source id="1">\n> Room {i} has code {i}{i}.\n</source>'),
                ChatMessage("assistant", f"The code is {i}{i} [1]."),
            ),
        )
        for i in range(count)
    ]


def replace_budget(**budget: object) -> TrainOptions:
    return replace(OPTIONS, **budget)  # type: ignore[arg-type]


def _adapter_tensors(path: Path) -> dict[str, np.ndarray]:
    return {t.name: np.array(t.data) for t in gguf.GGUFReader(path).tensors}


def test_a_run_stopped_by_its_budget_resumes_to_the_same_adapter(tmp_path: Path) -> None:
    model = tiny_header(tmp_path / "tiny.gguf")
    whole = train(_examples(), model, tmp_path / "whole", OPTIONS, loader=tiny_llama)
    assert whole.finished and whole.steps == whole.steps_total == 6
    assert whole.examples_seen == 12 and whole.resumed_from_step == 0
    assert whole.last_loss is not None and whole.first_loss is not None
    assert whole.last_loss < whole.first_loss  # it learns

    stopped = train(
        _examples(), model, tmp_path / "parts", replace_budget(max_steps=4), loader=tiny_llama
    )
    assert (stopped.finished, stopped.stopped_by, stopped.adapter) == (False, "steps", None)
    assert (tmp_path / "parts" / "checkpoint.pt").is_file()
    seen: list[int] = []
    resumed = train(
        _examples(),
        model,
        tmp_path / "parts",
        OPTIONS,
        progress=lambda at: seen.append(at.step),
        loader=tiny_llama,
    )
    assert resumed.finished and resumed.resumed_from_step == 4 and seen == [5, 6]
    assert resumed.examples_seen == 12 and resumed.last_loss == whole.last_loss
    assert whole.adapter is not None and resumed.adapter is not None
    one, two = _adapter_tensors(whole.adapter), _adapter_tensors(resumed.adapter)
    assert sorted(one) == sorted(two) and len(one) == 2 * 4 * 2  # 4 modules, 2 blocks
    for name in one:
        np.testing.assert_array_equal(one[name], two[name])


def test_a_checkpoint_of_other_data_is_refused_unless_fresh(tmp_path: Path) -> None:
    model = tiny_header(tmp_path / "tiny.gguf")
    train(_examples(), model, tmp_path / "run", replace_budget(max_steps=1), loader=tiny_llama)
    with pytest.raises(ValueError, match="other data or settings: pass --fresh"):
        train(_examples(4), model, tmp_path / "run", OPTIONS, loader=tiny_llama)
    fresh = train(_examples(4), model, tmp_path / "run", OPTIONS, fresh=True, loader=tiny_llama)
    assert fresh.finished and fresh.resumed_from_step == 0


def test_a_time_budget_stops_after_the_step_that_spent_it(tmp_path: Path) -> None:
    model = tiny_header(tmp_path / "tiny.gguf")
    report = train(
        _examples(), model, tmp_path / "run", replace_budget(max_minutes=0.0), loader=tiny_llama
    )
    assert (report.stopped_by, report.steps) == ("minutes", 1)


def test_nothing_to_train_on_is_said_plainly(tmp_path: Path) -> None:
    model = tiny_header(tmp_path / "tiny.gguf")
    held = [replace(e, split="heldout") for e in _examples(2)]
    with pytest.raises(ValueError, match="no examples in its train split"):
        train(held, model, tmp_path / "run", OPTIONS, loader=tiny_llama)
    with pytest.raises(ValueError, match="longer than --max-tokens 64"):
        train(
            _examples(), model, tmp_path / "run", replace_budget(max_tokens=64), loader=tiny_llama
        )


def test_the_loss_is_the_models_own_loss_on_the_reply(tmp_path: Path) -> None:
    """The first step's loss (before any update) is what transformers computes with labels
    on the reply only: the logits kept and the labels line up."""
    import torch

    from app.tuning.encoding import encode

    example = _examples(1)[0]
    options = replace(OPTIONS, lora=replace(OPTIONS.lora, dropout=0.0), epochs=1, accumulate=1)
    report = train(
        [example], tiny_header(tmp_path / "tiny.gguf"), tmp_path / "run", options, loader=tiny_llama
    )
    model, tokenizer = tiny_llama(tmp_path, "cpu")
    encoded = encode(example, tokenizer)
    with torch.no_grad():
        expected = model(
            input_ids=torch.tensor([encoded.input_ids]), labels=torch.tensor([encoded.labels])
        ).loss
    assert report.first_loss == pytest.approx(float(expected), rel=1e-4)
