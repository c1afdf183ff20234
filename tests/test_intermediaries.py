"""What caches, proxies and CORS hooks between client and app need.

A 304 keeps the headers the app's hooks add, whatever their order; writable
resources tell caches to revalidate; weakened or re-encoded entity-tags are
explained, or accepted when the deployment asks for it.
"""

from __future__ import annotations

import typing as t

import pytest
from flask import Flask
from flask.wrappers import Response

from flask_preconditions import Preconditions

MODES = ["app-wide", "bare-etag", "version"]


def add_cors(app: Flask) -> None:
    @app.after_request
    def cors(response: Response) -> Response:
        response.headers["Access-Control-Allow-Origin"] = "https://app.example"
        response.headers["Access-Control-Expose-Headers"] = "ETag"
        response.headers["X-Request-Id"] = "r-1"
        return response


def make_app(mode: str, *, hooks_first: bool, **config: t.Any) -> Flask:
    app = Flask(f"infra_{mode.replace('-', '_')}")
    app.config.update(config)
    if hooks_first:
        add_cors(app)
    pre = Preconditions(app, app_wide=mode == "app-wide")
    if not hooks_first:
        add_cors(app)

    def doc() -> str:
        return "the document"

    view = doc
    if mode == "bare-etag":
        view = pre.etag(doc)
    elif mode == "version":
        view = pre.etag(lambda: 4)(doc)
    app.add_url_rule("/doc", "doc", view, methods=["GET", "PUT"])

    @app.get("/read-only")
    @pre.etag(lambda: 1)
    def read_only() -> str:
        return "never written"

    return app


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("hooks_first", [True, False])
def test_a_304_keeps_the_headers_the_apps_hooks_add(
    mode: str, hooks_first: bool
) -> None:
    client = make_app(mode, hooks_first=hooks_first).test_client()
    tag = client.get("/doc").headers["ETag"]
    response = client.get("/doc", headers={"If-None-Match": tag})
    assert response.status_code == 304
    assert response.headers["Access-Control-Allow-Origin"] == "https://app.example"
    assert response.headers["Access-Control-Expose-Headers"] == "ETag"
    assert response.headers["X-Request-Id"] == "r-1"
    assert response.headers["ETag"] == tag
    assert "Content-Type" not in response.headers


@pytest.mark.parametrize("mode", MODES)
def test_writable_resources_tell_caches_to_revalidate(mode: str) -> None:
    client = make_app(mode, hooks_first=False).test_client()
    response = client.get("/doc")
    assert response.headers["Cache-Control"] == "no-cache"
    tag = response.headers["ETag"]
    revalidated = client.get("/doc", headers={"If-None-Match": tag})
    assert revalidated.headers["Cache-Control"] == "no-cache"


def test_read_only_resources_keep_their_caching_as_it_is() -> None:
    client = make_app("version", hooks_first=False).test_client()
    assert "Cache-Control" not in client.get("/read-only").headers


def test_a_views_own_cache_control_wins() -> None:
    app = Flask(__name__)
    Preconditions(app)

    @app.route("/doc", methods=["GET", "PUT"])
    def doc() -> t.Any:
        return "doc", 200, {"Cache-Control": "private, max-age=0"}

    assert app.test_client().get("/doc").headers["Cache-Control"] == (
        "private, max-age=0"
    )


@pytest.mark.parametrize("value", [None, "max-age=0, must-revalidate"])
def test_the_cache_control_is_configurable(value: str | None) -> None:
    app = make_app("app-wide", hooks_first=False, PRECONDITIONS_CACHE_CONTROL=value)
    assert app.test_client().get("/doc").headers.get("Cache-Control") == value


def current_tag(client: t.Any) -> str:
    return t.cast(str, client.get("/doc").headers["ETag"])


def altered_forms(tag: str) -> list[str]:
    opaque = tag.strip('"')
    return [
        f"W/{tag}",
        f'"{opaque}-gzip"',
        f'"{opaque}:gzip"',
        f'"{opaque}:zstd"',
        f'"{opaque}:br"',
    ]


@pytest.mark.parametrize("mode", MODES)
def test_altered_tags_are_refused_by_default_and_the_412_says_why(mode: str) -> None:
    client = make_app(mode, hooks_first=False).test_client()
    tag = current_tag(client)
    for altered in altered_forms(tag):
        response = client.put("/doc", headers={"If-Match": altered})
        assert response.status_code == 412, altered
        detail = response.get_json()["detail"]
        assert "PRECONDITIONS_ACCEPT_ALTERED_ETAGS" in detail, altered
        assert "changed by another request" not in detail, altered


@pytest.mark.parametrize("mode", MODES)
def test_altered_tags_are_accepted_when_the_deployment_asks(mode: str) -> None:
    client = make_app(
        mode, hooks_first=False, PRECONDITIONS_ACCEPT_ALTERED_ETAGS=True
    ).test_client()
    for altered in altered_forms(current_tag(client)):
        response = client.put("/doc", headers={"If-Match": altered})
        assert response.status_code == 200, altered
        # Revalidation with the altered form is a 304 as well.
        assert client.get("/doc", headers={"If-None-Match": altered}).status_code == (
            304
        ), altered


def test_an_altered_form_of_another_tag_is_still_stale() -> None:
    client = make_app(
        "version", hooks_first=False, PRECONDITIONS_ACCEPT_ALTERED_ETAGS=True
    ).test_client()
    response = client.put("/doc", headers={"If-Match": 'W/"other"'})
    assert response.status_code == 412
    stale = client.put("/doc", headers={"If-Match": '"other-gzip"'})
    assert stale.status_code == 412
