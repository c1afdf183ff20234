"""App-wide mode, @pre.exempt, PRECONDITIONS_APP_WIDE=False and pre.protect()."""

from __future__ import annotations

import typing as t

import pytest
from flask import Blueprint
from flask import Flask
from flask import request
from flask.testing import FlaskClient
from werkzeug.http import quote_etag

from flask_preconditions import etag_for_body
from flask_preconditions import Preconditions


def body_etag(text: str) -> str:
    return quote_etag(etag_for_body(text.encode()))


def add_plain_routes(
    app: Flask | Blueprint, pre: Preconditions, texts: dict[str, str]
) -> None:
    """Undecorated routes: the kinds of endpoint app-wide mode must tell apart."""

    @app.route("/items/<name>", methods=["GET", "PUT", "DELETE", "POST"])
    def item(name: str) -> t.Any:
        if request.method in ("GET", "HEAD"):
            if name not in texts:
                return "missing", 404
            return texts[name]
        if request.method == "DELETE":
            del texts[name]
            return "", 204
        texts[name] = request.get_data(as_text=True)
        return texts[name]

    @app.post("/post-only")
    def post_only() -> str:
        return "posted"

    @app.put("/put-only")
    def put_only() -> str:
        return "put"

    @app.route("/exempt", methods=["GET", "PUT"])
    @pre.exempt
    def exempt() -> str:
        return "exempt"


@pytest.fixture
def texts() -> dict[str, str]:
    return {"a": "alpha"}


@pytest.fixture
def plain(app: Flask, pre: Preconditions, texts: dict[str, str]) -> dict[str, str]:
    add_plain_routes(app, pre, texts)
    return texts


def test_undecorated_get_gets_a_body_etag(plain: object, client: FlaskClient) -> None:
    assert client.get("/items/a").headers["ETag"] == body_etag("alpha")


def test_undecorated_get_with_matching_if_none_match_is_304(
    plain: object, client: FlaskClient
) -> None:
    response = client.get("/items/a", headers={"If-None-Match": body_etag("alpha")})
    assert response.status_code == 304
    assert response.get_data() == b""


def test_undecorated_head_with_matching_if_none_match_is_304(
    plain: object, client: FlaskClient
) -> None:
    response = client.head("/items/a", headers={"If-None-Match": body_etag("alpha")})
    assert response.status_code == 304


def test_undecorated_put_without_if_match_is_428(
    plain: dict[str, str], client: FlaskClient
) -> None:
    assert client.put("/items/a", data="new").status_code == 428
    assert plain["a"] == "alpha"


def test_undecorated_delete_with_stale_if_match_is_412(
    plain: dict[str, str], client: FlaskClient
) -> None:
    response = client.delete("/items/a", headers={"If-Match": body_etag("old")})
    assert response.status_code == 412
    assert "a" in plain


def test_undecorated_put_with_current_if_match_writes(
    plain: dict[str, str], client: FlaskClient
) -> None:
    response = client.put(
        "/items/a", data="new", headers={"If-Match": body_etag("alpha")}
    )
    assert response.status_code == 200
    assert plain["a"] == "new"


def test_undecorated_put_creating_needs_if_none_match_star(
    plain: dict[str, str], client: FlaskClient
) -> None:
    assert client.put("/items/b", data="new").status_code == 428
    response = client.put("/items/b", data="new", headers={"If-None-Match": "*"})
    assert response.status_code == 200


def test_post_to_a_url_that_answers_get_is_not_required_to_be_conditional(
    plain: object, client: FlaskClient
) -> None:
    assert client.post("/items/a", data="new").status_code == 200


def test_post_with_stale_if_match_is_412(plain: object, client: FlaskClient) -> None:
    response = client.post("/items/a", data="new", headers={"If-Match": '"old"'})
    assert response.status_code == 412


def test_post_only_endpoint_is_left_alone(plain: object, client: FlaskClient) -> None:
    assert client.post("/post-only").status_code == 200


def test_put_only_endpoint_is_left_alone(plain: object, client: FlaskClient) -> None:
    assert client.put("/put-only").status_code == 200


def test_exempt_endpoint_accepts_unconditional_writes(
    plain: object, client: FlaskClient
) -> None:
    assert client.put("/exempt").status_code == 200


def test_exempt_endpoint_gets_no_etag(plain: object, client: FlaskClient) -> None:
    assert "ETag" not in client.get("/exempt").headers


def test_unknown_url_is_still_404(plain: object, client: FlaskClient) -> None:
    assert client.put("/nowhere").status_code == 404


def test_app_wide_false_leaves_undecorated_endpoints_alone(
    texts: dict[str, str],
) -> None:
    app = Flask("opt_in")
    app.config["PRECONDITIONS_APP_WIDE"] = False
    pre = Preconditions(app)
    add_plain_routes(app, pre, texts)
    client = app.test_client()
    assert client.put("/items/a", data="new").status_code == 200
    assert "ETag" not in client.get("/items/a").headers


def test_app_wide_false_still_protects_decorated_views() -> None:
    app = Flask("opt_in")
    app.config["PRECONDITIONS_APP_WIDE"] = False
    pre = Preconditions(app)

    @app.route("/doc", methods=["GET", "PUT"])
    @pre.etag
    def doc() -> str:
        return "doc"

    assert app.test_client().put("/doc").status_code == 428


def test_app_wide_constructor_option_overrides_config(texts: dict[str, str]) -> None:
    app = Flask("opt_in")
    app.config["PRECONDITIONS_APP_WIDE"] = True
    pre = Preconditions(app, app_wide=False)
    add_plain_routes(app, pre, texts)
    assert app.test_client().put("/items/a", data="new").status_code == 200


def test_separate_get_and_put_views_of_one_url_are_checked_together(
    app: Flask, client: FlaskClient
) -> None:
    @app.get("/settings")
    def read_settings() -> str:
        return "dark mode"

    @app.put("/settings")
    def write_settings() -> str:
        return "saved"

    assert client.put("/settings").status_code == 428
    headers = {"If-Match": body_etag("dark mode")}
    assert client.put("/settings", headers=headers).status_code == 200


def test_write_to_a_url_whose_get_carries_no_validator_is_a_clear_412(
    app: Flask, pre: Preconditions, client: FlaskClient
) -> None:
    @app.get("/report")
    @pre.exempt
    def read_report() -> str:
        return "report"

    @app.put("/report")
    def write_report() -> str:
        return "saved"

    # The GET carries no ETag, so there is nothing a client could send.
    response = client.put("/report", headers={"If-Match": '"x"'})
    assert response.status_code == 412
    assert "answers without an ETag" in response.get_json()["detail"]
    # Fail closed: only If-Match: * writes.
    assert client.put("/report", headers={"If-Match": "*"}).status_code == 200


# -- blueprints --


@pytest.fixture
def protected(texts: dict[str, str]) -> FlaskClient:
    app = Flask("blueprints")
    pre = Preconditions(app, app_wide=False)
    api = Blueprint("api", __name__)
    add_plain_routes(api, pre, texts)
    pre.protect(api)
    app.register_blueprint(api, url_prefix="/api")
    add_plain_routes(app, pre, texts)
    return app.test_client()


def test_protected_blueprint_requires_if_match(protected: FlaskClient) -> None:
    assert protected.put("/api/items/a", data="new").status_code == 428


def test_protected_blueprint_checks_if_match(protected: FlaskClient) -> None:
    headers = {"If-Match": body_etag("alpha")}
    assert protected.put("/api/items/a", data="x", headers=headers).status_code == 200
    headers = {"If-Match": body_etag("alpha")}
    assert protected.put("/api/items/a", data="y", headers=headers).status_code == 412


def test_protected_blueprint_gets_etags_and_304(protected: FlaskClient) -> None:
    etag = protected.get("/api/items/a").headers["ETag"]
    response = protected.get("/api/items/a", headers={"If-None-Match": etag})
    assert response.status_code == 304


def test_protected_blueprint_leaves_its_exempt_views_alone(
    protected: FlaskClient,
) -> None:
    assert protected.put("/api/exempt").status_code == 200


def test_protected_blueprint_leaves_its_put_only_views_alone(
    protected: FlaskClient,
) -> None:
    assert protected.put("/api/put-only").status_code == 200


def test_routes_outside_the_protected_blueprint_are_left_alone(
    protected: FlaskClient,
) -> None:
    assert protected.put("/items/a", data="new").status_code == 200
    assert "ETag" not in protected.get("/items/a").headers


def test_nested_blueprint_of_a_protected_one_is_protected(
    texts: dict[str, str],
) -> None:
    app = Flask("nested")
    pre = Preconditions(app, app_wide=False)
    parent = Blueprint("parent", __name__)
    child = Blueprint("child", __name__)
    add_plain_routes(child, pre, texts)
    pre.protect(parent)
    parent.register_blueprint(child, url_prefix="/child")
    app.register_blueprint(parent, url_prefix="/parent")
    assert app.test_client().put("/parent/child/items/a").status_code == 428


def test_protect_on_an_app_wide_app_checks_once(
    app: Flask, pre: Preconditions, texts: dict[str, str], client: FlaskClient
) -> None:
    api = Blueprint("api", __name__)
    calls: list[str] = []

    @api.route("/thing", methods=["GET", "PUT"])
    def thing() -> str:
        calls.append(request.method)
        return "thing"

    pre.protect(api)
    app.register_blueprint(api)
    client.put("/thing", headers={"If-Match": body_etag("thing")})
    # One check, the write, and the GET that gives the write's 2xx its ETag.
    assert calls == ["GET", "PUT", "GET"]


# -- the internal GET fails closed --


@pytest.fixture
def picky(app: Flask, texts: dict[str, str]) -> dict[str, str]:
    """A URL whose GET answers only JSON clients, and whose PUT writes."""

    @app.route("/picky/<name>", methods=["GET", "PUT"])
    def picky_view(name: str) -> t.Any:
        if request.method == "GET":
            if not request.accept_mimetypes.accept_json:
                return "not acceptable", 406
            return {"text": texts[name]}
        texts[name] = request.get_data(as_text=True)
        return "", 204

    return texts


@pytest.mark.parametrize("headers", [{}, {"If-Match": '"stale"'}])
def test_write_whose_internal_get_fails_is_never_performed_unchecked(
    picky: dict[str, str], client: FlaskClient, headers: dict[str, str]
) -> None:
    response = client.put(
        "/picky/a", data="overwritten", headers={**headers, "Accept": "text/html"}
    )
    assert response.status_code in (412, 428)
    assert picky["a"] == "alpha"


def test_write_whose_internal_get_fails_proceeds_only_with_if_match_star(
    picky: dict[str, str], client: FlaskClient
) -> None:
    response = client.put(
        "/picky/a", data="new", headers={"If-Match": "*", "Accept": "text/html"}
    )
    assert response.status_code == 204
    assert picky["a"] == "new"


# -- a failed GET precondition with an app's own error handler --


def test_failed_get_precondition_goes_to_the_apps_handler_not_to_a_500(
    app: Flask, plain: dict[str, str], client: FlaskClient
) -> None:
    from werkzeug.exceptions import HTTPException

    @app.errorhandler(HTTPException)
    def http_error(error: HTTPException) -> tuple[dict[str, t.Any], int]:
        return {"handled": error.code}, t.cast(int, error.code)

    response = client.get("/items/a", headers={"If-Match": '"stale"'})
    assert response.status_code == 412
    assert response.get_json() == {"handled": 412}


# -- requests that match no route --


def test_unrouted_methods_do_not_grow_the_endpoint_cache(
    app: Flask, plain: dict[str, str], client: FlaskClient
) -> None:
    client.get("/items/a")
    before = len(app.extensions["preconditions"]._routes)
    for number in range(50):
        client.open("/items/a", method=f"BOGUS{number}")
        client.get(f"/no-such-url-{number}")
    assert len(app.extensions["preconditions"]._routes) == before


# -- the checks wrap the covered views, at the first request --


def test_after_the_first_request_no_hook_of_the_extension_remains(
    app: Flask, pre: Preconditions, plain: dict[str, str], client: FlaskClient
) -> None:
    @app.route("/decorated", methods=["GET", "PUT"])
    @pre.etag(lambda: 1)
    def decorated() -> str:
        return "decorated"

    assert len(app.before_request_funcs[None]) == 1
    client.get("/items/a")
    # Decorated, exempt and uncovered views meet none of the extension's code.
    assert app.before_request_funcs.get(None, []) == []
    assert app.after_request_funcs.get(None, []) == []
    assert app.view_functions["decorated"] is decorated
    assert app.view_functions["exempt"].__name__ == "exempt"
    assert not hasattr(app.view_functions["exempt"], "__wrapped__")
    # The covered view is wrapped, keeping its name and pointing to itself.
    wrapped = app.view_functions["item"]
    assert wrapped.__name__ == "item"
    assert wrapped.__wrapped__.__name__ == "item"  # type: ignore[attr-defined]
    # And it is still checked.
    assert client.put("/items/a", data="x").status_code == 428
    assert client.get("/items/a").headers["ETag"] == body_etag("alpha")


def test_requests_racing_to_be_first_are_all_checked(
    app: Flask, plain: dict[str, str]
) -> None:
    # Every thread's first request waits until the covered views are
    # wrapped: none of them reaches the plain view unchecked.
    import threading

    barrier = threading.Barrier(8)
    statuses: list[int] = []

    def put() -> None:
        client = app.test_client()
        barrier.wait()
        statuses.append(client.put("/items/a", data="unchecked").status_code)

    threads = [threading.Thread(target=put) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert statuses == [428] * 8
    assert plain["a"] == "alpha"


def test_every_before_request_hook_runs_before_the_check(
    app: Flask, plain: dict[str, str], client: FlaskClient
) -> None:
    # Registered after init_app: it still refuses strangers before the
    # extension answers 428 ("it exists") or 412.
    @app.before_request
    def authenticate() -> t.Any:
        if request.headers.get("Authorization") != "Bearer ann":
            return "who are you?", 401
        return None

    assert client.put("/items/a", data="x").status_code == 401
    assert (
        client.put("/items/a", data="x", headers={"If-Match": '"old"'}).status_code
        == 401
    )
    signed = {"Authorization": "Bearer ann"}
    assert client.put("/items/a", data="x", headers=signed).status_code == 428


def test_a_misconfigured_route_fails_every_request_until_fixed(
    app: Flask, pre: Preconditions
) -> None:
    @app.route("/weak", methods=["GET", "PUT"])
    @pre.etag(lambda: 1, weak=True)
    def weak() -> str:
        return "weak"

    from flask_preconditions.validation import Misconfigured

    app.testing = True
    client = app.test_client()
    for _ in range(2):
        with pytest.raises(Misconfigured):
            client.get("/weak")
    # The hook that raises stays until the routes are fixed.
    assert len(app.before_request_funcs[None]) == 1


def protected_thing(pre: Preconditions, name: str) -> Flask:
    """An app with a protected blueprint registered, and no init_app yet."""
    api = pre.protect(Blueprint("api", __name__))

    @api.route("/thing", methods=["GET", "PUT"])
    def thing() -> str:
        return "thing"

    app = Flask(name)
    app.testing = True
    app.register_blueprint(api)
    return app


def test_a_protected_blueprint_on_an_app_without_the_extension_fails_loudly() -> None:
    client = protected_thing(Preconditions(), "forgot_init_app").test_client()
    for _ in range(2):
        with pytest.raises(RuntimeError, match="init_app"):
            client.put("/thing", data="unchecked")


def test_a_protected_blueprint_registered_before_init_app_is_checked() -> None:
    pre = Preconditions()
    app = protected_thing(pre, "factory")
    pre.init_app(app)
    assert app.test_client().put("/thing", data="x").status_code == 428
    assert app.before_request_funcs.get(None, []) == []
