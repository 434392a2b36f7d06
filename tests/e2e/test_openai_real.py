"""The real `openai` client against docent with real parts (SmolLM2, MiniLM, Qdrant on disk)."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import openai
import pytest
from prometheus_client.parser import text_string_to_metric_families

from app.demo import demo_documents
from app.services import Services
from app.settings import Settings
from app.web import create_app
from tests.app.signin import add_user
from tests.app.web.test_openai_api import running
from tests.e2e.real import real_services

pytestmark = pytest.mark.slow
QUESTION = "How many weeks of fully paid parental leave does a primary carer get?"


@pytest.fixture(scope="module")
def services(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Services]:
    handbook = [p for p in demo_documents() if p.name == "employee-handbook.md"]
    services = real_services(tmp_path_factory.mktemp("openai"), handbook, grounding_checks=False)
    yield services
    services.close()


def _metric(text: str, name: str) -> float:
    return next(
        s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
        if s.name == name
    )


def test_a_streamed_answer_from_the_real_model_is_sourced_and_measured(
    services: Services,
) -> None:
    user = add_user(services.accounts, "openai-reader")
    token = services.accounts.issue_api_token(user.id, "e2e")
    settings = Settings()  # the test's own data dir (conftest); the services are passed in
    with running(create_app(settings, services)) as url:
        client = openai.OpenAI(base_url=f"{url}/v1", api_key=token, max_retries=0)
        chunks = list(
            client.chat.completions.create(
                model="docent",
                messages=[{"role": "user", "content": QUESTION}],
                stream=True,
                stream_options={"include_usage": True},
            )
        )
        scraped = httpx.get(f"{url}/metrics").text
    text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    finish = next(c for c in chunks if c.choices and c.choices[0].finish_reason)
    citations = (finish.model_extra or {})["citations"]
    assert text.strip()
    # the tiny model cites or not, depending on the prompt's wording; when it does, the
    # citations come with the finish chunk and a source list follows the text (the mapping
    # itself is tested with a fake model in tests/app/web/test_openai_api.py)
    assert all(c["title"] for c in citations)
    assert ("\n\nSources:\n[" in text) == bool(citations)
    assert all("handbook" in c["source"].lower() for c in citations)
    usage = chunks[-1].usage
    assert usage is not None and usage.completion_tokens > 0
    assert _metric(scraped, "docent_answer_first_token_seconds_count") == 1
    assert _metric(scraped, "docent_answer_completion_tokens_total") == usage.completion_tokens
    print(
        f"\nfirst token {_metric(scraped, 'docent_answer_first_token_seconds_sum'):.2f} s, "
        f"{_metric(scraped, 'docent_answer_tokens_per_second_sum'):.1f} tokens/s, "
        f"retrieval {1000 * _metric(scraped, 'docent_answer_retrieval_seconds_sum'):.0f} ms, "
        f"{usage.prompt_tokens} prompt + {usage.completion_tokens} completion tokens"
    )
