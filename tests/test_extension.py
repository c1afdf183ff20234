"""The Flask extension with validator functions: @pre.etag(func), @pre.last_modified."""

from __future__ import annotations

import typing as t

import pytest
from flask import Blueprint
from flask import Flask
from flask import request
from flask import Response
from flask.testing import FlaskClient

from flask_preconditions import expected_etag
from flask_preconditions import expected_version
from flask_preconditions import PreconditionFailed
from flask_preconditions import Preconditions
from flask_preconditions import PROBLEM_MEDIA_TYPE
from flask_preconditions import ResourceSpec
from flask_preconditions import set_new_version
from helpers import etag
from helpers import Store

LAST_MODIFIED = "Mon, 01 Jan 2024 12:00:00 GMT"
BEFORE = "Mon, 01 Jan 2024 11:00:00 GMT"


def add_note_routes(app: Flask, pre: Preconditions, store: Store) -> None:
    """/notes/<id>: versions and dates from the store, writes into it."""

    @app.route(
        "/notes/<int:note_id>", methods=["GET", "PUT", "PATCH", "DELETE", "POST"]
    )
    @pre.etag(store.version)
    @pre.last_modified(store.updated)
    def note(note_id: int) -> t.Any:
        store.view_calls += 1
        if request.method in ("GET", "HEAD"):
            return {"text": store.notes[note_id].text}
        created = note_id not in store.notes
        store.write(request.method, note_id, request.get_data(as_text=True))
        return "", 201 if created else 204


@pytest.fixture
def notes(app: Flask, pre: Preconditions, store: Store) -> Store:
    add_note_routes(app, pre, store)
    return store


# -- reads --


def test_get_carries_the_etag_of_the_version(notes: Store, client: FlaskClient) -> None:
    assert client.get("/notes/1").headers["ETag"] == etag(1)


def test_get_carries_last_modified(notes: Store, client: FlaskClient) -> None:
    assert client.get("/notes/1").headers["Last-Modified"] == LAST_MODIFIED


def test_get_with_matching_if_none_match_is_304(
    notes: Store, client: FlaskClient
) -> None:
    response = client.get("/notes/1", headers={"If-None-Match": etag(1)})
    assert response.status_code == 304


def test_304_is_decided_without_running_the_view(
    notes: Store, client: FlaskClient
) -> None:
    client.get("/notes/1", headers={"If-None-Match": etag(1)})
    assert notes.view_calls == 0


def test_304_has_no_body(notes: Store, client: FlaskClient) -> None:
    response = client.get("/notes/1", headers={"If-None-Match": etag(1)})
    assert response.get_data() == b""


def test_304_carries_the_etag(notes: Store, client: FlaskClient) -> None:
    response = client.get("/notes/1", headers={"If-None-Match": etag(1)})
    assert response.headers["ETag"] == etag(1)


def test_304_carries_last_modified(notes: Store, client: FlaskClient) -> None:
    response = client.get("/notes/1", headers={"If-None-Match": etag(1)})
    assert response.headers["Last-Modified"] == LAST_MODIFIED


def test_304_carries_caching_headers_that_the_app_adds_to_every_response(
    app: Flask, notes: Store, client: FlaskClient
) -> None:
    @app.after_request
    def cache(response: Response) -> Response:
        response.headers["Cache-Control"] = "private, max-age=60"
        response.headers["Vary"] = "Authorization"
        response.headers["Expires"] = "Mon, 01 Jan 2024 13:00:00 GMT"
        response.headers["Content-Location"] = "/notes/1.json"
        return response

    response = client.get("/notes/1", headers={"If-None-Match": etag(1)})
    assert response.status_code == 304
    assert response.headers["Cache-Control"] == "private, max-age=60"
    assert response.headers["Vary"] == "Authorization"
    assert response.headers["Expires"] == "Mon, 01 Jan 2024 13:00:00 GMT"
    assert response.headers["Content-Location"] == "/notes/1.json"


def test_304_has_no_content_type(notes: Store, client: FlaskClient) -> None:
    response = client.get("/notes/1", headers={"If-None-Match": etag(1)})
    assert "Content-Type" not in response.headers


def test_get_with_stale_if_none_match_runs_the_view(
    notes: Store, client: FlaskClient
) -> None:
    response = client.get("/notes/1", headers={"If-None-Match": etag(0)})
    assert response.status_code == 200
    assert response.get_json() == {"text": "first"}


def test_get_with_if_modified_since_last_modified_is_304(
    notes: Store, client: FlaskClient
) -> None:
    response = client.get("/notes/1", headers={"If-Modified-Since": LAST_MODIFIED})
    assert response.status_code == 304


def test_get_of_an_absent_resource_is_404_without_running_the_view(
    notes: Store, client: FlaskClient
) -> None:
    response = client.get("/notes/2", headers={"If-Match": etag(1)})
    assert response.status_code == 404
    assert notes.view_calls == 0


def test_head_carries_the_get_headers_without_a_body(
    notes: Store, client: FlaskClient
) -> None:
    response = client.head("/notes/1")
    assert response.status_code == 200
    assert response.headers["ETag"] == etag(1)
    assert (
        response.headers["Content-Length"]
        == client.get("/notes/1").headers["Content-Length"]
    )
    assert response.get_data() == b""


def test_head_with_matching_if_none_match_is_304(
    notes: Store, client: FlaskClient
) -> None:
    response = client.head("/notes/1", headers={"If-None-Match": etag(1)})
    assert response.status_code == 304


# -- writes --


def test_put_without_if_match_is_428(notes: Store, client: FlaskClient) -> None:
    assert client.put("/notes/1", data="new").status_code == 428


def test_patch_without_if_match_is_428(notes: Store, client: FlaskClient) -> None:
    assert client.patch("/notes/1", data="new").status_code == 428


def test_delete_without_if_match_is_428(notes: Store, client: FlaskClient) -> None:
    assert client.delete("/notes/1").status_code == 428


def test_428_does_not_run_the_write(notes: Store, client: FlaskClient) -> None:
    client.put("/notes/1", data="new")
    assert notes.writes == []
    assert notes.view_calls == 0


def test_put_with_stale_if_match_is_412(notes: Store, client: FlaskClient) -> None:
    response = client.put("/notes/1", data="new", headers={"If-Match": etag(0)})
    assert response.status_code == 412


def test_412_does_not_run_the_write(notes: Store, client: FlaskClient) -> None:
    client.delete("/notes/1", headers={"If-Match": etag(0)})
    assert notes.writes == []
    assert notes.view_calls == 0


def test_put_with_current_if_match_writes(notes: Store, client: FlaskClient) -> None:
    response = client.put("/notes/1", data="new", headers={"If-Match": etag(1)})
    assert response.status_code == 204
    assert notes.writes == [("PUT", 1, "new")]


def test_successful_write_carries_the_new_etag(
    notes: Store, client: FlaskClient
) -> None:
    response = client.put("/notes/1", data="new", headers={"If-Match": etag(1)})
    assert response.headers["ETag"] == etag(2)


def test_new_etag_of_a_write_is_accepted_by_the_next_write(
    notes: Store, client: FlaskClient
) -> None:
    first = client.put("/notes/1", data="a", headers={"If-Match": etag(1)})
    second = client.put(
        "/notes/1", data="b", headers={"If-Match": first.headers["ETag"]}
    )
    assert second.status_code == 204


def test_successful_delete_carries_no_etag(notes: Store, client: FlaskClient) -> None:
    response = client.delete("/notes/1", headers={"If-Match": etag(1)})
    assert response.status_code == 204
    assert "ETag" not in response.headers


def test_failed_write_gets_no_new_etag(
    app: Flask, pre: Preconditions, store: Store, client: FlaskClient
) -> None:
    @app.put("/locked/<int:note_id>")
    @pre.etag(store.version)
    def locked(note_id: int) -> tuple[str, int]:
        return "locked", 423

    response = client.put("/locked/1", headers={"If-Match": etag(1)})
    assert response.status_code == 423
    assert "ETag" not in response.headers


def test_write_declaring_its_new_version_carries_that_etag_even_after_a_later_write(
    app: Flask, pre: Preconditions, store: Store, client: FlaskClient
) -> None:
    @app.put("/raced/<int:note_id>")
    @pre.etag(store.version)
    def raced(note_id: int) -> tuple[str, int]:
        store.write("PUT", note_id, "mine")
        set_new_version(store.version(note_id))
        # Another request writes after this one's commit, before the response.
        store.write("PUT", note_id, "theirs")
        return "", 204

    response = client.put("/raced/1", headers={"If-Match": etag(1)})
    assert response.headers["ETag"] == etag(2)


def test_write_declaring_no_new_version_carries_no_etag(
    app: Flask, pre: Preconditions, store: Store, client: FlaskClient
) -> None:
    @app.put("/unknown/<int:note_id>")
    @pre.etag(store.version)
    def unknown(note_id: int) -> tuple[str, int]:
        store.write("PUT", note_id, "mine")
        set_new_version(None)
        return "", 204

    response = client.put("/unknown/1", headers={"If-Match": etag(1)})
    assert response.status_code == 204
    assert "ETag" not in response.headers


def test_successful_post_does_not_carry_the_target_etag(
    notes: Store, client: FlaskClient
) -> None:
    # RFC 9110 §15.3.2: validators of a 201 describe the created resource.
    response = client.post("/notes/1", data="comment", headers={"If-Match": etag(1)})
    assert response.status_code == 204
    assert "ETag" not in response.headers


def test_put_with_if_match_star_writes(notes: Store, client: FlaskClient) -> None:
    response = client.put("/notes/1", data="new", headers={"If-Match": "*"})
    assert response.status_code == 204


def test_put_creating_with_if_none_match_star_writes(
    notes: Store, client: FlaskClient
) -> None:
    response = client.put("/notes/2", data="new", headers={"If-None-Match": "*"})
    assert response.status_code == 201
    assert response.headers["ETag"] == etag(1)


def test_put_creating_without_if_none_match_star_is_428(
    notes: Store, client: FlaskClient
) -> None:
    response = client.put("/notes/2", data="new")
    assert response.status_code == 428
    assert "If-None-Match: *" in response.get_json()["detail"]
    assert notes.writes == []


def test_put_with_if_none_match_star_on_existing_is_412(
    notes: Store, client: FlaskClient
) -> None:
    response = client.put("/notes/1", data="new", headers={"If-None-Match": "*"})
    assert response.status_code == 412
    assert notes.writes == []


def test_put_with_if_match_on_absent_is_412(notes: Store, client: FlaskClient) -> None:
    response = client.put("/notes/2", data="new", headers={"If-Match": "*"})
    assert response.status_code == 412


def test_delete_of_an_absent_resource_is_404_not_412(
    notes: Store, client: FlaskClient
) -> None:
    response = client.delete("/notes/2", headers={"If-Match": etag(1)})
    assert response.status_code == 404


def test_patch_with_current_if_unmodified_since_writes(
    notes: Store, client: FlaskClient
) -> None:
    headers = {"If-Unmodified-Since": LAST_MODIFIED}
    assert client.patch("/notes/1", data="x", headers=headers).status_code == 204


def test_patch_with_stale_if_unmodified_since_is_412(
    notes: Store, client: FlaskClient
) -> None:
    headers = {"If-Unmodified-Since": BEFORE}
    assert client.patch("/notes/1", data="x", headers=headers).status_code == 412


def test_post_is_not_required_to_be_conditional(
    notes: Store, client: FlaskClient
) -> None:
    assert client.post("/notes/1", data="x").status_code == 204


def test_options_is_answered_without_preconditions(
    notes: Store, client: FlaskClient
) -> None:
    response = client.options("/notes/1", headers={"If-Match": etag(0)})
    assert response.status_code == 200


# -- problem bodies --


def test_428_body_is_problem_json(notes: Store, client: FlaskClient) -> None:
    response = client.put("/notes/1", data="new")
    assert response.mimetype == PROBLEM_MEDIA_TYPE
    problem = response.get_json()
    assert problem["status"] == 428
    assert problem["title"] == "Precondition Required"
    assert problem["type"] == "https://www.rfc-editor.org/rfc/rfc6585#section-3"
    assert problem["instance"] == "/notes/1"


def test_428_detail_says_which_header_to_send_and_where_its_value_comes_from(
    notes: Store, client: FlaskClient
) -> None:
    detail = client.put("/notes/1", data="new").get_json()["detail"]
    assert "If-Match" in detail
    assert "ETag" in detail and "GET" in detail


def test_412_body_is_problem_json(notes: Store, client: FlaskClient) -> None:
    response = client.put("/notes/1", data="new", headers={"If-Match": etag(0)})
    assert response.mimetype == PROBLEM_MEDIA_TYPE
    problem = response.get_json()
    assert problem["status"] == 412
    assert problem["title"] == "Precondition Failed"
    assert problem["type"].endswith("rfc9110#section-15.5.13")
    assert problem["instance"] == "/notes/1"


def test_412_detail_says_to_read_again_and_send_the_new_etag(
    notes: Store, client: FlaskClient
) -> None:
    response = client.put("/notes/1", data="new", headers={"If-Match": etag(0)})
    detail = response.get_json()["detail"]
    assert "GET" in detail and "If-Match" in detail


def test_412_for_an_unquoted_etag_says_to_keep_the_quotes(
    notes: Store, client: FlaskClient
) -> None:
    unquoted = etag(1).strip('"')
    response = client.put("/notes/1", data="new", headers={"If-Match": unquoted})
    assert response.status_code == 412
    assert "quotes" in response.get_json()["detail"]


@pytest.mark.parametrize(
    "headers",
    [
        pytest.param({}, id="428"),
        pytest.param({"If-Match": etag(0)}, id="412"),
        pytest.param({"If-None-Match": "*"}, id="412-create-only"),
    ],
)
def test_problem_never_carries_the_current_etag(
    notes: Store, client: FlaskClient, headers: dict[str, str]
) -> None:
    response = client.put("/notes/1", data="new", headers=headers)
    assert response.status_code in (412, 428)
    assert "ETag" not in response.headers
    assert etag_for_current(notes) not in response.get_data(as_text=True)


def etag_for_current(store: Store) -> str:
    return etag(store.version(1)).strip('"')


def test_412_raised_by_the_view_has_the_same_problem_body(
    app: Flask, pre: Preconditions, notes: Store, client: FlaskClient
) -> None:
    @app.put("/race/<int:note_id>")
    @pre.etag(notes.version)
    def race(note_id: int) -> str:
        raise PreconditionFailed()

    raised = client.put("/race/1", headers={"If-Match": etag(1)})
    decided = client.put("/race/1", headers={"If-Match": etag(0)})
    assert raised.status_code == decided.status_code == 412
    assert raised.mimetype == decided.mimetype == PROBLEM_MEDIA_TYPE
    raised_problem, decided_problem = raised.get_json(), decided.get_json()
    for member in ("type", "title", "status", "instance"):
        assert raised_problem[member] == decided_problem[member]
    assert PreconditionFailed.description in decided_problem["detail"]
    assert raised_problem["detail"] == PreconditionFailed.description


# -- the application's own error handlers --


def test_app_412_handler_wins(app: Flask, notes: Store, client: FlaskClient) -> None:
    @app.errorhandler(412)
    def stale(error: Exception) -> tuple[dict[str, str], int]:
        return {"error": "stale"}, 412

    response = client.put("/notes/1", headers={"If-Match": etag(0)})
    assert response.status_code == 412
    assert response.get_json() == {"error": "stale"}


def test_app_428_handler_wins(app: Flask, notes: Store, client: FlaskClient) -> None:
    @app.errorhandler(428)
    def unconditional(error: Exception) -> tuple[str, int]:
        return "send If-Match", 428

    response = client.put("/notes/1")
    assert response.get_data(as_text=True) == "send If-Match"


def test_app_412_handler_receives_the_precondition_failed_exception(
    app: Flask, notes: Store, client: FlaskClient
) -> None:
    received: list[Exception] = []

    @app.errorhandler(412)
    def stale(error: Exception) -> tuple[str, int]:
        received.append(error)
        return "stale", 412

    client.put("/notes/1", headers={"If-Match": etag(0)})
    assert isinstance(received[0], PreconditionFailed)


def test_blueprint_412_handler_wins_for_its_routes(
    app: Flask, pre: Preconditions, store: Store, client: FlaskClient
) -> None:
    api = Blueprint("api", __name__)

    @api.put("/notes/<int:note_id>")
    @pre.etag(store.version)
    def put_note(note_id: int) -> str:
        return "written"

    @api.errorhandler(412)
    def stale(error: Exception) -> tuple[str, int]:
        return "api says stale", 412

    app.register_blueprint(api, url_prefix="/api")
    response = client.put("/api/notes/1", headers={"If-Match": etag(0)})
    assert response.get_data(as_text=True) == "api says stale"


def test_blueprint_412_handler_does_not_apply_to_other_routes(
    app: Flask, pre: Preconditions, notes: Store, client: FlaskClient
) -> None:
    api = Blueprint("api", __name__)

    @api.errorhandler(412)
    def stale(error: Exception) -> tuple[str, int]:
        return "api says stale", 412

    app.register_blueprint(api, url_prefix="/api")
    response = client.put("/notes/1", headers={"If-Match": etag(0)})
    assert response.mimetype == PROBLEM_MEDIA_TYPE


def test_generic_http_exception_handler_wins(
    app: Flask, notes: Store, client: FlaskClient
) -> None:
    from werkzeug.exceptions import HTTPException

    @app.errorhandler(HTTPException)
    def any_http_error(error: HTTPException) -> tuple[str, int]:
        return f"http {error.code}", t.cast(int, error.code)

    response = client.put("/notes/1")
    assert response.get_data(as_text=True) == "http 428"


# -- expected_version and expected_etag --


@pytest.fixture
def checked(app: Flask, pre: Preconditions, store: Store) -> list[t.Any]:
    seen: list[t.Any] = []

    @app.route("/checked/<int:note_id>", methods=["GET", "PUT", "POST"])
    @pre.etag(store.version)
    def checked_view(note_id: int) -> str:
        try:
            seen.append((expected_version(), expected_etag()))
        except RuntimeError as e:
            seen.append(e)
        return "ok"

    return seen


def test_expected_version_is_the_version_checked(
    checked: list[t.Any], client: FlaskClient
) -> None:
    client.put("/checked/1", headers={"If-Match": etag(1)})
    assert checked == [(1, etag(1))]


def test_expected_version_is_none_when_creating(
    checked: list[t.Any], client: FlaskClient
) -> None:
    client.put("/checked/7", headers={"If-None-Match": "*"})
    assert checked == [(None, None)]


def test_expected_version_on_a_get_is_the_current_version(
    checked: list[t.Any], client: FlaskClient
) -> None:
    response = client.get("/checked/1")
    assert checked == [(1, etag(1))]
    assert response.headers["ETag"] == etag(1)


def test_expected_version_on_a_head_is_the_current_version(
    checked: list[t.Any], client: FlaskClient
) -> None:
    client.head("/checked/1")
    assert checked == [(1, etag(1))]


def test_expected_version_in_an_undecorated_view_is_a_runtime_error(
    app: Flask, client: FlaskClient
) -> None:
    @app.post("/plain")
    def plain() -> str:
        return str(expected_version())

    with pytest.raises(RuntimeError, match="No precondition was checked"):
        client.post("/plain")


# -- weak entity-tags and last_modified alone --


@pytest.fixture
def weak_notes(app: Flask, pre: Preconditions, store: Store) -> Store:
    # Weak tags on a writable route need a date to write with.
    @app.route("/weak/<int:note_id>", methods=["GET", "PUT"])
    @pre.etag(store.version, weak=True)
    @pre.last_modified(store.updated)
    def weak(note_id: int) -> str:
        return "ok"

    return store


def test_weak_etag_is_sent_with_the_weak_prefix(
    weak_notes: Store, client: FlaskClient
) -> None:
    assert client.get("/weak/1").headers["ETag"] == etag(1, weak=True)


def test_weak_etag_gives_304_for_if_none_match(
    weak_notes: Store, client: FlaskClient
) -> None:
    response = client.get("/weak/1", headers={"If-None-Match": etag(1, weak=True)})
    assert response.status_code == 304


def test_weak_etag_never_satisfies_if_match(
    weak_notes: Store, client: FlaskClient
) -> None:
    response = client.put("/weak/1", headers={"If-Match": etag(1, weak=True)})
    assert response.status_code == 412


@pytest.fixture
def dated(app: Flask, pre: Preconditions, store: Store) -> Store:
    @app.route("/dated/<int:note_id>", methods=["GET", "PUT"])
    @pre.last_modified(store.updated)
    def dated_view(note_id: int) -> str:
        store.view_calls += 1
        return "ok"

    return store


def test_last_modified_alone_gives_no_etag(dated: Store, client: FlaskClient) -> None:
    response = client.get("/dated/1")
    assert "ETag" not in response.headers
    assert response.headers["Last-Modified"] == LAST_MODIFIED


def test_last_modified_alone_answers_if_modified_since_with_304(
    dated: Store, client: FlaskClient
) -> None:
    response = client.get("/dated/1", headers={"If-Modified-Since": LAST_MODIFIED})
    assert response.status_code == 304
    assert dated.view_calls == 0


def test_last_modified_alone_accepts_if_unmodified_since_for_writes(
    dated: Store, client: FlaskClient
) -> None:
    response = client.put("/dated/1", headers={"If-Unmodified-Since": LAST_MODIFIED})
    assert response.status_code == 200


def test_last_modified_alone_returning_none_means_no_date_not_no_resource(
    dated: Store, client: FlaskClient
) -> None:
    # RFC 9110 §13.1.4: a resource without a date has its date conditions
    # ignored; only a version function can say that a resource is absent.
    response = client.get("/dated/9")
    assert response.status_code == 200
    assert "Last-Modified" not in response.headers


def test_last_modified_alone_returning_none_does_not_let_a_create_overwrite(
    dated: Store, client: FlaskClient
) -> None:
    response = client.put("/dated/9", headers={"If-None-Match": "*"})
    assert response.status_code == 412
    assert dated.view_calls == 0


def test_last_modified_function_may_return_a_naive_datetime(
    app: Flask, pre: Preconditions, client: FlaskClient
) -> None:
    import datetime as dt

    @app.get("/naive")
    @pre.last_modified(lambda: dt.datetime(2024, 1, 1, 12, 0, 0, 999))
    def naive() -> str:
        return "ok"

    assert client.get("/naive").headers["Last-Modified"] == LAST_MODIFIED


# -- bad developer input --


def test_version_function_returning_an_unsupported_type_names_the_endpoint(
    app: Flask, pre: Preconditions, client: FlaskClient
) -> None:
    @app.get("/odd")
    @pre.etag(lambda: object())
    def odd() -> str:
        return "ok"

    with pytest.raises(TypeError, match="'odd'"):
        client.get("/odd")


def test_last_modified_function_returning_a_string_names_the_endpoint(
    app: Flask, pre: Preconditions, client: FlaskClient
) -> None:
    @app.get("/odd-date")
    @pre.last_modified(lambda: "2024-01-01")
    def odd_date() -> str:
        return "ok"

    with pytest.raises(TypeError, match="'odd_date'"):
        client.get("/odd-date")


def test_etag_with_a_non_callable_is_a_type_error(pre: Preconditions) -> None:
    with pytest.raises(TypeError, match="version function"):
        pre.etag(42)  # type: ignore[call-overload]


def test_last_modified_with_a_non_callable_is_a_type_error(pre: Preconditions) -> None:
    with pytest.raises(TypeError, match="datetime"):
        pre.last_modified("updated_at")  # type: ignore[arg-type]


def test_decorated_view_keeps_its_name_and_carries_its_spec(
    pre: Preconditions, store: Store
) -> None:
    def show_note(note_id: int) -> str:
        """Show a note."""
        return "ok"

    decorated = pre.etag(store.version)(show_note)
    assert decorated.__name__ == "show_note"
    assert decorated.__doc__ == "Show a note."
    spec = decorated.__preconditions__  # type: ignore[attr-defined]
    assert isinstance(spec, ResourceSpec)
    assert spec.version == store.version and spec.uses_functions


def test_exempt_marks_the_view(pre: Preconditions) -> None:
    def view() -> str:
        return "ok"

    assert pre.exempt(view).__preconditions_exempt__ is True  # type: ignore[attr-defined]


# -- init_app, factories and configuration --


def test_decorators_applied_before_init_app_work(store: Store) -> None:
    pre = Preconditions()
    app = Flask("early")
    add_note_routes(app, pre, store)
    pre.init_app(app)
    client = app.test_client()
    assert client.put("/notes/1").status_code == 428
    assert client.get("/notes/1", headers={"If-None-Match": etag(1)}).status_code == 304


def test_init_app_stores_its_state_in_app_extensions(
    app: Flask, pre: Preconditions
) -> None:
    assert app.extensions["preconditions"].extension is pre


def test_one_extension_serves_two_apps_with_different_config(store: Store) -> None:
    pre = Preconditions()

    def create_app(required: list[str]) -> Flask:
        app = Flask("factory")
        app.config["PRECONDITIONS_REQUIRED_METHODS"] = required
        add_note_routes(app, pre, store)
        pre.init_app(app)
        return app

    strict = create_app(["PUT", "PATCH", "DELETE"]).test_client()
    lenient = create_app(["DELETE"]).test_client()
    assert strict.put("/notes/1", data="x").status_code == 428
    assert lenient.put("/notes/1", data="x").status_code == 204
    assert strict.delete("/notes/1").status_code == 428
    assert lenient.delete("/notes/1").status_code == 428


def test_decorated_view_without_init_app_is_a_runtime_error(store: Store) -> None:
    app = Flask("uninitialised")
    app.testing = True
    add_note_routes(app, Preconditions(), store)
    with pytest.raises(RuntimeError, match="init_app"):
        app.test_client().get("/notes/1")


def test_constructor_with_app_initialises_it() -> None:
    app = Flask("direct")
    Preconditions(app)
    assert "preconditions" in app.extensions


def test_config_defaults_are_set(app: Flask) -> None:
    assert app.config["PRECONDITIONS_APP_WIDE"] is True
    assert sorted(app.config["PRECONDITIONS_REQUIRED_METHODS"]) == [
        "DELETE",
        "PATCH",
        "PUT",
    ]
    assert app.config["PRECONDITIONS_MAX_HEADER_LENGTH"] == 8192


def test_constructor_options_override_config(store: Store) -> None:
    app = Flask("override")
    app.config["PRECONDITIONS_REQUIRED_METHODS"] = ["PUT"]
    pre = Preconditions(required_methods=["DELETE"])
    add_note_routes(app, pre, store)
    pre.init_app(app)
    client = app.test_client()
    assert client.put("/notes/1", data="x").status_code == 204
    assert client.delete("/notes/1").status_code == 428


def test_required_methods_are_case_insensitive(store: Store) -> None:
    app = Flask("lower")
    app.config["PRECONDITIONS_REQUIRED_METHODS"] = ["post"]
    pre = Preconditions(app)
    add_note_routes(app, pre, store)
    assert app.test_client().post("/notes/1").status_code == 428


@pytest.mark.parametrize(
    ("key", "value", "error", "message"),
    [
        pytest.param(
            "PRECONDITIONS_REQUIRED_METHODS",
            "PUT",
            TypeError,
            "must be a list of methods, not a string",
            id="methods-as-string",
        ),
        pytest.param(
            "PRECONDITIONS_REQUIRED_METHODS",
            ["PUT", "GET"],
            ValueError,
            "may only name unsafe methods",
            id="safe-method-required",
        ),
        pytest.param(
            "PRECONDITIONS_REQUIRED_METHODS",
            ["PUT", 7],
            TypeError,
            "PRECONDITIONS_REQUIRED_METHODS",
            id="method-not-a-string",
        ),
        pytest.param(
            "PRECONDITIONS_MAX_HEADER_LENGTH",
            10,
            ValueError,
            "at least 64",
            id="length-too-small",
        ),
        pytest.param(
            "PRECONDITIONS_MAX_HEADER_LENGTH",
            "8192",
            ValueError,
            "must be an int",
            id="length-as-string",
        ),
        pytest.param(
            "PRECONDITIONS_APP_WIDE",
            "false",
            TypeError,
            "PRECONDITIONS_APP_WIDE must be True or False",
            id="app-wide-as-string",
        ),
    ],
)
def test_invalid_config_is_a_clear_error_at_init_app(
    key: str, value: t.Any, error: type[Exception], message: str
) -> None:
    app = Flask("misconfigured")
    app.config[key] = value
    with pytest.raises(error, match=message):
        Preconditions(app)


def test_invalid_constructor_option_is_a_clear_error() -> None:
    with pytest.raises(ValueError, match="PRECONDITIONS_MAX_HEADER_LENGTH"):
        Preconditions(Flask("bad"), max_header_length=0)


def test_future_last_modified_is_replaced_by_the_present(
    app: Flask, pre: Preconditions, client: FlaskClient
) -> None:
    import datetime as dt

    from werkzeug.http import parse_date

    future = dt.datetime.now(dt.timezone.utc) + dt.timedelta(days=30)

    @app.get("/future")
    @pre.last_modified(lambda: future)
    def future_view() -> str:
        return "ok"

    sent = parse_date(client.get("/future").headers["Last-Modified"])
    # RFC 9110 §8.8.2.1: never later than the message's origination.
    assert sent is not None
    assert sent <= dt.datetime.now(dt.timezone.utc)


def test_bare_etag_with_weak_gives_weak_body_tags(
    app: Flask, pre: Preconditions, client: FlaskClient
) -> None:
    @app.get("/weak-report")
    @pre.etag(weak=True)
    def weak_report() -> str:
        return "report"

    response = client.get("/weak-report")
    assert response.headers["ETag"].startswith('W/"')
    again = client.get(
        "/weak-report", headers={"If-None-Match": response.headers["ETag"]}
    )
    assert again.status_code == 304


def test_initialising_an_app_twice_is_a_clear_error(app: Flask) -> None:
    with pytest.raises(RuntimeError, match="already initialised"):
        Preconditions(app)


# -- representation headers on early 304s (RFC 9110 §15.4.5) --


@pytest.fixture
def cached_notes(app: Flask, pre: Preconditions, store: Store) -> Store:
    @app.route("/cached/<int:note_id>", methods=["GET", "PUT"])
    @pre.etag(
        store.version,
        headers={"Cache-Control": "private, no-cache", "Vary": "Authorization"},
    )
    def cached(note_id: int) -> t.Any:
        store.view_calls += 1
        if request.method == "PUT":
            store.write("PUT", note_id, request.get_data(as_text=True))
            return "", 204
        return {"text": store.notes[note_id].text}

    return store


def test_declared_headers_are_on_the_200(
    cached_notes: Store, client: FlaskClient
) -> None:
    response = client.get("/cached/1")
    assert response.headers["Cache-Control"] == "private, no-cache"
    assert response.headers["Vary"] == "Authorization"


def test_early_304_carries_the_declared_headers_of_the_200(
    cached_notes: Store, client: FlaskClient
) -> None:
    response = client.get("/cached/1", headers={"If-None-Match": etag(1)})
    assert response.status_code == 304
    assert cached_notes.view_calls == 0
    assert response.headers["Cache-Control"] == "private, no-cache"
    assert response.headers["Vary"] == "Authorization"
    assert response.headers["ETag"] == etag(1)


def test_declared_headers_are_not_put_on_writes_or_refusals(
    cached_notes: Store, client: FlaskClient
) -> None:
    written = client.put("/cached/1", data="new", headers={"If-Match": etag(1)})
    refused = client.put("/cached/1", data="new")
    assert written.status_code == 204
    assert refused.status_code == 428
    assert "Cache-Control" not in written.headers
    assert "Vary" not in refused.headers


def test_a_header_the_view_sets_wins_over_the_declared_one(
    app: Flask, pre: Preconditions, store: Store, client: FlaskClient
) -> None:
    @app.get("/own/<int:note_id>")
    @pre.etag(store.version, headers={"Cache-Control": "no-cache"})
    def own(note_id: int) -> t.Any:
        return "text", 200, {"Cache-Control": "max-age=60"}

    assert client.get("/own/1").headers["Cache-Control"] == "max-age=60"


def test_declared_headers_must_be_strings(pre: Preconditions, store: Store) -> None:
    with pytest.raises(TypeError, match="strings"):
        pre.etag(store.version, headers={"Max-Forwards": 3})  # type: ignore[dict-item]


def test_a_response_class_that_adds_headers_when_sent_adds_them_to_304s() -> None:
    class Stamped(Response):
        def get_wsgi_headers(self, environ: t.Any) -> t.Any:
            headers = super().get_wsgi_headers(environ)
            headers["X-Served-By"] = "stamped"
            return headers

    app = Flask("stamped")
    app.response_class = Stamped
    pre = Preconditions(app)

    @app.route("/versioned", methods=["GET", "PUT"])
    @pre.etag(lambda: 1)
    def versioned() -> str:
        return "versioned"

    @app.route("/hashed", methods=["GET", "PUT"])
    def hashed() -> str:
        return "hashed"

    client = app.test_client()
    for path in ("/versioned", "/hashed"):
        tag = client.get(path).headers["ETag"]
        revalidated = client.get(path, headers={"If-None-Match": tag})
        assert revalidated.status_code == 304
        assert revalidated.headers["X-Served-By"] == "stamped"
        assert "Content-Type" not in revalidated.headers


@pytest.mark.parametrize(
    "headers",
    [
        {},
        {"If-None-Match": '"x"'},
        {"If-Modified-Since": "Sun, 06 Nov 1994 08:49:37 GMT"},
    ],
)
def test_a_read_of_an_absent_resource_asks_the_version_function_once(
    headers: dict[str, str],
) -> None:
    app = Flask("absent")
    pre = Preconditions(app)
    calls: list[int] = []

    def version(note_id: int) -> None:
        calls.append(note_id)
        return None

    @app.route("/notes/<int:note_id>", methods=["GET", "PUT"])
    @pre.etag(version)
    def note(note_id: int) -> str:
        return "never"

    response = app.test_client().get("/notes/9", headers=headers)
    assert response.status_code == 404
    assert response.get_json()["cause"] == "not-found"
    assert calls == [9]
