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


class RecordingLocks:
    """A lock backend that logs what it is asked to lock and release."""

    def __init__(self) -> None:
        self.log: list[tuple[str, str]] = []

    def acquire(self, key: str, timeout: float) -> t.Any:
        self.log.append(("acquire", key))
        log = self.log

        class Held:
            def release(self) -> None:
                log.append(("release", key))

        return Held()


#: Settings the write comparison runs under: name, config, etag() options.
WRITE_SETTINGS: list[tuple[str, dict[str, t.Any], dict[str, t.Any]]] = [
    ("default", {}, {}),
    ("keyed", {"SECRET_KEY": "new", "SECRET_KEY_FALLBACKS": ["old"]}, {}),
    ("put-not-required", {"PRECONDITIONS_REQUIRED_METHODS": ["PATCH", "DELETE"]}, {}),
    ("entity-tag-required", {"PRECONDITIONS_REQUIRE_ENTITY_TAG": True}, {}),
    ("short-headers", {"PRECONDITIONS_MAX_HEADER_LENGTH": 64}, {}),
    ("lock-off", {"PRECONDITIONS_LOCK": "off"}, {}),
    ("compare-and-swap", {}, {"atomic": True}),
]
WRITE_METHODS = ("PUT", "PATCH", "DELETE", "POST", "OPTIONS")
#: Item 3's view redirects; item 4's declares its new version; 9 is absent.
WRITE_VERSIONS = {1: 3, 2: 5, 3: 1, 4: 7}


def make_write_client(
    *, general: bool, config: dict[str, t.Any], options: dict[str, t.Any]
) -> tuple[FlaskClient, dict[int, int], RecordingLocks]:
    """An app whose PUT, PATCH and POST bump a version and whose DELETE
    removes it; item 4 says its new version with ``set_new_version()``."""
    app = Flask(f"plain_write_{general}")
    app.config["PRECONDITIONS_LOCK_NAMESPACE"] = "items"
    app.config.update(config)
    locks = RecordingLocks()
    if "PRECONDITIONS_LOCK" not in config:
        app.config["PRECONDITIONS_LOCK"] = locks
    pre = Preconditions(app)
    versions = dict(WRITE_VERSIONS)

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
        if request.method != "GET":
            versions[item_id] = versions.get(item_id, 0) + 1
        if item_id == 4:
            set_new_version(versions[item_id])
        response = Response(f"item {item_id} {expected_version()}")
        if item_id == 2:
            response.headers["ETag"] = '"the-views-own"'
        return response

    view: t.Callable[..., t.Any] = pre.etag(version, **options)(item)
    if general:
        # A no-op authorisation: every write takes the general path.
        view = pre.authorize(lambda item_id: None)(view)
    methods = ["GET", *WRITE_METHODS]
    app.add_url_rule("/items/<int:item_id>", "item", view, methods=methods)
    return app.test_client(), versions, locks


def write_conditions(tag: str, old_tag: str) -> list[dict[str, str]]:
    return [
        {},
        {"If-Match": tag},
        {"If-Match": f" {tag}\t"},
        {"If-Match": f"W/{tag}"},
        {"If-Match": f'"other", {tag}'},
        {"If-Match": '"other"'},
        {"If-Match": "*"},
        {"If-Match": ""},
        {"If-Match": " "},
        {"If-Match": "not a tag"},
        {"If-Match": old_tag},
        {"If-Match": "x" * 9000},
        # The current tag, padded past a limit of 64.
        {"If-Match": tag + " " * 40},
        {"If-Match": tag, "If-Unmodified-Since": "Sun, 06 Nov 1994 08:49:37 GMT"},
        {"If-Match": tag, "If-None-Match": tag},
        {"If-Match": tag, "If-None-Match": "*"},
        {"If-Match": "", "If-None-Match": "*"},
        {"If-None-Match": "*"},
        {"If-Unmodified-Since": "Sun, 06 Nov 1994 08:49:37 GMT"},
    ]


@pytest.mark.parametrize(
    ("config", "options"),
    [pytest.param(c, o, id=name) for name, c, o in WRITE_SETTINGS],
)
def test_the_plain_write_answers_as_the_general_path(
    config: dict[str, t.Any], options: dict[str, t.Any]
) -> None:
    plain = make_write_client(general=False, config=config, options=options)
    general = make_write_client(general=True, config=config, options=options)
    keyed = "SECRET_KEY" in config
    compared = locked = 0
    succeeded: set[str] = set()
    items = (1, 2, 3, 4, 9)

    def reset() -> None:
        for _, versions, locks in (general, plain):
            versions.clear()
            versions.update(WRITE_VERSIONS)
            locks.log.clear()

    for item_id, method in itertools.product(items, WRITE_METHODS):
        path = f"/items/{item_id}"
        reset()
        tag = general[0].get(path).headers.get("ETag", '"none"')
        # The tag an older key gave the resource (keyed apps only match it).
        old_tag = '"stale"'
        if keyed and item_id in WRITE_VERSIONS:
            old_config = {"SECRET_KEY": "old", "SECRET_KEY_FALLBACKS": []}
            old = make_write_client(general=True, config=old_config, options={})
            old_tag = old[0].get(path).headers.get("ETag", old_tag)
        for headers in write_conditions(tag, old_tag):
            reset()
            answers = []
            for client, versions, locks in (general, plain):
                response = answer(client, method, path, headers)
                answers.append((*response, dict(versions), list(locks.log)))
            expected, got = answers
            assert expected[0] < 500, (method, path, headers, expected)
            assert got == expected, (method, path, headers)
            compared += 1
            locked += bool(expected[-1])
            if 200 <= expected[0] < 300 and headers.get("If-Match") == tag:
                succeeded.add(method)
    assert compared == len(items) * len(WRITE_METHODS) * len(write_conditions("", ""))
    # Every method's write with the current tag went through, on both paths.
    assert succeeded == set(WRITE_METHODS)
    # The lock log was compared, where a lock was taken.
    uses_lock = "PRECONDITIONS_LOCK" not in config and not options.get("atomic")
    assert (locked > 0) == uses_lock
