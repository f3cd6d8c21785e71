"""R12: a delivery the receiver acknowledged survives SIGKILL of the serving process."""

from __future__ import annotations

import os
import select
import signal
import subprocess
import sys
from pathlib import Path

import pytest
import requests

from support import TEST_FERNET_KEY, add_webhook_set, deliveries, delivery_body, events

SERVE = """
import os, sys
from pathlib import Path
from werkzeug.serving import make_server
sys.path.insert(0, sys.argv[1])
from support import make_app
app = make_app(Path(sys.argv[2]), sys.argv[3], ENVIRON={"FERNET_KEYS": os.environ["KEYS"]})
server = make_server("127.0.0.1", 0, app, threaded=True)
print(server.server_port, flush=True)
server.serve_forever()
"""


def serve_in_a_process(tmp_path: Path, database_url: str) -> tuple[subprocess.Popen, str]:
    process = subprocess.Popen(
        [sys.executable, "-c", SERVE, str(Path(__file__).parent), str(tmp_path), database_url],
        env={**os.environ, "KEYS": TEST_FERNET_KEY},
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    ready, _, _ = select.select([process.stdout], [], [], 60)
    if not ready:
        process.kill()
        process.wait()
        process.stdout.close()
        pytest.fail("the console did not start in a process of its own")
    return process, f"http://127.0.0.1:{int(process.stdout.readline())}"


def test_r12_an_acknowledged_delivery_survives_sigkill(app_factory, database_url, tmp_path):
    app = app_factory()
    token = add_webhook_set(app)[1]
    body = delivery_body()
    for attempt in (1, 2):
        process, url = serve_in_a_process(tmp_path / "served", database_url)
        try:
            response = requests.post(f"{url}/hooks/{token}", json=body, timeout=30)
            # Killed the moment it answered: no clean shutdown, no later flush.
            os.kill(process.pid, signal.SIGKILL)
            process.wait(timeout=30)
        finally:
            if process.poll() is None:
                process.kill()
                process.wait()
            process.stdout.close()
        assert response.status_code == 200
        assert process.returncode == -signal.SIGKILL
        reopened = app_factory()  # a new engine: what is on disk, not what a pool remembers
        stored = deliveries(reopened)
        assert [delivery.id for delivery in stored][-1] == response.json()["delivery_id"]
        assert len(stored) == attempt
        [event] = events(reopened)
        assert event.times_received == attempt


def test_r12_deliveries_acknowledged_in_one_grouped_commit_survive_sigkill(
    app_factory, database_url, tmp_path
):
    """Twenty at once share commits; killed the moment the last is answered, none is lost."""
    import threading

    app = app_factory()
    token = add_webhook_set(app)[1]
    process, url = serve_in_a_process(tmp_path / "served", database_url)
    answers: list[requests.Response] = []
    barrier = threading.Barrier(20)

    def send(number: int) -> None:
        body = delivery_body(payload={"event": {"id": f"grouped-{number}"}})
        barrier.wait()
        answers.append(requests.post(f"{url}/hooks/{token}", json=body, timeout=30))

    try:
        threads = [threading.Thread(target=send, args=(n,)) for n in range(20)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=60)
        os.kill(process.pid, signal.SIGKILL)
        process.wait(timeout=30)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
        process.stdout.close()
    assert sorted(answer.status_code for answer in answers) == [200] * 20
    acknowledged = {answer.json()["delivery_id"] for answer in answers}
    stored = {delivery.id for delivery in deliveries(app_factory())}
    assert stored == acknowledged
