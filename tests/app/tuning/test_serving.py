"""An adapter served beside the model: named on the page, in the JSON and in stored answers;
one that does not fit the chat model, or is missing, is refused at start with the reason."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from pydantic import ValidationError

from app.answering.api_view import answer_dict
from app.conversations.stored_answer import from_json, stored, to_json
from app.models import smollm2_path
from app.services import ModelNotReady, Services, check_adapter
from app.settings import Settings
from app.tuning.gguf_adapter import write_adapter
from tests.app.chatting import ask_streaming
from tests.app.tuning.test_gguf_adapter import LLAMA, PAIRS
from tests.fakes import FakeGenerator

REPLY = "You may work remotely up to three days per week [1]."


@pytest.fixture
def generator() -> FakeGenerator:
    return FakeGenerator(adapter="handbook-lora.gguf")


def test_the_answer_names_the_adapter_beside_the_model(
    client: TestClient, generator: FakeGenerator, services: Services
) -> None:
    generator.enqueue(REPLY, REPLY)
    asked = ask_streaming(client, "How many remote days do I get?")
    assert "fake-model</span> <span" in asked.done and "+ adapter handbook-lora.gguf" in asked.done
    page = client.get(f"/c/{asked.conversation_id}").text
    assert "Model: Fake Model + adapter handbook-lora.gguf" in page  # the header
    answer = services.answerer.answer("How many remote days do I get?")
    assert (answer.model, answer.adapter) == ("fake-model", "handbook-lora.gguf")
    assert answer_dict(answer)["adapter"] == "handbook-lora.gguf"
    assert from_json(to_json(answer)).adapter == "handbook-lora.gguf"
    older = stored(answer)
    del older["adapter"]  # stored before adapters existed
    assert from_json(json.dumps(older)).adapter == ""


def test_without_an_adapter_the_json_says_none(services: Services, tmp_path: Path) -> None:
    plain = FakeGenerator()
    plain.enqueue(REPLY)
    answer = replace(services.answerer, generator=plain).answer("How many remote days?")
    assert answer_dict(answer)["adapter"] is None


def test_a_missing_adapter_file_is_refused_by_the_settings(tmp_path: Path) -> None:
    with pytest.raises(ValidationError, match=r"DOCENT_LORA_PATH=.*none\.gguf is not a file"):
        Settings(data_dir=tmp_path, lora_path=tmp_path / "none.gguf")


def test_an_adapter_trained_on_another_model_is_refused_with_the_reason(tmp_path: Path) -> None:
    adapter = write_adapter(tmp_path / "tiny.gguf", PAIRS, LLAMA, alpha=8.0)
    with pytest.raises(ModelNotReady, match="trained on 'Tiny Llama', the chat model is 'Smollm2"):
        check_adapter(adapter, smollm2_path())
    with pytest.raises(ModelNotReady, match="is not a GGUF LoRA adapter"):
        check_adapter(smollm2_path(), smollm2_path())
