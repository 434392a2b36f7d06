"""/metrics: Prometheus text with request, answer, queue and ingestion figures; who may read it."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from prometheus_client.parser import text_string_to_metric_families

from app.accounts.operator_token import read_token
from app.answering.answer import Done, Token
from app.generation.generator import FairQueue
from app.generation.passage_cache import PassageCache
from app.metrics import Metrics, instrumented
from app.services import Services
from app.settings import Settings
from app.web import create_app
from tests.app.sample import ingest_remote_work
from tests.app.signin import add_user
from tests.fakes import FakeGenerator

LOCAL = ("127.0.0.1", 50000)
REMOTE = ("203.0.113.9", 50000)
REPLY = "Employees may work remotely up to three days per week [1]."


def sample(text: str, name: str, **labels: str) -> float | None:
    """The value of one sample in a Prometheus exposition, or None if absent."""
    for family in text_string_to_metric_families(text):
        for s in family.samples:
            if s.name == name and all(s.labels.get(k) == v for k, v in labels.items()):
                return float(s.value)
    return None


@pytest.fixture
def local(settings: Settings, services: Services, tmp_path: Path) -> Iterator[TestClient]:
    ingest_remote_work(services, tmp_path)
    with TestClient(create_app(settings, services), client=LOCAL) as client:
        yield client


def _bearer(services: Services, username: str, role: str = "member") -> dict[str, str]:
    user = add_user(services.accounts, username, role=role)
    return {"Authorization": f"Bearer {services.accounts.issue_api_token(user.id, 'scrape')}"}


def test_metrics_are_prometheus_text_with_request_latency_by_route_template(
    local: TestClient,
) -> None:
    assert local.get("/healthz").status_code == 200
    assert local.get("/v1/models/anything").status_code == 401  # a path parameter
    assert local.get("/no/such/page").status_code == 404
    response = local.get("/metrics")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain; version=")
    text = response.text
    count = "docent_http_request_duration_seconds_count"
    assert sample(text, count, method="GET", route="/healthz", status="200") == 1
    assert sample(text, count, route="/v1/models/{model_id}", status="401") == 1
    assert sample(text, count, route="<unmatched>", status="404") == 1
    assert "/no/such/page" not in text  # URLs never become labels
    assert sample(text, "process_resident_memory_bytes") is not None


def test_an_answer_is_measured_whichever_surface_asked(
    local: TestClient, services: Services, generator: FakeGenerator
) -> None:
    headers = _bearer(services, "alice")
    generator.enqueue(REPLY, REPLY)
    assert local.post("/api/v1/ask", json={"question": "Remote days?"}, headers=headers).is_success
    body = {"model": "docent", "messages": [{"role": "user", "content": "Remote days?"}]}
    assert local.post("/v1/chat/completions", json=body, headers=headers).is_success
    text = local.get("/metrics").text
    assert sample(text, "docent_answers_total", outcome="answered") == 2
    assert sample(text, "docent_answer_first_token_seconds_count") == 2
    assert sample(text, "docent_answer_retrieval_seconds_count") == 2
    assert sample(text, "docent_answer_tokens_per_second_count") == 2
    assert sample(text, "docent_answer_completion_tokens_total") == 2 * len(REPLY.split())
    generation = sample(text, "docent_answer_generation_seconds_total")
    assert generation is not None and generation > 0
    assert sample(text, "docent_answers_in_progress") == 0


def test_refusals_are_counted_apart_and_have_no_first_token(
    settings: Settings, services: Services
) -> None:
    headers = _bearer(services, "alice")  # the store is empty: nothing to answer from
    with TestClient(create_app(settings, services), client=LOCAL) as client:
        client.post("/api/v1/ask", json={"question": "Which airline?"}, headers=headers)
        text = client.get("/metrics").text
    assert sample(text, "docent_answers_total", outcome="not_found") == 1
    assert sample(text, "docent_answers_total", outcome="answered") is None
    assert sample(text, "docent_answer_first_token_seconds_count") == 0
    assert sample(text, "docent_answer_retrieval_seconds_count") == 1


def test_queue_length_counts_the_requests_waiting_for_the_model(
    local: TestClient, generator: FakeGenerator
) -> None:
    generator.queue = FairQueue()
    assert sample(local.get("/metrics").text, "docent_generation_queue_length") == 0
    tickets = [generator.queue.join() for _ in range(3)]  # one answering, two waiting
    assert sample(local.get("/metrics").text, "docent_generation_queue_length") == 2
    tickets[0].leave()
    assert sample(local.get("/metrics").text, "docent_generation_queue_length") == 1


def test_answers_in_progress_rise_while_one_streams_and_fall_when_it_is_dropped(
    services: Services, generator: FakeGenerator, tmp_path: Path
) -> None:
    ingest_remote_work(services, tmp_path)
    metrics = Metrics()
    answerer = instrumented(services, metrics).answerer
    generator.enqueue(REPLY, REPLY)

    def now(name: str, **labels: str) -> float | None:
        return sample(metrics.render().decode(), name, **labels)

    stream = answerer.stream("Remote days?")
    assert isinstance(next(e for e in stream if isinstance(e, Token)), Token)
    assert now("docent_answers_in_progress") == 1
    stream.close()  # the client went away mid-answer
    assert now("docent_answers_in_progress") == 0
    assert now("docent_answers_total", outcome="answered") is None
    events = list(answerer.stream("Remote days?"))
    assert isinstance(events[-1], Done)
    assert now("docent_answers_total", outcome="answered") == 1


def test_ingestion_through_the_app_counts_documents_and_chunks(
    settings: Settings, services: Services, tmp_path: Path
) -> None:
    docs = tmp_path / "docs"
    docs.mkdir()
    (docs / "leave.md").write_text("# Leave\n\nEveryone gets twenty eight days of annual leave.\n")
    (docs / "notes.xyz").write_text("not a document")
    with TestClient(create_app(settings, services), client=LOCAL) as client:
        token = {"Authorization": f"Bearer {read_token(settings.data_dir)}"}

        def ingest(**extra: object) -> list[dict[str, object]]:
            body = {"paths": [str(docs)], "workers": 0} | extra
            lines = client.post("/api/v1/ingest", json=body, headers=token).text.splitlines()
            return [json.loads(line) for line in lines]

        first = ingest()
        ingest()  # nothing changed
        ingest(dry_run=True)  # not counted
        text = client.get("/metrics").text
    chunks = next(e["chunks"] for e in first if e.get("status") == "new")
    assert sample(text, "docent_ingest_documents_total", status="new") == 1
    assert sample(text, "docent_ingest_documents_total", status="skipped") == 2
    assert sample(text, "docent_ingest_documents_total", status="unchanged") == 1
    assert sample(text, "docent_ingest_chunks_total") == chunks == services.store.count()


def test_each_app_counts_on_its_own_registry(settings: Settings, services: Services) -> None:
    with (
        TestClient(create_app(settings, services), client=LOCAL) as one,
        TestClient(create_app(settings, services), client=LOCAL) as two,
    ):
        one.get("/healthz")
        one.get("/healthz")
        two.get("/healthz")
        count = "docent_http_request_duration_seconds_count"
        assert sample(one.get("/metrics").text, count, route="/healthz") == 2
        assert sample(two.get("/metrics").text, count, route="/healthz") == 1


def test_from_another_machine_only_admins_read_metrics_unless_public(
    settings: Settings, services: Services
) -> None:
    member, admin = _bearer(services, "bob"), _bearer(services, "root", role="admin")
    with TestClient(create_app(settings, services), client=REMOTE) as remote:
        assert remote.get("/metrics").status_code == 401
        assert remote.get("/metrics", headers=member).status_code == 403
        assert remote.get("/metrics", headers=admin).status_code == 200
    public = settings.model_copy(update={"metrics_public": True})
    with TestClient(create_app(public, services), client=REMOTE) as remote:
        assert remote.get("/metrics").status_code == 200


def test_a_local_proxy_does_not_make_its_visitors_local(
    settings: Settings, services: Services
) -> None:
    """Issue #15, finding 7: behind a reverse proxy on this machine every visitor came from
    127.0.0.1, and a proxy passing on a client's X-Forwarded-For: 127.0.0.1 made it local, so
    /metrics was public. A forwarding header from an unnamed local proxy is not local now; from
    a proxy named in DOCENT_TRUSTED_PROXIES the forwarded address decides."""
    admin = _bearer(services, "root", role="admin")
    with TestClient(create_app(settings, services), client=LOCAL) as proxy:
        for header in ("X-Forwarded-For", "X-Real-IP", "Forwarded"):
            relayed = {header: "127.0.0.1"}
            assert proxy.get("/metrics", headers=relayed).status_code == 401, header
        assert proxy.get("/metrics", headers={"X-Forwarded-For": "x"} | admin).status_code == 200
        assert proxy.get("/metrics").status_code == 200  # a scraper on this machine
    behind = settings.model_copy(update={"trusted_proxies": "127.0.0.1"})
    with TestClient(create_app(behind, services), client=LOCAL) as proxy:
        spoofed = {"X-Forwarded-For": "127.0.0.1, 203.0.113.9"}  # the proxy appended the real one
        assert proxy.get("/metrics", headers=spoofed).status_code == 401
        assert proxy.get("/metrics").status_code == 401  # the proxy did not say for whom
        assert proxy.get("/metrics", headers={"X-Forwarded-For": "127.0.0.1"}).status_code == 200


def test_the_passage_cache_reports_its_lookups_and_size(tmp_path: Path) -> None:
    cache = PassageCache(tmp_path, disk_bytes=10_000, ram_bytes=10_000)
    metrics = Metrics()
    metrics.watch_passage_cache(cache)
    cache.put("a", b"x" * 100)
    cache.get("a")
    cache.get("b")
    text = metrics.render().decode()
    assert sample(text, "docent_passage_cache_lookups_total", result="hit") == 1
    assert sample(text, "docent_passage_cache_lookups_total", result="miss") == 1
    assert sample(text, "docent_passage_cache_bytes", tier="disk") == 100
    assert sample(text, "docent_passage_cache_bytes", tier="ram") == 100
