"""A real docent for the browser tests: `docent serve` (uvicorn) in a subprocess, on a free
loopback port, with its own data dir, MiniLM, SmolLM2-135M and a few demo documents ingested."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import httpx

from app.demo import demo_documents

DOCENT = (sys.executable, "-c", "from app.cli.main import main; main()")  # the `docent` command
# Short text documents: quick to parse, and SmolLM2 restates their sentences.
DEMO_FILES = ("employee-handbook.md", "office-faq.txt", "it-security-policy.md")
STARTUP_SECONDS = 240.0
MAX_FILE_MB = 1  # small, so the size limit can be tested with a small file


@dataclass(frozen=True)
class Account:
    username: str
    password: str
    display_name: str


ADMIN = Account("ada", "browser-admin-pass", "Ada Admin")
MEMBER = Account("max", "browser-member-pass", "Max Member")


@dataclass
class RunningDocent:
    url: str
    data_dir: Path
    log: Path
    process: subprocess.Popen[bytes]

    def log_tail(self, lines: int = 60) -> str:
        return "\n".join(self.log.read_text(errors="replace").splitlines()[-lines:])


def server_env(data_dir: Path) -> dict[str, str]:
    """The caller's environment without any DOCENT_* of the developer's, plus the test settings."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("DOCENT_")}
    env.update(
        DOCENT_DATA_DIR=str(data_dir),
        DOCENT_MODEL="smollm2-135m",
        DOCENT_TEMPERATURE="0",
        DOCENT_N_CTX="2048",
        DOCENT_MAX_ANSWER_TOKENS="160",
        DOCENT_INGEST_DEMO="false",
        DOCENT_MAX_FILE_MB=str(MAX_FILE_MB),
        DOCENT_LOG_LEVEL="warning",
        DO_NOT_TRACK="1",
        HF_HUB_OFFLINE="1",
        TOKENIZERS_PARALLELISM="false",
    )
    return env


def docent(args: list[str], env: dict[str, str], cwd: Path, stdin: str = "") -> str:
    """Run the real `docent` command line; its output, or an AssertionError that shows it."""
    command = [*DOCENT, *args]
    done = subprocess.run(
        command, env=env, cwd=cwd, input=stdin, capture_output=True, text=True, timeout=600
    )
    assert done.returncode == 0, f"docent {' '.join(args)} failed:\n{done.stdout}\n{done.stderr}"
    return done.stdout


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def prepare(root: Path) -> dict[str, str]:
    """Accounts made and demo documents ingested with the CLI, as an operator would."""
    env = server_env(root / "data")
    for account, role in ((ADMIN, ["--admin"]), (MEMBER, [])):
        add = ["users", "add", account.username, *role, "--name", account.display_name]
        docent([*add, "--password-stdin"], env, root, stdin=account.password + "\n")
    documents = [str(p) for p in demo_documents() if p.name in DEMO_FILES]
    assert len(documents) == len(DEMO_FILES), documents
    docent(["ingest", *documents], env, root)
    return env


def start(root: Path) -> RunningDocent:
    """Serve on a free port; return once /healthz answers (or fail with the server's log)."""
    env = prepare(root)
    port = free_port()
    log = root / "server.log"
    with log.open("wb") as out:
        process = subprocess.Popen(
            [*DOCENT, "serve", "--host", "127.0.0.1", "--port", str(port)],
            env=env,
            cwd=root,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    running = RunningDocent(f"http://127.0.0.1:{port}", root / "data", log, process)
    deadline = time.monotonic() + STARTUP_SECONDS
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise AssertionError(
                f"docent serve exited ({process.returncode}):\n{running.log_tail()}"
            )
        try:
            if httpx.get(f"{running.url}/healthz", timeout=2).status_code == 200:
                return running
        except httpx.TransportError:
            pass
        time.sleep(0.5)
    stop(running)
    raise AssertionError(
        f"docent serve not ready in {STARTUP_SECONDS:.0f} s:\n{running.log_tail()}"
    )


def stop(running: RunningDocent) -> None:
    running.process.terminate()
    try:
        running.process.wait(timeout=20)
    except subprocess.TimeoutExpired:
        running.process.kill()
        running.process.wait(timeout=10)
