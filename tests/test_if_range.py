"""If-Range (RFC 9110 §13.1.5) where a response honours Range, in every mode."""

from __future__ import annotations

import datetime as dt
import io
import typing as t

import pytest
from flask import Flask
from flask import send_file
from werkzeug.http import http_date

from flask_preconditions import Preconditions
from flask_preconditions.comparison import if_range_holds
from flask_preconditions.conditions import Validators
from helpers import etag

UTC = dt.timezone.utc
NOW = dt.datetime(2024, 6, 1, 12, 0, 0, tzinfo=UTC)
CHANGED = dt.datetime(2024, 6, 1, 11, 0, 0, tzinfo=UTC)
BODY = b"0123456789" * 10


@pytest.mark.parametrize(
    ("value", "current", "holds", "rule"),
    [
        ('"abc"', Validators("abc"), True, "strong tag, strong match"),
        ('"abc"', Validators("abd"), False, "another tag"),
        ('W/"abc"', Validators("abc"), False, "a weak tag never holds"),
        ('"abc"', Validators("abc", weak=True), False, "the current tag is weak"),
        (
            http_date(CHANGED),
            Validators(None, False, CHANGED),
            True,
            "exact, strong date",
        ),
        (http_date(NOW), Validators(None, False, NOW), False, "a date of now is weak"),
        (http_date(NOW), Validators(None, False, CHANGED), False, "another date"),
        ("yesterday", Validators("abc", False, CHANGED), False, "not a validator"),
        ('"abc"', None, False, "no resource"),
    ],
)
def test_if_range_rules(
    value: str, current: Validators | None, holds: bool, rule: str
) -> None:
    assert if_range_holds(value, current, NOW) is holds, rule


def file_view() -> t.Callable[[], t.Any]:
    """A new view for each app: a decorated function must not be registered
    undecorated elsewhere (that is what @pre.etag above @app.route does)."""

    def file() -> t.Any:
        # With body hashes the view's own ETag is the tag: send_file's, which
        # Werkzeug's own range handling compares If-Range with.
        return send_file(io.BytesIO(BODY), mimetype="text/plain", etag="file-v1")

    return file


def make_app(mode: str) -> Flask:
    app = Flask(f"range_{mode}")
    pre = Preconditions(app, app_wide=mode == "app-wide")
    view = file_view()
    if mode == "version":
        view = pre.etag(lambda: 3)(pre.last_modified(lambda: CHANGED)(view))
    elif mode == "bare-etag":
        view = pre.etag(view)
    app.add_url_rule("/file", "file", view)
    return app


def current_validator(app: Flask, mode: str) -> str:
    if mode == "version":
        return etag(3)
    return t.cast(str, app.test_client().get("/file").headers["ETag"])


@pytest.mark.parametrize("mode", ["version", "bare-etag", "app-wide"])
def test_a_range_with_a_current_if_range_is_206(mode: str) -> None:
    app = make_app(mode)
    client = app.test_client()
    validator = current_validator(app, mode)
    response = client.get(
        "/file", headers={"Range": "bytes=0-9", "If-Range": validator}
    )
    assert response.status_code == 206
    assert response.get_data() == BODY[:10]


@pytest.mark.parametrize("mode", ["version", "bare-etag", "app-wide"])
def test_a_range_with_a_stale_if_range_is_the_full_200(mode: str) -> None:
    client = make_app(mode).test_client()
    response = client.get(
        "/file", headers={"Range": "bytes=0-9", "If-Range": '"stale"'}
    )
    assert response.status_code == 200
    assert response.get_data() == BODY


@pytest.mark.parametrize("mode", ["version", "bare-etag", "app-wide"])
def test_a_range_without_if_range_is_left_to_werkzeug(mode: str) -> None:
    client = make_app(mode).test_client()
    response = client.get("/file", headers={"Range": "bytes=10-19"})
    assert response.status_code == 206
    assert response.get_data() == BODY[10:20]


def test_a_strong_date_in_if_range_holds_with_a_version_function() -> None:
    client = make_app("version").test_client()
    response = client.get(
        "/file", headers={"Range": "bytes=0-9", "If-Range": http_date(CHANGED)}
    )
    assert response.status_code == 206
