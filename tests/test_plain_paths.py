"""The plain read and write paths answer exactly as the general path does.

Reads of a view with only a version function, or only a body hash, and
writes of a view with only a version function, take a path of their own
(``checks.plain_read``, ``checks.plain_body_read``, ``checks.plain_write``).
Each request below is sent to two apps that differ only in a no-op
authorisation function, which sends every request down the general path, and
the two answers (and, for writes, what was stored) must be the same, header
for header.
"""

from __future__ import annotations

import itertools
import typing as t

import pytest
from flask import Flask
from flask import request
from flask import Response
from flask.testing import FlaskClient

from flask_preconditions import expected_etag
from flask_preconditions import expected_version
from flask_preconditions import Preconditions
from flask_preconditions import set_new_version

VERSIONS = {1: 3, 2: 5}


def make_client(*, general: bool, kind: str, keyed: bool, weak: bool) -> FlaskClient:
    app = Flask(f"plain_{general}_{kind}_{keyed}_{weak}")
    if keyed:
        app.config["SECRET_KEY"] = "new"
        app.config["SECRET_KEY_FALLBACKS"] = ["old"]
    pre = Preconditions(app)

    def version(item_id: int) -> int | None:
        return VERSIONS.get(item_id)

    def item(item_id: int) -> Response:
        if item_id == 3:
            return Response("moved", status=302, headers={"Location": "/items/1"})
        if kind == "hash" and item_id not in VERSIONS:
            return Response("missing", status=404)
        body = f"item {item_id}"
        if kind == "version":
            body += f" {expected_version()} {expected_etag()}"
        response = Response(body, mimetype="text/plain")
        response.headers["X-Item"] = str(item_id)
        response.headers["Content-Language"] = "en"
        if item_id == 2:
            response.headers["ETag"] = '"the-views-own"'
            response.headers["Cache-Control"] = "private"
        return response

    view: t.Callable[..., t.Any] = item
    if kind == "version":
        view = pre.etag(version, weak=weak, headers={"Vary": "Accept"})(view)
    else:
        view = pre.etag(view)
    if general:
        # A no-op authorisation: every read takes the general path.
        view = pre.authorize(lambda item_id: None)(view)
    # Weak tags on a writable route need a date function: read-only there.
    methods = ["GET"] if weak else ["GET", "PUT"]
    app.add_url_rule("/items/<int:item_id>", "item", view, methods=methods)

    @app.after_request
    def seen(response: Response) -> Response:
        response.headers["X-Hook"] = str(response.status_code)
        return response

    return app.test_client()


def conditions(tag: str) -> list[dict[str, str]]:
    weak = tag if tag.startswith("W/") else f"W/{tag}"
    return [
        {},
        {"If-None-Match": tag},
        {"If-None-Match": weak},
        {"If-None-Match": f" {tag} "},
        {"If-None-Match": f'"other", {tag}'},
        {"If-None-Match": '"other"'},
        {"If-None-Match": "*"},
        {"If-None-Match": "not a tag"},
        {"If-None-Match": tag, "If-Modified-Since": "Sun, 06 Nov 1994 08:49:37 GMT"},
        {"If-Modified-Since": "Sun, 06 Nov 1994 08:49:37 GMT"},
        {"If-Match": tag},
        {"If-Match": '"other"'},
        {"If-Unmodified-Since": "Sun, 06 Nov 1994 08:49:37 GMT"},
        {"If-Range": tag, "Range": "bytes=0-1"},
        {"Range": "bytes=0-1"},
    ]


def answer(
    client: FlaskClient, method: str, path: str, headers: dict[str, str]
) -> t.Any:
    response = client.open(path, method=method, headers=headers)
    return response.status_code, list(response.headers.items()), response.data


@pytest.mark.parametrize(
    ("kind", "keyed", "weak"),
    [
        ("version", False, False),
        ("version", True, False),
        ("version", False, True),
        ("hash", False, False),
        ("hash", True, False),
    ],
)
def test_the_plain_path_answers_as_the_general_path(
    kind: str, keyed: bool, weak: bool
) -> None:
    plain = make_client(general=False, kind=kind, keyed=keyed, weak=weak)
    general = make_client(general=True, kind=kind, keyed=keyed, weak=weak)
    compared = 0
    for item_id, method in itertools.product((1, 2, 3, 9), ("GET", "HEAD")):
        path = f"/items/{item_id}"
        tag = general.get(path).headers.get("ETag", '"none"')
        for headers in conditions(tag):
            expected = answer(general, method, path, headers)
            assert expected[0] < 500, (method, path, headers, expected)
            assert answer(plain, method, path, headers) == expected, (
                method,
                path,
                headers,
            )
            compared += 1
    assert compared == 8 * len(conditions('"x"'))


def make_write_client(
    *, general: bool, keyed: bool, declares: bool
) -> tuple[FlaskClient, dict[int, int]]:
    """An app whose PUT bumps a version and whose DELETE removes it; with
    ``declares``, the view says its new version with ``set_new_version()``."""
    app = Flask(f"plain_write_{general}_{keyed}_{declares}")
    app.config["MAX_CONTENT_LENGTH"] = 1024
    if keyed:
        app.config["SECRET_KEY"] = "new"
        app.config["SECRET_KEY_FALLBACKS"] = ["old"]
    pre = Preconditions(app)
    versions = dict(VERSIONS)

    def version(item_id: int) -> int | None:
        return versions.get(item_id)

    def item(item_id: int) -> t.Any:
        if item_id == 3:
            return Response("moved", status=302, headers={"Location": "/items/1"})
        if request.method == "DELETE":
            del versions[item_id]
            return "", 204
        if request.method == "OPTIONS":
            return Response(status=204, headers={"Allow": "GET, PUT, DELETE"})
        versions[item_id] = versions.get(item_id, 0) + 1
        if declares:
            set_new_version(versions[item_id])
        response = Response(f"item {item_id} {expected_version()}")
        if item_id == 2:
            response.headers["ETag"] = '"the-views-own"'
        return response

    view: t.Callable[..., t.Any] = pre.etag(version)(item)
    if general:
        # A no-op authorisation: every write takes the general path.
        view = pre.authorize(lambda item_id: None)(view)
    methods = ["GET", "PUT", "DELETE", "OPTIONS"]
    app.add_url_rule("/items/<int:item_id>", "item", view, methods=methods)
    return app.test_client(), versions


def write_conditions(tag: str, old_tag: str) -> list[dict[str, str]]:
    return [
        {},
        {"If-Match": tag},
        {"If-Match": f" {tag}\t"},
        {"If-Match": f"W/{tag}"},
        {"If-Match": f'"other", {tag}'},
        {"If-Match": '"other"'},
        {"If-Match": "*"},
        {"If-Match": "not a tag"},
        {"If-Match": old_tag},
        {"If-Match": "x" * 9000},
        {"If-Match": tag, "If-Unmodified-Since": "Sun, 06 Nov 1994 08:49:37 GMT"},
        {"If-Match": tag, "If-None-Match": tag},
        {"If-Match": tag, "If-None-Match": "*"},
        {"If-None-Match": "*"},
        {"If-Unmodified-Since": "Sun, 06 Nov 1994 08:49:37 GMT"},
    ]


@pytest.mark.parametrize(("keyed", "declares"), [(False, False), (True, True)])
def test_the_plain_write_answers_as_the_general_path(
    keyed: bool, declares: bool
) -> None:
    plain, plain_versions = make_write_client(
        general=False, keyed=keyed, declares=declares
    )
    general, general_versions = make_write_client(
        general=True, keyed=keyed, declares=declares
    )
    compared = 0
    for item_id, method in itertools.product(
        (1, 2, 3, 9), ("PUT", "DELETE", "OPTIONS")
    ):
        path = f"/items/{item_id}"
        tag = general.get(path).headers.get("ETag", '"none"')
        # The tag an older key gave the resource (keyed apps only match it).
        old_tag = '"stale"'
        if keyed and item_id in VERSIONS:
            old = make_write_client(general=True, keyed=True, declares=False)[0]
            old.application.config["SECRET_KEY"] = "old"
            old.application.config["SECRET_KEY_FALLBACKS"] = []
            old_tag = old.get(path).headers["ETag"]
        for headers in write_conditions(tag, old_tag):
            answers = []
            for client, versions in (
                (general, general_versions),
                (plain, plain_versions),
            ):
                versions.clear()
                versions.update(VERSIONS)
                answers.append((*answer(client, method, path, headers), dict(versions)))
            expected, got = answers
            assert expected[0] < 500, (method, path, headers, expected)
            assert got == expected, (method, path, headers)
            compared += 1
    assert compared == 12 * len(write_conditions('"x"', '"y"'))
    # The plain path wrote, refused and created as the general one did.
    assert plain_versions == general_versions
