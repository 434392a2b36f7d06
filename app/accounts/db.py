"""The app database: one SQLAlchemy Core `metadata` with every app table, any SQL engine.

SQLite by default (`DATA_DIR/docent.db`), PostgreSQL through DOCENT_DATABASE_URL (psycopg 3);
only portable column types. Other features add their tables to the same `metadata` in their own
modules. Times are stored as naive UTC datetimes. Before values reach the driver, NUL characters
become U+FFFD (PostgreSQL text cannot hold them; SQLite stores the same), and timezone-aware
datetimes become naive UTC (PostgreSQL would shift them by its session's timezone).
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    Boolean,
    Column,
    Connection,
    DateTime,
    Engine,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    create_engine,
    event,
    inspect,
    literal,
    text,
)
from sqlalchemy.pool import StaticPool

metadata = MetaData()

users = Table(
    "users",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("username", String(64), nullable=False, unique=True),
    Column("display_name", String(200), nullable=False, default=""),
    Column("role", String(16), nullable=False, default="member"),
    Column("password_hash", String(255), nullable=True),  # None until set (invited users)
    Column("active", Boolean, nullable=False, default=True),
    Column("created_at", DateTime, nullable=False),
)

groups = Table(
    "groups",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("name", String(100), nullable=False, unique=True),
    Column("created_at", DateTime, nullable=False),
)

user_groups = Table(
    "user_groups",
    metadata,
    Column("user_id", Integer, ForeignKey("users.id", ondelete="CASCADE"), primary_key=True),
    Column("group_id", Integer, ForeignKey("groups.id", ondelete="CASCADE"), primary_key=True),
)

sessions = Table(
    "sessions",
    metadata,
    Column("token_hash", String(64), primary_key=True),  # sha256 of the cookie's token
    Column("user_id", Integer, ForeignKey("users.id", ondelete="CASCADE"), nullable=False),
    Column("csrf_token", String(64), nullable=False),
    Column("created_at", DateTime, nullable=False),
    Column("expires_at", DateTime, nullable=False),
)

api_tokens = Table(
    "api_tokens",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("user_id", Integer, ForeignKey("users.id", ondelete="CASCADE"), nullable=False),
    Column("name", String(100), nullable=False),
    Column("token_hash", String(64), nullable=False, unique=True),
    Column("created_at", DateTime, nullable=False),
    Column("last_used_at", DateTime, nullable=True),
    Column("expires_at", DateTime, nullable=True),  # None: until revoked (added later: migrated)
)

invites = Table(
    "invites",
    metadata,
    Column("token_hash", String(64), primary_key=True),
    Column("user_id", Integer, ForeignKey("users.id", ondelete="CASCADE"), nullable=False),
    Column("created_at", DateTime, nullable=False),
    Column("expires_at", DateTime, nullable=False),
)

audit_log = Table(
    "audit_log",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("at", DateTime, nullable=False),
    Column("actor", String(64), nullable=False),  # a username, or "cli" / "system"
    Column("action", String(64), nullable=False),
    Column("target", String(255), nullable=False, default=""),
    Column("detail", Text, nullable=False, default=""),
)

login_attempts = Table(
    "login_attempts",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("username", String(64), nullable=False),
    Column("ip", String(64), nullable=False),
    Column("at", DateTime, nullable=False),
)
Index("login_attempts_who", login_attempts.c.username, login_attempts.c.ip, login_attempts.c.at)
Index("sessions_user", sessions.c.user_id)


def utcnow() -> datetime:
    """Now, as the naive UTC datetime the tables store."""
    return datetime.now(UTC).replace(tzinfo=None)


POSTGRES_DRIVER = "postgresql+psycopg"  # psycopg 3, a dependency of docent
SCHEMA_LOCK = 0x646F63656E74  # pg_advisory_xact_lock key: one worker creates tables at a time


def engine_url(url: str) -> str:
    """`url` with psycopg 3 as the driver of `postgresql://` and `postgres://` URLs."""
    for scheme in ("postgresql://", "postgres://"):
        if url.startswith(scheme):
            return f"{POSTGRES_DRIVER}://{url.removeprefix(scheme)}"
    return url


def make_engine(url: str) -> Engine:
    """An engine for `url`; SQLite gets foreign keys, WAL and a busy timeout."""
    url = engine_url(url)
    if not url.startswith("sqlite"):
        engine = create_engine(url, pool_pre_ping=True)
    else:
        in_memory = url in ("sqlite://", "sqlite:///:memory:")
        options: dict[str, Any] = {"connect_args": {"check_same_thread": False, "timeout": 30}}
        if in_memory:
            options["poolclass"] = StaticPool  # one shared connection, or each would be empty
        engine = create_engine(url, **options)
        event.listen(engine, "connect", _sqlite_pragmas)
    event.listen(engine, "before_cursor_execute", _portable_parameters, retval=True)
    return engine


def _sqlite_pragmas(connection: Any, _record: Any) -> None:
    cursor = connection.cursor()
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.close()


def _portable_parameters(
    _conn: Any, _cursor: Any, statement: str, parameters: Any, _context: Any, _many: bool
) -> tuple[str, Any]:
    return statement, portable_value(parameters)


def portable_value(value: Any) -> Any:
    """A bound value as both engines store it alike (NUL -> U+FFFD, aware -> naive UTC)."""
    if isinstance(value, str):
        return value.replace("\x00", "\ufffd") if "\x00" in value else value
    if isinstance(value, datetime) and value.tzinfo is not None:
        return value.astimezone(UTC).replace(tzinfo=None)
    if isinstance(value, dict):
        return {key: portable_value(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return type(value)(portable_value(item) for item in value)
    return value


def create_all(engine: Engine) -> None:
    """Create the tables that do not exist yet, and add the columns a table made by an older
    docent lacks (`add_missing_columns`).

    On PostgreSQL, app workers starting together take turns (an advisory lock), else two could
    both find a table missing and the second would fail to create it.
    """
    with engine.begin() as conn:
        if conn.dialect.name == "postgresql":
            conn.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": SCHEMA_LOCK})
        metadata.create_all(conn)
        add_missing_columns(conn)


def add_missing_columns(conn: Connection) -> None:
    """The one schema migration there is: a column added to a table in a later version is added
    to an existing database's table (`ALTER TABLE ... ADD COLUMN`, on SQLite and PostgreSQL alike).
    Such a column is nullable (rows already there get NULL) or has a constant default."""
    inspector = inspect(conn)
    existing = set(inspector.get_table_names())
    for table in metadata.sorted_tables:
        if table.name not in existing:
            continue
        have = {column["name"] for column in inspector.get_columns(table.name)}
        for column in table.columns:
            if column.name in have:
                continue
            definition = column.type.compile(dialect=conn.dialect)
            default = getattr(column.default, "arg", None)
            if default is not None and not callable(default):
                value = literal(default).compile(
                    dialect=conn.dialect, compile_kwargs={"literal_binds": True}
                )
                definition += f" DEFAULT {value}" + ("" if column.nullable else " NOT NULL")
            elif not column.nullable:
                raise RuntimeError(f"cannot add the required column {table.name}.{column.name}")
            preparer = conn.dialect.identifier_preparer
            conn.execute(
                text(
                    f"ALTER TABLE {preparer.format_table(table)} "
                    f"ADD COLUMN {preparer.format_column(column)} {definition}"
                )
            )
