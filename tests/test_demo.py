"""The notes example, its client recipes and ``make demo``."""

from __future__ import annotations

import os
import subprocess
import sys
import typing as t
import urllib.error
import urllib.request

import httpx
import pytest
import requests
import sqlalchemy as sa
from flask import Flask
from flask.testing import FlaskClient

from examples.notes import modes
from examples.notes.app import create_app
from examples.notes.counters import counters
from examples.notes.models import db
from examples.notes.models import new_version
from examples.notes.models import Note
from examples.notes.server import gunicorn
from examples.recipes import retrying_client
from flask_preconditions.locks import resource_key
from flask_preconditions.locks import ThreadLocks

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


@pytest.fixture
def database_url(tmp_path: t.Any) -> str:
    return f"sqlite:///{tmp_path / 'notes.sqlite3'}"


@pytest.fixture
def app(database_url: str) -> t.Iterator[Flask]:
    app = create_app({"SQLALCHEMY_DATABASE_URI": database_url, "TESTING": True})
    with app.app_context():
        db.session.add(Note(id=1, title="Shopping", text="milk"))
        db.session.commit()
    yield app
    with app.app_context():
        db.engine.dispose()


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    return app.test_client()


def etag_of(client: FlaskClient, url: str = "/notes/1") -> str:
    return client.get(url).headers["ETag"]


# -- the notes API -----------------------------------------------------------------


def test_list_notes(client: FlaskClient) -> None:
    response = client.get("/notes")
    assert response.status_code == 200
    assert [note["title"] for note in response.json] == ["Shopping"]
    assert "ETag" in response.headers


def test_create_note_is_201_with_location_and_etag(client: FlaskClient) -> None:
    response = client.post("/notes", json={"title": "Todo", "text": "write"})
    assert response.status_code == 201
    location = response.headers["Location"]
    assert location == f"/notes/{response.json['id']}"
    assert response.headers["ETag"] == etag_of(client, location)


def test_read_note_has_etag_and_last_modified(client: FlaskClient) -> None:
    response = client.get("/notes/1")
    note = response.json
    assert {name: note[name] for name in ("id", "title", "text")} == {
        "id": 1,
        "title": "Shopping",
        "text": "milk",
    }
    assert response.headers["ETag"].startswith('"')
    assert "Last-Modified" in response.headers


def test_versions_are_random_not_counted(client: FlaskClient) -> None:
    first = client.get("/notes/1").json["version"]
    client.patch(
        "/notes/1", json={"text": "bread"}, headers={"If-Match": etag_of(client)}
    )
    second = client.get("/notes/1").json["version"]
    assert len(first) == len(second) == 32
    assert first != second
    int(first, 16), int(second, 16)


def test_a_note_created_again_never_repeats_an_old_etag(client: FlaskClient) -> None:
    old = etag_of(client)
    client.delete("/notes/1", headers={"If-Match": old})
    created = client.put(
        "/notes/1",
        json={"title": "Shopping", "text": "milk"},
        headers={"If-None-Match": "*"},
    )
    assert created.status_code == 201
    assert created.headers["ETag"] != old
    assert client.get("/notes/1", headers={"If-None-Match": old}).status_code == 200
    stale = client.put(
        "/notes/1", json={"title": "x", "text": "y"}, headers={"If-Match": old}
    )
    assert stale.status_code == 412


def test_lock_settings_come_from_the_environment(
    monkeypatch: pytest.MonkeyPatch, database_url: str
) -> None:
    monkeypatch.setenv("PRECONDITIONS_LOCK", "off")
    monkeypatch.setenv("PRECONDITIONS_LOCK_TIMEOUT", "2.5")
    monkeypatch.setenv("PRECONDITIONS_LOCK_NAMESPACE", "notes-test")
    app = create_app({"SQLALCHEMY_DATABASE_URI": database_url})
    assert app.config["PRECONDITIONS_LOCK"] == "off"
    assert app.config["PRECONDITIONS_LOCK_TIMEOUT"] == 2.5
    assert app.config["PRECONDITIONS_LOCK_NAMESPACE"] == "notes-test"
    with app.app_context():
        db.engine.dispose()


def test_configuration_given_wins_over_the_environment(
    monkeypatch: pytest.MonkeyPatch, database_url: str
) -> None:
    monkeypatch.setenv("PRECONDITIONS_LOCK", "off")
    app = create_app(
        {"SQLALCHEMY_DATABASE_URI": database_url, "PRECONDITIONS_LOCK": "thread"}
    )
    assert app.config["PRECONDITIONS_LOCK"] == "thread"
    with app.app_context():
        db.engine.dispose()


def test_head_reads_the_note_and_never_writes(client: FlaskClient) -> None:
    before = client.get("/notes/1")
    head = client.head("/notes/1", json={"title": "head", "text": "written?"})
    assert head.status_code == 200
    assert head.get_data() == b""
    assert head.headers["ETag"] == before.headers["ETag"]
    assert client.get("/notes/1").json == before.json


def test_read_missing_note_is_404(client: FlaskClient) -> None:
    assert client.get("/notes/9").status_code == 404


def test_replace_note_with_if_match(client: FlaskClient) -> None:
    old = etag_of(client)
    response = client.put(
        "/notes/1", json={"title": "Shop", "text": "eggs"}, headers={"If-Match": old}
    )
    assert response.status_code == 200
    assert response.json["text"] == "eggs"
    assert response.headers["ETag"] == etag_of(client) != old


def test_replace_answers_the_last_modified_it_wrote(client: FlaskClient) -> None:
    response = client.put(
        "/notes/1",
        json={"title": "Shop", "text": "eggs"},
        headers={"If-Match": etag_of(client)},
    )
    assert (
        response.headers["Last-Modified"]
        == (client.get("/notes/1").headers["Last-Modified"])
    )


def test_init_db_command_creates_the_tables(app: Flask) -> None:
    with app.app_context():
        db.drop_all()
    result = app.test_cli_runner().invoke(args=["init-db"])
    assert result.exit_code == 0
    assert "Tables ready" in result.output
    with app.app_context():
        assert {"notes", "counters"} <= set(sa.inspect(db.engine).get_table_names())


def test_replace_without_if_match_is_428(client: FlaskClient) -> None:
    response = client.put("/notes/1", json={"title": "Shop", "text": "eggs"})
    assert response.status_code == 428
    assert client.get("/notes/1").json["text"] == "milk"


def test_replace_with_stale_etag_is_412(client: FlaskClient) -> None:
    old = etag_of(client)
    client.patch("/notes/1", json={"text": "bread"}, headers={"If-Match": old})
    response = client.put(
        "/notes/1", json={"title": "Shop", "text": "eggs"}, headers={"If-Match": old}
    )
    assert response.status_code == 412
    assert client.get("/notes/1").json["text"] == "bread"


def test_patch_changes_only_the_given_fields(client: FlaskClient) -> None:
    response = client.patch(
        "/notes/1",
        data='{"text": "bread"}',
        content_type="application/merge-patch+json",
        headers={"If-Match": etag_of(client)},
    )
    assert response.status_code == 200
    assert response.json["title"] == "Shopping"
    assert response.json["text"] == "bread"


def test_delete_note(client: FlaskClient) -> None:
    response = client.delete("/notes/1", headers={"If-Match": etag_of(client)})
    assert response.status_code == 204
    assert client.get("/notes/1").status_code == 404


def test_put_with_if_none_match_star_creates_note(client: FlaskClient) -> None:
    response = client.put(
        "/notes/5",
        json={"title": "New", "text": "x"},
        headers={"If-None-Match": "*"},
    )
    assert response.status_code == 201
    assert response.headers["ETag"] == etag_of(client, "/notes/5")


def test_concurrent_creation_of_the_same_note_is_412(
    app: Flask, client: FlaskClient
) -> None:
    def created_meanwhile(mapper: t.Any, connection: t.Any, target: t.Any) -> None:
        with app.app_context(), db.engine.begin() as other:
            other.execute(
                sa.insert(Note.__table__).values(
                    id=target.id, title="Theirs", text="", version=new_version()
                )
            )

    sa.event.listen(Note, "before_insert", created_meanwhile)
    try:
        response = client.put(
            "/notes/5",
            json={"title": "Mine", "text": "x"},
            headers={"If-None-Match": "*"},
        )
    finally:
        sa.event.remove(Note, "before_insert", created_meanwhile)
    assert response.status_code == 412
    assert client.get("/notes/5").json["title"] == "Theirs"


@pytest.mark.parametrize(
    ("method", "body", "problem"),
    [
        ("POST", {"title": "x"}, "Missing fields ['text']"),
        ("POST", {"title": "x", "text": 3}, "must be a string"),
        ("POST", ["x"], "must be a JSON object"),
        ("POST", {"title": "x", "text": "", "colour": "red"}, "Unknown fields"),
        ("PUT", {"title": "x"}, "Missing fields ['text']"),
        ("PATCH", {"text": None}, "must be a string"),
    ],
)
def test_invalid_note_is_400_with_problem(
    client: FlaskClient, method: str, body: t.Any, problem: str
) -> None:
    if method == "POST":
        response = client.post("/notes", json=body)
    else:
        response = client.open(
            "/notes/1", method=method, json=body, headers={"If-Match": etag_of(client)}
        )
    assert response.status_code == 400
    assert response.mimetype == "application/problem+json"
    assert problem in response.json["detail"]


def test_body_that_is_not_json_is_400(client: FlaskClient) -> None:
    response = client.post("/notes", data="title=x", content_type="text/plain")
    assert response.status_code == 400
    assert "must be JSON" in response.json["detail"]


def test_sqlite_database_is_in_wal_mode(app: Flask) -> None:
    with app.app_context(), db.engine.connect() as connection:
        mode = connection.exec_driver_sql("PRAGMA journal_mode").scalar()
        timeout = connection.exec_driver_sql("PRAGMA busy_timeout").scalar()
    assert (mode, timeout) == ("wal", 5000)


# -- compare-and-swap on a Core table ---------------------------------------------


@pytest.fixture
def counter(app: Flask) -> str:
    with app.app_context():
        db.session.execute(
            sa.insert(counters).values(id=1, value=0, version=new_version())
        )
        db.session.commit()
    return "/counters/1"


def test_counter_put_with_current_etag_writes(
    client: FlaskClient, counter: str
) -> None:
    response = client.put(
        counter, json={"value": 1}, headers={"If-Match": etag_of(client, counter)}
    )
    assert response.status_code == 200
    assert client.get(counter).json == {"value": 1}


def test_counter_write_after_a_concurrent_change_is_412(
    app: Flask, client: FlaskClient, counter: str
) -> None:
    with app.app_context():
        engine = db.engine

    def write_first(conn: t.Any, cursor: t.Any, statement: str, *args: t.Any) -> None:
        # Between this request's check and its UPDATE, another one writes.
        if statement.startswith("UPDATE counters") and conn is not other:
            other.execute(
                sa.update(counters).values(value=41, version=counters.c.version + 1)
            )
            other.commit()

    etag = etag_of(client, counter)
    with engine.connect() as other:
        sa.event.listen(engine, "before_cursor_execute", write_first)
        try:
            response = client.put(
                counter, json={"value": 1}, headers={"If-Match": etag}
            )
        finally:
            sa.event.remove(engine, "before_cursor_execute", write_first)
    assert response.status_code == 412
    assert client.get(counter).json == {"value": 41}


def test_counter_write_takes_no_lock(database_url: str) -> None:
    # Its conditional_update is the compare-and-swap (atomic=True): a write
    # lock held by another request does not hold it up.
    locks = ThreadLocks()
    app = create_app(
        {
            "SQLALCHEMY_DATABASE_URI": database_url,
            "PRECONDITIONS_LOCK": locks,
            "PRECONDITIONS_LOCK_TIMEOUT": 0,
        }
    )
    with app.app_context():
        db.session.execute(
            sa.insert(counters).values(id=1, value=0, version=new_version())
        )
        db.session.commit()
    client = app.test_client()
    key = resource_key(app.import_name, "counters.put_counter", {"counter_id": 1})
    held = locks.acquire(key, 0)
    try:
        response = client.put(
            "/counters/1",
            json={"value": 1},
            headers={"If-Match": etag_of(client, "/counters/1")},
        )
    finally:
        held.release()
    assert response.status_code == 200
    with app.app_context():
        db.engine.dispose()


# -- the same API in every mode of the extension -----------------------------------


@pytest.fixture(params=modes.MODES)
def mode_client(
    request: pytest.FixtureRequest, database_url: str
) -> t.Iterator[FlaskClient]:
    modes.seed_counter(database_url)
    app = modes.create_app(
        request.param, {"SQLALCHEMY_DATABASE_URI": database_url, "TESTING": True}
    )
    yield app.test_client()
    with app.app_context():
        db.engine.dispose()


def test_every_mode_creates_replaces_and_deletes(mode_client: FlaskClient) -> None:
    note = {"title": "t", "text": "one"}
    created = mode_client.put("/notes/5", json=note, headers={"If-None-Match": "*"})
    assert created.status_code == 201
    assert created.headers["ETag"] == etag_of(mode_client, "/notes/5")
    replaced = mode_client.put(
        "/notes/5",
        json={"title": "t", "text": "two"},
        headers={"If-Match": created.headers["ETag"]},
    )
    assert replaced.status_code == 200
    assert replaced.headers["ETag"] == etag_of(mode_client, "/notes/5")
    stale = mode_client.put(
        "/notes/5", json=note, headers={"If-Match": created.headers["ETag"]}
    )
    assert stale.status_code == 412
    deleted = mode_client.delete(
        "/notes/5", headers={"If-Match": replaced.headers["ETag"]}
    )
    assert deleted.status_code == 204
    assert mode_client.get("/notes/5").status_code == 404


def test_every_mode_answers_head_without_writing(mode_client: FlaskClient) -> None:
    before = mode_client.get("/notes/1")
    head = mode_client.head("/notes/1", json={"title": "head", "text": "999"})
    assert (head.status_code, head.get_data()) == (200, b"")
    assert mode_client.get("/notes/1").json == before.json


def test_every_mode_requires_if_match(mode_client: FlaskClient) -> None:
    response = mode_client.put("/notes/1", json={"title": "t", "text": "1"})
    assert response.status_code == 428


def test_an_unknown_mode_is_refused() -> None:
    with pytest.raises(ValueError, match="mode must be one of"):
        modes.create_app("optimistic")


# -- the retrying client recipes ----------------------------------------------------


def append(word: str) -> t.Callable[[dict[str, t.Any]], dict[str, t.Any]]:
    def change(note: dict[str, t.Any]) -> dict[str, t.Any]:
        return {"title": note["title"], "text": f"{note['text']}, {word}"}

    return change


def test_httpx_recipe_reapplies_its_change_after_a_412(app: Flask) -> None:
    transport = httpx.WSGITransport(app=app)
    with (
        httpx.Client(transport=transport, base_url="http://notes") as http,
        httpx.Client(transport=transport, base_url="http://notes") as other,
    ):
        calls = 0

        def change(note: dict[str, t.Any]) -> dict[str, t.Any]:
            nonlocal calls
            calls += 1
            if calls == 1:
                retrying_client.edit(other, "/notes/1", append("bread"))
            return append("eggs")(note)

        written = retrying_client.edit(http, "/notes/1", change)
    assert calls == 2
    assert written["text"] == "milk, bread, eggs"


def test_httpx_recipe_gives_up_after_max_attempts(app: Flask) -> None:
    transport = httpx.WSGITransport(app=app)
    with httpx.Client(transport=transport, base_url="http://notes") as http:

        def always_overtaken(note: dict[str, t.Any]) -> dict[str, t.Any]:
            retrying_client.edit(http, "/notes/1", append("theirs"))
            return append("mine")(note)

        with pytest.raises(retrying_client.EditFailed, match="3 attempts"):
            retrying_client.edit(http, "/notes/1", always_overtaken, attempts=3)


@pytest.mark.slow
def test_requests_recipe_reapplies_its_change_after_a_412(
    app: Flask, database_url: str
) -> None:
    with (
        gunicorn(
            "examples.notes.app:create_app()",
            env={"NOTES_DATABASE_URL": database_url},
            workers=2,
        ) as base_url,
        requests.Session() as http,
        requests.Session() as other,
    ):
        url = f"{base_url}/notes/1"
        calls = 0

        def change(note: dict[str, t.Any]) -> dict[str, t.Any]:
            nonlocal calls
            calls += 1
            if calls == 1:
                retrying_client.edit(other, url, append("bread"))
            return append("eggs")(note)

        written = retrying_client.edit(http, url, change)
    assert calls == 2
    assert written["text"] == "milk, bread, eggs"


# -- the server helper and make demo ------------------------------------------------


@pytest.mark.slow
def test_server_is_stopped_when_the_block_ends(database_url: str) -> None:
    with (
        gunicorn(
            "examples.notes.app:create_app()",
            env={"NOTES_DATABASE_URL": database_url},
            workers=1,
        ) as base_url,
        urllib.request.urlopen(f"{base_url}/notes", timeout=5) as response,
    ):
        assert response.status == 200
    with pytest.raises(urllib.error.URLError):
        urllib.request.urlopen(f"{base_url}/notes", timeout=5)


@pytest.mark.slow
def test_demo_tells_the_story() -> None:
    completed = subprocess.run(
        [sys.executable, os.path.join(ROOT, "examples", "demo.py")],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=ROOT,
        check=False,
    )
    assert completed.returncode == 0, completed.stdout + completed.stderr
    out = completed.stdout
    for status in ("-> 201", "-> 428", "-> 412", "-> 304"):
        assert status in out
    races = out.split("increments each, of one counter")[1]
    unlocked, rest = races.split("zero configuration (the default file lock)")
    zero_configuration, example = rest.split("the notes example")
    assert "PRECONDITIONS_LOCK=off" in unlocked
    assert "acknowledged updates LOST" in unlocked
    for kept in (zero_configuration, example):
        assert "no acknowledged update lost" in kept
        assert "server errors (5xx)               0" in kept
