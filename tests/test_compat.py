"""The calls into Flask beyond its public API (compat.py), on the installed Flask."""

from __future__ import annotations

import pytest
from flask import Flask
from flask import request

from flask_preconditions import compat


def test_current_gives_the_objects_behind_the_proxies() -> None:
    app = Flask("current")
    with app.test_request_context("/somewhere"):
        found_app, found_request = compat.current()
        assert found_app is app
        assert found_request is request._get_current_object()  # type: ignore[attr-defined]


def test_current_outside_of_a_request_is_an_error() -> None:
    app = Flask("outside")
    with pytest.raises(RuntimeError):
        compat.current()
    with app.app_context(), pytest.raises(RuntimeError):
        compat.current()


def test_current_follows_a_nested_dispatch() -> None:
    app = Flask("nested")
    seen = []

    @app.get("/inner")
    def inner() -> str:
        seen.append(compat.current()[1].path)
        return "inner"

    @app.get("/outer")
    def outer() -> str:
        environ = dict(request.environ, PATH_INFO="/inner")
        response = compat.dispatch_in_current_context(app, environ)
        assert response is not None
        seen.append(compat.current()[1].path)
        return "outer"

    assert app.test_client().get("/outer").status_code == 200
    assert seen == ["/inner", "/outer"]


def test_remove_before_request_leaves_the_others() -> None:
    app = Flask("hooks")

    def first() -> None:
        return None

    def second() -> None:
        return None

    app.before_request(first)
    app.before_request(second)
    listed = app.before_request_funcs[None]
    compat.remove_before_request(app, first)
    assert app.before_request_funcs[None] == [second]
    # Replaced, not changed in place: a request iterating over it goes on.
    assert listed == [first, second]
    compat.remove_before_request(app, first)
    assert app.before_request_funcs[None] == [second]


def test_current_gives_the_app_of_a_context_pushed_inside_a_request() -> None:
    # As current_app does: the innermost application context's app.
    app = Flask("outer_app")
    other = Flask("other_app")
    with app.test_request_context("/"):
        with other.app_context():
            try:
                found_app, _ = compat.current()
            except RuntimeError:
                # Flask 3.2: that application context has no request.
                return
            assert found_app is other
        assert compat.current()[0] is app
