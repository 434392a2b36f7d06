"""`docent users …`: create and manage accounts from the terminal (recorded in the audit log)."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from typing import TYPE_CHECKING, Annotated

import typer
from rich.console import Console
from rich.table import Table

from app.settings import Settings

if TYPE_CHECKING:
    from app.accounts import Accounts, User

users_cli = typer.Typer(help="Create and manage user accounts.", no_args_is_help=True)
console = Console()
err = Console(stderr=True)
ACTOR = "cli"


@contextmanager
def _accounts() -> Iterator[Accounts]:
    from app.accounts import open_accounts

    try:
        settings = Settings()
    except ValueError as exc:
        err.print(f"[red]Invalid settings:[/red] {exc}", highlight=False)
        raise typer.Exit(2) from exc
    accounts = open_accounts(settings)
    try:
        yield accounts
    finally:
        accounts.close()


def _user(accounts: Accounts, username: str) -> User:
    user = accounts.find_user(username)
    if user is None:
        err.print(f"[red]No user named {username!r}[/red] (`docent users list`).", highlight=False)
        raise typer.Exit(1)
    return user


def _stdin_password() -> str:
    password = sys.stdin.readline().rstrip("\r\n")
    if not password:
        err.print("[red]No password on standard input.[/red]")
        raise typer.Exit(2)
    return password


def _fail(message: str) -> typer.Exit:
    err.print(f"[red]{message}[/red]", highlight=False)
    return typer.Exit(2)


def invite_url(settings: Settings, token: str) -> str:
    host = "127.0.0.1" if settings.host in ("0.0.0.0", "::") else settings.host
    return f"http://{host}:{settings.port}/invite/{token}"


@users_cli.command("add")
def add(
    username: Annotated[str, typer.Argument(help="Login name (letters, digits, . _ @ + -)")],
    admin: Annotated[bool, typer.Option("--admin", help="Role admin (default: member)")] = False,
    group: Annotated[
        list[str] | None, typer.Option(help="Group whose documents the user may read (repeat)")
    ] = None,
    name: Annotated[str, typer.Option(help="Display name shown on the page")] = "",
    password_stdin: Annotated[
        bool, typer.Option("--password-stdin", help="Read the password from standard input")
    ] = False,
    invite: Annotated[
        bool, typer.Option("--invite", help="No password: print a one-time link to set one")
    ] = False,
) -> None:
    """Create a user; without --password-stdin or --invite, a generated password is printed."""
    from app.accounts import AccountError
    from app.accounts.credentials import generate_password

    if password_stdin and invite:
        raise _fail("Choose --password-stdin or --invite, not both.")
    password = None if invite else (_stdin_password() if password_stdin else generate_password())
    role = "admin" if admin else "member"
    with _accounts() as accounts:
        try:
            user = accounts.create_user(
                username, password=password, role=role, display_name=name, groups=group or ()
            )
        except (AccountError, ValueError) as exc:
            raise _fail(f"Could not add the user: {exc}") from exc
        groups = ", ".join(sorted(user.groups)) or "none"
        accounts.audit(ACTOR, "add-user", user.username, f"role={role} groups={groups}")
        console.print(f"Added {user.username} ({role}; groups: {groups}).", highlight=False)
        if invite:
            link = invite_url(Settings(), accounts.invite(user.id))
            accounts.audit(ACTOR, "invite", user.username)
            console.print(
                f"One-time link to set the password (works once): {link}", highlight=False
            )
        elif not password_stdin:
            console.print(f"Password (shown once): {password}", highlight=False)


@users_cli.command("list")
def list_users() -> None:
    """Every user with role, groups and whether the account is active."""
    with _accounts() as accounts:
        table = Table("username", "name", "role", "groups", "active", "API tokens")
        for user in accounts.list_users():
            tokens = len(accounts.list_api_tokens(user.id))
            table.add_row(
                user.username,
                user.display_name,
                user.role,
                ", ".join(sorted(user.groups)),
                "yes" if user.active else "no",
                str(tokens),
            )
        console.print(table)


@users_cli.command("passwd")
def passwd(
    username: Annotated[str, typer.Argument(help="Whose password to set")],
    password_stdin: Annotated[
        bool, typer.Option("--password-stdin", help="Read the password from standard input")
    ] = False,
    revoke_tokens: Annotated[
        bool,
        typer.Option(
            "--revoke-tokens/--keep-tokens", help="Also revoke the user's API tokens (default)"
        ),
    ] = True,
) -> None:
    """Set a user's password (asked twice, hidden), sign them out everywhere, end their pending
    invites and (unless --keep-tokens) revoke their API tokens."""
    with _accounts() as accounts:
        user = _user(accounts, username)
        if password_stdin:
            password = _stdin_password()
        else:
            password = typer.prompt("New password", hide_input=True, confirmation_prompt=True)
        try:
            revoked = accounts.set_password(user.id, password, revoke_tokens=revoke_tokens)
        except ValueError as exc:
            raise _fail(f"Password not changed: {exc}") from exc
        detail = f"{revoked} API tokens revoked" if revoke_tokens else "API tokens kept"
        accounts.audit(ACTOR, "set-password", user.username, detail)
        console.print(
            f"Password of {user.username} changed; their sessions ended; {detail}.",
            highlight=False,
        )


@users_cli.command("token")
def token(
    username: Annotated[str, typer.Argument(help="Whose API token")],
    label: Annotated[str, typer.Option("--name", help="What the token is for")] = "cli",
    expires_days: Annotated[
        float | None,
        typer.Option("--expires-days", min=0.001, help="Stop working after this many days"),
    ] = None,
) -> None:
    """Issue an API token (for `Authorization: Bearer`); printed once, stored hashed."""
    from datetime import timedelta

    with _accounts() as accounts:
        user = _user(accounts, username)
        if not user.active:
            raise _fail(f"{user.username} is deactivated.")
        lifetime = timedelta(days=expires_days) if expires_days is not None else None
        issued = accounts.issue_api_token(user.id, label, lifetime=lifetime)
        until = f"expires in {expires_days:g} days" if lifetime else "no expiry"
        accounts.audit(ACTOR, "issue-token", user.username, f"{label}; {until}")
        console.print(f"API token for {user.username} ({until}; shown once):", highlight=False)
        print(issued)


@users_cli.command("tokens")
def tokens(username: Annotated[str, typer.Argument(help="Whose API tokens")]) -> None:
    """A user's API tokens: id (for revoke-token), name, created, last used, expiry."""
    from app.accounts.db import utcnow

    with _accounts() as accounts:
        user = _user(accounts, username)
        table = Table("id", "name", "created (UTC)", "last used (UTC)", "expires (UTC)")
        now = utcnow()
        for issued in accounts.list_api_tokens(user.id):
            expires = _when(issued.expires_at, "never")
            table.add_row(
                str(issued.id),
                issued.name,
                _when(issued.created_at, ""),
                _when(issued.last_used_at, "never"),
                f"{expires} (expired)" if issued.expired(now) else expires,
            )
        console.print(table)


@users_cli.command("revoke-token")
def revoke_token(
    username: Annotated[str, typer.Argument(help="Whose API token")],
    token_id: Annotated[
        int | None, typer.Argument(help="The token's id (`docent users tokens NAME`)")
    ] = None,
    all_tokens: Annotated[bool, typer.Option("--all", help="Revoke every token of the user")] = (
        False
    ),
) -> None:
    """Revoke one API token by id, or all of a user's with --all: they stop working at once."""
    if (token_id is None) == (not all_tokens):
        raise _fail("Give a token id or --all (one of them).")
    with _accounts() as accounts:
        user = _user(accounts, username)
        if token_id is not None:
            if not accounts.revoke_api_token(token_id, user.id):
                raise _fail(f"{user.username} has no API token with id {token_id}.")
            accounts.audit(ACTOR, "revoke-token", user.username, f"token {token_id}")
            console.print(f"API token {token_id} of {user.username} revoked.", highlight=False)
            return
        count = accounts.revoke_api_tokens(user.id)
        accounts.audit(ACTOR, "revoke-token", user.username, f"all ({count})")
        console.print(f"{count} API tokens of {user.username} revoked.", highlight=False)


def _when(moment: datetime | None, missing: str) -> str:
    return moment.strftime("%Y-%m-%d %H:%M") if moment else missing


@users_cli.command("deactivate")
def deactivate(username: Annotated[str, typer.Argument(help="Who to refuse from now on")]) -> None:
    """Refuse a user from now on: sessions end, API tokens are revoked (data stays)."""
    with _accounts() as accounts:
        user = _user(accounts, username)
        accounts.deactivate(user.id)
        accounts.audit(ACTOR, "deactivate", user.username)
        console.print(f"{user.username} is deactivated.", highlight=False)
