"""Bare @pre.etag: body-hash entity-tags, and writes checked by an internal GET."""

from __future__ import annotations

import typing as t

import pytest
from flask import Flask
from flask import g
from flask import request
from flask import Response
from flask import stream_with_context
from flask.testing import FlaskClient
from werkzeug.http import quote_etag

from flask_preconditions import etag_for_body
from flask_preconditions import expected_etag
from flask_preconditions import expected_version
from flask_preconditions import Preconditions
from flask_preconditions import PROBLEM_MEDIA_TYPE

TOKEN = {"Authorization": "Bearer secret"}


class Documents:
    def __init__(self) -> None:
        self.texts: dict[str, str] = {"a": "alpha", "b": "beta"}
        self.get_calls = 0
        self.writes: list[tuple[str, str, bytes]] = []
        #: What the write view saw of the real request.
        self.seen: dict[str, t.Any] = {}


def body_etag(text: str) -> str:
    return quote_etag(etag_for_body(text.encode()))


@pytest.fixture
def docs(app: Flask, pre: Preconditions) -> Documents:
    documents = Documents()

    @app.before_request
    def mark_request() -> None:
        g.request_method = request.method

    @app.route("/docs/<name>", methods=["GET", "PUT", "PATCH", "DELETE"])
    @pre.etag
    def document(name: str) -> t.Any:
        if request.method in ("GET", "HEAD"):
            documents.get_calls += 1
            g.touched_by_get = True
            if name not in documents.texts:
                return "missing", 404
            return documents.texts[name]
        documents.seen = {
            "method_in_g": g.get("request_method"),
            "touched_by_get": g.get("touched_by_get", False),
            "expected_etag": expected_etag(),
            "expected_version": expected_version(),
        }
        body = request.get_data()
        documents.writes.append((request.method, name, body))
        if request.method == "DELETE":
            del documents.texts[name]
            return "", 204
        documents.texts[name] = body.decode()
        return documents.texts[name]

    return documents


# -- reads -------------------------------------------------------------------------


def test_get_carries_a_strong_etag_of_the_body(
    docs: Documents, client: FlaskClient
) -> None:
    assert client.get("/docs/a").headers["ETag"] == body_etag("alpha")


def test_get_with_matching_if_none_match_is_304_without_a_body(
    docs: Documents, client: FlaskClient
) -> None:
    response = client.get("/docs/a", headers={"If-None-Match": body_etag("alpha")})
    assert response.status_code == 304
    assert response.get_data() == b""
    assert response.headers["ETag"] == body_etag("alpha")


def test_get_with_weak_form_of_the_etag_is_304(
    docs: Documents, client: FlaskClient
) -> None:
    weak = "W/" + body_etag("alpha")
    assert client.get("/docs/a", headers={"If-None-Match": weak}).status_code == 304


def test_get_with_stale_if_none_match_is_200(
    docs: Documents, client: FlaskClient
) -> None:
    response = client.get("/docs/a", headers={"If-None-Match": body_etag("old")})
    assert response.status_code == 200
    assert response.get_data(as_text=True) == "alpha"


def test_head_carries_the_same_etag_without_a_body(
    docs: Documents, client: FlaskClient
) -> None:
    response = client.head("/docs/a")
    assert response.headers["ETag"] == body_etag("alpha")
    assert response.get_data() == b""


def test_head_with_matching_if_none_match_is_304(
    docs: Documents, client: FlaskClient
) -> None:
    response = client.head("/docs/a", headers={"If-None-Match": body_etag("alpha")})
    assert response.status_code == 304


def test_error_responses_get_no_etag(docs: Documents, client: FlaskClient) -> None:
    assert "ETag" not in client.get("/docs/zzz").headers


@pytest.fixture
def cached(app: Flask, pre: Preconditions) -> None:
    @app.get("/cached")
    @pre.etag
    def cached_view() -> Response:
        response = Response("cached body")
        response.headers["Cache-Control"] = "max-age=60"
        response.headers["Vary"] = "Accept-Language"
        response.headers["Expires"] = "Mon, 01 Jan 2024 13:00:00 GMT"
        response.headers["Content-Location"] = "/cached.txt"
        response.headers["Last-Modified"] = "Mon, 01 Jan 2024 12:00:00 GMT"
        response.headers["X-Debug"] = "representation-specific"
        return response


@pytest.mark.parametrize(
    ("header", "value"),
    [
        ("Cache-Control", "max-age=60"),
        ("Vary", "Accept-Language"),
        ("Expires", "Mon, 01 Jan 2024 13:00:00 GMT"),
        ("Content-Location", "/cached.txt"),
        ("Last-Modified", "Mon, 01 Jan 2024 12:00:00 GMT"),
        ("ETag", body_etag("cached body")),
    ],
)
def test_304_carries_the_header_that_the_200_carries(
    cached: None, client: FlaskClient, header: str, value: str
) -> None:
    response = client.get(
        "/cached", headers={"If-None-Match": body_etag("cached body")}
    )
    assert response.status_code == 304
    assert response.headers[header] == value


def test_304_keeps_the_200s_headers_but_not_its_content_metadata(
    cached: None, client: FlaskClient
) -> None:
    response = client.get(
        "/cached", headers={"If-None-Match": body_etag("cached body")}
    )
    assert response.status_code == 304
    # Not content metadata: a 304 carries what the 200 would (RFC 9110 §15.4.5).
    assert "X-Debug" in response.headers
    assert "Content-Type" not in response.headers
    assert "Content-Length" not in response.headers


def test_view_that_sets_its_own_etag_keeps_it(
    app: Flask, pre: Preconditions, client: FlaskClient
) -> None:
    @app.get("/own")
    @pre.etag
    def own() -> Response:
        response = Response("body")
        response.set_etag("v7", weak=True)
        return response

    assert client.get("/own").headers["ETag"] == 'W/"v7"'
    assert client.get("/own", headers={"If-None-Match": 'W/"v7"'}).status_code == 304


def test_streamed_response_gets_no_etag(
    app: Flask, pre: Preconditions, client: FlaskClient
) -> None:
    @app.get("/stream")
    @pre.etag
    def stream() -> Response:
        def generate() -> t.Iterator[str]:
            yield "chunk"

        return Response(stream_with_context(generate()))

    response = client.get("/stream")
    assert response.get_data(as_text=True) == "chunk"
    assert "ETag" not in response.headers


# -- writes checked by the internal GET ------------------------------------------------


def test_put_without_if_match_is_428(docs: Documents, client: FlaskClient) -> None:
    response = client.put("/docs/a", data="new")
    assert response.status_code == 428
    assert response.mimetype == PROBLEM_MEDIA_TYPE
    assert docs.writes == []


def test_put_with_stale_if_match_is_412(docs: Documents, client: FlaskClient) -> None:
    response = client.put("/docs/a", data="new", headers={"If-Match": body_etag("x")})
    assert response.status_code == 412
    assert docs.writes == []


def test_412_does_not_reveal_the_current_etag(
    docs: Documents, client: FlaskClient
) -> None:
    response = client.put("/docs/a", data="new", headers={"If-Match": body_etag("x")})
    assert "ETag" not in response.headers
    current = body_etag("alpha").strip('"')
    assert current not in response.get_data(as_text=True)


def test_put_with_the_etag_of_a_get_writes(
    docs: Documents, client: FlaskClient
) -> None:
    current = client.get("/docs/a").headers["ETag"]
    response = client.put("/docs/a", data="new", headers={"If-Match": current})
    assert response.status_code == 200
    assert docs.texts["a"] == "new"


def test_put_is_checked_against_the_same_view_arguments(
    docs: Documents, client: FlaskClient
) -> None:
    other = client.get("/docs/b").headers["ETag"]
    response = client.put("/docs/a", data="new", headers={"If-Match": other})
    assert response.status_code == 412


def test_write_response_carries_the_new_body_etag_on_the_next_get(
    docs: Documents, client: FlaskClient
) -> None:
    client.put("/docs/a", data="new", headers={"If-Match": body_etag("alpha")})
    assert client.get("/docs/a").headers["ETag"] == body_etag("new")


def test_expected_etag_is_the_etag_the_get_carried(
    docs: Documents, client: FlaskClient
) -> None:
    client.put("/docs/a", data="new", headers={"If-Match": body_etag("alpha")})
    assert docs.seen["expected_etag"] == body_etag("alpha")


def test_expected_version_of_a_body_etag_is_none(
    docs: Documents, client: FlaskClient
) -> None:
    client.put("/docs/a", data="new", headers={"If-Match": body_etag("alpha")})
    assert docs.seen["expected_version"] is None


def test_write_view_can_still_read_the_request_body(
    docs: Documents, client: FlaskClient
) -> None:
    client.put("/docs/a", data=b"payload", headers={"If-Match": body_etag("alpha")})
    assert docs.writes == [("PUT", "a", b"payload")]


def test_internal_get_does_not_touch_the_real_requests_g(
    docs: Documents, client: FlaskClient
) -> None:
    client.put("/docs/a", data="new", headers={"If-Match": body_etag("alpha")})
    # The check, and the GET after the write that gives it its new ETag.
    assert docs.get_calls == 2
    assert docs.seen["touched_by_get"] is False
    assert docs.seen["method_in_g"] == "PUT"


def test_put_creating_an_absent_resource_needs_if_none_match_star(
    docs: Documents, client: FlaskClient
) -> None:
    assert client.put("/docs/c", data="new").status_code == 428
    assert (
        client.put("/docs/c", data="new", headers={"If-None-Match": "*"}).status_code
        == 200
    )
    assert docs.texts["c"] == "new"


def test_delete_of_an_absent_resource_is_404(
    docs: Documents, client: FlaskClient
) -> None:
    response = client.delete("/docs/c", headers={"If-Match": body_etag("x")})
    assert response.status_code == 404


def test_delete_with_current_etag_deletes(docs: Documents, client: FlaskClient) -> None:
    response = client.delete("/docs/b", headers={"If-Match": body_etag("beta")})
    assert response.status_code == 204
    assert "b" not in docs.texts


# -- the internal GET runs with the request's credentials ------------------------------


@pytest.fixture
def private(app: Flask, pre: Preconditions) -> dict[str, str]:
    texts = {"p": "private text"}

    @app.route("/private/<name>", methods=["GET", "PUT"])
    @pre.etag
    def private_view(name: str) -> t.Any:
        if request.headers.get("Authorization") != TOKEN["Authorization"]:
            return "unauthorised", 401
        if request.method == "PUT":
            texts[name] = request.get_data(as_text=True)
        return texts[name]

    return texts


def test_internal_get_sends_the_authorization_header(
    private: dict[str, str], client: FlaskClient
) -> None:
    # Without the credentials the GET would be a 401, leaving the stale write
    # unchecked; with them it finds the current ETag and refuses the write.
    headers = {**TOKEN, "If-Match": body_etag("stale")}
    response = client.put("/private/p", data="new", headers=headers)
    assert response.status_code == 412
    assert private["p"] == "private text"


def test_authorised_write_with_current_etag_succeeds(
    private: dict[str, str], client: FlaskClient
) -> None:
    current = client.get("/private/p", headers=TOKEN).headers["ETag"]
    headers = {**TOKEN, "If-Match": current}
    assert client.put("/private/p", data="new", headers=headers).status_code == 200
    assert private["p"] == "new"


def test_unauthorised_write_gets_the_views_own_answer(
    private: dict[str, str], client: FlaskClient
) -> None:
    assert client.put("/private/p", data="new").status_code == 401


def test_get_that_streams_makes_writes_a_clear_412_not_a_500(
    app: Flask, pre: Preconditions, client: FlaskClient
) -> None:
    writes: list[str] = []

    @app.route("/feed", methods=["GET", "PUT"])
    @pre.etag
    def feed() -> Response:
        if request.method == "PUT":
            writes.append("PUT")
        return Response(iter(["a", "b"]))

    response = client.put("/feed", headers={"If-Match": body_etag("x")})
    assert response.status_code == 412
    assert "streamed response" in response.get_json()["detail"]
    assert writes == []
    assert client.put("/feed", headers={"If-Match": "*"}).status_code == 200


def test_date_function_stacked_on_a_body_hash_gives_last_modified(
    app: Flask, pre: Preconditions, client: FlaskClient
) -> None:
    import datetime as dt

    updated = dt.datetime(2024, 1, 1, 12, 0, 0, tzinfo=dt.timezone.utc)

    @app.get("/dated-report")
    @pre.last_modified(lambda: updated)
    @pre.etag
    def dated_report() -> str:
        return "report"

    response = client.get("/dated-report")
    assert response.headers["Last-Modified"] == "Mon, 01 Jan 2024 12:00:00 GMT"
    assert "ETag" in response.headers
    not_modified = client.get(
        "/dated-report",
        headers={"If-Modified-Since": "Mon, 01 Jan 2024 12:00:00 GMT"},
    )
    assert not_modified.status_code == 304


def test_internal_get_is_marked_in_its_environ(
    app: Flask, pre: Preconditions, client: FlaskClient
) -> None:
    seen: list[tuple[str, t.Any]] = []

    @app.before_request
    def record() -> None:
        seen.append(
            (request.method, request.environ.get("flask_preconditions.internal_get"))
        )

    @app.route("/marked", methods=["GET", "PUT"])
    @pre.etag
    def marked() -> str:
        return "body"

    client.put("/marked", headers={"If-Match": '"x"'})
    assert seen == [("PUT", None), ("GET", True)]


def test_body_hash_304_keeps_the_declared_headers(
    app: Flask, pre: Preconditions, client: FlaskClient
) -> None:
    @app.get("/declared-report")
    @pre.etag(headers={"Cache-Control": "no-cache"})
    def declared_report() -> str:
        return "report"

    first = client.get("/declared-report")
    assert first.headers["Cache-Control"] == "no-cache"
    again = client.get(
        "/declared-report", headers={"If-None-Match": first.headers["ETag"]}
    )
    assert again.status_code == 304
    assert again.headers["Cache-Control"] == "no-cache"


@pytest.mark.parametrize("location", [None, "/rapport-\u00e9t\u00e9.txt"])
@pytest.mark.parametrize("mode", ["app-wide", "bare-etag"])
def test_a_304_leaves_out_content_metadata_and_keeps_everything_else(
    mode: str, location: str | None
) -> None:
    app = Flask("metadata")
    pre = Preconditions(app)
    seen_by_hooks: list[str | None] = []

    def report() -> Response:
        response = Response("a report", mimetype="text/plain")
        response.headers["Content-Disposition"] = 'attachment; filename="r.txt"'
        response.headers["Content-Language"] = "en"
        response.headers["X-Trace"] = "abc"
        response.headers["Allow"] = "GET, PUT"
        if location is not None:
            # Werkzeug makes it a URI, on the 304 too.
            response.headers["Content-Location"] = location
        response.last_modified = 1_700_000_000
        return response

    view = pre.etag(report) if mode == "bare-etag" else report
    app.add_url_rule("/report", "report", view, methods=["GET", "PUT"])

    @app.after_request
    def look(response: Response) -> Response:
        # Hooks that run after the 304 is made still see it whole.
        seen_by_hooks.append(response.headers.get("Content-Disposition"))
        return response

    client = app.test_client()
    tag = client.get("/report").headers["ETag"]
    revalidated = client.get("/report", headers={"If-None-Match": tag})
    assert revalidated.status_code == 304
    assert revalidated.data == b""
    for name in (
        "Content-Disposition",
        "Content-Language",
        "Content-Type",
        "Content-Length",
        "Allow",
    ):
        assert name not in revalidated.headers, name
    if location is not None:
        assert revalidated.headers["Content-Location"] == "/rapport-%C3%A9t%C3%A9.txt"
    assert revalidated.headers["X-Trace"] == "abc"
    assert revalidated.headers["ETag"] == tag
    assert revalidated.headers["Cache-Control"] == "no-cache"
    assert revalidated.headers["Last-Modified"] == "Tue, 14 Nov 2023 22:13:20 GMT"
    assert seen_by_hooks[-1] == 'attachment; filename="r.txt"'
