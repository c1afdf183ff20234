"""The item app and the notes example under gunicorn: requests per second.

Two sync workers on 127.0.0.1, four client threads on the same machine, a new
connection per request, each server's scenarios interleaved over rounds. This
module is also the item app that gunicorn serves (``server:create_app()``).
"""

from __future__ import annotations

import collections
import concurrent.futures
import dataclasses
import http.client
import mmap
import pathlib
import statistics
import struct
import sys
import tempfile
import time
import typing as t

from apps import item_view
from flask import Flask
from items import Store
from items import UPDATE_BODY

from flask_preconditions import Preconditions

HERE = pathlib.Path(__file__).resolve().parent
THREADS = 4
NOTE_BODY = b'{"title": "benchmark", "text": "edited under load"}'

#: name, server, path ({n}: one item per thread), request, status, baseline
ROWS = [
    ("bare_200", "items", "/bare/items/{n}", "GET", 200, None),
    ("version_200", "items", "/items/{n}", "GET", 200, "bare_200"),
    ("version_304", "items", "/items/{n}", "GET If-None-Match", 304, "bare_200"),
    ("write_bare", "items", "/bare/items/{n}", "PUT", 200, None),
    ("write_if_match", "items", "/items/{n}", "PUT If-Match", 200, "write_bare"),
    ("notes_200", "notes", "/notes/{n}", "GET", 200, None),
    ("notes_304", "notes", "/notes/{n}", "GET If-None-Match", 304, "notes_200"),
    ("notes_write_if_match", "notes", "/notes/{n}", "PUT If-Match", 200, "notes_200"),
]


class SharedStore(Store):
    """A store whose versions live in memory shared by gunicorn's workers:
    created before the fork (``--preload``), so a write in one worker is seen
    by the next request, whichever worker takes it."""

    def __init__(self, items: int = 64) -> None:
        super().__init__(range(1, items + 1))
        self.versions = mmap.mmap(-1, 8 * (items + 1))
        for item_id in self.records:
            self.set_version(item_id, 1)

    def get(self, item_id: int) -> dict[str, t.Any] | None:
        record = self.records.get(item_id)
        if record is not None:
            record["version"] = struct.unpack_from("q", self.versions, 8 * item_id)[0]
        return record

    def set_version(self, item_id: int, version: int) -> None:
        struct.pack_into("q", self.versions, 8 * item_id, version)


def create_app() -> Flask:
    """``/bare/items/<id>`` plain, ``/items/<id>`` with ``@pre.etag(version)``."""
    store = SharedStore()
    app = Flask("server")
    pre = Preconditions(app, app_wide=False)
    methods = ["GET", "PUT"]
    app.add_url_rule(
        "/bare/items/<int:item_id>", "bare", item_view(store), methods=methods
    )
    checked = pre.etag(store.version)(item_view(store))
    app.add_url_rule("/items/<int:item_id>", "item", checked, methods=methods)
    return app


@dataclasses.dataclass
class ServerResult:
    name: str
    baseline: str | None
    expected: int
    #: Requests per second of each round.
    rates: list[float] = dataclasses.field(default_factory=list)
    statuses: collections.Counter[int] = dataclasses.field(
        default_factory=collections.Counter
    )

    @property
    def per_second(self) -> float:
        return statistics.median(self.rates)


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


def _load(
    port: int, row: tuple[t.Any, ...], ids: list[int], requests: int
) -> tuple[float, collections.Counter[int]]:
    """About ``requests`` requests of a row from THREADS threads, for 15 s at
    most: (requests per second, statuses)."""
    _, server, path, request, _, _ = row
    method, _, condition = request.partition(" ")
    body = None if method == "GET" else NOTE_BODY if server == "notes" else UPDATE_BODY
    deadline = time.monotonic() + 15

    def client(item: int) -> collections.Counter[int]:
        url = path.format(n=item)
        headers = {"Content-Type": "application/json"} if body else {}
        if condition:
            headers[condition] = _request(port, "GET", url, {}, None)[1] or ""
        statuses: collections.Counter[int] = collections.Counter()
        while statuses.total() < requests // THREADS and time.monotonic() < deadline:
            status, etag = _request(port, method, url, headers, body)
            statuses[status] += 1
            if condition == "If-Match" and etag:
                # Chained edits, each with the tag of the previous answer.
                headers["If-Match"] = etag
        return statuses

    start = time.perf_counter()
    with concurrent.futures.ThreadPoolExecutor(THREADS) as pool:
        statuses = sum(pool.map(client, ids), collections.Counter())
    return statuses.total() / (time.perf_counter() - start), statuses


def _measure(
    base_url: str, server: str, ids: list[int], rounds: int, requests: int
) -> list[ServerResult]:
    port = int(base_url.rsplit(":", 1)[1])
    rows = [row for row in ROWS if row[1] == server]
    pairs = [(row, ServerResult(row[0], row[5], row[4])) for row in rows]
    for row in rows:
        _load(port, row, ids, THREADS * 20)  # warm-up
    for number in range(rounds):
        shift = number % len(pairs)
        for row, result in pairs[shift:] + pairs[:shift]:
            rate, statuses = _load(port, row, ids, requests)
            result.rates.append(rate)
            result.statuses += statuses
    return [result for _, result in pairs]


def run(*, rounds: int, requests: int) -> list[ServerResult]:
    """Both servers, one after the other, each scenario ``rounds`` times."""
    sys.path.insert(0, str(HERE.parent))
    from examples.notes.app import create_app as create_notes_app
    from examples.notes.models import db
    from examples.notes.models import Note
    from examples.notes.server import gunicorn

    items = gunicorn(
        "server:create_app()",
        env={"PYTHONPATH": str(HERE), "GUNICORN_CMD_ARGS": "--preload"},
        workers=2,
        ready_path="/bare/items/1",
    )
    with items as base_url:
        results = _measure(
            base_url, "items", list(range(1, THREADS + 1)), rounds, requests
        )
    with tempfile.TemporaryDirectory() as folder:
        url = f"sqlite:///{folder}/notes.sqlite3"
        app = create_notes_app({"SQLALCHEMY_DATABASE_URI": url})
        with app.app_context():
            db.create_all()
            notes = [Note(title="benchmark", text="seed") for _ in range(THREADS)]
            db.session.add_all(notes)
            db.session.commit()
            ids = [note.id for note in notes]
            db.engine.dispose()
        notes_server = gunicorn(
            "examples.notes.app:create_app()",
            env={"NOTES_DATABASE_URL": url},
            workers=2,
            ready_path=f"/notes/{ids[0]}",
        )
        with notes_server as base_url:
            results += _measure(base_url, "notes", ids, rounds, requests)
    return results


def failures(results: list[ServerResult]) -> list[str]:
    return [
        f"server {r.name}: statuses {r.statuses}, expected only {r.expected}"
        for r in results
        if set(r.statuses) != {r.expected}
    ]
