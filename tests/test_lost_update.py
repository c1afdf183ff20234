"""The proof: no acknowledged update is lost under real concurrency, in any mode.

Each notes application of ``examples/notes/modes.py`` runs under gunicorn on
127.0.0.1, with 4 sync workers or with 2 gthread workers of 4 threads, and 8
client threads each make 50 read-modify-write increments of one counter (GET,
PUT the value plus one with If-Match, re-read and retry on 412, at most 1000
attempts per increment, 60 s in all), while a ninth client sends 20 increments
without If-Match, each of which must be refused with 428. Every PUT answered
2xx is an increment the server promised to keep, so the final value must be
exactly 400.

In four of the five modes (app-wide, a protected blueprint, bare
``@pre.etag``, a version function) the write is a plain ``UPDATE`` that trusts
the check, and only the extension's write lock (the default file lock) keeps
two writes with the same entity-tag apart. The same applications with
``PRECONDITIONS_LOCK=off`` must lose updates: otherwise the harness could not
see a loss at all. They have no artificial delay between the check and the
write; the races they lose happen on their own. ``versioned()`` takes the lock
too, like every checked write (a view may change only a relationship, which
its versioned UPDATE does not cover), and has no lock-off control.

Locked runs are on SQLite and, when PRECONDITIONS_TEST_DATABASE_URL is set
(`.ci/run` sets it), on PostgreSQL; the lock-off controls on SQLite only.
"""

from __future__ import annotations

import pathlib
import typing as t
import uuid

import pytest

from examples.notes.modes import LOCKED_MODES
from examples.notes.modes import MODES
from examples.notes.modes import seed_counter
from examples.notes.race import FORGETFUL_PUT
from examples.notes.race import PUT_REFUSED_AT_WRITE
from examples.notes.race import race
from examples.notes.race import RaceResult
from examples.notes.server import gunicorn

CLIENTS = 8
INCREMENTS = 50
FORGETFUL_WRITES = 20
#: Attempts per increment. Without a lock, a client can lose the race many
#: times in a row on a loaded machine; the 60 s time limit is the real bound.
MAX_ATTEMPTS = 1000

#: How gunicorn serves: 4 single-threaded workers, or 2 workers of 4 threads.
SERVERS: dict[str, dict[str, t.Any]] = {
    "sync": {"workers": 4},
    "gthread": {"workers": 2, "worker_class": "gthread", "threads": 4},
}
#: Every mode under sync workers; under gthread, one body-hash mode and the
#: version function, so that file locks are also taken by threads of one
#: process.
LOCKED_RUNS = [(mode, "sync") for mode in MODES] + [
    ("app-wide", "gthread"),
    ("version-function", "gthread"),
]
UNLOCKED_RUNS = [(mode, "sync") for mode in LOCKED_MODES] + [
    ("app-wide", "gthread"),
    ("version-function", "gthread"),
]

pytestmark = pytest.mark.slow


def run_race(
    mode: str,
    server: str,
    database_url: str,
    *,
    lock: str | None = None,
    forgetful_writes: int = 0,
) -> RaceResult:
    note_id = seed_counter(database_url)
    env = {
        "NOTES_DATABASE_URL": database_url,
        # Apart from the locks of any other run on this host.
        "PRECONDITIONS_LOCK_NAMESPACE": f"lost-update-{uuid.uuid4().hex}",
    }
    if lock is not None:
        env["PRECONDITIONS_LOCK"] = lock
    with gunicorn(
        f"examples.notes.modes:create_app({mode!r})",
        env=env,
        ready_path=f"/notes/{note_id}",
        **SERVERS[server],
    ) as base_url:
        return race(
            f"{base_url}/notes/{note_id}",
            clients=CLIENTS,
            increments=INCREMENTS,
            max_attempts=MAX_ATTEMPTS,
            time_limit=60.0,
            forgetful_writes=forgetful_writes,
        )


@pytest.mark.parametrize(("mode", "server"), LOCKED_RUNS)
def test_no_acknowledged_update_is_lost(
    mode: str, server: str, database_url: str
) -> None:
    # The zero configuration: no PRECONDITIONS_LOCK, so the default file lock.
    result = run_race(mode, server, database_url, forgetful_writes=FORGETFUL_WRITES)
    assert result.server_errors == 0, result.statuses
    assert result.unfinished == 0
    assert result.accepted == CLIENTS * INCREMENTS
    assert result.final == CLIENTS * INCREMENTS, result
    # The clients did collide: the increments were not simply serialised.
    assert result.count("PUT", 412) > 0
    # A client that forgets If-Match never writes.
    assert result.count(FORGETFUL_PUT, 428) == FORGETFUL_WRITES
    # Under the lock no two writes pass the check with one entity-tag, so a
    # versioned UPDATE never finds the row changed after its check.
    assert result.count(PUT_REFUSED_AT_WRITE, 412) == 0


@pytest.mark.parametrize(("mode", "server"), UNLOCKED_RUNS)
def test_with_the_lock_off_the_same_server_loses_updates(
    mode: str, server: str, tmp_path: pathlib.Path
) -> None:
    result = run_race(
        mode, server, f"sqlite:///{tmp_path / 'notes.sqlite3'}", lock="off"
    )
    assert result.unfinished == 0
    # Every increment was acknowledged, and some of them are not there.
    assert result.accepted == CLIENTS * INCREMENTS
    assert result.lost > 0, result
    assert result.final == CLIENTS * INCREMENTS - result.lost
