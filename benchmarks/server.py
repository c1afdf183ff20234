"""The item app under gunicorn on 127.0.0.1: requests per second.

gunicorn runs with two sync workers on a free port of 127.0.0.1; a few client
threads send a bounded number of requests (and stop at a time limit in any
case), a new connection for each as sync workers close them. The scenarios are
interleaved over rounds like the in-process ones. The client runs on the same
machine and takes its share of the CPU, so these ratios are compressed
towards 1: they show what a user sees end to end, not the extension alone.
"""

from __future__ import annotations

import contextlib
import dataclasses
import http.client
import os
import pathlib
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import typing as t

from items import UPDATE_BODY

HERE = pathlib.Path(__file__).resolve().parent
ROOT = HERE.parent
THREADS = 4


@dataclasses.dataclass
class ServerResult:
    scenario: str
    #: Requests per second of each round.
    rates: list[float] = dataclasses.field(default_factory=list)
    statuses: dict[int, int] = dataclasses.field(default_factory=dict)

    @property
    def requests(self) -> int:
        return sum(self.statuses.values())

    @property
    def per_second(self) -> float:
        return statistics.median(self.rates)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return t.cast(int, s.getsockname()[1])


@contextlib.contextmanager
def gunicorn(workers: int = 2) -> t.Iterator[int]:
    """Run the benchmark app under gunicorn; yields its port."""
    port = _free_port()
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "gunicorn",
            "--workers",
            str(workers),
            "--worker-class",
            "sync",
            "--bind",
            f"127.0.0.1:{port}",
            "--preload",
            "--pythonpath",
            str(HERE),
            "--log-level",
            "warning",
            "server_app:app",
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    try:
        deadline = time.monotonic() + 20
        while True:
            if process.poll() is not None:
                raise RuntimeError(
                    "gunicorn exited: " + process.stderr.read().decode()  # type: ignore[union-attr]
                )
            with contextlib.suppress(OSError):
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            if time.monotonic() > deadline:
                raise RuntimeError("gunicorn did not listen within 20 s")
            time.sleep(0.1)
        yield port
    finally:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def _request(
    port: int, method: str, path: str, headers: dict[str, str], body: bytes | None
) -> tuple[int, str | None]:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    try:
        connection.request(method, path, body=body, headers=headers)
        response = connection.getresponse()
        response.read()
        return response.status, response.getheader("ETag")
    finally:
        connection.close()


def _etag(port: int, path: str) -> str:
    status, etag = _request(port, "GET", path, {}, None)
    if status != 200 or etag is None:
        raise RuntimeError(f"GET {path}: {status}, ETag {etag}")
    return etag


def _load(
    port: int,
    scenario: str,
    requests: int,
    time_limit: float,
    note_ids: t.Sequence[int] = (),
) -> tuple[int, float, dict[int, int]]:
    """Send ``requests`` requests from THREADS threads; (sent, seconds, statuses)."""
    per_thread = requests // THREADS
    statuses: dict[int, int] = {}
    sent = [0] * THREADS
    lock = threading.Lock()
    deadline = time.monotonic() + time_limit

    def worker(number: int) -> None:
        item = number + 1
        headers: dict[str, str] = {}
        body = None
        method = "GET"
        if scenario.startswith("notes_"):
            # The notes example: one note per thread, GETs, 304s or chained
            # edits, each PUT with the ETag of the previous response.
            path = f"/notes/{note_ids[number]}"
            if scenario == "notes_304":
                headers["If-None-Match"] = _etag(port, path)
            elif scenario == "notes_write_if_match":
                method = "PUT"
                body = NOTE_BODY
                headers["Content-Type"] = "application/json"
                headers["If-Match"] = _etag(port, path)
        elif scenario == "bare_200":
            path = f"/bare/items/{item}"
        elif scenario == "version_200":
            path = f"/items/{item}"
        elif scenario == "version_304":
            path = f"/items/{item}"
            headers["If-None-Match"] = _etag(port, path)
        else:
            # Chained edits, each with the ETag of the previous response.
            item = 32 + number + 1
            path = f"/items/{item}"
            method = "PUT"
            body = UPDATE_BODY
            headers["Content-Type"] = "application/json"
            headers["If-Match"] = _etag(port, path)
        local: dict[int, int] = {}
        for _ in range(per_thread):
            if time.monotonic() > deadline:
                break
            status, etag = _request(port, method, path, headers, body)
            local[status] = local.get(status, 0) + 1
            if method == "PUT" and etag is not None:
                headers["If-Match"] = etag
            sent[number] += 1
        with lock:
            for status, count in local.items():
                statuses[status] = statuses.get(status, 0) + count

    threads = [threading.Thread(target=worker, args=(n,)) for n in range(THREADS)]
    start = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return sum(sent), time.perf_counter() - start, statuses


SCENARIOS = ("bare_200", "version_200", "version_304", "write_if_match")
EXPECTED = {
    "bare_200": 200,
    "version_200": 200,
    "version_304": 304,
    "write_if_match": 200,
}


def run(
    *, rounds: int = 3, requests: int = 1200, time_limit: float = 15.0
) -> dict[str, ServerResult]:
    """Bounded load on each scenario, interleaved over ``rounds``."""
    results = {name: ServerResult(name) for name in SCENARIOS}
    with gunicorn() as port:
        for name in SCENARIOS:
            _load(port, name, THREADS * 20, time_limit)  # warm-up
        for number in range(rounds):
            order = (
                SCENARIOS[number % len(SCENARIOS) :]
                + SCENARIOS[: number % len(SCENARIOS)]
            )
            for name in order:
                sent, seconds, statuses = _load(port, name, requests, time_limit)
                result = results[name]
                result.rates.append(sent / seconds)
                for status, count in statuses.items():
                    result.statuses[status] = result.statuses.get(status, 0) + count
    return results


NOTES_SCENARIOS = ("notes_200", "notes_304", "notes_write_if_match")
NOTE_BODY = b'{"title": "benchmark", "text": "edited under load"}'
EXPECTED.update({"notes_200": 200, "notes_304": 304, "notes_write_if_match": 200})


def run_notes(
    *, rounds: int = 3, requests: int = 1200, time_limit: float = 15.0
) -> dict[str, ServerResult]:
    """The notes example app (``examples/notes``) under gunicorn, two workers,
    on a fresh SQLite file: a 200, a 304 and a checked write of one note."""
    sys.path.insert(0, str(ROOT))
    from examples.notes.app import create_app
    from examples.notes.models import db
    from examples.notes.models import Note
    from examples.notes.server import gunicorn as notes_gunicorn

    results = {name: ServerResult(name) for name in NOTES_SCENARIOS}
    with tempfile.TemporaryDirectory() as folder:
        url = f"sqlite:///{folder}/notes.sqlite3"
        app = create_app({"SQLALCHEMY_DATABASE_URI": url})
        with app.app_context():
            db.create_all()
            notes = [Note(title="benchmark", text="seed") for _ in range(THREADS)]
            db.session.add_all(notes)
            db.session.commit()
            note_ids = [note.id for note in notes]
            db.engine.dispose()
        with notes_gunicorn(
            "examples.notes.app:create_app()",
            env={"NOTES_DATABASE_URL": url},
            workers=2,
            ready_path=f"/notes/{note_ids[0]}",
        ) as base_url:
            port = int(base_url.rsplit(":", 1)[1])
            for name in NOTES_SCENARIOS:
                _load(port, name, THREADS * 20, time_limit, note_ids)  # warm-up
            for number in range(rounds):
                shift = number % len(NOTES_SCENARIOS)
                for name in NOTES_SCENARIOS[shift:] + NOTES_SCENARIOS[:shift]:
                    sent, seconds, statuses = _load(
                        port, name, requests, time_limit, note_ids
                    )
                    result = results[name]
                    result.rates.append(sent / seconds)
                    for status, count in statuses.items():
                        result.statuses[status] = result.statuses.get(status, 0) + count
    return results


def failures(results: dict[str, ServerResult]) -> list[str]:
    problems = []
    for name, result in results.items():
        wrong = {s: n for s, n in result.statuses.items() if s != EXPECTED[name]}
        if wrong:
            problems.append(f"server {name}: unexpected statuses {wrong}")
    return problems


if __name__ == "__main__":  # pragma: no cover
    os.environ.setdefault("PYTHONUNBUFFERED", "1")
    for name, result in run(rounds=1, requests=400).items():
        print(name, f"{result.per_second:.0f}/s", result.statuses)
