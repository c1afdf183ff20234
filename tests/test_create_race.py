"""Create-only writes under real concurrency, and entity-tags unique per incarnation.

Each notes application of ``examples/notes/modes.py`` runs under gunicorn with
4 sync workers and the default (file) write lock, on SQLite and, when
PRECONDITIONS_TEST_DATABASE_URL is set, on PostgreSQL:

- 16 clients send ``PUT`` with ``If-None-Match: *`` to the same absent note
  at once, each with its own text: exactly one gets 201, the fifteen others
  412, and the note holds the winner's text;
- a note deleted and created again, with the same content, never repeats an
  earlier entity-tag: the old one gets 412 on a write and 200, not 304, on
  revalidation.

The last test shows what the versions from :func:`examples.notes.models.new_version`
prevent: an integer counter that restarts at 1 repeats the old entity-tag.
"""

from __future__ import annotations

import collections
import threading
import typing as t
import uuid

import pytest
import requests
from flask import Flask
from flask import request

from examples.notes.modes import MODES
from examples.notes.modes import seed_counter
from examples.notes.server import gunicorn
from flask_preconditions import Preconditions
from helpers import POSTGRES_URL
from helpers import POSTGRESQL

CREATORS = 16
#: The longest any client waits.
WAIT = 30.0


DATABASES = ["sqlite", POSTGRESQL]


@pytest.fixture(scope="module", params=DATABASES)
def database(request: pytest.FixtureRequest) -> str:
    return t.cast(str, request.param)


@pytest.fixture(scope="module", params=MODES)
def base_url(
    request: pytest.FixtureRequest,
    database: str,
    tmp_path_factory: pytest.TempPathFactory,
) -> t.Iterator[str]:
    """A server in one mode, with one note, 1, in a fresh database.

    One per module, mode and database: both tests use it, on notes of their
    own.
    """
    if database == "postgresql":
        assert POSTGRES_URL is not None
        database_url = POSTGRES_URL
    else:
        folder = tmp_path_factory.mktemp("create-race")
        database_url = f"sqlite:///{folder / 'notes.sqlite3'}"
    seed_counter(database_url)
    with gunicorn(
        f"examples.notes.modes:create_app({request.param!r})",
        env={
            "NOTES_DATABASE_URL": database_url,
            "PRECONDITIONS_LOCK_NAMESPACE": f"create-race-{uuid.uuid4().hex}",
        },
        workers=4,
        ready_path="/notes/1",
    ) as url:
        yield url


def create_at_once(url: str) -> list[requests.Response]:
    """``CREATORS`` create-only PUTs of ``url``, released together."""
    start = threading.Barrier(CREATORS, timeout=WAIT)
    responses: list[requests.Response] = []
    errors: list[BaseException] = []

    def create(number: int) -> None:
        with requests.Session() as http:
            try:
                start.wait()
                responses.append(
                    http.put(
                        url,
                        json={"title": "race", "text": f"creator {number}"},
                        headers={"If-None-Match": "*"},
                        timeout=WAIT,
                    )
                )
            except BaseException as error:  # reported below
                errors.append(error)

    threads = [threading.Thread(target=create, args=(n,)) for n in range(CREATORS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(WAIT + 10)
    if errors:
        raise errors[0]
    return responses


@pytest.mark.slow
def test_one_of_sixteen_simultaneous_creations_wins(base_url: str) -> None:
    url = f"{base_url}/notes/7"
    responses = create_at_once(url)
    statuses = collections.Counter(response.status_code for response in responses)
    assert statuses == {201: 1, 412: CREATORS - 1}, [r.text for r in responses]
    (winner,) = (r for r in responses if r.status_code == 201)
    stored = requests.get(url, timeout=WAIT)
    assert stored.json()["text"] == winner.json()["text"]
    assert stored.headers["ETag"] == winner.headers["ETag"]


@pytest.mark.slow
def test_a_note_created_again_never_repeats_an_old_etag(base_url: str) -> None:
    url = f"{base_url}/notes/8"
    note = {"title": "again", "text": "the same content"}
    first = requests.put(url, json=note, headers={"If-None-Match": "*"}, timeout=WAIT)
    assert first.status_code == 201
    old_etag = first.headers["ETag"]
    deleted = requests.delete(url, headers={"If-Match": old_etag}, timeout=WAIT)
    assert deleted.status_code == 204
    again = requests.put(url, json=note, headers={"If-None-Match": "*"}, timeout=WAIT)
    assert again.status_code == 201
    assert again.headers["ETag"] != old_etag

    stale_write = requests.put(
        url,
        json={"title": "again", "text": "overwritten"},
        headers={"If-Match": old_etag},
        timeout=WAIT,
    )
    assert stale_write.status_code == 412
    revalidated = requests.get(url, headers={"If-None-Match": old_etag}, timeout=WAIT)
    assert revalidated.status_code == 200
    assert revalidated.json()["text"] == "the same content"


def test_an_integer_version_restarting_at_1_repeats_an_old_etag() -> None:
    # The risk that the random versions of the notes example avoid: a note
    # deleted and created again starts at version 1, as its predecessor did,
    # and a client holding the predecessor's ETag passes If-Match.
    app = Flask(__name__)
    pre = Preconditions(app, app_wide=False)
    notes: dict[int, tuple[str, int]] = {}

    @app.route("/notes/<int:note_id>", methods=["GET", "PUT", "DELETE"])
    @pre.etag(lambda note_id: notes[note_id][1] if note_id in notes else None)
    def note(note_id: int) -> t.Any:
        if request.method == "DELETE":
            del notes[note_id]
            return "", 204
        if request.method == "PUT":
            old = notes.get(note_id)
            notes[note_id] = (request.get_data(as_text=True), old[1] + 1 if old else 1)
        return notes[note_id][0]

    client = app.test_client()
    old_etag = client.put(
        "/notes/8", data="first", headers={"If-None-Match": "*"}
    ).headers["ETag"]
    client.delete("/notes/8", headers={"If-Match": old_etag})
    client.put("/notes/8", data="second", headers={"If-None-Match": "*"})
    assert (
        client.get("/notes/8", headers={"If-None-Match": old_etag}).status_code == 304
    )
    overwrite = client.put("/notes/8", data="blind", headers={"If-Match": old_etag})
    assert overwrite.status_code == 200
