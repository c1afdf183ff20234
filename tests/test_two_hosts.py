"""Two hosts, one database: only a lock that both hosts share keeps every write.

Two gunicorn masters on two ports stand for two hosts. Each runs the app-wide
notes application of ``examples/notes/modes.py`` (its write a plain
``UPDATE``) in one gthread worker of 8 threads, and both share one database;
8 clients, half on each server, make 50 read-modify-write increments each of
one counter. With the Redis and the PostgreSQL backends nothing is lost. With
the in-process backend (``"thread"``) each host's lock still excludes the
writes of its own threads, so every lost update is one that the other host
let through: the negative control.

The Redis run needs PRECONDITIONS_TEST_REDIS_URL: skipped without it, failed
when CI=true. The PostgreSQL run needs PRECONDITIONS_TEST_DATABASE_URL and is
skipped without it, as every ``postgres`` test is. `.ci/run` starts both.
"""

from __future__ import annotations

import contextlib
import pathlib
import uuid

import pytest

from examples.notes.modes import seed_counter
from examples.notes.race import race
from examples.notes.race import RaceResult
from examples.notes.server import gunicorn
from helpers import POSTGRES_URL
from helpers import service_url

#: Attempts per increment; the 60 s time limit is the real bound.
MAX_ATTEMPTS = 1000
CLIENTS = 8
INCREMENTS = 50
HOSTS = 2

pytestmark = pytest.mark.slow


def race_on_two_hosts(lock: str, database_url: str) -> RaceResult:
    note_id = seed_counter(database_url)
    env = {
        "NOTES_DATABASE_URL": database_url,
        "PRECONDITIONS_LOCK": lock,
        # Apart from any other run on a shared lock service.
        "PRECONDITIONS_LOCK_NAMESPACE": f"two-hosts-{uuid.uuid4().hex}",
    }
    with contextlib.ExitStack() as hosts:
        base_urls = [
            hosts.enter_context(
                gunicorn(
                    "examples.notes.modes:create_app('app-wide')",
                    env=env,
                    workers=1,
                    worker_class="gthread",
                    threads=8,
                    ready_path=f"/notes/{note_id}",
                )
            )
            for _ in range(HOSTS)
        ]
        return race(
            [f"{base_url}/notes/{note_id}" for base_url in base_urls],
            clients=CLIENTS,
            increments=INCREMENTS,
            max_attempts=MAX_ATTEMPTS,
            time_limit=60.0,
        )


def assert_nothing_lost(result: RaceResult) -> None:
    assert result.server_errors == 0, result.statuses
    assert result.unfinished == 0
    assert result.accepted == CLIENTS * INCREMENTS
    assert result.final == CLIENTS * INCREMENTS, result
    assert result.count("PUT", 412) > 0


def test_redis_locks_keep_every_write_across_hosts(tmp_path: pathlib.Path) -> None:
    redis_url = service_url("PRECONDITIONS_TEST_REDIS_URL")
    result = race_on_two_hosts(redis_url, f"sqlite:///{tmp_path / 'notes.sqlite3'}")
    assert_nothing_lost(result)


@pytest.mark.postgres
@pytest.mark.skipif(
    POSTGRES_URL is None, reason="PRECONDITIONS_TEST_DATABASE_URL is not set"
)
def test_postgres_advisory_locks_keep_every_write_across_hosts() -> None:
    assert POSTGRES_URL is not None
    assert_nothing_lost(race_on_two_hosts(POSTGRES_URL, POSTGRES_URL))


def test_in_process_locks_lose_writes_across_hosts(tmp_path: pathlib.Path) -> None:
    result = race_on_two_hosts("thread", f"sqlite:///{tmp_path / 'notes.sqlite3'}")
    assert result.unfinished == 0
    assert result.accepted == CLIENTS * INCREMENTS
    assert result.lost > 0, result
