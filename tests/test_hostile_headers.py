"""Malformed and hostile precondition headers: a clear 4xx or success, never a 5xx."""

from __future__ import annotations

import typing as t

import pytest
from flask import Flask
from flask import request
from flask.testing import FlaskClient
from hypothesis import given
from hypothesis import HealthCheck
from hypothesis import settings
from hypothesis import strategies as st

from flask_preconditions import Preconditions
from flask_preconditions import PROBLEM_MEDIA_TYPE
from helpers import etag
from helpers import Store

CURRENT = etag(1)
MEGABYTE_OF_TAGS = '"a", ' * 200_000
QUADRATIC_FOR_WERKZEUG = '"a"x, ' * 1300  # Just under the 8192 limit.
THOUSANDS_OF_TAGS = ", ".join(f'"{i}"' for i in range(1000))


@pytest.fixture
def hostile(app: Flask, pre: Preconditions, store: Store) -> Store:
    @app.route("/notes/<int:note_id>", methods=["GET", "PUT"])
    @pre.etag(store.version)
    @pre.last_modified(store.updated)
    def note(note_id: int) -> t.Any:
        if request.method == "PUT":
            store.write("PUT", note_id, request.get_data(as_text=True))
            return "", 204
        return "note"

    @app.route("/plain", methods=["GET", "PUT"])
    def plain() -> str:
        return "plain"

    return store


@pytest.mark.parametrize(
    ("value", "status"),
    [
        pytest.param(CURRENT.strip('"'), 412, id="unquoted"),
        pytest.param("W/" + CURRENT, 412, id="weak-tag-in-if-match"),
        pytest.param("", 428, id="empty"),
        pytest.param(" \t ", 428, id="only-whitespace"),
        pytest.param(",,,", 412, id="only-commas"),
        pytest.param('"\x00"', 412, id="nul-in-tag"),
        pytest.param('"caf\xe9"', 412, id="latin-1-tag"),
        pytest.param(
            f"{THOUSANDS_OF_TAGS}, {CURRENT}", 204, id="thousands-with-current"
        ),
        pytest.param(THOUSANDS_OF_TAGS, 412, id="thousands-without-current"),
        pytest.param(QUADRATIC_FOR_WERKZEUG, 412, id="werkzeug-quadratic-pattern"),
        pytest.param(MEGABYTE_OF_TAGS, 431, id="megabyte"),
        pytest.param('"a"x, ' * 100_000, 431, id="long-quadratic-pattern"),
    ],
)
def test_hostile_if_match_on_put(
    hostile: Store, client: FlaskClient, value: str, status: int
) -> None:
    response = client.put("/notes/1", data="x", headers={"If-Match": value})
    assert response.status_code == status


@pytest.mark.parametrize(
    ("value", "status"),
    [
        pytest.param("abc", 200, id="unquoted-is-ignored"),
        pytest.param("", 200, id="empty"),
        pytest.param(THOUSANDS_OF_TAGS, 200, id="thousands-without-current"),
        pytest.param(
            f"{THOUSANDS_OF_TAGS}, W/{CURRENT}", 304, id="thousands-with-current"
        ),
        pytest.param(QUADRATIC_FOR_WERKZEUG, 200, id="werkzeug-quadratic-pattern"),
        pytest.param(MEGABYTE_OF_TAGS, 431, id="megabyte"),
    ],
)
def test_hostile_if_none_match_on_get(
    hostile: Store, client: FlaskClient, value: str, status: int
) -> None:
    response = client.get("/notes/1", headers={"If-None-Match": value})
    assert response.status_code == status


@pytest.mark.parametrize(
    "value",
    [
        pytest.param("yesterday", id="words"),
        pytest.param("Mon, 32 Jan 2024 12:00:00 GMT", id="day-32"),
        pytest.param("Mon, 01 Jan 99999 12:00:00 GMT", id="year-99999"),
        pytest.param("Mon, 01 Jan 2024 12:00:00 +9999", id="offset-out-of-range"),
        pytest.param("-1", id="negative-number"),
        pytest.param(
            "Mon, 01 Jan 2024 12:00:00 GMT, Mon, 01 Jan 2000 00:00:00 GMT", id="list"
        ),
    ],
)
def test_bad_if_modified_since_is_ignored(
    hostile: Store, client: FlaskClient, value: str
) -> None:
    assert (
        client.get("/notes/1", headers={"If-Modified-Since": value}).status_code == 200
    )


@pytest.mark.parametrize(
    "value",
    [
        pytest.param("yesterday", id="words"),
        pytest.param("Mon, 01 Jan 99999 12:00:00 GMT", id="year-99999"),
        pytest.param(
            "Mon, 01 Jan 2030 12:00:00 GMT, Mon, 01 Jan 2030 12:00:00 GMT", id="list"
        ),
    ],
)
def test_bad_if_unmodified_since_on_put_is_ignored_so_428(
    hostile: Store, client: FlaskClient, value: str
) -> None:
    response = client.put("/notes/1", data="x", headers={"If-Unmodified-Since": value})
    assert response.status_code == 428
    assert hostile.writes == []


def test_overlong_date_is_431(hostile: Store, client: FlaskClient) -> None:
    value = "Mon, 01 Jan 2024 12:00:00 GMT" + " " * 10_000
    assert (
        client.get("/notes/1", headers={"If-Modified-Since": value}).status_code == 431
    )


def test_431_is_problem_json_naming_the_header(
    hostile: Store, client: FlaskClient
) -> None:
    response = client.put("/notes/1", data="x", headers={"If-Match": MEGABYTE_OF_TAGS})
    assert response.mimetype == PROBLEM_MEDIA_TYPE
    problem = response.get_json()
    assert problem["status"] == 431
    assert "If-Match" in problem["detail"]
    assert hostile.writes == []


def test_431_limit_follows_the_configuration() -> None:
    app = Flask("short_headers")
    app.config["PRECONDITIONS_MAX_HEADER_LENGTH"] = 100
    pre = Preconditions(app)

    @app.get("/short")
    @pre.etag(lambda: 1)
    def short() -> str:
        return "short"

    response = app.test_client().get("/short", headers={"If-None-Match": "x" * 101})
    assert response.status_code == 431


def test_megabyte_if_match_on_a_body_etag_put_is_431(
    hostile: Store, client: FlaskClient
) -> None:
    response = client.put("/plain", headers={"If-Match": MEGABYTE_OF_TAGS})
    assert response.status_code == 431


def test_megabyte_if_none_match_on_a_body_etag_get_is_431(
    hostile: Store, client: FlaskClient
) -> None:
    response = client.get("/plain", headers={"If-None-Match": MEGABYTE_OF_TAGS})
    assert response.status_code == 431


def test_malformed_if_match_on_a_body_etag_put_is_412(
    hostile: Store, client: FlaskClient
) -> None:
    response = client.put("/plain", headers={"If-Match": QUADRATIC_FOR_WERKZEUG})
    assert response.status_code == 412


# Header values a client can put on the wire: latin-1 without CR or LF.
WIRE_TEXT = st.text(
    st.characters(codec="latin-1", exclude_characters="\r\n"), max_size=300
)
HEADERS = st.fixed_dictionaries(
    {},
    optional={
        "If-Match": WIRE_TEXT,
        "If-None-Match": WIRE_TEXT,
        "If-Modified-Since": WIRE_TEXT,
        "If-Unmodified-Since": WIRE_TEXT,
    },
)


@settings(
    max_examples=100,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(
    method=st.sampled_from(["GET", "HEAD", "PUT", "POST", "OPTIONS"]),
    path=st.sampled_from(["/notes/1", "/notes/2", "/plain"]),
    headers=HEADERS,
)
def test_arbitrary_precondition_headers_never_cause_a_5xx(
    hostile: Store,
    client: FlaskClient,
    method: str,
    path: str,
    headers: dict[str, str],
) -> None:
    response = client.open(path, method=method, headers=headers, data="x")
    assert response.status_code < 500
