"""The per-resource write lock, as requests see it.

The multi-process proof under gunicorn is in ``test_lost_update.py``; these
tests run concurrent clients on threads of one process, and check what the
lock covers, what it does not, and the 503 of a write that cannot take it.
"""

from __future__ import annotations

import gc
import threading
import time
import typing as t

import pytest
from flask import Blueprint
from flask import Flask
from flask import request
from flask.testing import FlaskClient

from flask_preconditions import Preconditions
from flask_preconditions import PROBLEM_MEDIA_TYPE
from flask_preconditions.compat import DISPATCH_TAKES_CONTEXT
from flask_preconditions.locks import LockTimeout
from flask_preconditions.locks import resource_key
from flask_preconditions.locks import ThreadLocks

MODES = ["app-wide", "blueprint", "bare-etag", "version-function"]


class Counter:
    """A counter whose write is a plain read-modify-write: no compare-and-swap."""

    def __init__(self) -> None:
        self.value = 0
        self.version = 1

    def increment(self, by: int) -> None:
        value, version = self.value, self.version
        # Widen the window between the read and the write, as a slow database
        # would: without the lock, two requests checked against the same
        # version both get here.
        time.sleep(0.002)
        self.value, self.version = value + by, version + 1


def counter_app(mode: str, lock: t.Any) -> tuple[Flask, Counter]:
    app = Flask(f"counter_{mode.replace('-', '_')}")
    app.testing = True
    counter = Counter()
    pre = Preconditions(app, app_wide=mode == "app-wide", lock=lock)
    scope: Flask | Blueprint = app
    if mode == "blueprint":
        scope = pre.protect(Blueprint("api", __name__))

    def view() -> t.Any:
        if request.method == "PUT":
            counter.increment(int(request.get_json()["by"]))
        return {"value": counter.value}

    if mode == "bare-etag":
        view = pre.etag(view)
    elif mode == "version-function":
        view = pre.etag(lambda: counter.version)(view)
    scope.add_url_rule("/counter", "counter", view, methods=["GET", "PUT"])
    if isinstance(scope, Blueprint):
        app.register_blueprint(scope)
    return app, counter


def race(app: Flask, clients: int = 6, increments: int = 15) -> tuple[int, int]:
    """Concurrent read-modify-write clients; returns (acknowledged, final)."""
    acknowledged = [0] * clients
    deadline = time.monotonic() + 30

    def client_loop(number: int) -> None:
        client = app.test_client()
        for _ in range(increments):
            while time.monotonic() < deadline:
                read = client.get("/counter")
                response = client.put(
                    "/counter",
                    json={"by": 1},
                    headers={"If-Match": read.headers["ETag"]},
                )
                if response.status_code == 200:
                    acknowledged[number] += 1
                    break
                assert response.status_code == 412, response.get_data(as_text=True)

    threads = [threading.Thread(target=client_loop, args=(n,)) for n in range(clients)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return sum(acknowledged), app.test_client().get("/counter").get_json()["value"]


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("lock", ["thread", "file"])
def test_concurrent_writes_lose_nothing_in_every_mode(mode: str, lock: str) -> None:
    app, _ = counter_app(mode, lock)
    acknowledged, final = race(app)
    assert acknowledged == 6 * 15
    assert final == acknowledged


@pytest.mark.parametrize("mode", MODES)
def test_without_the_lock_the_same_race_loses_writes(mode: str) -> None:
    # The negative control: the race above can see a lost update.
    app, _ = counter_app(mode, "off")
    acknowledged, final = race(app)
    assert final < acknowledged


@pytest.fixture
def locks() -> ThreadLocks:
    return ThreadLocks()


def held(locks: ThreadLocks, app: Flask, rule: str, **view_args: t.Any) -> t.Any:
    """Take the lock a write to ``rule`` would take, as another request: the
    key names the URL rule and its arguments."""
    return locks.acquire(resource_key(app.import_name, rule, view_args), 0)


def note_lock(locks: ThreadLocks, app: Flask) -> str:
    """Whether a write to note 1 holds its lock now: "held" or "free"."""
    try:
        held(locks, app, "/notes/<int:note_id>", note_id=1).release()
    except LockTimeout:
        return "held"
    return "free"


@pytest.fixture
def notes_app(locks: ThreadLocks) -> tuple[Flask, Preconditions, dict[int, str]]:
    app = Flask("notes_app")
    app.testing = True
    app.config["PRECONDITIONS_LOCK_TIMEOUT"] = 0
    pre = Preconditions(app, lock=locks)
    notes = {1: "one"}

    @app.route("/notes/<int:note_id>", methods=["GET", "PUT"])
    def note(note_id: int) -> str:
        if request.method == "PUT":
            notes[note_id] = request.get_data(as_text=True)
        return notes[note_id]

    return app, pre, notes


def test_a_write_that_cannot_take_the_lock_is_503_and_writes_nothing(
    notes_app: tuple[Flask, Preconditions, dict[int, str]], locks: ThreadLocks
) -> None:
    app, _, notes = notes_app
    client = app.test_client()
    etag = client.get("/notes/1").headers["ETag"]
    other = held(locks, app, "/notes/<int:note_id>", note_id=1)
    response = client.put("/notes/1", data="two", headers={"If-Match": etag})
    other.release()
    assert response.status_code == 503
    assert response.mimetype == PROBLEM_MEDIA_TYPE
    assert response.headers["Retry-After"] == "1"
    assert "nothing was written" in response.get_json()["detail"]
    assert notes == {1: "one"}
    # Once the other request is done, the same request goes through.
    assert (
        client.put("/notes/1", data="two", headers={"If-Match": etag}).status_code
        == 200
    )


def test_reads_do_not_wait_for_a_write_lock(
    notes_app: tuple[Flask, Preconditions, dict[int, str]], locks: ThreadLocks
) -> None:
    app, _, _ = notes_app
    other = held(locks, app, "/notes/<int:note_id>", note_id=1)
    try:
        client = app.test_client()
        assert client.get("/notes/1").status_code == 200
        assert client.head("/notes/1").status_code == 200
    finally:
        other.release()


def test_other_resources_do_not_wait(
    notes_app: tuple[Flask, Preconditions, dict[int, str]], locks: ThreadLocks
) -> None:
    app, _, notes = notes_app
    notes[2] = "deux"
    client = app.test_client()
    etag = client.get("/notes/2").headers["ETag"]
    other = held(locks, app, "/notes/<int:note_id>", note_id=1)
    try:
        response = client.put("/notes/2", data="zwei", headers={"If-Match": etag})
        assert response.status_code == 200
    finally:
        other.release()


def test_the_lock_is_released_when_the_view_fails(
    notes_app: tuple[Flask, Preconditions, dict[int, str]], locks: ThreadLocks
) -> None:
    app, _, _ = notes_app

    @app.route("/broken", methods=["GET", "PUT"])
    def broken() -> str:
        if request.method == "PUT":
            raise ValueError("the database went away")
        return "broken"

    client = app.test_client()
    etag = client.get("/broken").headers["ETag"]
    with pytest.raises(ValueError):
        client.put("/broken", headers={"If-Match": etag})
    # Taken and released: the lock is free again.
    held(locks, app, "/broken").release()


def test_the_lock_covers_the_apps_teardown_handlers(
    notes_app: tuple[Flask, Preconditions, dict[int, str]], locks: ThreadLocks
) -> None:
    # An app that commits in teardown_request or teardown_appcontext commits
    # under the lock; it is released once the request is torn down.
    app, _, _ = notes_app
    seen: list[str] = []
    writing: list[bool] = []

    @app.before_request
    def note_method() -> None:
        if request.method == "PUT":
            writing.append(True)

    def try_lock(error: BaseException | None) -> None:
        if not writing:
            return
        seen.append(note_lock(locks, app))

    app.teardown_request(try_lock)
    app.teardown_appcontext(try_lock)
    client = app.test_client()
    etag = client.get("/notes/1").headers["ETag"]
    assert (
        client.put("/notes/1", data="two", headers={"If-Match": etag}).status_code
        == 200
    )
    assert seen == ["held", "held"]
    held(locks, app, "/notes/<int:note_id>", note_id=1).release()


def dispatch_by_hand(app: Flask, *args: t.Any, **kwargs: t.Any) -> tuple[int, t.Any]:
    """A request dispatched without app.wsgi_app, as some tests do: its
    status, once its context is popped, and the context."""
    with app.test_request_context(*args, **kwargs) as ctx:
        # Flask 3.2 passes the context.
        dispatch: t.Any = app.full_dispatch_request
        status: int = dispatch(*((ctx,) if DISPATCH_TAKES_CONTEXT else ())).status_code
    return status, ctx


def test_a_write_dispatched_without_wsgi_app_releases_its_lock(
    notes_app: tuple[Flask, Preconditions, dict[int, str]], locks: ThreadLocks
) -> None:
    # test_request_context() and full_dispatch_request() bypass app.wsgi_app,
    # whose wrapper releases locks: the request's teardown does instead, at
    # once, though the request object lives on (the context is still bound
    # to a name, and on Flask 3.2 it makes a cycle with the request).
    app, _, notes = notes_app
    client = app.test_client()
    seen: list[str] = []

    @app.teardown_request
    def try_lock(error: BaseException | None) -> None:
        seen.append(note_lock(locks, app))

    gc.disable()
    try:
        for text in ("two", "three"):
            etag = client.get("/notes/1").headers["ETag"]
            seen.clear()
            # The context, and with it the request object, kept alive.
            status, ctx = dispatch_by_hand(
                app, "/notes/1", method="PUT", data=text, headers={"If-Match": etag}
            )
            assert status == 200
            assert ctx.request.method == "PUT"
            assert notes[1] == text
            # Held through the app's teardown_request functions, then freed.
            assert seen == ["held"]
            held(locks, app, "/notes/<int:note_id>", note_id=1).release()
    finally:
        gc.enable()


def test_after_a_write_by_hand_served_writes_keep_the_lock_through_teardown(
    notes_app: tuple[Flask, Preconditions, dict[int, str]], locks: ThreadLocks
) -> None:
    # The teardown release of requests dispatched by hand leaves the requests
    # served through wsgi_app to its wrapper: their teardown_appcontext
    # functions still run under the lock.
    app, _, _ = notes_app
    seen: list[str] = []
    served: list[bool] = []

    @app.teardown_appcontext
    def try_lock(error: BaseException | None) -> None:
        # (On Flask 3.0 and 3.1 the request is gone by then.)
        if not served:
            return
        seen.append(note_lock(locks, app))

    client = app.test_client()
    etag = client.get("/notes/1").headers["ETag"]
    status, _ = dispatch_by_hand(
        app, "/notes/1", method="PUT", data="two", headers={"If-Match": etag}
    )
    assert status == 200
    etag = client.get("/notes/1").headers["ETag"]
    served.append(True)
    response = client.put("/notes/1", data="three", headers={"If-Match": etag})
    assert response.status_code == 200
    assert seen == ["held"]
    held(locks, app, "/notes/<int:note_id>", note_id=1).release()


def test_an_environ_used_twice_starts_with_no_record(locks: ThreadLocks) -> None:
    import io

    from werkzeug.test import EnvironBuilder

    from flask_preconditions import set_new_version

    app = Flask("reused")
    pre = Preconditions(app, lock=locks)
    data = {"version": 1}

    @app.route("/x", methods=["GET", "PUT"])
    @pre.etag(lambda: data["version"])
    def x() -> dict[str, int]:
        if request.method == "PUT":
            data["version"] += 1
            if request.args.get("declare"):
                set_new_version(data["version"])
        return data

    client = app.test_client()
    environ = EnvironBuilder(
        "/x",
        method="PUT",
        query_string="declare=1",
        headers={"If-Match": client.get("/x").headers["ETag"]},
    ).get_environ()
    tags = []
    captured: list[list[tuple[str, str]]] = []
    for query in ("declare=1", ""):
        environ.update(
            QUERY_STRING=query,
            HTTP_IF_MATCH=client.get("/x").headers["ETag"],
            **{"wsgi.input": io.BytesIO()},
        )
        app(environ, lambda status, h, exc_info=None: captured.append(h))
        tags.append(dict(captured[-1])["ETag"])
    # The second write declared nothing: its tag is the version function's,
    # not the version the first one declared.
    assert tags[1] == client.get("/x").headers["ETag"] != tags[0]
    held(locks, app, "/x").release()


def test_a_compare_and_swap_view_takes_no_lock(
    notes_app: tuple[Flask, Preconditions, dict[int, str]], locks: ThreadLocks
) -> None:
    app, pre, _ = notes_app
    versions = {1: 1}

    @app.route("/atomic/<int:note_id>", methods=["GET", "PUT"])
    @pre.etag(lambda note_id: versions.get(note_id), atomic=True)
    def atomic(note_id: int) -> str:
        return "ok"

    client = app.test_client()
    etag = client.get("/atomic/1").headers["ETag"]
    other = held(locks, app, "/atomic/<int:note_id>", note_id=1)
    try:
        response = client.put("/atomic/1", headers={"If-Match": etag})
        assert response.status_code == 200
    finally:
        other.release()


def test_resource_key_gives_several_urls_one_lock(
    notes_app: tuple[Flask, Preconditions, dict[int, str]], locks: ThreadLocks
) -> None:
    app, pre, notes = notes_app

    @app.route("/users/<user>/notes/<int:note_id>", methods=["GET", "PUT"])
    @pre.resource_key(lambda note_id, **_: f"note:{note_id}")
    def user_note(user: str, note_id: int) -> str:
        if request.method == "PUT":
            notes[note_id] = request.get_data(as_text=True)
        return notes[note_id]

    client = app.test_client()
    etag = client.get("/users/ann/notes/1").headers["ETag"]
    other = locks.acquire(resource_key(app.import_name, "", {"resource": "note:1"}), 0)
    try:
        response = client.put(
            "/users/ann/notes/1", data="two", headers={"If-Match": etag}
        )
        assert response.status_code == 503
    finally:
        other.release()


def test_two_applications_on_one_backend_do_not_contend(locks: ThreadLocks) -> None:
    apps = []
    for name in ("first_app", "second_app"):
        app = Flask(name)
        app.config["PRECONDITIONS_LOCK_TIMEOUT"] = 0
        Preconditions(app, lock=locks)

        @app.route("/thing", methods=["GET", "PUT"])
        def thing() -> str:
            return "thing"

        apps.append(app)
    other = held(locks, apps[0], "/thing")
    try:
        client = apps[1].test_client()
        etag = client.get("/thing").headers["ETag"]
        assert client.put("/thing", headers={"If-Match": etag}).status_code == 200
    finally:
        other.release()


def test_a_body_hash_write_gets_the_etag_of_what_it_wrote(
    notes_app: tuple[Flask, Preconditions, dict[int, str]],
) -> None:
    app, _, _ = notes_app
    client: FlaskClient = app.test_client()
    etag = client.get("/notes/1").headers["ETag"]
    response = client.put("/notes/1", data="two", headers={"If-Match": etag})
    assert response.status_code == 200
    assert response.headers["ETag"] == client.get("/notes/1").headers["ETag"]
    assert response.headers["ETag"] != etag


def test_with_the_lock_off_a_body_hash_write_gets_no_etag() -> None:
    # Without the lock, a GET after the write could name another request's
    # later write, which the client has not seen.
    app = Flask("unlocked")
    Preconditions(app, lock="off")

    @app.route("/thing", methods=["GET", "PUT"])
    def thing() -> str:
        return "thing"

    client = app.test_client()
    etag = client.get("/thing").headers["ETag"]
    response = client.put("/thing", headers={"If-Match": etag})
    assert response.status_code == 200
    assert "ETag" not in response.headers


@pytest.mark.parametrize(
    ("key", "value", "message"),
    [
        ("PRECONDITIONS_LOCK", "zookeeper", "names no lock backend"),
        ("PRECONDITIONS_LOCK_TIMEOUT", -1, "PRECONDITIONS_LOCK_TIMEOUT"),
        ("PRECONDITIONS_LOCK_TIMEOUT", "10", "PRECONDITIONS_LOCK_TIMEOUT"),
        ("PRECONDITIONS_LOCK_RETRY_AFTER", 1.5, "PRECONDITIONS_LOCK_RETRY_AFTER"),
        ("PRECONDITIONS_LOCK_NAMESPACE", "", "PRECONDITIONS_LOCK_NAMESPACE"),
    ],
)
def test_bad_lock_settings_are_refused_at_init_app(
    key: str, value: t.Any, message: str
) -> None:
    app = Flask(__name__)
    app.config[key] = value
    with pytest.raises((TypeError, ValueError), match=message):
        Preconditions(app)


def test_the_views_of_one_url_share_its_lock(locks: ThreadLocks) -> None:
    # A PUT view and a DELETE view of one URL: if they took different locks,
    # a DELETE checked against the version a PUT has just replaced could
    # delete a write it never saw.
    app = Flask("split_views")
    app.config["PRECONDITIONS_LOCK_TIMEOUT"] = 0
    Preconditions(app, lock=locks)
    notes = {1: "one"}

    @app.get("/notes/<int:note_id>")
    def read(note_id: int) -> str:
        return notes[note_id]

    @app.delete("/notes/<int:note_id>")
    def delete(note_id: int) -> tuple[str, int]:
        del notes[note_id]
        return "", 204

    client = app.test_client()
    etag = client.get("/notes/1").headers["ETag"]
    other = held(locks, app, "/notes/<int:note_id>", note_id=1)
    try:
        response = client.delete("/notes/1", headers={"If-Match": etag})
    finally:
        other.release()
    assert response.status_code == 503
    assert notes == {1: "one"}
