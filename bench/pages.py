"""Pages benchmark: what the pages a person keeps open cost at 1,000, 10,000 and 100,000
stored deliveries, and what polling them costs the receiver.

Serves the console as the README's production section says (gunicorn, 2 processes of 8
threads, and a worker), on SQLite by default and on PostgreSQL when DATABASE_URL says so. One
app has one webhook set of a few triggers, registered with the sandbox, and is installed.
Deliveries are inserted in bulk (verified, and one in ten rejected, over the last hour), folded
as the worker would, then, signed in, each page is asked for in turn and timed (medians):

  overview_ms        the app's Overview (its checklist line)
  checklist_json_ms  Install & test's status JSON, worked out in full (no If-None-Match)
  checklist_304_ms   the same poll as an open page sends it, answered "nothing new"
  inbox_ms           the Inbox page
  inbox_json_ms      the Inbox's live-update poll

At 100,000: the receiver's p99 at 20 deliveries a second for 10 s (wrk, `make bench-tools`),
alone, then while 3 clients poll the status JSON every second as open pages do (with the ETag
they were last given), three times in turn; the medians, their ratio, and the share of a core
the console's processes used in each case (on a shared machine the p99 of 200 deliveries is
mostly noise; what the polling costs shows there). Run it from the repository root:
`.venv/bin/python bench/pages.py`. The last line is one JSON object.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import statistics
import sys
import tempfile
import threading
import time
from datetime import timedelta
from html import unescape
from pathlib import Path

import requests

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "tests")]

from http_journey import Console  # noqa: E402
from served import Served, served  # noqa: E402
from sqlalchemy import create_engine, insert, text  # noqa: E402

from bench.receiver import SECRET, WRK_THREADS, wrk  # noqa: E402
from bench_support import console_environ, database_for  # noqa: E402
from consoleapp.models import Delivery, utcnow  # noqa: E402

SIZES = [1_000, 10_000, 100_000]
# The receiver benchmark's script sends incoming_event; the others come from the bulk insert.
TRIGGERS = ["incoming_chat", "incoming_event", "chat_deactivated", "thread_tagged"]
SAMPLES = 9
WARM_UP = 2
CHUNK = 5_000
SPACING = timedelta(milliseconds=30)  # 100,000 deliveries over 50 minutes
RATE = 20
SECONDS = 10
POLLERS = 3
# Alone and polled in turn, so a passing disturbance of a shared machine hits both alike.
ROUNDS = 3


class Database:
    """The console's database, read and filled directly (the bulk insert stands in for
    deliveries received over days)."""

    def __init__(self, database_url: str) -> None:
        url = database_url.replace("postgresql://", "postgresql+psycopg://", 1)
        self.engine = create_engine(url)
        self.kind = self.engine.dialect.name

    def scalar(self, sql: str, **params: object) -> object:
        with self.engine.connect() as connection:
            return connection.execute(text(sql), params).scalar()

    def set_of(self, app_id: int) -> tuple[int, str]:
        with self.engine.connect() as connection:
            row = connection.execute(
                text("SELECT id, inbox_token FROM webhook_sets WHERE app_id = :app"),
                {"app": app_id},
            ).one()
            return row[0], row[1]

    def backdate_registration(self, set_id: int, to: object) -> None:
        """As if the set had been registered before the deliveries came."""
        with self.engine.begin() as connection:
            connection.execute(
                text(
                    "UPDATE registered_webhooks SET registered_at = :at WHERE webhook_set_id = :s"
                ),
                {"at": to, "s": set_id},
            )

    def add_deliveries(self, set_id: int, numbers: range, start: object) -> None:
        for begin in range(numbers.start, numbers.stop, CHUNK):
            rows = [
                _row(set_id, number, start)
                for number in range(begin, min(begin + CHUNK, numbers.stop))
            ]
            with self.engine.begin() as connection:
                connection.execute(insert(Delivery.__table__), rows)
        if self.kind == "postgresql":
            with self.engine.connect() as connection:
                connection.execution_options(isolation_level="AUTOCOMMIT").execute(
                    text("ANALYZE deliveries")
                )

    def unfolded(self) -> int:
        return int(self.scalar("SELECT count(*) FROM deliveries WHERE NOT folded") or 0)


def _row(set_id: int, number: int, start: object) -> dict:
    action = TRIGGERS[number % len(TRIGGERS)]
    verified = number % 10 != 0
    body = json.dumps(
        {
            "webhook_id": "a0c22fdd1ed0b0fbbdd4cfd89a1e4ab3",
            "secret_key": "[redacted]",
            "action": action,
            "organization_id": "390e44e6-f1e6-0368c-z6ddb-74g14508c2ex",
            "payload": {"chat_id": "PJ0MRSHTDG", "event": {"id": f"bench-{number}", "text": "hi"}},
            "additional_data": {},
        }
    )
    return {
        "webhook_set_id": set_id,
        "received_at": start + SPACING * number,
        "action": action,
        "livechat_webhook_id": "a0c22fdd1ed0b0fbbdd4cfd89a1e4ab3",
        "verified": verified,
        "rejection": None if verified else "wrong secret key",
        "headers": {"Content-Type": "application/json", "User-Agent": "bench"},
        "body": body,
        "body_format": "raw",
        "body_truncated": False,
        "body_size": len(body),
        "body_sha256": hashlib.sha256(body.encode()).hexdigest(),
        "dedupe_key": hashlib.sha256(f"bench-{number}".encode()).hexdigest() if verified else None,
        "folded": False,
    }


def fold(environ: dict[str, str], database: Database) -> None:
    """Fold what was inserted, as the worker does, before anything is timed."""
    from consoleapp import create_app
    from consoleapp.services import folding

    app = create_app({"ENVIRON": environ})
    with app.app_context():
        while database.unfolded():
            folding.fold_all(wait=30)
        from consoleapp.extensions import db

        db.engine.dispose()


def timed(person: Console, path: str, headers: dict[str, str] | None = None, status: int = 200):
    """The median time of the path, in ms, after a warm-up."""
    took = []
    for number in range(WARM_UP + SAMPLES):
        started = time.perf_counter()
        answer = person.get(path, headers=headers or {}, allow_redirects=False)
        elapsed = (time.perf_counter() - started) * 1000
        assert answer.status_code == status, (path, answer.status_code, answer.text[:300])
        if number >= WARM_UP:
            took.append(elapsed)
    return round(statistics.median(took), 1)


def inbox_feed(person: Console, app_id: int) -> str:
    """The Inbox's live-update URL as its page gives it to the script."""
    page = person.get(f"/apps/{app_id}/inbox/").text
    found = re.search(r'data-feed-url="([^"]+)"', page)
    assert found, "the Inbox page names no feed"
    url = unescape(found.group(1))
    newest = re.search(r'data-newest-id="(\d+)"', page)
    if newest and "/after/0" in url:
        url = url.replace("/after/0", f"/after/{newest.group(1)}")
    return url


def time_pages(person: Console, app_id: int) -> dict[str, float]:
    status = f"/apps/{app_id}/test/status"
    version = person.get(status).headers["ETag"]
    return {
        "overview_ms": timed(person, f"/apps/{app_id}"),
        "checklist_json_ms": timed(person, status),
        "checklist_304_ms": timed(person, status, {"If-None-Match": version}, status=304),
        "inbox_ms": timed(person, f"/apps/{app_id}/inbox/"),
        "inbox_json_ms": timed(person, inbox_feed(person, app_id)),
    }


class Pollers:
    """Clients that poll the status JSON every second as open Install & test pages do."""

    def __init__(self, person: Console, url: str, count: int) -> None:
        self.url, self.stop = person.url(url), threading.Event()
        self.answers: list[tuple[int, float]] = []
        self.threads = [
            threading.Thread(target=self._poll, args=(dict(person.http.cookies), n / count))
            for n in range(count)
        ]

    def _poll(self, cookies: dict[str, str], offset: float) -> None:
        session = requests.Session()
        session.cookies.update(cookies)
        version, due = None, time.monotonic() + offset
        while not self.stop.wait(max(0.0, due - time.monotonic())):
            headers = {"Accept": "application/json"}
            if version:
                headers["If-None-Match"] = version
            started = time.perf_counter()
            answer = session.get(self.url, headers=headers, timeout=10)
            self.answers.append((answer.status_code, (time.perf_counter() - started) * 1000))
            if answer.status_code == 200:
                version = answer.headers.get("ETag")
            due += 1.0

    def __enter__(self) -> Pollers:
        for thread in self.threads:
            thread.start()
        time.sleep(2)  # every page has polled at least once
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop.set()
        for thread in self.threads:
            thread.join(timeout=15)


def paced(url: str, token: str, database: Database, seconds: int = SECONDS) -> dict:
    """wrk sending RATE deliveries a second for ``seconds``, until every one is stored."""
    newest = int(database.scalar("SELECT coalesce(max(id), 0) FROM deliveries") or 0)
    quota = RATE * seconds
    connections = WRK_THREADS  # one per wrk thread

    def stored() -> int:
        # Only the new rows: counting all 100,000 every 50 ms would load the database.
        return int(database.scalar("SELECT count(*) FROM deliveries WHERE id > :n", n=newest))

    result = wrk(
        url,
        f"/hooks/{token}",
        quota // WRK_THREADS,
        connections,
        RATE / WRK_THREADS,
        seconds * 3,
        until=lambda: stored() >= quota,
    )
    assert result["ok"] == result["sent"] == quota, result
    return result


def cpu_seconds(pids: list[int]) -> float:
    total = 0
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += int(fields[11]) + int(fields[12])
    return total / os.sysconf("SC_CLK_TCK")


def receiver_p99(running: Served, token: str, database: Database) -> tuple[float, float]:
    """The p99, and the share of one core the console's processes used meanwhile."""
    # A second first, not timed: each process starts its committer on its first delivery.
    paced(running.url, token, database, seconds=1)
    pids, started = running.pids(), time.monotonic()
    used = cpu_seconds(pids)
    result = paced(running.url, token, database)
    share = (cpu_seconds(pids) - used) / (time.monotonic() - started)
    print(
        f"receiver at {RATE}/s: p50 {result['p50_ms']:.1f} ms, p99 {result['p99_ms']:.1f} ms; "
        f"the console used {share:.0%} of a core"
    )
    return round(result["p99_ms"], 1), share


def main() -> None:
    with tempfile.TemporaryDirectory(prefix="bench-pages-") as folder:
        work = Path(folder)
        kind, database_url = database_for(work)
        environ = console_environ(
            work,
            database_url,
            # Keep every delivery inserted: retention would prune them while they are timed.
            INBOX_MAX_DELIVERIES="10000000",
            DELIVERY_RETENTION_DAYS="3650",
        )
        with served(environ, work / "logs", web_workers=2, task_workers=1) as running:
            person = Console(running.url)
            person.create_owner()
            app_id = person.create_app()
            uid = person.webhook_set(app_id, TRIGGERS, SECRET)
            assert person.register(app_id, uid).status_code == 302
            person.wait_for_run(app_id, uid)
            person.install(app_id)
            database = Database(database_url)
            set_id, token = database.set_of(app_id)
            start = utcnow() - SPACING * SIZES[-1] - timedelta(minutes=1)
            database.backdate_registration(set_id, start - timedelta(minutes=1))

            figures: dict[str, list[float]] = {}
            done = 0
            for size in SIZES:
                database.add_deliveries(set_id, range(done, size), start)
                done = size
                fold(running.env, database)
                for name, value in time_pages(person, app_id).items():
                    figures.setdefault(name, []).append(value)
                print(
                    f"{size:>7} deliveries: " + json.dumps({k: v[-1] for k, v in figures.items()})
                )

            alone, polling, answers = [], [], []
            for _ in range(ROUNDS):
                alone.append(receiver_p99(running, token, database))
                with Pollers(person, f"/apps/{app_id}/test/status", POLLERS) as pollers:
                    polling.append(receiver_p99(running, token, database))
                answers += pollers.answers
            database.engine.dispose()

    print(
        f"receiver p99 alone {[p99 for p99, _ in alone]} ms, "
        f"while polled {[p99 for p99, _ in polling]} ms"
    )
    cpu_alone = statistics.median(share for _, share in alone)
    cpu_polling = statistics.median(share for _, share in polling)
    alone_p99 = statistics.median(p99 for p99, _ in alone)
    polling_p99 = statistics.median(p99 for p99, _ in polling)
    statuses = [status for status, _ in answers]
    print(
        f"polls: {len(answers)}, 200: {statuses.count(200)}, 304: {statuses.count(304)}, "
        f"median {statistics.median(ms for _, ms in answers):.1f} ms, "
        f"max {max(ms for _, ms in answers):.1f} ms"
    )
    result = {
        "db": kind,
        "sizes": SIZES,
        **figures,
        "receiver_p99_ms": alone_p99,
        "receiver_p99_polling_ms": polling_p99,
        "polling_ratio": round(polling_p99 / alone_p99, 2),
        "console_cpu_alone": round(cpu_alone, 3),
        "console_cpu_polling": round(cpu_polling, 3),
    }
    print(json.dumps(result))


if __name__ == "__main__":
    main()
