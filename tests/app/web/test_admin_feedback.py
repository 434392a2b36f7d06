"""Feedback review and usage analytics in the admin console, over the conversation tables."""

from __future__ import annotations

import re
from dataclasses import replace

from fastapi.testclient import TestClient

from app.answering.answer import Answer
from app.services import Services
from tests.app import admining
from tests.app.admining import MARKDOWN, upload
from tests.fakes import FakeGenerator

admin, admin_settings, admin_services = (
    admining.admin,
    admining.admin_settings,
    admining.admin_services,
)


def _answer(services: Services, question: str, reply: str, total_ms: float) -> Answer:
    generator: FakeGenerator = services.generator  # type: ignore[assignment]
    generator.enqueue(reply)
    answer = services.answerer.answer(question)
    return replace(answer, timings=replace(answer.timings, total_ms=total_ms))


def _conversation_data(services: Services) -> dict[str, int]:
    """Three answers by mia: two that cite the leave page, one refused; two rated."""
    mia = services.accounts.create_user("mia", password="long enough pw")
    store = services.conversations
    chat = store.start(mia.id, "Leave")
    cited = _answer(services, "How much annual leave?", "Twenty eight days a year [1].", 1000)
    again = _answer(services, "Is leave annual?", "Yes, twenty eight days [1].", 3000)
    refused = replace(
        _answer(services, "Who won the match?", "no", 40), refused=True, text="I could not find"
    )
    ids = {}
    for key, answer in (("cited", cited), ("again", again), ("refused", refused)):
        message = store.record(mia.id, chat.id, answer)
        assert message is not None
        ids[key] = message.id
    store.rate(mia.id, ids["again"], "up")
    store.rate(mia.id, ids["cited"], "down", "It is 30 days since January!")
    return ids


def test_the_queue_shows_thumbs_down_first_with_question_answer_and_sources(
    admin: TestClient, admin_services: Services
) -> None:
    upload(admin, [("leave.md", MARKDOWN)])
    _conversation_data(admin_services)
    page = admin.get("/admin/feedback").text
    items = re.findall(r'<li class="feedback-item rating-(\w+)">', page)
    assert items == ["down", "up"]
    down = page.split('rating-down">')[1].split('rating-up">')[0]
    assert "It is 30 days since January!" in down and "How much annual leave?" in down
    assert "Twenty eight days a year" in down
    assert "twenty eight days of annual leave" in down  # the cited passage
    assert "<mark>" in down  # with the supporting span marked
    only_up = admin.get("/admin/feedback", params={"rating": "up"}).text
    assert re.findall(r'rating-(\w+)">', only_up) == ["up"]


def test_analytics_show_questions_refusals_latency_and_most_cited(
    admin: TestClient, admin_services: Services
) -> None:
    upload(admin, [("leave.md", MARKDOWN)])
    _conversation_data(admin_services)
    page = admin.get("/admin/analytics").text
    figures = dict(
        (label, figure)
        for figure, label in re.findall(
            r'<span class="figure">([^<]+)</span><span class="label">([^<]+)</span>', page
        )
    )
    assert figures["questions"] == "3"
    assert figures["refused"] == "33.3%"
    assert figures["thumbs down / up"] == "1 / 1"
    whole = page.split("<td>Whole answer</td>")[1].split("</tr>")[0]
    assert re.findall(r'<td class="num" data-label="p\d+">([^<]+)</td>', whole) == [
        "1.00 s",
        "2.80 s",
    ]
    cited = page.split("Most-cited documents")[1]
    assert re.search(
        r'<a href="/admin/documents/[\w-]+">Leave</a></td><td class="num"[^>]*>2<', cited
    )
    assert page.count('class="bar"') == 30  # one bar per day of the period


def test_empty_pages_say_so(admin: TestClient) -> None:
    assert "No feedback yet." in admin.get("/admin/feedback").text
    page = admin.get("/admin/analytics?days=7").text
    assert "No answer has cited a document" in page and page.count('class="bar"') == 7


def test_an_admin_writes_the_right_answer_to_an_answer_rated_down(
    admin: TestClient, admin_services: Services
) -> None:
    upload(admin, [("leave.md", MARKDOWN)])
    ids = _conversation_data(admin_services)
    page = admin.get("/admin/feedback").text
    down = page.split('rating-down">')[1].split('rating-up">')[0]
    assert "Write the right answer" in down
    assert f'action="/admin/feedback/{ids["cited"]}/correction"' in down
    up = page.split('rating-up">')[1]
    assert "Write the right answer" not in up  # answers rated up need none

    right = "Everyone gets twenty eight days of annual leave each year [1]."
    saved = admin.post(
        f"/admin/feedback/{ids['cited']}/correction",
        data={"text": right, "rating": "down"},
        follow_redirects=False,
    )
    assert saved.status_code == 303
    assert saved.headers["location"].startswith("/admin/feedback?rating=down")
    shown = admin.get(saved.headers["location"]).text
    assert "The right answer to answer" in shown
    assert "twenty eight days of annual leave each year" in shown.split("Right answer")[1]
    assert "written by boss on" in shown
    fix = admin_services.conversations.corrections([ids["cited"]])[ids["cited"]]
    assert (fix.text, fix.username) == (right, "boss")
    entries = admin_services.accounts.audit_entries()
    assert (entries[0].action, entries[0].target) == ("correct-answer", str(ids["cited"]))


def test_an_empty_correction_or_an_unknown_answer_is_refused(
    admin: TestClient, admin_services: Services
) -> None:
    upload(admin, [("leave.md", MARKDOWN)])
    ids = _conversation_data(admin_services)
    empty = admin.post(f"/admin/feedback/{ids['cited']}/correction", data={"text": "  "})
    assert empty.status_code == 422 and "write the right answer" in empty.text
    unknown = admin.post("/admin/feedback/999999/correction", data={"text": "Right."})
    assert unknown.status_code == 422 and "no answer 999999" in unknown.text
    assert admin_services.conversations.corrections([ids["cited"], 999999]) == {}
