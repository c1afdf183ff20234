"""RFC 9457 problem details and the exception classes."""

from __future__ import annotations

import json

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
