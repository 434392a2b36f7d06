"""A real `docent serve` in a subprocess, for tests and benchmarks that need the whole server:
its own data dir, a free loopback port, started, waited for, stopped or killed."""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import psutil

DOCENT = (sys.executable, "-c", "from app.cli.main import main; main()")  # the `docent` command
ROOT = Path(__file__).resolve().parents[1]


def clean_env(data_dir: Path, **settings: str) -> dict[str, str]:
    """This process's environment without the developer's DOCENT_*; the data dir, offline, and
    `settings` (e.g. DOCENT_MODEL="smollm2-135m")."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("DOCENT_")}
    env.update(
        DOCENT_DATA_DIR=str(data_dir),
        DOCENT_INGEST_DEMO="false",
        DO_NOT_TRACK="1",
        HF_HUB_OFFLINE="1",
        TOKENIZERS_PARALLELISM="false",
    )
    env.update(settings)
    return env


def docent(
    args: list[str], env: dict[str, str], cwd: Path, stdin: str = "", check: bool = True
) -> subprocess.CompletedProcess[str]:
    """Run the real `docent` command line (an AssertionError that shows its output if `check`
    and it failed)."""
    done = subprocess.run(
        [*DOCENT, *args], env=env, cwd=cwd, input=stdin, capture_output=True, text=True, timeout=600
    )
    if check:
        assert done.returncode == 0, f"docent {' '.join(args)}:\n{done.stdout}\n{done.stderr}"
    return done


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class Server:
    url: str
    port: int
    log: Path
    process: subprocess.Popen[bytes]
    family: list[psutil.Process] = field(default_factory=list)

    def log_tail(self, lines: int = 60) -> str:
        return "\n".join(self.log.read_text(errors="replace").splitlines()[-lines:])

    def wait_ready(self, timeout: float = 240.0) -> None:
        """Return once /healthz answers 200; fail with the log if the server exits or stalls."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise AssertionError(
                    f"docent serve exited ({self.process.returncode}):\n{self.log_tail()}"
                )
            try:
                if httpx.get(f"{self.url}/healthz", timeout=2).status_code == 200:
                    return
            except httpx.TransportError:
                pass
            time.sleep(0.3)
        self.kill()
        raise AssertionError(f"docent serve not ready in {timeout:.0f} s:\n{self.log_tail()}")

    def wait_exit(self, timeout: float = 240.0) -> int:
        return self.process.wait(timeout=timeout)

    def kill(self) -> None:
        """SIGKILL: no shutdown code runs, as in a power cut or the OOM killer. The server's
        processes at that moment (parsers, their resource tracker) are noted for `survivors`."""
        if self.process.poll() is None:
            with contextlib.suppress(psutil.NoSuchProcess):
                self.family.extend(psutil.Process(self.process.pid).children(recursive=True))
            self.process.send_signal(signal.SIGKILL)
        self.process.wait(timeout=30)

    def survivors(self, timeout: float = 15.0) -> list[str]:
        """Processes the killed server had started that are still running after `timeout`."""
        deadline = time.monotonic() + timeout
        while (alive := [p for p in self.family if _running(p)]) and time.monotonic() < deadline:
            time.sleep(0.2)
        return [f"{p.pid} {' '.join(_cmdline(p))[:120]}" for p in alive]

    def stop(self) -> None:
        """SIGTERM (uvicorn shuts down cleanly), then SIGKILL if it hangs."""
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=60)
            except subprocess.TimeoutExpired:
                self.kill()


def _running(process: psutil.Process) -> bool:
    """Running and not a zombie waiting for its new parent to reap it."""
    try:
        return process.is_running() and process.status() != psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return False


def _cmdline(process: psutil.Process) -> list[str]:
    try:
        return process.cmdline()
    except psutil.Error:
        return []


def launch(
    env: dict[str, str], cwd: Path, port: int | None = None, log_name: str = "server.log"
) -> Server:
    """Start `docent serve` on loopback (not waiting for it); its output goes to cwd/log_name."""
    port = port or free_port()
    log = cwd / log_name
    with log.open("ab") as out:
        process = subprocess.Popen(
            [*DOCENT, "serve", "--host", "127.0.0.1", "--port", str(port)],
            env=env | {"DOCENT_PORT": str(port)},  # `docent ingest` finds the server by it
            cwd=cwd,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    return Server(f"http://127.0.0.1:{port}", port, log, process)


def serve(
    env: dict[str, str], cwd: Path, port: int | None = None, timeout: float = 240.0
) -> Server:
    """Start `docent serve` and wait until it answers."""
    server = launch(env, cwd, port)
    server.wait_ready(timeout)
    return server
