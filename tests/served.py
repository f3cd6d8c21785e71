"""The console served as the README's production section says, in processes of its own:
gunicorn (wsgi:app, gunicorn.conf.py) and workers (``flask --app wsgi worker``).

For the multi-process tests and the benchmarks. Every process is stopped when the block
ends, killed if it does not stop in time; nothing outlives the test."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import requests

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@dataclass
class Served:
    url: str
    env: dict[str, str]
    logs: Path
    web: subprocess.Popen
    workers: list[subprocess.Popen] = field(default_factory=list)
    files: list = field(default_factory=list)

    def start_worker(self) -> subprocess.Popen:
        number = len(self.workers) + 1
        log = open(self.logs / f"worker-{number}.log", "ab")  # noqa: SIM115 - closed at the end
        self.files.append(log)
        process = subprocess.Popen(
            [str(BIN / "flask"), "--app", "wsgi", "worker"],
            cwd=ROOT,
            env=self.env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        self.workers.append(process)
        return process

    def pids(self) -> list[int]:
        """The web master, its worker processes, and the task workers."""
        master = self.web.pid
        children = []
        for entry in Path("/proc").iterdir():
            if entry.name.isdigit():
                try:
                    stat = (entry / "stat").read_text()
                except OSError:
                    continue
                if int(stat.rsplit(")", 1)[1].split()[1]) == master:
                    children.append(int(entry.name))
        return [master, *children, *(w.pid for w in self.workers if w.poll() is None)]

    def peak_rss_mb(self) -> float:
        """The largest peak resident size (VmHWM) of any of the processes, in MB."""
        peak = 0
        for pid in self.pids():
            try:
                for line in Path(f"/proc/{pid}/status").read_text().splitlines():
                    if line.startswith("VmHWM:"):
                        peak = max(peak, int(line.split()[1]))
            except OSError:
                continue
        return round(peak / 1024, 1)


def stop_process(process: subprocess.Popen, how: int = signal.SIGTERM) -> None:
    """SIGTERM (or ``how``), then SIGKILL if it has not stopped within 15 s. gunicorn finishes
    the requests in flight first and writes their access lines."""
    if process.poll() is None:
        process.send_signal(how)
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=5)


def migrate(env: dict[str, str]) -> None:
    subprocess.run(
        [str(BIN / "flask"), "--app", "wsgi", "db", "upgrade"],
        cwd=ROOT,
        env=env,
        check=True,
        capture_output=True,
        timeout=120,
    )


@contextmanager
def served(
    environ: dict[str, str],
    logs: Path,
    web_workers: int = 2,
    task_workers: int = 1,
    threads: int = 8,
    app: str = "wsgi:app",
) -> Iterator[Served]:
    """Migrate, then serve on a free loopback port; PUBLIC_URL follows the port."""
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    env = {
        **os.environ,
        "PATH": f"{BIN}:{os.environ.get('PATH', '')}",
        "HOME": str(logs),  # gunicorn keeps a control socket under $HOME
        "PUBLIC_URL": url,
        "PORT": str(port),
        "WEB_CONCURRENCY": str(web_workers),
        "WEB_THREADS": str(threads),
        **environ,
    }
    logs.mkdir(parents=True, exist_ok=True)
    migrate(env)
    web_log = open(logs / "web.log", "ab")  # noqa: SIM115 - closed below
    web = subprocess.Popen(
        [str(BIN / "gunicorn"), app],
        cwd=ROOT,
        env=env,
        stdout=web_log,
        stderr=subprocess.STDOUT,
    )
    running = Served(url, env, logs, web)
    try:
        for _ in range(task_workers):
            running.start_worker()
        deadline = time.monotonic() + 60
        while True:
            try:
                requests.get(f"{url}/login", timeout=2)
                break
            except requests.ConnectionError:
                if web.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(
                        "gunicorn did not start: " + (logs / "web.log").read_text()[-2000:]
                    ) from None
                time.sleep(0.1)
        yield running
    finally:
        for worker in running.workers:
            stop_process(worker)
        stop_process(web)
        for log in (web_log, *running.files):
            log.close()
