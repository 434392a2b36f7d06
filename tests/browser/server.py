"""A real docent for the browser tests: `docent serve` (uvicorn) in a subprocess, on a free
loopback port, with its own data dir, MiniLM, SmolLM2-135M and a few demo documents ingested.
The server itself is the shared harness's (`tests.serving`)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from app.demo import demo_documents
from tests.ingest.scans import docx_with_scan, save_pdf, save_png, scanned
from tests.serving import Server, clean_env, docent, serve

# Short text documents: quick to parse, and SmolLM2 restates their sentences.
DEMO_FILES = ("employee-handbook.md", "office-faq.txt", "it-security-policy.md")
STARTUP_SECONDS = 240.0
MAX_FILE_MB = 1  # small, so the size limit can be tested with a small file
# Scanned copies (no text layer) of notices nothing else in the demo documents talks about.
BICYCLES = (
    "Bicycles are kept in the locked cage in the basement.",
    "Ask reception for a key to the bicycle cage.",
)
ROOFTOP = ("The rooftop garden opens at seven in the morning.",)
ARCHIVE = ("Signed contracts are archived for ten years.",)


@dataclass(frozen=True)
class Account:
    username: str
    password: str
    display_name: str


ADMIN = Account("ada", "browser-admin-pass", "Ada Admin")
MEMBER = Account("max", "browser-member-pass", "Max Member")


def server_env(data_dir: Path) -> dict[str, str]:
    """The caller's environment without any DOCENT_* of the developer's, plus the test settings."""
    return clean_env(
        data_dir,
        DOCENT_MODEL="smollm2-135m",
        DOCENT_TEMPERATURE="0",
        DOCENT_N_CTX="2048",
        DOCENT_MAX_ANSWER_TOKENS="160",
        DOCENT_MAX_FILE_MB=str(MAX_FILE_MB),
        DOCENT_LOG_LEVEL="warning",
    )


def prepare(root: Path) -> dict[str, str]:
    """Accounts made and demo documents ingested with the CLI, as an operator would."""
    env = server_env(root / "data")
    for account, role in ((ADMIN, ["--admin"]), (MEMBER, [])):
        add = ["users", "add", account.username, *role, "--name", account.display_name]
        docent([*add, "--password-stdin"], env, root, stdin=account.password + "\n")
    documents = [str(p) for p in demo_documents() if p.name in DEMO_FILES]
    assert len(documents) == len(DEMO_FILES), documents
    docent(["ingest", *documents, *map(str, scans(root / "scans"))], env, root)
    return env


def scans(folder: Path) -> list[Path]:
    """A scanned PDF, a PNG photo of a page and a Word file with a scan pasted in."""
    folder.mkdir(parents=True, exist_ok=True)
    return [
        save_pdf([scanned(BICYCLES, rotate=1.0, noise=0.005, seed=5)], folder / "bicycles.pdf"),
        save_png(scanned(ROOFTOP, noise=0.005, seed=6), folder / "rooftop-notice.png"),
        docx_with_scan(folder / "archive.docx", "Archive", scanned(ARCHIVE)),
    ]


def start(root: Path) -> Server:
    """Serve on a free port; return once /healthz answers (or fail with the server's log)."""
    return serve(prepare(root), root, timeout=STARTUP_SECONDS)
