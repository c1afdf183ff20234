"""The error handlers init_app registers, and the app's own winning over them."""

from __future__ import annotations

import typing as t

import pytest
from flask import abort
from flask import Blueprint
from flask import Flask
from werkzeug import exceptions

from flask_preconditions import Preconditions
from flask_preconditions import PROBLEM_MEDIA_TYPE


def make_app(register: t.Callable[[Flask], None] | None = None) -> Flask:
    app = Flask(__name__)
    app.testing = True
    if register is not None:
        register(app)
    pre = Preconditions(app, app_wide=False)

    @app.put("/abort/<int:code>")
    @pre.exempt
    def abort_with(code: int) -> str:
        abort(code)

    @app.put("/werkzeug-412")
    def werkzeug_412() -> str:
        raise exceptions.PreconditionFailed()

    @app.get("/busy")
    def busy() -> str:
        raise exceptions.ServiceUnavailable(retry_after=7)

    @app.get("/missing")
    def missing() -> str:
        abort(404)

    return app


@pytest.mark.parametrize("code", [412, 428, 431, 503])
def test_abort_in_a_view_is_answered_with_problem_details(code: int) -> None:
    response = make_app().test_client().put(f"/abort/{code}")
    assert response.status_code == code
    assert response.mimetype == PROBLEM_MEDIA_TYPE
    body = response.get_json()
    assert body["status"] == code
    assert body["title"] == exceptions.default_exceptions[code]().name
    assert body["instance"] == f"/abort/{code}"
    assert body["type"].startswith("https://www.rfc-editor.org/rfc/")


def test_werkzeugs_own_412_is_answered_with_problem_details() -> None:
    response = make_app().test_client().put("/werkzeug-412")
    assert response.status_code == 412
    assert response.mimetype == PROBLEM_MEDIA_TYPE
    assert response.get_json()["detail"] == exceptions.PreconditionFailed.description


def test_a_503_keeps_its_retry_after() -> None:
    response = make_app().test_client().get("/busy")
    assert response.status_code == 503
    assert response.mimetype == PROBLEM_MEDIA_TYPE
    assert response.headers["Retry-After"] == "7"


def test_other_errors_are_left_as_flask_answers_them() -> None:
    response = make_app().test_client().get("/missing")
    assert response.status_code == 404
    assert response.mimetype == "text/html"


def own_412(error: exceptions.HTTPException) -> tuple[str, int]:
    return "own 412", 412


def test_the_apps_handler_registered_before_init_app_wins() -> None:
    app = make_app(lambda app: app.register_error_handler(412, own_412))
    response = app.test_client().put("/abort/412")
    assert response.get_data(as_text=True) == "own 412"


def test_the_apps_handler_registered_after_init_app_wins() -> None:
    app = make_app()
    app.register_error_handler(412, own_412)
    assert app.test_client().put("/abort/412").get_data(as_text=True) == "own 412"


@pytest.mark.parametrize("before", [True, False])
def test_the_apps_catch_all_http_handler_wins(before: bool) -> None:
    def catch_all(error: exceptions.HTTPException) -> tuple[str, int]:
        return f"caught {error.code}", t.cast(int, error.code)

    def register(app: Flask) -> None:
        app.register_error_handler(exceptions.HTTPException, catch_all)

    app = make_app(register if before else None)
    if not before:
        register(app)
    assert app.test_client().put("/abort/428").get_data(as_text=True) == ("caught 428")


def test_a_blueprints_own_handler_wins_for_its_endpoints() -> None:
    app = Flask(__name__)
    pre = Preconditions(app, app_wide=False)
    api = Blueprint("api", __name__)

    @api.put("/thing")
    def thing() -> str:
        abort(412)

    @api.errorhandler(412)
    def api_412(error: exceptions.HTTPException) -> tuple[str, int]:
        return "api 412", 412

    app.register_blueprint(api)

    @app.put("/other")
    @pre.exempt
    def other() -> str:
        abort(412)

    client = app.test_client()
    assert client.put("/thing").get_data(as_text=True) == "api 412"
    assert client.put("/other").mimetype == PROBLEM_MEDIA_TYPE


def test_a_404_the_extension_decides_is_a_problem_unless_the_app_handles_404() -> None:
    def make(with_handler: bool) -> Flask:
        app = Flask(__name__)
        pre = Preconditions(app)
        if with_handler:
            app.register_error_handler(404, lambda e: ("own 404", 404))

        @app.route("/notes/<int:note_id>", methods=["GET", "DELETE"])
        @pre.etag(lambda note_id: None)
        def note(note_id: int) -> str:
            return "never"

        return app

    default = make(False).test_client().delete("/notes/1", headers={"If-Match": "*"})
    assert default.status_code == 404
    assert default.mimetype == PROBLEM_MEDIA_TYPE
    assert default.get_json()["cause"] == "not-found"
    own = make(True).test_client().delete("/notes/1", headers={"If-Match": "*"})
    assert own.get_data(as_text=True) == "own 404"
