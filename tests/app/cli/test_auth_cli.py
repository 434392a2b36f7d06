"""`docent users …` and the first admin printed by `docent serve`."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from rich.console import Console
from typer.testing import CliRunner

from app.accounts import Accounts, open_accounts
from app.cli.main import cli
from app.cli.serve import announce_first_admin
from app.services import Services
from app.settings import Settings


@pytest.fixture
def db() -> Iterator[Accounts]:
    """The accounts the CLI writes (DOCENT_DATA_DIR points at the test's folder)."""
    accounts = open_accounts(Settings())
    yield accounts
    accounts.close()


def users(*args: str, stdin: str | None = None) -> tuple[int, str]:
    result = CliRunner().invoke(cli, ["users", *args], input=stdin)
    return result.exit_code, result.output


def test_add_prints_a_generated_password_once_that_works(db: Accounts) -> None:
    code, out = users("add", "alice", "--group", "hr", "--group", "finance", "--name", "Alice A")
    assert code == 0, out
    assert "Added alice (member; groups: finance, hr)." in out
    password = out.split("Password (shown once): ")[1].split()[0]
    alice = db.authenticate("alice", password)
    assert alice is not None and alice.display_name == "Alice A"
    assert alice.groups == frozenset({"hr", "finance"})
    assert db.audit_entries()[0].action == "add-user"


def test_add_admin_with_a_password_from_stdin(db: Accounts) -> None:
    code, out = users("add", "root", "--admin", "--password-stdin", stdin="s3cret-enough\n")
    assert code == 0, out
    assert "s3cret-enough" not in out and "Password" not in out
    root = db.authenticate("root", "s3cret-enough")
    assert root is not None and root.is_admin


def test_add_with_an_invite_prints_a_one_time_link(db: Accounts) -> None:
    code, out = users("add", "newcomer", "--invite")
    assert code == 0, out
    link = out.split("(works once): ")[1].split()[0]
    assert link.startswith("http://127.0.0.1:8000/invite/")
    user = db.invited_user(link.rsplit("/", 1)[1])
    assert user is not None and user.username == "newcomer"


def test_bad_requests_get_clear_errors(db: Accounts) -> None:
    assert users("add", "alice", "--password-stdin", stdin="long enough\n")[0] == 0
    code, out = users("add", "ALICE", "--password-stdin", stdin="long enough\n")
    assert code == 2 and "already exists" in out
    code, out = users("add", "bob", "--password-stdin", stdin="short\n")
    assert code == 2 and "at least 8 characters" in out
    code, out = users("add", "bad name")
    assert code == 2 and "invalid username" in out
    code, out = users("passwd", "nobody", "--password-stdin", stdin="whatever-long\n")
    assert code == 1 and "No user named 'nobody'" in out
    assert [u.username for u in db.list_users()] == ["alice"]


def test_list_shows_every_user(db: Accounts) -> None:
    users("add", "alice", "--group", "hr")
    users("add", "root", "--admin")
    users("deactivate", "alice")
    code, out = users("list")
    assert code == 0, out
    rows = {line.split("│")[1].strip(): line for line in out.splitlines() if "│" in line}
    assert "hr" in rows["alice"] and " no " in rows["alice"]
    assert "admin" in rows["root"] and " yes " in rows["root"]


def test_passwd_sets_a_new_password_and_ends_sessions(db: Accounts) -> None:
    users("add", "alice", "--password-stdin", stdin="first password\n")
    alice = db.find_user("alice")
    assert alice is not None
    session = db.sessions.start(alice.id)
    code, out = users("passwd", "alice", stdin="second password\nsecond password\n")
    assert code == 0, out
    assert db.authenticate("alice", "second password") is not None
    assert db.sessions.get(session.token) is None
    code, _ = users("passwd", "alice", "--password-stdin", stdin="third password\n")
    assert code == 0 and db.authenticate("alice", "third password") is not None


def test_token_prints_a_working_api_token(db: Accounts) -> None:
    users("add", "alice")
    code, out = users("token", "alice", "--name", "laptop")
    assert code == 0, out
    token = out.strip().splitlines()[-1]
    user = db.user_for_token(token)
    assert user is not None and user.username == "alice"
    users("deactivate", "alice")
    assert db.user_for_token(token) is None
    code, out = users("token", "alice")
    assert code == 2 and "deactivated" in out


def test_tokens_are_listed_revoked_and_can_expire(db: Accounts) -> None:
    """Issue #15, finding 5: there was no way to revoke an API token from the CLI."""
    users("add", "alice")
    _, out = users("token", "alice", "--name", "laptop")
    laptop = out.strip().splitlines()[-1]
    code, out = users("token", "alice", "--name", "ci", "--expires-days", "7")
    assert code == 0 and "expires in 7 days" in out, out
    ci = out.strip().splitlines()[-1]
    alice = db.find_user("alice")
    assert alice is not None and db.user_for_token(laptop) is not None
    listed = {t.name: t for t in db.list_api_tokens(alice.id)}
    assert listed["ci"].expires_at is not None and listed["laptop"].expires_at is None
    listing = CliRunner().invoke(cli, ["users", "tokens", "alice"], env={"COLUMNS": "200"})
    assert listing.exit_code == 0, listing.output
    assert "laptop" in listing.output and "ci" in listing.output and "never" in listing.output

    code, out = users("revoke-token", "alice", str(listed["laptop"].id))
    assert code == 0 and "revoked" in out, out
    assert db.user_for_token(laptop) is None and db.user_for_token(ci) is not None
    code, out = users("revoke-token", "alice", str(listed["laptop"].id))
    assert code == 2 and "no API token" in out
    code, out = users("revoke-token", "alice", "--all")
    assert code == 0 and "1 API tokens of alice revoked" in out, out
    assert db.user_for_token(ci) is None
    assert [e.action for e in db.audit_entries()[:2]] == ["revoke-token", "revoke-token"]


def test_passwd_revokes_the_api_tokens_unless_told_to_keep_them(db: Accounts) -> None:
    users("add", "alice")
    token = users("token", "alice")[1].strip().splitlines()[-1]
    code, out = users(
        "passwd", "alice", "--password-stdin", "--keep-tokens", stdin="new password 1\n"
    )
    assert code == 0 and "API tokens kept" in out, out
    assert db.user_for_token(token) is not None
    code, out = users("passwd", "alice", "--password-stdin", stdin="new password 2\n")
    assert code == 0 and "1 API tokens revoked" in out, out
    assert db.user_for_token(token) is None


def test_deactivate_refuses_the_user(db: Accounts) -> None:
    users("add", "alice", "--password-stdin", stdin="long enough\n")
    code, out = users("deactivate", "alice")
    assert code == 0 and "alice is deactivated." in out
    assert db.authenticate("alice", "long enough") is None
    assert db.audit_entries()[0].action == "deactivate"


def test_serve_creates_and_prints_the_first_admin_once(services: Services) -> None:
    console = Console(record=True, width=120)
    announce_first_admin(services, console)
    text = console.export_text()
    assert "created the administrator account" in text
    password = text.split("password: ")[1].split()[0]
    admin = services.accounts.authenticate("admin", password)
    assert admin is not None and admin.is_admin
    again = Console(record=True, width=120)
    announce_first_admin(services, again)
    assert again.export_text() == ""
