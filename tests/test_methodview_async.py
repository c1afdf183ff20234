"""MethodView classes and ``async def`` views."""

from __future__ import annotations

import asyncio
import typing as t

import pytest
from flask import Flask
from flask import request
from flask.testing import FlaskClient
from flask.views import MethodView

from flask_preconditions import expected_version
from flask_preconditions import Preconditions
from helpers import etag
from helpers import Store


def note_view_class(store: Store) -> type[MethodView]:
    class NoteAPI(MethodView):
        def get(self, note_id: int) -> t.Any:
            store.view_calls += 1
            return {"text": store.notes[note_id].text}

        def put(self, note_id: int) -> t.Any:
            store.view_calls += 1
            store.write("PUT", note_id, request.get_data(as_text=True))
            return {"expected": expected_version()}

        def delete(self, note_id: int) -> t.Any:
            store.view_calls += 1
            store.write("DELETE", note_id, None)
            return "", 204

    return NoteAPI


# -- class-level decorators ----------------------------------------------------------


@pytest.fixture
def class_decorated(app: Flask, pre: Preconditions, store: Store) -> Store:
    class Decorated(note_view_class(store)):  # type: ignore[misc]
        decorators: t.ClassVar = [pre.etag(store.version)]

    app.add_url_rule("/notes/<int:note_id>", view_func=Decorated.as_view("note"))
    return store


def test_class_decorated_get_carries_the_version_etag(
    class_decorated: Store, client: FlaskClient
) -> None:
    assert client.get("/notes/1").headers["ETag"] == etag(1)


def test_class_decorated_304_does_not_run_the_view(
    class_decorated: Store, client: FlaskClient
) -> None:
    response = client.get("/notes/1", headers={"If-None-Match": etag(1)})
    assert response.status_code == 304
    assert class_decorated.view_calls == 0


def test_class_decorated_put_without_if_match_is_428(
    class_decorated: Store, client: FlaskClient
) -> None:
    assert client.put("/notes/1", data="x").status_code == 428
    assert class_decorated.view_calls == 0


def test_class_decorated_put_with_stale_if_match_is_412(
    class_decorated: Store, client: FlaskClient
) -> None:
    response = client.put("/notes/1", data="x", headers={"If-Match": etag(0)})
    assert response.status_code == 412
    assert class_decorated.writes == []


def test_class_decorated_put_writes_and_carries_the_new_etag(
    class_decorated: Store, client: FlaskClient
) -> None:
    response = client.put("/notes/1", data="x", headers={"If-Match": etag(1)})
    assert response.get_json() == {"expected": 1}
    assert response.headers["ETag"] == etag(2)


# -- per-method decoration ------------------------------------------------------------


def per_method_class(pre: Preconditions, store: Store) -> type[MethodView]:
    class PerMethod(MethodView):
        @pre.etag(store.version)
        def get(self, note_id: int) -> t.Any:
            store.view_calls += 1
            return {"text": store.notes[note_id].text}

        @pre.etag(store.version)
        def put(self, note_id: int) -> t.Any:
            store.view_calls += 1
            store.write("PUT", note_id, request.get_data(as_text=True))
            return {"expected": expected_version()}

        def delete(self, note_id: int) -> t.Any:
            store.write("DELETE", note_id, None)
            return "", 204

    return PerMethod


@pytest.fixture
def per_method(app: Flask, pre: Preconditions, store: Store) -> Store:
    view = per_method_class(pre, store).as_view("note")
    app.add_url_rule("/notes/<int:note_id>", view_func=view)
    return store


def test_per_method_get_carries_the_version_etag(
    per_method: Store, client: FlaskClient
) -> None:
    assert client.get("/notes/1").headers["ETag"] == etag(1)


def test_per_method_head_uses_the_decorated_get(
    per_method: Store, client: FlaskClient
) -> None:
    response = client.head("/notes/1", headers={"If-None-Match": etag(1)})
    assert response.status_code == 304
    assert per_method.view_calls == 0


def test_per_method_put_without_if_match_is_428(
    per_method: Store, client: FlaskClient
) -> None:
    assert client.put("/notes/1", data="x").status_code == 428
    assert per_method.view_calls == 0


def test_per_method_put_with_current_if_match_writes(
    per_method: Store, client: FlaskClient
) -> None:
    response = client.put("/notes/1", data="x", headers={"If-Match": etag(1)})
    assert response.get_json() == {"expected": 1}
    assert response.headers["ETag"] == etag(2)


def test_undecorated_method_is_checked_app_wide_against_the_get(
    per_method: Store, client: FlaskClient
) -> None:
    assert client.delete("/notes/1").status_code == 428
    response = client.delete("/notes/1", headers={"If-Match": etag(1)})
    assert response.status_code == 204


def test_per_method_decoration_works_without_app_wide_mode(store: Store) -> None:
    app = Flask("per_method")
    pre = Preconditions(app, app_wide=False)
    view = per_method_class(pre, store).as_view("note")
    app.add_url_rule("/notes/<int:note_id>", view_func=view)
    client = app.test_client()
    assert client.put("/notes/1", data="x").status_code == 428
    # Not decorated and not app-wide: left alone.
    assert client.delete("/notes/1").status_code == 204


def test_exempt_method_view_class_accepts_unconditional_writes(
    app: Flask, pre: Preconditions, store: Store, client: FlaskClient
) -> None:
    @pre.exempt
    class Exempt(MethodView):
        def get(self, note_id: int) -> str:
            return "text"

        def put(self, note_id: int) -> str:
            return "written"

    app.add_url_rule("/notes/<int:note_id>", view_func=Exempt.as_view("note"))
    assert client.put("/notes/1", data="x").status_code == 200


def test_exempt_method_of_a_method_view_accepts_unconditional_writes(
    app: Flask, pre: Preconditions, store: Store, client: FlaskClient
) -> None:
    class Partly(MethodView):
        def get(self, note_id: int) -> str:
            return "text"

        @pre.exempt
        def put(self, note_id: int) -> str:
            return "written"

    app.add_url_rule("/notes/<int:note_id>", view_func=Partly.as_view("note"))
    assert client.put("/notes/1").status_code == 200
    assert client.delete("/notes/1").status_code == 405


# -- async views -----------------------------------------------------------------------


@pytest.fixture
def async_notes(app: Flask, pre: Preconditions, store: Store) -> Store:
    @app.route("/notes/<int:note_id>", methods=["GET", "PUT"])
    @pre.etag(store.version)
    async def note(note_id: int) -> t.Any:
        await asyncio.sleep(0)
        store.view_calls += 1
        if request.method == "GET":
            return {"text": store.notes[note_id].text}
        store.write("PUT", note_id, request.get_data(as_text=True))
        return {"expected": expected_version()}

    return store


def test_async_view_get_carries_the_version_etag(
    async_notes: Store, client: FlaskClient
) -> None:
    response = client.get("/notes/1")
    assert response.get_json() == {"text": "first"}
    assert response.headers["ETag"] == etag(1)


def test_async_view_304_does_not_run_the_view(
    async_notes: Store, client: FlaskClient
) -> None:
    response = client.get("/notes/1", headers={"If-None-Match": etag(1)})
    assert response.status_code == 304
    assert async_notes.view_calls == 0


def test_async_view_put_without_if_match_is_428(
    async_notes: Store, client: FlaskClient
) -> None:
    assert client.put("/notes/1", data="x").status_code == 428
    assert async_notes.view_calls == 0


def test_async_view_put_writes_and_carries_the_new_etag(
    async_notes: Store, client: FlaskClient
) -> None:
    response = client.put("/notes/1", data="x", headers={"If-Match": etag(1)})
    assert response.get_json() == {"expected": 1}
    assert response.headers["ETag"] == etag(2)


def test_async_view_with_an_async_version_function(
    app: Flask, pre: Preconditions, store: Store, client: FlaskClient
) -> None:
    async def version(note_id: int) -> int | None:
        await asyncio.sleep(0)
        return store.version(note_id)

    @app.route("/async-version/<int:note_id>", methods=["GET", "PUT"])
    @pre.etag(version)
    async def note(note_id: int) -> str:
        return "ok"

    assert client.get("/async-version/1").headers["ETag"] == etag(1)
    assert client.put("/async-version/1").status_code == 428


def test_sync_view_with_an_async_version_function(
    app: Flask, pre: Preconditions, store: Store, client: FlaskClient
) -> None:
    async def version(note_id: int) -> int | None:
        return store.version(note_id)

    @app.get("/sync-view/<int:note_id>")
    @pre.etag(version)
    def note(note_id: int) -> str:
        return "ok"

    assert client.get("/sync-view/1").headers["ETag"] == etag(1)


def test_bare_etag_on_an_async_view_hashes_the_body(
    app: Flask, pre: Preconditions, client: FlaskClient
) -> None:
    texts = {"doc": "async body"}

    @app.route("/async-doc", methods=["GET", "PUT"])
    @pre.etag
    async def doc() -> str:
        if request.method == "PUT":
            texts["doc"] = request.get_data(as_text=True)
        return texts["doc"]

    current = client.get("/async-doc").headers["ETag"]
    assert (
        client.get("/async-doc", headers={"If-None-Match": current}).status_code == 304
    )
    assert client.put("/async-doc", data="x").status_code == 428
    assert (
        client.put("/async-doc", data="x", headers={"If-Match": current}).status_code
        == 200
    )
    assert texts["doc"] == "x"


def test_async_method_view_method_can_be_decorated(
    app: Flask, pre: Preconditions, store: Store, client: FlaskClient
) -> None:
    class AsyncNote(MethodView):
        @pre.etag(store.version)
        async def get(self, note_id: int) -> str:
            return "text"

    app.add_url_rule("/notes/<int:note_id>", view_func=AsyncNote.as_view("note"))
    response = client.get("/notes/1", headers={"If-None-Match": etag(1)})
    assert response.status_code == 304
