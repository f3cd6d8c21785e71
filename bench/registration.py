"""Registration benchmark: the console's Register against a plain one-call-at-a-time loop.

Serves the console as the README's production section says (gunicorn with 2 web processes,
and a worker), on SQLite with its task queue in a SQLite file, with 100 ms of latency
injected by the sandbox on every Configuration API call, and one webhook set of every 3.6
trigger. Times, medians of three:

  sequential_s  a plain loop of register_webhook calls, one at a time (the reference)
  console_s     the console's Register, from the press until every row is registered
  noop_s        a second Register with nothing to change, until its run has ended
  post_ms       the Register POST's own answer time

Run it from the repository root: `.venv/bin/python bench/registration.py`. The last line
printed is one JSON object.
"""

from __future__ import annotations

import json
import sqlite3
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

import requests

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "tests")]

from http_journey import Console  # noqa: E402
from served import served  # noqa: E402

from bench_support import console_environ  # noqa: E402
from consoleapp.livechat import catalog  # noqa: E402
from consoleapp.livechat.configuration import ConfigurationApi, Credential  # noqa: E402

LATENCY_MS = 100
IN_FLIGHT = 8
ROUNDS = 3
TRIGGERS = [trigger.action for trigger in catalog.triggers_for("3.6")]


def sequential(url: str) -> float:
    """Register every trigger one call at a time with the same client, then clean up."""
    made = requests.post(f"{url}/sandbox/provision", json={"name": "reference"}, timeout=30)
    made.raise_for_status()
    given = made.json()
    credential = Credential.personal_access_token(
        given["account_id"], given["personal_access_token"]
    )
    api = ConfigurationApi(f"{url}/sandbox/api", "3.6", credential)
    started = time.perf_counter()
    ids = [
        api.register_webhook(
            action=action,
            url=f"{url}/hooks/reference",
            secret_key="reference-secret-key-123",
            owner_client_id=given["client_id"],
        )
        for action in TRIGGERS
    ]
    took = time.perf_counter() - started
    for webhook_id in ids:
        api.unregister_webhook(webhook_id, given["client_id"])
    return took


class Database:
    """Reads the console's SQLite file directly, so following a run costs the server nothing
    (polling its JSON every few milliseconds would take CPU from the very run being timed)."""

    def __init__(self, path: Path) -> None:
        self.connection = sqlite3.connect(path, timeout=5, isolation_level=None)

    def progress(self) -> tuple[int, str | None, float | None]:
        """Rows registered, the latest run's state, and when the last row was registered."""
        registered, last = self.connection.execute(
            "SELECT count(*), max(registered_at) FROM registered_webhooks"
            " WHERE state = 'registered'"
        ).fetchone()
        state = self.connection.execute(
            "SELECT state FROM registration_runs ORDER BY id DESC LIMIT 1"
        ).fetchone()
        return registered, state[0] if state else None, _epoch(last)

    def until_ended(self) -> tuple[int, float | None]:
        while True:
            registered, state, last = self.progress()
            if state in ENDED:
                return registered, last
            time.sleep(0.005)


ENDED = {"finished", "cancelled"}


def _epoch(stamp: str | None) -> float | None:
    if stamp is None:
        return None
    return datetime.fromisoformat(stamp).replace(tzinfo=UTC).timestamp()


def console_run(person: Console, database: Database, app_id: int, uid: str) -> tuple[float, float]:
    """Press Register; the time until every row is registered, and the POST's own time."""
    started = time.time()
    answer = person.register(app_id, uid)
    post_ms = (time.time() - started) * 1000
    assert answer.status_code == 302, answer.text[:300]
    registered, last = database.until_ended()
    assert registered == len(TRIGGERS) and last is not None, (registered, last)
    return last - started, post_ms


def remove(person: Console, database: Database, app_id: int, uid: str) -> None:
    answer = person.post(f"/apps/{app_id}/webhooks/{uid}/remove", allow_redirects=False)
    assert answer.status_code == 302
    registered, _ = database.until_ended()
    assert registered == 0, registered


def main() -> None:
    with tempfile.TemporaryDirectory(prefix="bench-registration-") as folder:
        work = Path(folder)
        environ = console_environ(
            work, f"sqlite:///{work / 'console.db'}", REGISTRATION_IN_FLIGHT=str(IN_FLIGHT)
        )
        with served(environ, work / "logs", web_workers=2, task_workers=1) as running:
            person = Console(running.url)
            person.create_owner()
            app_id = person.create_app()
            uid = person.webhook_set(app_id, TRIGGERS, "bench-secret-key-123456")
            person.sandbox_fault(kind="latency", method="*", value=LATENCY_MS)
            database = Database(work / "console.db")

            reference, console, noop, posts = [], [], [], []
            for round_number in range(ROUNDS):
                reference.append(sequential(running.url))
                took, post_ms = console_run(person, database, app_id, uid)
                console.append(took)
                posts.append(post_ms)
                started = time.perf_counter()
                person.register(app_id, uid)
                registered, _ = database.until_ended()
                noop.append(time.perf_counter() - started)
                assert registered == len(TRIGGERS), registered
                if round_number < ROUNDS - 1:
                    remove(person, database, app_id, uid)
            peak = running.peak_rss_mb()
            person.clear_sandbox_faults()

    sequential_s = statistics.median(reference)
    console_s = statistics.median(console)
    result = {
        "triggers": len(TRIGGERS),
        "latency_ms": LATENCY_MS,
        "in_flight": IN_FLIGHT,
        "sequential_s": round(sequential_s, 3),
        "console_s": round(console_s, 3),
        "noop_s": round(statistics.median(noop), 3),
        "speedup": round(sequential_s / console_s, 2),
        "post_ms": round(statistics.median(posts), 1),
        "peak_rss_mb": peak,
    }
    print(json.dumps(result))


if __name__ == "__main__":
    main()
