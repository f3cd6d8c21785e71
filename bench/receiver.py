"""Receiver benchmark: how many deliveries a second the console stores, against a bare
endpoint in the same server, and the latency at a steady 300 a second.

Serves the console as the README's production section says (gunicorn, 2 processes of 8
threads, and a worker), with one extra route, ``POST /bare``, that only answers 200: the
reference. On SQLite by default; on PostgreSQL when DATABASE_URL says so. The load comes from
wrk (Debian's package; `make bench-tools` installs it) on loopback:

  1. the same load to the bare endpoint, 32 at a time, for 5 s;
  2. distinct, verified deliveries to the receiver, 32 at a time, QUOTA of them;
  3. the bare endpoint again for 5 s (the reference is the mean of 1 and 3);
  4. a steady 300 deliveries a second for 20 s to the receiver.

Every delivery sent must be stored: the database is counted at the end. Run it from the
repository root: `.venv/bin/python bench/receiver.py`. The last line is one JSON object.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "tests")]

from http_journey import Console  # noqa: E402
from served import served  # noqa: E402
from sqlalchemy import create_engine, text  # noqa: E402

from bench_support import console_environ, database_for  # noqa: E402
from consoleapp.config import web_server  # noqa: E402

SCRIPT = ROOT / "bench" / "deliveries.lua"
SECRET = "bench-receiver-secret-key-123"
CONNECTIONS = 32
WRK_THREADS = 2
QUOTA = 10000  # deliveries in the first run, at least the 5,000 asked for
PACED_RATE = 300
PACED_SECONDS = 20
PACED_CONNECTIONS = 30
BARE_SECONDS = 5  # each of the two runs of the bare route


def wrk(
    url: str,
    path: str,
    quota_per_thread: int,
    connections: int,
    rate: float,
    seconds: int,
    until=None,
) -> dict:
    """Run wrk, as fast as it can or at ``rate`` requests a second per wrk thread; stop it when
    ``until()`` says the work is done, or after ``seconds``."""
    env = {
        **os.environ,
        "PATH_TO": path,
        "SECRET": SECRET,
        "QUOTA": str(quota_per_thread),
        "RATE": str(rate),
    }
    command = [
        shutil.which("wrk") or "wrk",
        f"-t{WRK_THREADS}",
        f"-c{connections}",
        f"-d{seconds}s",
        "--timeout",
        "10s",
        "-s",
        str(SCRIPT),
        url,
    ]
    process = subprocess.Popen(
        command, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
    )
    started = time.monotonic()
    cpu, finished = 0.0, None
    try:
        while process.poll() is None:
            cpu = _cpu_seconds(process.pid) or cpu
            if until is not None and until():
                finished = time.monotonic()
                time.sleep(0.2)  # the last answers reach wrk
                cpu = _cpu_seconds(process.pid) or cpu
                process.send_signal(signal.SIGINT)
                break
            time.sleep(0.05)
        output, _ = process.communicate(timeout=30)
    finally:
        if process.poll() is None:
            process.kill()
    elapsed = time.monotonic() - started
    found = re.search(r"RESULT (\{.*\})", output)
    if not found:
        raise RuntimeError(f"wrk printed no result:\n{output}")
    result = json.loads(found.group(1))
    errors = re.search(r"Socket errors: (.*)", output)
    result["socket_errors"] = errors.group(1) if errors else ""
    result["non_2xx"] = (
        int(m.group(1)) if (m := re.search(r"Non-2xx or 3xx responses: (\d+)", output)) else 0
    )
    if finished is not None:
        # Until every delivery was seen stored, not until wrk was told to stop.
        result["seconds"] = finished - started
    result["rps"] = result["ok"] / result["seconds"] if result["seconds"] else 0.0
    result["wrk_cpu_share"] = round(cpu / elapsed, 2) if elapsed else 0.0
    return result


def _cpu_seconds(pid: int) -> float | None:
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return None
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


class Stored:
    def __init__(self, database_url: str) -> None:
        url = database_url.replace("postgresql://", "postgresql+psycopg://", 1)
        self.engine = create_engine(url)

    def count(self) -> int:
        with self.engine.connect() as connection:
            return connection.execute(
                text("SELECT count(*) FROM deliveries WHERE verified")
            ).scalar_one()

    def last_id(self) -> int:
        """The newest delivery's id: one index seek, cheap enough to ask every 50 ms while the
        load runs (a count would scan every delivery, and load the machine being measured)."""
        with self.engine.connect() as connection:
            return connection.execute(
                text("SELECT coalesce(max(id), 0) FROM deliveries")
            ).scalar_one()

    def inbox_token(self) -> str:
        with self.engine.connect() as connection:
            return connection.execute(text("SELECT inbox_token FROM webhook_sets")).scalar_one()


def main() -> None:
    with tempfile.TemporaryDirectory(prefix="bench-receiver-") as folder:
        work = Path(folder)
        kind, database_url = database_for(work)
        # Every delivery sent is counted at the end, so none may be pruned as beyond the cap.
        environ = console_environ(work, database_url, INBOX_MAX_DELIVERIES="1000000")
        with served(
            environ,
            work / "logs",
            web_workers=2,
            task_workers=1,
            threads=web_server()["threads"],
            app="tests.bare_app:app",
        ) as running:
            person = Console(running.url)
            person.create_owner()
            app_id = person.create_app()
            person.webhook_set(app_id, ["incoming_event"], SECRET)
            stored = Stored(database_url)
            path = f"/hooks/{stored.inbox_token()}"

            per_thread = QUOTA // WRK_THREADS
            # The bare route is timed just before and just after the receiver, for as long, and
            # the two averaged: this machine's speed drifts over a minute, and one reference on
            # one side of the receiver's run would carry that drift into the ratio.
            before = wrk(running.url, "/bare", 10**9, CONNECTIONS, 0, BARE_SECONDS)
            # Each delivery stored takes the next id (SQLite) or a new one from the sequence, so
            # the run is done once the ids have gone QUOTA past where they were; the count at
            # the end says whether every delivery was stored.
            start = stored.last_id()
            load = wrk(
                running.url,
                path,
                per_thread,
                CONNECTIONS,
                0,
                600,
                until=lambda: stored.last_id() >= start + QUOTA,
            )
            after = wrk(running.url, "/bare", 10**9, CONNECTIONS, 0, BARE_SECONDS)
            bare_rps = (before["rps"] + after["rps"]) / 2
            start = stored.last_id()
            paced_quota = PACED_RATE * PACED_SECONDS
            paced = wrk(
                running.url,
                path,
                paced_quota // WRK_THREADS,
                PACED_CONNECTIONS,
                PACED_RATE / WRK_THREADS,
                PACED_SECONDS * 3,
                until=lambda: stored.last_id() >= start + paced_quota,
            )
            time.sleep(0.5)
            total_stored = stored.count()
            stored.engine.dispose()

    sent = load["sent"] + paced["sent"]
    errors = (load["sent"] - load["ok"]) + (paced["sent"] - paced["ok"])
    result = {
        "db": kind,
        "sent": sent,
        "stored": total_stored,
        "errors": errors,
        "rps": round(load["rps"]),
        "bare_rps": round(bare_rps),
        "ratio": round(load["rps"] / bare_rps, 3),
        "p50_ms": round(load["p50_ms"], 1),
        "p99_ms": round(load["p99_ms"], 1),
        "paced_rps": round(paced["rps"]),
        "paced_p99_ms": round(paced["p99_ms"], 1),
        "wrk_cpu_share": max(run["wrk_cpu_share"] for run in (load, before, after)),
    }
    print(json.dumps(result))


if __name__ == "__main__":
    main()
