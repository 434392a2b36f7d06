"""With SmolLM2-135M in llama.cpp: the adapter chosen in the console is switched on the loaded
model between answers. The answer changes, the same every time and the same as with the
adapter loaded at start; going back to the model alone gives the model's answer again; the
passage cells follow the adapter (none of one is reused for the other); a file llama.cpp
refuses leaves the adapter in use as it was."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import gguf
import numpy as np
import pytest
from sqlalchemy import create_engine

from app.generation.adapter_choice import AdapterChoices
from app.generation.generator import ChatMessage, LlamaCppGenerator
from app.generation.lora import AdapterNotLoaded
from app.generation.passage_cache import PassageCache
from app.models import smollm2_path
from app.tuning.active import ActiveAdapter
from app.tuning.gguf_adapter import BaseModel, LoraPair, write_adapter
from tests.app.tuning.test_tuning_slow import SOURCE, SYSTEM

pytestmark = pytest.mark.slow
PASSAGE = "> The door code of the Oslo office is 7391."
MESSAGES = [
    ChatMessage("system", SYSTEM),
    ChatMessage("user", SOURCE + "Tell me the code for the door in Oslo.", quoted=(PASSAGE,)),
]


def _random_adapter(path: Path, seed: int) -> Path:
    """A random adapter for SmolLM2 on every block's attention output, strong enough to change
    the greedy answer to this prompt (weaker ones leave it as it is). Trained adapters are
    proven in test_tuning_slow.py; this one is only switched."""
    model = smollm2_path()
    base = BaseModel.read(model)
    width = int(gguf.GGUFReader(model).fields["llama.embedding_length"].contents())
    rng = np.random.default_rng(seed)
    pairs = {
        f"model.layers.{i}.self_attn.o_proj": LoraPair(
            rng.normal(0, 0.05, (4, width)), rng.normal(0, 0.5, (width, 4))
        )
        for i in range(base.blocks)
    }
    return write_adapter(path, pairs, base, alpha=8.0)


def _generator(tmp_path: Path, adapter: Path | None = None) -> LlamaCppGenerator:
    cache = PassageCache(tmp_path / "cells", disk_bytes=64 << 20, ram_bytes=16 << 20)
    return LlamaCppGenerator(
        smollm2_path(),
        model_id="SmolLM2",
        n_ctx=512,
        n_threads=2,
        lora_path=adapter,
        passage_cache=cache,
    )


def _answer(generator: LlamaCppGenerator) -> str:
    return "".join(generator.stream(MESSAGES, max_tokens=24, temperature=0.0))


@pytest.fixture
def tuning(tmp_path: Path) -> Path:
    folder = tmp_path / "data" / "tuning"
    (folder / "run").mkdir(parents=True)
    _random_adapter(folder / "run" / "adapter.gguf", seed=1)
    return folder


@pytest.fixture
def active(tmp_path: Path, tuning: Path) -> Iterator[ActiveAdapter]:
    engine = create_engine(f"sqlite:///{tmp_path / 'app.db'}")
    generator = _generator(tmp_path)
    yield ActiveAdapter(AdapterChoices(engine), generator, tuning, model=smollm2_path())
    engine.dispose()


def test_switching_the_adapter_at_run_time_changes_the_answer_and_back(
    active: ActiveAdapter, tuning: Path, tmp_path: Path
) -> None:
    generator = active.generator
    assert isinstance(generator, LlamaCppGenerator)
    adapter = tuning / "run" / "adapter.gguf"
    alone = _answer(generator)
    assert generator.last_fill is not None and generator.last_fill.computed > 0

    switched = active.activate(str(adapter), "boss", confirmed=True)  # unmeasured: confirmed
    assert switched.done, switched
    assert (generator.adapter, generator.adapter_path) == ("adapter.gguf", adapter)
    tuned = _answer(generator)
    assert tuned != alone
    assert generator.last_fill is not None and generator.last_fill.reused == 0  # not the model's
    assert _answer(generator) == tuned  # greedy: the same every time
    loaded_at_start = _generator(tmp_path / "other", adapter)
    assert _answer(loaded_at_start) == tuned  # as if DOCENT_LORA_PATH had named it

    assert active.activate("", "boss").done  # back to the model alone
    assert generator.adapter == "" and generator.adapter_path is None
    assert _answer(generator) == alone
    assert generator.last_fill is not None and generator.last_fill.reused > 0  # its own cells
    stored = AdapterChoices(active.choices.engine).current()
    assert stored is not None and stored.path is None


def test_a_file_llama_cpp_refuses_leaves_the_adapter_in_use(
    active: ActiveAdapter, tuning: Path
) -> None:
    generator = active.generator
    assert isinstance(generator, LlamaCppGenerator)
    adapter = tuning / "run" / "adapter.gguf"
    generator.use_adapter(adapter)
    tuned = _answer(generator)
    with pytest.raises(AdapterNotLoaded, match="could not load"):
        generator.use_adapter(smollm2_path())  # a model, not an adapter
    assert generator.adapter_path == adapter
    assert _answer(generator) == tuned
