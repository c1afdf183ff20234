"""The validators of a write's response: one rule for a view's own ETag, 201s,
and a write that succeeded whatever happens after it."""

from __future__ import annotations

import datetime as dt
import logging
import typing as t

import pytest
from flask import Flask
from flask import request
from flask import url_for
from werkzeug.http import http_date

from flask_preconditions import Preconditions
from flask_preconditions import set_new_version
from helpers import etag

UTC = dt.timezone.utc


@pytest.fixture
def app() -> Flask:
    app = Flask(__name__)
    app.testing = True
    return app


def test_a_201_carries_the_created_resources_etag_and_date(app: Flask) -> None:
    pre = Preconditions(app, app_wide=False)
    created = dt.datetime(2024, 5, 1, 12, 0, tzinfo=UTC)

    @app.get("/notes/<int:note_id>")
    def note(note_id: int) -> str:
        return "note"

    @app.post("/notes")
    @pre.exempt
    def create_note() -> t.Any:
        set_new_version(7, last_modified=created)
        return "created", 201, {"Location": url_for("note", note_id=3)}

    response = app.test_client().post("/notes")
    assert response.status_code == 201
    assert response.headers["ETag"] == etag(7)
    assert response.headers["Last-Modified"] == http_date(created)
    assert response.headers["Location"].endswith("/notes/3")


def test_a_view_that_sets_its_own_etag_keeps_it_with_set_new_version(
    app: Flask,
) -> None:
    Preconditions(app, app_wide=False)

    @app.post("/things")
    def create() -> t.Any:
        set_new_version(7)
        return "created", 201, {"ETag": '"own"'}

    assert app.test_client().post("/things").headers["ETag"] == '"own"'


def test_an_error_response_gets_no_etag_from_set_new_version(app: Flask) -> None:
    Preconditions(app, app_wide=False)

    @app.post("/things")
    def create() -> t.Any:
        set_new_version(7)
        return "refused", 409

    assert "ETag" not in app.test_client().post("/things").headers


def version_app(app: Flask, versions: dict[int, int]) -> Flask:
    pre = Preconditions(app)

    @app.route("/notes/<int:note_id>", methods=["GET", "PUT"])
    @pre.etag(lambda note_id: versions.get(note_id))
    def note(note_id: int) -> t.Any:
        if request.method == "PUT":
            versions[note_id] += 1
        return "note", 200, {"ETag": '"the-views-own"'}

    return app


def test_with_a_version_function_the_extensions_etag_wins_on_get_and_put(
    app: Flask,
) -> None:
    versions = {1: 1}
    client = version_app(app, versions).test_client()
    read = client.get("/notes/1")
    assert read.headers["ETag"] == etag(1)
    written = client.put("/notes/1", headers={"If-Match": read.headers["ETag"]})
    assert written.headers["ETag"] == etag(2)
    # Chaining from the write's tag works.
    again = client.put("/notes/1", headers={"If-Match": written.headers["ETag"]})
    assert again.status_code == 200


def test_with_body_hashes_the_views_own_etag_wins_on_get_and_put(app: Flask) -> None:
    Preconditions(app)
    state = {"tag": '"v1"'}

    @app.route("/doc", methods=["GET", "PUT"])
    def doc() -> t.Any:
        if request.method == "PUT":
            state["tag"] = '"v2"'
        return "doc", 200, {"ETag": state["tag"]}

    client = app.test_client()
    assert client.get("/doc").headers["ETag"] == '"v1"'
    written = client.put("/doc", headers={"If-Match": '"v1"'})
    assert written.headers["ETag"] == '"v2"'
    assert client.put("/doc", headers={"If-Match": '"v2"'}).status_code == 200


def test_a_write_whose_new_validators_fail_is_still_2xx(
    app: Flask, caplog: pytest.LogCaptureFixture
) -> None:
    pre = Preconditions(app, app_wide=False)
    versions = {1: 1}
    calls = {"n": 0}

    def flaky_version(note_id: int) -> int:
        calls["n"] += 1
        if calls["n"] > 1:
            raise ConnectionError("the database went away after the commit")
        return versions[note_id]

    writes: list[int] = []

    @app.route("/notes/<int:note_id>", methods=["GET", "PUT"])
    @pre.etag(flaky_version)
    def note(note_id: int) -> str:
        writes.append(note_id)
        return "written"

    with caplog.at_level(logging.ERROR, logger="flask_preconditions"):
        response = app.test_client().put("/notes/1", headers={"If-Match": etag(1)})
    assert response.status_code == 200
    assert writes == [1]
    assert "ETag" not in response.headers
    assert "could not be computed" in caplog.text
