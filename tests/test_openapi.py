"""The apispec plugin: generated specs are valid and document preconditions."""

from __future__ import annotations

import importlib
import importlib.util
import pathlib
import sys
import typing as t

import pytest
from apispec import APISpec
from apispec.exceptions import APISpecError
from apispec_webframeworks.flask import FlaskPlugin
from flask import Flask
from flask.views import MethodView
from openapi_schema_validator import validate as validate_schema
from openapi_spec_validator import validate

from flask_preconditions import Preconditions
from flask_preconditions.openapi import PreconditionsPlugin
from helpers import load_example

EXAMPLES = pathlib.Path(__file__).parent.parent / "examples"


build_spec = load_example(EXAMPLES / "openapi_spec.py").build_spec


def example_apps() -> dict[str, Flask]:
    quickstart = EXAMPLES / "quickstart"
    apps = {
        "decorated": load_example(quickstart / "decorated.py").app,
        "blueprint": load_example(quickstart / "blueprint.py").create_app(),
        "app_wide": load_example(quickstart / "app_wide.py").app,
    }
    if (EXAMPLES / "notes" / "app.py").exists():
        if str(EXAMPLES.parent) not in sys.path:
            sys.path.insert(0, str(EXAMPLES.parent))
        notes = importlib.import_module("examples.notes.app")
        apps["notes"] = notes.create_app({"SQLALCHEMY_DATABASE_URI": "sqlite://"})
    return apps


@pytest.mark.parametrize("name", sorted(example_apps()))
def test_example_app_specs_are_valid_openapi(name: str) -> None:
    spec = build_spec(example_apps()[name]).to_dict()
    validate(spec)
    refs = str(spec["paths"])
    assert "#/components/responses/PreconditionFailed" in refs
    assert "#/components/responses/PreconditionRequired" in refs
    assert "#/components/responses/NotModified" in refs


def make_app(**options: t.Any) -> Flask:
    app = Flask(__name__)
    pre = Preconditions(app, app_wide=False, **options)

    @app.route("/notes/<int:note_id>", methods=["GET", "PUT", "DELETE"])
    @pre.etag(lambda note_id: 1)
    def note(note_id: int) -> dict[str, str]:
        return {}

    @app.route("/dated", methods=["GET", "PATCH"])
    @pre.last_modified(lambda: None)
    def dated() -> dict[str, str]:
        return {}

    @app.route("/hashed", methods=["GET", "PUT"])
    @pre.etag
    def hashed() -> dict[str, str]:
        return {}

    @app.route("/plain", methods=["GET", "PUT"])
    def plain() -> dict[str, str]:
        return {}

    class Item(MethodView):
        def get(self) -> dict[str, str]:
            """---
            responses:
              200:
                description: OK
            """
            return {}

        @pre.etag(lambda: 1)
        def put(self) -> dict[str, str]:
            """---
            responses:
              200:
                description: OK
            """
            return {}

    app.add_url_rule("/item", view_func=Item.as_view("item"))
    return app


@pytest.fixture(params=["3.0.3", "3.1.0"])
def spec(request: pytest.FixtureRequest) -> dict[str, t.Any]:
    document: dict[str, t.Any] = build_spec(
        make_app(), openapi_version=request.param
    ).to_dict()
    validate(document)
    return document


def _operations(methods: t.Iterable[str]) -> dict[str, t.Any]:
    return {method: {"responses": {"200": {"description": "OK"}}} for method in methods}


def refs(items: t.Iterable[t.Any]) -> list[str]:
    return [item["$ref"].rpartition("/")[2] for item in items]


def test_get_documents_if_none_match_etag_and_304(spec: dict[str, t.Any]) -> None:
    get = spec["paths"]["/notes/{note_id}"]["get"]
    assert refs(get["parameters"]) == ["IfNoneMatch"]
    assert get["responses"]["200"]["headers"]["ETag"] == {
        "$ref": "#/components/headers/ETag"
    }
    assert get["responses"]["304"] == {"$ref": "#/components/responses/NotModified"}
    assert "412" not in get["responses"]


def test_put_documents_if_match_if_none_match_412_and_428(
    spec: dict[str, t.Any],
) -> None:
    put = spec["paths"]["/notes/{note_id}"]["put"]
    assert refs(put["parameters"]) == ["IfMatch", "IfNoneMatch"]
    assert refs([put["responses"]["412"], put["responses"]["428"]]) == [
        "PreconditionFailed",
        "PreconditionRequired",
    ]
    # A version-protected write answers with the new ETag.
    assert "ETag" in put["responses"]["200"]["headers"]


def test_delete_cannot_create_so_has_no_if_none_match(spec: dict[str, t.Any]) -> None:
    delete = spec["paths"]["/notes/{note_id}"]["delete"]
    assert refs(delete["parameters"]) == ["IfMatch"]


def test_delete_answers_without_a_new_etag(spec: dict[str, t.Any]) -> None:
    delete = spec["paths"]["/notes/{note_id}"]["delete"]
    assert "headers" not in delete["responses"]["200"]
    assert {"412", "428"} <= set(delete["responses"])


def test_last_modified_views_document_date_conditions(spec: dict[str, t.Any]) -> None:
    dated = spec["paths"]["/dated"]
    assert refs(dated["get"]["parameters"]) == ["IfNoneMatch", "IfModifiedSince"]
    assert refs(dated["patch"]["parameters"]) == ["IfMatch", "IfUnmodifiedSince"]
    assert "Last-Modified" in dated["get"]["responses"]["200"]["headers"]


def test_body_hash_write_gets_no_new_etag_header(spec: dict[str, t.Any]) -> None:
    put = spec["paths"]["/hashed"]["put"]
    assert "headers" not in put["responses"]["200"]
    assert "428" in put["responses"]


def test_unprotected_routes_are_left_alone(spec: dict[str, t.Any]) -> None:
    plain = spec["paths"]["/plain"]
    assert "parameters" not in plain["get"] and "parameters" not in plain["put"]
    assert set(plain["put"]["responses"]) == {"200"}


def test_method_view_methods_are_classified_one_by_one(
    spec: dict[str, t.Any],
) -> None:
    item = spec["paths"]["/item"]
    assert "428" in item["put"]["responses"]
    assert "304" not in item["get"]["responses"]


def test_problem_responses_use_the_problem_details_schema(
    spec: dict[str, t.Any],
) -> None:
    response = spec["components"]["responses"]["PreconditionRequired"]
    assert response["content"] == {
        "application/problem+json": {
            "schema": {"$ref": "#/components/schemas/ProblemDetails"}
        }
    }


def test_real_problem_bodies_match_the_documented_schema() -> None:
    app = make_app()
    api = APISpec("Test", "1", "3.1.0", plugins=[PreconditionsPlugin(app)])
    schema = api.to_dict()["components"]["schemas"]["ProblemDetails"]
    client = app.test_client()
    required = client.put("/notes/1")
    failed = client.put("/notes/1", headers={"If-Match": '"stale"'})
    assert (required.status_code, failed.status_code) == (428, 412)
    for response in (required, failed):
        assert response.mimetype == "application/problem+json"
        validate_schema(response.get_json(), schema)


def test_methods_outside_required_methods_get_412_but_not_428() -> None:
    app = make_app(required_methods=["DELETE"])
    api = APISpec("Test", "1", "3.1.0", plugins=[PreconditionsPlugin(app)])
    with app.test_request_context():
        api.path(
            "/hashed",
            view=app.view_functions["hashed"],
            operations=_operations(["put"]),
        )
    responses = api.to_dict()["paths"]["/hashed"]["put"]["responses"]
    assert set(responses) == {"200", "412"}


def test_plugin_uses_the_current_app_when_given_none() -> None:
    app = make_app()
    api = APISpec("Test", "1", "3.1.0", plugins=[FlaskPlugin(), PreconditionsPlugin()])
    with app.test_request_context():
        api.path(view=app.view_functions["hashed"], operations=_operations(["get"]))
    assert "304" in api.to_dict()["paths"]["/hashed"]["get"]["responses"]


def test_a_spec_built_after_the_first_request_finds_the_covered_views() -> None:
    # App-wide mode puts a wrapper in app.view_functions at the first request;
    # FlaskPlugin looks an endpoint up by comparing view functions, as an
    # /openapi.json route that builds the spec per request would.
    app = Flask("wrapped")
    Preconditions(app)

    @app.route("/plain", methods=["GET", "PUT"])
    def plain() -> dict[str, str]:
        return {}

    app.test_client().get("/plain")
    assert app.view_functions["plain"] is not plain
    api = APISpec("Test", "1", "3.1.0", plugins=[FlaskPlugin(), PreconditionsPlugin()])
    with app.test_request_context():
        api.path(view=plain, operations=_operations(["get", "put"]))
    operations = api.to_dict()["paths"]["/plain"]
    assert "304" in operations["get"]["responses"]
    assert "428" in operations["put"]["responses"]


def test_openapi_2_is_refused() -> None:
    with pytest.raises(APISpecError, match="OpenAPI 3"):
        APISpec("Test", "1", "2.0", plugins=[PreconditionsPlugin()])


def test_a_view_not_on_the_app_is_a_clear_error() -> None:
    app = make_app()
    api = APISpec("Test", "1", "3.1.0", plugins=[PreconditionsPlugin(app)])
    with pytest.raises(APISpecError, match="not registered"):
        api.path("/x", view=lambda: None, operations=_operations(["get"]))


def test_declared_headers_are_documented_on_the_200_and_the_304() -> None:
    app = Flask(__name__)
    pre = Preconditions(app, app_wide=False)

    @app.get("/cached/<int:note_id>")
    @pre.etag(lambda note_id: 1, headers={"Cache-Control": "no-cache"})
    def cached(note_id: int) -> dict[str, str]:
        return {}

    document = build_spec(app).to_dict()
    validate(document)
    get = document["paths"]["/cached/{note_id}"]["get"]
    assert "Cache-Control" in get["responses"]["200"]["headers"]
    not_modified = get["responses"]["304"]
    assert set(not_modified["headers"]) == {"ETag", "Cache-Control"}
