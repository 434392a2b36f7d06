"""Shards, replication and write consistency reach a Qdrant server's create_collection, and
only a server's. No Qdrant server ships here: `QdrantClient` is replaced by a real in-memory
client that records how it was built and called."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import qdrant_client
from pydantic import ValidationError

from app.services import open_store
from app.settings import Settings
from ingest.store import QdrantStore, ServerLayout

REAL_CLIENT = qdrant_client.QdrantClient


class RecordingClient:
    """qdrant-client in memory that notes how it was built and each call it is given."""

    def __init__(self, built_with: dict[str, Any]) -> None:
        self.built_with = built_with  # url and api_key, or path
        self.real = REAL_CLIENT(location=":memory:")
        self.calls: list[tuple[str, dict[str, Any]]] = []

    def __getattr__(self, name: str) -> Any:
        method = getattr(self.real, name)

        def call(*args: Any, **kwargs: Any) -> Any:
            self.calls.append((name, kwargs))
            return method(*args, **kwargs)

        return call

    def kwargs_of(self, name: str) -> list[dict[str, Any]]:
        return [kwargs for called, kwargs in self.calls if called == name]


@pytest.fixture
def recorded(monkeypatch: pytest.MonkeyPatch) -> list[RecordingClient]:
    """The clients QdrantStore builds from now on (a server's too) answer in memory."""
    made: list[RecordingClient] = []

    def build(**built_with: Any) -> RecordingClient:
        made.append(RecordingClient(built_with))
        return made[-1]

    monkeypatch.setattr(qdrant_client, "QdrantClient", build)
    return made


def test_only_the_values_set_become_arguments() -> None:
    assert ServerLayout().collection_args() == {}
    assert ServerLayout(shards=6).collection_args() == {"shard_number": 6}
    assert ServerLayout(3, 2, 2).collection_args() == {
        "shard_number": 3,
        "replication_factor": 2,
        "write_consistency_factor": 2,
    }


@pytest.mark.filterwarnings("ignore:Payload indexes have no effect:UserWarning")  # in memory
def test_a_server_collection_is_created_with_the_settings_layout(
    tmp_path: Path, recorded: list[RecordingClient]
) -> None:
    server = Settings(
        data_dir=tmp_path,
        qdrant_url="http://qdrant.invalid:6333",
        qdrant_api_key="k3y",
        qdrant_shards=3,
        qdrant_replication=2,
        qdrant_write_consistency=2,
    )
    store = open_store(server)
    assert isinstance(store, QdrantStore)
    [client] = recorded
    assert client.built_with == {"url": "http://qdrant.invalid:6333", "api_key": "k3y"}
    store.ensure_collection(8)
    [created] = client.kwargs_of("create_collection")
    assert (created["shard_number"], created["replication_factor"]) == (3, 2)
    assert created["write_consistency_factor"] == 2
    assert len(client.kwargs_of("create_payload_index")) > 0  # a server filters on indexes
    store.ensure_collection(8)  # it exists now: nothing is created twice
    assert len(client.kwargs_of("create_collection")) == 1


@pytest.mark.filterwarnings("ignore:Payload indexes have no effect:UserWarning")
def test_unset_values_leave_the_server_its_defaults(
    tmp_path: Path, recorded: list[RecordingClient]
) -> None:
    store = open_store(Settings(data_dir=tmp_path, qdrant_url="http://qdrant.invalid"))
    assert isinstance(store, QdrantStore)
    [client] = recorded
    store.ensure_collection(8)
    [created] = client.kwargs_of("create_collection")
    assert not {"shard_number", "replication_factor", "write_consistency_factor"} & set(created)


def test_local_mode_ignores_the_layout(tmp_path: Path, recorded: list[RecordingClient]) -> None:
    local = Settings(
        data_dir=tmp_path, vector_store="qdrant-local", qdrant_shards=3, qdrant_replication=2
    )
    store = open_store(local)
    assert isinstance(store, QdrantStore)
    try:
        [client] = recorded
        assert set(client.built_with) == {"path"}
        store.ensure_collection(8)
        [created] = client.kwargs_of("create_collection")
        assert not {"shard_number", "replication_factor"} & set(created)
        assert client.kwargs_of("create_payload_index") == []
    finally:
        store.close()
    embedded = QdrantStore("docs", path=None, layout=ServerLayout(3, 2, 1))
    embedded.ensure_collection(8)  # a layout given to local mode is dropped, not an error
    [created] = recorded[-1].kwargs_of("create_collection")
    assert not {"shard_number", "replication_factor", "write_consistency_factor"} & set(created)
    assert embedded.count() == 0
    embedded.close()


def test_the_settings_refuse_a_write_consistency_no_write_could_meet(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("DOCENT_QDRANT_SHARDS", "4")
    monkeypatch.setenv("DOCENT_QDRANT_REPLICATION", "2")
    monkeypatch.setenv("DOCENT_QDRANT_WRITE_CONSISTENCY", "2")
    settings = Settings()
    assert (settings.qdrant_shards, settings.qdrant_replication) == (4, 2)
    assert settings.qdrant_write_consistency == 2
    monkeypatch.setenv("DOCENT_QDRANT_WRITE_CONSISTENCY", "3")
    with pytest.raises(ValidationError, match="cannot exceed"):
        Settings()
    monkeypatch.delenv("DOCENT_QDRANT_REPLICATION")
    with pytest.raises(ValidationError, match="cannot exceed"):
        Settings()  # one copy (the default) cannot confirm three times
    monkeypatch.setenv("DOCENT_QDRANT_SHARDS", "0")
    with pytest.raises(ValidationError, match="qdrant_shards"):
        Settings()
