"""What names a request's resource: its URL rule and arguments, or a declared key."""

from __future__ import annotations

import typing as t

import pytest
from flask import Flask
from werkzeug.routing import BaseConverter

from flask_preconditions import Preconditions
from flask_preconditions.identity import location_identity
from flask_preconditions.identity import resource_identity
from flask_preconditions.locks import resource_key


class ListConverter(BaseConverter):
    """A converter whose values are lists, which cannot be hashed."""

    def to_python(self, value: str) -> list[str]:
        return value.split(",")

    def to_url(self, value: t.Any) -> str:
        return ",".join(value)


@pytest.fixture
def app() -> Flask:
    app = Flask("identity_app")
    app.url_map.converters["list"] = ListConverter
    pre = Preconditions(app)

    @app.route("/notes/<int:note_id>", methods=["GET", "PUT"])
    def note(note_id: int) -> str:
        return "note"

    @app.route("/users/<user>/notes/<int:note_id>", methods=["PUT"])
    @pre.resource_key(lambda note_id, **_: f"note:{note_id}")
    def user_note(user: str, note_id: int) -> str:
        return "note"

    @app.route("/tags/<list:names>")
    def tags(names: list[str]) -> str:
        return "tags"

    @app.route("/floats/<float(signed=True):x>")
    def floats(x: float) -> str:
        return "float"

    @app.route("/pairs/<b>/<a>")
    def pair(a: str, b: str) -> str:
        return "pair"

    app.add_url_rule("/hosted", "hosted", lambda: "hosted", host="api.example")
    return app


def identity_of(
    app: Flask, path: str, method: str = "GET", **kwargs: t.Any
) -> tuple[str, str]:
    """The request's identity for its lock and for its tags."""
    with app.test_request_context(path, method=method, **kwargs) as ctx:
        return (
            resource_identity(app, ctx.request, "ns"),
            resource_identity(app, ctx.request, declared=False),
        )


def test_a_resource_is_its_rule_and_arguments(app: Flask) -> None:
    lock, tag = identity_of(app, "/notes/5")
    assert lock == resource_key("ns", "/notes/<int:note_id>", {"note_id": 5})
    assert tag == resource_key("", "/notes/<int:note_id>", {"note_id": 5})
    # Asked again (the remembered key), the answer is the same.
    assert identity_of(app, "/notes/5") == (lock, tag)


def test_variants_of_one_url_and_its_methods_name_one_resource(app: Flask) -> None:
    assert identity_of(app, "/notes/05") == identity_of(app, "/notes/5")
    assert identity_of(app, "/notes/5", "PUT") == identity_of(app, "/notes/5")
    assert identity_of(app, "/notes/6") != identity_of(app, "/notes/5")


def test_arguments_are_named_in_order_of_name(app: Flask) -> None:
    lock, _ = identity_of(app, "/pairs/2/1")
    assert lock == "ns:%2Fpairs%2F%3Cb%3E%2F%3Ca%3E?a=1&b=2"


def test_a_declared_key_names_the_lock_but_not_the_tags(app: Flask) -> None:
    lock, tag = identity_of(app, "/users/ann/notes/5", "PUT")
    assert lock == resource_key("ns", "", {"resource": "note:5"})
    assert tag == resource_key(
        "", "/users/<user>/notes/<int:note_id>", {"note_id": 5, "user": "ann"}
    )


def test_an_argument_that_cannot_be_hashed_still_names_its_resource(
    app: Flask,
) -> None:
    lock, _ = identity_of(app, "/tags/a,b")
    assert lock == resource_key("ns", "/tags/<list:names>", {"names": ["a", "b"]})
    assert identity_of(app, "/tags/a,c")[0] != lock


def test_equal_arguments_with_different_texts_name_different_resources(
    app: Flask,
) -> None:
    # 0.0 == -0.0, and they hash alike, but their keys must differ, whichever
    # a process meets first: each worker must name a URL alike.
    zero = identity_of(app, "/floats/0.0")
    negative = identity_of(app, "/floats/-0.0")
    assert zero[0] == resource_key("ns", "/floats/<float(signed=True):x>", {"x": 0.0})
    assert negative[0].endswith("?x=-0.0")
    assert identity_of(app, "/floats/-0.0") == negative
    assert identity_of(app, "/floats/0.0") == zero


def test_the_host_of_a_host_matching_rule_is_part_of_the_resource() -> None:
    app = Flask("hosts_app", host_matching=True, static_host="static.example")
    app.add_url_rule("/hosted", "one", lambda: "one", host="one.example")
    app.add_url_rule("/hosted", "two", lambda: "two", host="two.example")
    one = identity_of(app, "/hosted", base_url="http://one.example")
    two = identity_of(app, "/hosted", base_url="http://two.example")
    assert one[0] == resource_key("ns", "one.example/hosted", {})
    assert one != two


def test_a_request_that_matched_no_rule_is_its_path(app: Flask) -> None:
    assert identity_of(app, "/nowhere")[0] == resource_key("ns", "/nowhere", {})


def test_a_location_has_the_identity_its_get_would_have(app: Flask) -> None:
    with app.test_request_context("/notes/5", method="PUT") as ctx:
        location = location_identity(app, ctx.request, "http://localhost/notes/7")
        assert location == identity_of(app, "/notes/7")[1]
        assert location_identity(app, ctx.request, "/nowhere") is None
