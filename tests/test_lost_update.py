"""The proof: no acknowledged update is lost under real concurrency.

The example application runs under gunicorn with 4 worker processes on
127.0.0.1, and 8 client threads each make 50 read-modify-write increments of one
counter (GET, PUT the value plus one with If-Match, re-read and retry on 412,
at most 100 attempts per increment, 60 s in all), while a ninth client sends 20
increments without If-Match, each of which must be refused with 428. Every PUT
answered 200 is an increment the server promised to keep, so the final value
must be exactly 400.

The same harness against the naive variant (a correct If-Match check by
SELECT, then a separate UPDATE) must see lost updates: otherwise it could not
see them in the example either. The naive variant has no artificial delay
between its check and its write; the races it loses happen on their own.

Both run on SQLite, and on PostgreSQL when PRECONDITIONS_TEST_DATABASE_URL is
set (`.ci/run` sets it).
"""

from __future__ import annotations

import pytest

from examples.notes.app import create_app
from examples.notes.models import db
from examples.notes.models import Note
from examples.notes.race import FORGETFUL_PUT
from examples.notes.race import race
from examples.notes.race import RaceResult
from examples.notes.server import gunicorn

CLIENTS = 8
INCREMENTS = 50
FORGETFUL_WRITES = 20

pytestmark = pytest.mark.slow


def seed_counter(database_url: str) -> int:
    """Create the notes table afresh with one note holding the counter 0."""
    app = create_app({"SQLALCHEMY_DATABASE_URI": database_url})
    with app.app_context():
        db.drop_all()
        db.create_all()
        note = Note(title="counter", text="0")
        db.session.add(note)
        db.session.commit()
        note_id = note.id
        db.engine.dispose()
    return note_id


def run_race(app_spec: str, database_url: str) -> RaceResult:
    note_id = seed_counter(database_url)
    with gunicorn(
        app_spec,
        env={"NOTES_DATABASE_URL": database_url},
        workers=4,
        ready_path=f"/notes/{note_id}",
    ) as base_url:
        return race(
            f"{base_url}/notes/{note_id}",
            clients=CLIENTS,
            increments=INCREMENTS,
            max_attempts=100,
            time_limit=60.0,
            forgetful_writes=FORGETFUL_WRITES,
        )


def test_no_acknowledged_update_is_lost(database_url: str) -> None:
    result = run_race("examples.notes.app:create_app()", database_url)
    assert result.server_errors == 0, result.statuses
    assert result.unfinished == 0
    assert result.accepted == CLIENTS * INCREMENTS
    assert result.final == CLIENTS * INCREMENTS
    # The clients did collide: the increments were not simply serialised.
    assert result.count("PUT", 412) > 0
    # A client that forgets If-Match never writes.
    assert result.count(FORGETFUL_PUT, 428) == FORGETFUL_WRITES


def test_harness_sees_the_updates_a_check_then_write_server_loses(
    database_url: str,
) -> None:
    result = run_race("examples.notes.naive:create_app()", database_url)
    assert result.server_errors == 0, result.statuses
    assert result.unfinished == 0
    # Every increment was acknowledged, and some of them are not there.
    assert result.accepted == CLIENTS * INCREMENTS
    assert result.final < CLIENTS * INCREMENTS
    assert result.lost == CLIENTS * INCREMENTS - result.final
