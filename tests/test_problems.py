"""RFC 9457 problem details and the exception classes."""

from __future__ import annotations

import datetime as dt
import json
import typing as t

import pytest
from flask import Flask
from flask.testing import FlaskClient
from werkzeug import exceptions
from werkzeug.test import create_environ
from werkzeug.wrappers import Request

from flask_preconditions import PreconditionFailed
from flask_preconditions import PreconditionHeaderTooLarge
from flask_preconditions import PreconditionRequired
from flask_preconditions import PROBLEM_MEDIA_TYPE
from flask_preconditions.decisions import Cause
from flask_preconditions.problems import ProblemDetailsMixin

ALL = [PreconditionFailed, PreconditionRequired, PreconditionHeaderTooLarge]


def test_precondition_failed_subclasses_werkzeugs() -> None:
    assert issubclass(PreconditionFailed, exceptions.PreconditionFailed)


def test_precondition_required_subclasses_werkzeugs() -> None:
    assert issubclass(PreconditionRequired, exceptions.PreconditionRequired)


def test_header_too_large_subclasses_werkzeugs() -> None:
    assert issubclass(
        PreconditionHeaderTooLarge, exceptions.RequestHeaderFieldsTooLarge
    )


@pytest.mark.parametrize(
    ("error", "status"),
    [
        (PreconditionFailed, 412),
        (PreconditionRequired, 428),
        (PreconditionHeaderTooLarge, 431),
    ],
)
def test_problem_has_type_title_status_and_detail(
    error: type[ProblemDetailsMixin], status: int
) -> None:
    problem = error().problem()
    assert problem["status"] == status
    assert problem["title"] == error().name
    assert problem["type"].startswith("https://www.rfc-editor.org/rfc/")
    assert problem["detail"] == error.description


def test_precondition_failed_type_cites_rfc_9110_status_412() -> None:
    assert PreconditionFailed().problem()["type"].endswith("#section-15.5.13")


def test_precondition_required_type_cites_rfc_6585_section_3() -> None:
    assert PreconditionRequired().problem()["type"].endswith("rfc6585#section-3")


def test_precondition_required_detail_says_to_send_if_match_with_the_get_etag() -> None:
    detail = PreconditionRequired().problem()["detail"]
    assert "If-Match" in detail
    assert "GET" in detail
    assert "ETag" in detail


def test_precondition_failed_detail_says_to_read_again_and_retry_with_if_match() -> (
    None
):
    detail = PreconditionFailed().problem()["detail"]
    assert "GET" in detail
    assert "If-Match" in detail


def test_custom_description_becomes_the_detail() -> None:
    problem = PreconditionFailed("Version 3 is gone.").problem()
    assert problem["detail"] == "Version 3 is gone."


@pytest.mark.parametrize("error", ALL)
def test_response_is_problem_json(error: type[ProblemDetailsMixin]) -> None:
    response = error().get_response(create_environ("/notes/1"))
    assert response.mimetype == PROBLEM_MEDIA_TYPE
    assert response.status_code == error.code


def test_response_body_is_the_problem_with_the_request_path_as_instance() -> None:
    response = PreconditionFailed().get_response(create_environ("/notes/1?x=1"))
    body = json.loads(response.get_data())
    assert body == {**PreconditionFailed().problem(), "instance": "/notes/1"}


def test_instance_includes_the_script_name() -> None:
    environ = create_environ("/notes/1", "http://localhost/api/")
    response = PreconditionRequired().get_response(environ)
    assert json.loads(response.get_data())["instance"] == "/api/notes/1"


def test_instance_percent_encodes_a_non_ascii_path() -> None:
    environ = create_environ("/notes/caf\u00e9")
    response = PreconditionRequired().get_response(environ)
    assert json.loads(response.get_data())["instance"] == "/notes/caf%C3%A9"


def test_response_accepts_a_request_object() -> None:
    request = Request(create_environ("/notes/2"))
    response = PreconditionFailed().get_response(request)
    assert json.loads(response.get_data())["instance"] == "/notes/2"


def test_explicit_instance_wins_over_the_request_path() -> None:
    error = PreconditionFailed(instance="/notes/1#v3")
    response = error.get_response(create_environ("/elsewhere"))
    assert json.loads(response.get_data())["instance"] == "/notes/1#v3"


def test_response_without_a_request_has_no_instance() -> None:
    body = json.loads(PreconditionFailed().get_response().get_data())
    assert "instance" not in body


def test_non_ascii_detail_is_sent_as_utf_8() -> None:
    response = PreconditionFailed("Déjà modifié").get_response()
    assert "Déjà modifié".encode() in response.get_data()


def test_except_werkzeug_precondition_failed_catches_it() -> None:
    with pytest.raises(exceptions.PreconditionFailed):
        raise PreconditionFailed()


@pytest.fixture
def raising_app(app: Flask) -> Flask:
    @app.post("/fail")
    def fail() -> str:
        raise PreconditionFailed()

    return app


def test_raised_from_a_view_it_renders_problem_json(
    raising_app: Flask, client: FlaskClient
) -> None:
    response = client.post("/fail")
    assert response.status_code == 412
    assert response.mimetype == PROBLEM_MEDIA_TYPE
    assert response.get_json()["instance"] == "/fail"


def test_raised_from_a_view_the_apps_412_handler_wins(
    raising_app: Flask, client: FlaskClient
) -> None:
    @raising_app.errorhandler(412)
    def handle(error: Exception) -> tuple[str, int]:
        return f"handled {type(error).__name__}", 412

    response = client.post("/fail")
    assert response.get_data(as_text=True) == "handled PreconditionFailed"


# -- a true detail for each cause ----------------------------------------------

WRITTEN = "nothing was written"


@pytest.fixture
def causes_app() -> Flask:
    from flask import request as current_request

    from flask_preconditions import Preconditions

    app = Flask(__name__)
    pre = Preconditions(app, app_wide=False)
    versions: dict[int, int] = {1: 1}
    weak_versions: dict[int, int] = {1: 1}

    @app.route("/notes/<int:note_id>", methods=["GET", "PUT", "DELETE"])
    @pre.etag(lambda note_id: versions.get(note_id))
    @pre.last_modified(lambda note_id: dt.datetime(2024, 1, 1, tzinfo=dt.timezone.utc))
    def note(note_id: int) -> str:
        return current_request.method

    @app.route("/weak/<int:note_id>", methods=["GET", "PUT"])
    @pre.etag(lambda note_id: weak_versions.get(note_id), weak=True)
    @pre.last_modified(lambda note_id: dt.datetime(2024, 1, 1, tzinfo=dt.timezone.utc))
    def weak(note_id: int) -> str:
        return "weak"

    return app


def etag_of(client: FlaskClient, url: str) -> str:
    return client.get(url).headers["ETag"]


# (name, method, url, headers (a callable of the current ETag), status, phrase)
CAUSES: list[tuple[str, str, str, t.Callable[[str], dict[str, str]], int, str]] = [
    (
        "stale-tag",
        "PUT",
        "/notes/1",
        lambda tag: {"If-Match": '"old"'},
        412,
        "changed by another request",
    ),
    (
        "weak-tag",
        "PUT",
        "/notes/1",
        lambda tag: {"If-Match": "W/" + tag},
        412,
        "only in a weak form",
    ),
    (
        "weak-current-tag",
        "PUT",
        "/weak/1",
        lambda tag: {"If-Match": tag},
        412,
        "only in a weak form",
    ),
    (
        "malformed-tag",
        "PUT",
        "/notes/1",
        lambda tag: {"If-Match": "old"},
        412,
        "exactly as received",
    ),
    (
        "no-resource",
        "PUT",
        "/notes/2",
        lambda tag: {"If-Match": tag},
        412,
        "send If-None-Match: * instead",
    ),
    (
        "modified-since",
        "PUT",
        "/notes/1",
        lambda tag: {"If-Unmodified-Since": "Sat, 01 Jan 2000 00:00:00 GMT"},
        412,
        "modified after the If-Unmodified-Since date",
    ),
    (
        "exists",
        "PUT",
        "/notes/1",
        lambda tag: {"If-None-Match": "*"},
        412,
        "exists already",
    ),
    (
        "none-match",
        "PUT",
        "/notes/1",
        lambda tag: {"If-None-Match": tag},
        412,
        "send If-Match with its ETag",
    ),
    (
        "missing-if-match",
        "PUT",
        "/notes/1",
        lambda tag: {},
        428,
        "send it back in an If-Match header",
    ),
    (
        "missing-if-none-match",
        "PUT",
        "/notes/2",
        lambda tag: {},
        428,
        "Send If-None-Match: *",
    ),
    (
        "stale-tag-on-get",
        "GET",
        "/notes/1",
        lambda tag: {"If-Match": '"old"'},
        412,
        "Read it again without If-Match",
    ),
    (
        "weak-tag-on-get",
        "GET",
        "/notes/1",
        lambda tag: {"If-Match": "W/" + tag},
        412,
        "never matches",
    ),
    (
        "modified-since-on-get",
        "GET",
        "/notes/1",
        lambda tag: {"If-Unmodified-Since": "Sat, 01 Jan 2000 00:00:00 GMT"},
        412,
        "Read it again without the condition",
    ),
    (
        "not-found",
        "DELETE",
        "/notes/2",
        lambda tag: {"If-Match": '"x"'},
        404,
        "does not exist",
    ),
]


@pytest.mark.parametrize(
    ("method", "url", "headers", "status", "phrase"),
    [case[1:] for case in CAUSES],
    ids=[case[0] for case in CAUSES],
)
def test_each_cause_gets_a_true_detail(
    causes_app: Flask,
    method: str,
    url: str,
    headers: t.Callable[[str], dict[str, str]],
    status: int,
    phrase: str,
) -> None:
    client = causes_app.test_client()
    tag = etag_of(client, "/weak/1" if url.startswith("/weak") else "/notes/1")
    response = client.open(url, method=method, headers=headers(tag))
    assert response.status_code == status
    assert response.mimetype == PROBLEM_MEDIA_TYPE
    body = response.get_json()
    detail = body["detail"]
    assert phrase in detail
    assert body["cause"] in {cause.value for cause in Cause}
    # Each sentence once; and a read is never told about writes.
    assert detail.lower().count(WRITTEN) <= 1
    if method == "GET":
        assert "written" not in detail and "write" not in detail.lower()


def test_every_cause_is_in_the_docs_table() -> None:
    from flask_preconditions.decisions import Cause
    from helpers import ROOT

    text = (ROOT / "docs" / "guide.rst").read_text()
    for cause in Cause:
        assert f"``{cause.value}``" in text, cause
