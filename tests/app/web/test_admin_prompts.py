"""Prompt templates in the admin console: invalid saves refused, valid ones in use at once,
a preview against a sample question, every save kept, older versions restored."""

from __future__ import annotations

import re
import threading
import time
from collections.abc import Callable
from functools import partial
from pathlib import Path

from fastapi.testclient import TestClient
from httpx import Response

from app.generation.prompt_versions import PromptEditor
from app.generation.prompting import Prompts
from app.paths import PROMPTS_DIR
from app.services import Services
from app.settings import Settings
from tests.app import admining
from tests.app.admining import HTMX, MARKDOWN, upload

admin, admin_settings, admin_services = (
    admining.admin,
    admining.admin_settings,
    admining.admin_services,
)
BUILTIN = (PROMPTS_DIR / "system.j2").read_text(encoding="utf-8")


def _system(services: Services) -> str:
    return services.answerer.prompts.system()


def _version_ids(page: str) -> list[int]:
    return [int(n) for n in re.findall(r"/admin/prompts/system\.j2/versions/(\d+)", page)]


def test_an_invalid_template_is_refused_and_the_one_in_use_stays(
    admin: TestClient, admin_services: Services, admin_settings: Settings
) -> None:
    for broken, expected in [
        ("Hello {{ unknown_variable }}", "is undefined"),
        ("{% if %}", "TemplateSyntaxError"),
        ("   ", "the template is empty"),
        ("{{ 1 / 0 }}", "ZeroDivisionError"),
        # the sandbox: a template cannot reach Python's internals (this would import os)
        ("{{ cycler.__init__.__globals__.os.getcwd() }}", "SecurityError"),
        ("{{ cycler.__class__.__mro__[1].__subclasses__() }}", "SecurityError"),
    ]:
        response = admin.post("/admin/prompts/system.j2", data={"source": broken})
        assert response.status_code == 422
        assert expected in response.text and "Not saved" in response.text
        assert broken.strip() in response.text  # the text is kept in the editor
    assert _system(admin_services) == BUILTIN.strip().replace(
        "{{ not_found }}", "I could not find the answer in the knowledge base."
    )
    assert not (admin_settings.prompts_dir / "system.j2").exists()
    assert _version_ids(admin.get("/admin/prompts/system.j2").text) == []


def test_a_valid_template_is_used_by_the_next_question_and_kept_in_history(
    admin: TestClient, admin_services: Services
) -> None:
    source = "You are the docent of ACME. If unsure say: {{ not_found }}"
    response = admin.post(
        "/admin/prompts/system.j2",
        data={"source": source, "note": "shorter"},
        follow_redirects=False,
    )
    assert response.status_code == 303
    assert _system(admin_services).startswith("You are the docent of ACME.")
    page = admin.get(response.headers["location"]).text
    assert "system.j2 saved" in page and "shorter" in page and "edited" in page
    assert len(_version_ids(page)) == 1
    audit = admin_services.accounts.audit_entries()[0]
    assert (audit.actor, audit.action, audit.target) == ("boss", "edit-prompt", "system.j2")


def test_restore_an_older_version_and_reset_to_the_built_in(
    admin: TestClient, admin_services: Services
) -> None:
    admin.post("/admin/prompts/system.j2", data={"source": "First. {{ not_found }}"})
    admin.post("/admin/prompts/system.j2", data={"source": "Second. {{ not_found }}"})
    assert _system(admin_services).startswith("Second.")
    newest_first = _version_ids(admin.get("/admin/prompts/system.j2").text)
    older = newest_first[1]
    view = admin.get(f"/admin/prompts/system.j2/versions/{older}").text
    assert "First. {{ not_found }}" in view and "Restore this version" in view
    restored = admin.post(
        f"/admin/prompts/system.j2/versions/{older}/restore", follow_redirects=False
    )
    assert restored.status_code == 303
    assert _system(admin_services).startswith("First.")
    assert len(_version_ids(admin.get("/admin/prompts/system.j2").text)) == 3  # nothing lost
    admin.post("/admin/prompts/system.j2/reset")
    assert _system(admin_services).startswith("You are docent")
    actions = [e.action for e in admin_services.accounts.audit_entries()]
    assert actions[:2] == ["reset-prompt", "restore-prompt"]
    assert admin.get("/admin/prompts/system.j2/versions/99999").status_code == 404


def test_preview_renders_against_the_sample_question_with_found_passages(
    admin: TestClient,
) -> None:
    upload(admin, [("leave.md", MARKDOWN)])
    source = (PROMPTS_DIR / "answer.j2").read_text(encoding="utf-8")
    response = admin.post(
        "/admin/prompts/answer.j2/preview",
        data={"source": "Q: {{ question }} / " + source, "question": "How many days of leave?"},
        headers=HTMX,
    )
    assert response.status_code == 200
    assert response.text.startswith('<div id="prompt-preview"')
    assert "Q: How many days of leave? /" in response.text
    assert "twenty eight days of annual leave" in response.text  # the passage found for it
    assert "You are docent" in response.text  # the system message as in use
    broken = admin.post(
        "/admin/prompts/answer.j2/preview", data={"source": "{{ passages | nope }}"}, headers=HTMX
    )
    assert "Does not render" in broken.text and "nope" in broken.text


def test_the_condense_preview_uses_a_sample_conversation(admin: TestClient) -> None:
    source = (PROMPTS_DIR / "condense.j2").read_text(encoding="utf-8")
    response = admin.post(
        "/admin/prompts/condense.j2/preview",
        data={"source": source, "question": "and for contractors?"},
        headers=HTMX,
    )
    assert "Follow-up question: and for contractors?" in response.text


def test_unknown_prompt_names_are_404(admin: TestClient) -> None:
    assert admin.get("/admin/prompts/../settings.py").status_code == 404
    assert admin.get("/admin/prompts/nope.j2").status_code == 404
    response = admin.post("/admin/prompts/%2e%2e%2fevil.j2", data={"source": "x"})
    assert response.status_code == 404


def test_the_list_flags_a_broken_override_file(
    admin: TestClient, admin_settings: Settings, admin_services: Services
) -> None:
    admin_settings.prompts_dir.mkdir(parents=True, exist_ok=True)
    (admin_settings.prompts_dir / "answer.j2").write_text("{{ broken", encoding="utf-8")
    page = admin.get("/admin/prompts").text
    assert "does not render" in page
    editor = admin.get("/admin/prompts/answer.j2").text
    assert "{{ broken" in editor and "last good version is in use" in editor


def test_saves_in_quick_succession_are_all_picked_up(
    admin_services: Services, tmp_path: Path
) -> None:
    """The answerer notices an override by its modification time; a save within the clock's
    granularity of the previous one must still count."""
    live = Prompts(overrides=tmp_path / "overrides")
    editor = PromptEditor(admin_services.accounts.engine, tmp_path / "overrides", live)
    for n in range(20):
        assert editor.save("system.j2", f"Version {n}. {{{{ not_found }}}}", "boss") is None
        assert live.system().startswith(f"Version {n}.")
    assert len(editor.history("system.j2")) == 20


HOSTILE = [  # issue #15, finding 14: each asked for unbounded memory or time on the server
    "{{ 'x' * 10**10 }}",
    "{% for i in range(100000) %}{% for j in range(100000) %}{% endfor %}{% endfor %}",
    "{% set ns = namespace(s='x') %}{% for i in range(60) %}{% set ns.s = ns.s ~ ns.s %}"
    "{% endfor %}{{ ns.s }}",
    "{{ 'x'|center(10**10) }}",
    "{{ ('x' * 100000)|replace('', 'y' * 100000) }}",
    "{{ '%999999999999s' % 1 }}",
    "{% macro f(n) %}{% if n %}{{ f(n - 1) }}{{ f(n - 1) }}{% endif %}{% endmacro %}{{ f(60) }}",
    "{% for i in range(100000) %}{{ 'y' * 1000 }}{% endfor %}",
]


def _within(seconds: float, call: Callable[[], Response]) -> Response:
    """`call()` in a thread, failing the test (not hanging it) when it takes too long."""
    done: list[Response] = []
    worker = threading.Thread(target=lambda: done.append(call()), daemon=True)
    worker.start()
    worker.join(seconds)
    assert done, f"still rendering after {seconds} s"
    return done[0]


def test_a_hostile_template_is_refused_quickly_and_the_server_stays_responsive(
    admin: TestClient, admin_settings: Settings
) -> None:
    """Previews and saves of templates that ask for unbounded time or memory get a clear error
    within seconds (the limits of app.generation.sandbox), and nothing is saved."""
    for source in HOSTILE:
        started = time.monotonic()
        form = {"source": source, "question": "How many days of leave?"}
        saved = _within(20, partial(admin.post, "/admin/prompts/answer.j2", data=form))
        preview = _within(
            20, partial(admin.post, "/admin/prompts/answer.j2/preview", data=form, headers=HTMX)
        )
        assert time.monotonic() - started < 10, source
        assert saved.status_code == 422 and "Not saved" in saved.text, source
        assert "TemplateLimitError" in saved.text, source
        assert "Does not render" in preview.text and "TemplateLimitError" in preview.text, source
    assert not (admin_settings.prompts_dir / "answer.j2").exists()
    assert admin.get("/healthz").status_code == 200
