"""Which adapter the running app serves: chosen in the admin console, stored in the app
database, and applied to the in-process model between answers.

The choice an admin makes wins over `DOCENT_LORA_PATH`, which only decides until the first
choice. The in-process model switches while it holds a turn in the generator's queue (after
the answer being written, before the next), without loading the model again. Every app process
on the same database follows the newest choice: each checks for one every few seconds. A model
server (`DOCENT_LLM_URL`) serves its own adapters (`llama-server --lora`): nothing to switch.
"""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol, runtime_checkable

from app.answering.answer import model_turn
from app.generation.adapter_choice import AdapterChoice, AdapterChoices
from app.generation.generator import FairQueue, Generator
from app.generation.lora import AdapterNotLoaded
from app.services import ModelNotReady, Services, adapter_problem, choose_chat_model
from app.settings import Settings
from app.tuning.adapters import AdapterEntry, describe, find_adapters

log = logging.getLogger(__name__)
MODEL_ALONE = "model alone"
CHECK_EVERY_S = 10.0  # how often an app process looks for a choice made by another


@runtime_checkable
class Switchable(Protocol):
    """A generator that can change its adapter between answers (LlamaCppGenerator)."""

    adapter: str
    adapter_path: Path | None
    queue: FairQueue | None

    def use_adapter(self, path: Path | None, scale: float | None = None) -> None: ...


@dataclass(frozen=True)
class Outcome:
    """What came of asking to serve an adapter (or the model alone)."""

    name: str  # the adapter's label, or MODEL_ALONE
    done: bool = False
    confirm: str | None = None  # why the admin must confirm first (nothing was changed)
    error: str | None = None  # why it cannot be served (nothing was changed)


class ActiveAdapter:
    """The adapters an admin may choose from, the one in use, and switching between them."""

    def __init__(
        self,
        choices: AdapterChoices,
        generator: Generator,
        tuning_dir: Path,
        *,
        default: Path | None = None,
        model: Path | None = None,
        server: bool = False,
    ) -> None:
        self.choices, self.generator, self.tuning_dir = choices, generator, tuning_dir
        self.default, self.model, self.server = default, model, server
        self._lock = threading.Lock()  # one choice at a time in this process
        self._synced: int | None = None  # the stored choice this process has followed
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    @property
    def switchable(self) -> bool:
        return not self.server and isinstance(self.generator, Switchable)

    def active(self) -> Path | None:
        """The adapter the model answers with now (None: the model alone, or unknown)."""
        return self.generator.adapter_path if isinstance(self.generator, Switchable) else None

    def stored(self) -> AdapterChoice | None:
        return self.choices.current()

    def adapters(self) -> list[AdapterEntry]:
        """Every known adapter, described (newest run first)."""
        extra = (self.default, self.active(), getattr(self.stored(), "path", None))
        paths = find_adapters(self.tuning_dir, extra)
        return [describe(path, self.tuning_dir, self.model) for path in paths]

    def in_use(self, entries: list[AdapterEntry]) -> AdapterEntry | None:
        """The entry of the adapter in use, if it is among `entries`."""
        active = self.active()
        if active is None:
            return None
        return next((a for a in entries if a.path.resolve() == active.resolve()), None)

    def activate(self, key: str, actor: str, *, confirmed: bool = False) -> Outcome:
        """Serve the known adapter whose path is `key` ("": the model alone), store the choice.
        One without good scores needs `confirmed`; one that does not fit is refused."""
        if not self.switchable:
            return Outcome(key or MODEL_ALONE, error="this model cannot switch adapters here")
        entry = None
        if key:
            entry = next((a for a in self.adapters() if str(a.path) == key), None)
            if entry is None:
                return Outcome(key, error="no such adapter is known")
            if not entry.fits:
                return Outcome(entry.label, error=f"refused: {entry.problem}")
            if (reason := entry.confirmation()) and not confirmed:
                return Outcome(entry.label, confirm=reason)
        path = entry.path if entry else None
        name = entry.label if entry else MODEL_ALONE
        with self._lock:
            try:
                self._apply(path)
            except AdapterNotLoaded as exc:
                return Outcome(name, error=str(exc))
            self._synced = self.choices.choose(path, actor).id
        return Outcome(name, done=True)

    def sync(self) -> None:
        """Follow the newest stored choice when this process has not yet (at start, and when
        another process made it); one that cannot be served is logged and skipped."""
        if not self.switchable:
            return
        with self._lock:
            choice = self.choices.current()
            if choice is None or choice.id == self._synced:
                return
            self._synced = choice.id
            if choice.path == self.active():
                return
            if problem := self._unusable(choice.path):
                log.warning("the adapter chosen in the console is not served: %s", problem)
                return
            try:
                self._apply(choice.path)
            except AdapterNotLoaded as exc:
                log.warning("the adapter chosen in the console is not served: %s", exc)

    def start(self, every: float = CHECK_EVERY_S) -> None:
        """Follow the stored choice now, then look for a newer one every `every` seconds."""
        self.sync()
        if not self.switchable or self._thread is not None:
            return
        self._thread = threading.Thread(
            target=self._follow, args=(every,), name="adapter-choice", daemon=True
        )
        self._thread.start()

    def close(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5)

    def _follow(self, every: float) -> None:
        while not self._stop.wait(every):
            try:
                self.sync()
            except Exception:  # the database away for a moment: try again next time
                log.exception("checking the adapter chosen in the console failed")

    def _apply(self, path: Path | None) -> None:
        generator = self.generator
        assert isinstance(generator, Switchable)
        with model_turn(generator.queue):  # between answers
            generator.use_adapter(path)
        log.info("answering with %s", path or MODEL_ALONE)

    def _unusable(self, path: Path | None) -> str | None:
        if path is None:
            return None
        if not path.is_file():
            return f"{path} is missing"
        return adapter_problem(path, self.model) if self.model is not None else None


def active_adapter(settings: Settings, services: Services) -> ActiveAdapter:
    """The adapters under DATA_DIR/tuning and the one the model answers with."""
    model = None
    if not settings.llm_url:
        try:
            model = choose_chat_model(settings).path
        except ModelNotReady:  # services passed in (tests): no chat model file to check against
            model = None
    return ActiveAdapter(
        AdapterChoices(services.accounts.engine),
        services.generator,
        settings.data_dir / "tuning",
        default=settings.lora_path,
        model=model,
        server=bool(settings.llm_url),
    )
