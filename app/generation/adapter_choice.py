"""Which LoRA adapter the app serves, as chosen in the admin console: kept in the app database,
so the choice survives restarts and every app process on that database serves the same one.

Each choice is a row (the newest is in effect, the others are its history); an empty path is
"the model alone". Before the first choice there is none, and `DOCENT_LORA_PATH` decides.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from sqlalchemy import Column, DateTime, Engine, Integer, String, Table, Text, insert, select

from app.accounts.db import create_all, metadata, utcnow

adapter_choices = Table(
    "adapter_choices",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("path", Text, nullable=False),  # "" = the model alone
    Column("chosen_by", String(64), nullable=False),
    Column("chosen_at", DateTime, nullable=False),
)


@dataclass(frozen=True)
class AdapterChoice:
    id: int
    path: Path | None  # None: the model alone
    chosen_by: str
    chosen_at: datetime


class AdapterChoices:
    """The stored choices of adapter, newest in effect."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        create_all(engine)  # app workers starting together take turns (PostgreSQL)

    def current(self) -> AdapterChoice | None:
        """The choice in effect, or None when no admin has chosen yet."""
        query = select(adapter_choices).order_by(adapter_choices.c.id.desc()).limit(1)
        with self.engine.connect() as conn:
            row = conn.execute(query).mappings().first()
        if row is None:
            return None
        path = Path(row["path"]) if row["path"] else None
        return AdapterChoice(row["id"], path, row["chosen_by"], row["chosen_at"])

    def choose(self, path: Path | None, actor: str) -> AdapterChoice:
        """Record `path` (None: the model alone) as the adapter to serve from now on."""
        who, when = actor[:64], utcnow()
        row = {"path": str(path) if path else "", "chosen_by": who, "chosen_at": when}
        with self.engine.begin() as conn:
            key = conn.execute(insert(adapter_choices).values(**row)).inserted_primary_key
        assert key is not None
        return AdapterChoice(int(key[0]), path, who, when)
