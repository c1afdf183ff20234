"""The route audit and the ``flask preconditions routes`` command."""

from __future__ import annotations

import json
import typing as t

import pytest
from flask import Blueprint
from flask import Flask
from flask.views import MethodView

from flask_preconditions import Preconditions
from flask_preconditions.audit import audit_routes
from flask_preconditions.audit import Protection
from flask_preconditions.audit import protection_of
from flask_preconditions.cli import format_table


def view() -> t.Callable[[], dict[str, str]]:
    """A new view function (pre.exempt marks the function it is given)."""

    def ok() -> dict[str, str]:
        return {}

    return ok


def make_app(*, app_wide: bool) -> Flask:
    """One route for each kind of protection the audit reports."""
    app = Flask(__name__)
    pre = Preconditions(app, app_wide=app_wide)

    @app.route("/versioned/<int:item_id>", methods=["GET", "PUT", "DELETE"])
    @pre.etag(lambda item_id: item_id)
    def versioned(item_id: int) -> dict[str, str]:
        return {}

    @app.route("/dated", methods=["GET", "PATCH"])
    @pre.last_modified(lambda: None)
    def dated() -> dict[str, str]:
        return {}

    @app.route("/hashed", methods=["GET", "PUT"])
    @pre.etag
    def hashed() -> dict[str, str]:
        return {}

    @app.route("/plain", methods=["GET", "PUT", "POST"])
    def plain() -> dict[str, str]:
        return {}

    @app.post("/exempt")
    @pre.exempt
    def exempt() -> dict[str, str]:
        return {}

    app.add_url_rule("/put-only", "put_only", view(), methods=["PUT"])

    class Item(MethodView):
        def get(self) -> dict[str, str]:
            return {}

        @pre.exempt
        def delete(self) -> dict[str, str]:
            return {}

        def patch(self) -> dict[str, str]:
            return {}

    app.add_url_rule("/item", view_func=Item.as_view("item"))

    api = Blueprint("api", __name__)
    pre.protect(api)
    api.add_url_rule("/docs", "docs", view(), methods=["GET", "PUT"])
    app.register_blueprint(api, url_prefix="/api")

    other = Blueprint("other", __name__)
    other.add_url_rule("/docs", "docs", view(), methods=["GET", "PUT"])
    app.register_blueprint(other, url_prefix="/other")
    return app


def protections(app: Flask) -> dict[tuple[str, str], str]:
    return {
        (row.endpoint, row.method): row.protection.value for row in audit_routes(app)
    }


def test_audit_classifies_every_kind_of_route_without_app_wide_mode() -> None:
    assert protections(make_app(app_wide=False)) == {
        ("versioned", "GET"): "version",
        ("versioned", "PUT"): "version",
        ("versioned", "DELETE"): "version",
        ("dated", "GET"): "version",
        ("dated", "PATCH"): "version",
        ("hashed", "GET"): "body-hash",
        ("hashed", "PUT"): "body-hash",
        ("plain", "GET"): "safe",
        ("plain", "PUT"): "unprotected",
        ("plain", "POST"): "not-required",
        ("exempt", "POST"): "exempt",
        ("put_only", "PUT"): "unprotected",
        ("item", "GET"): "safe",
        ("item", "DELETE"): "exempt",
        ("item", "PATCH"): "unprotected",
        ("api.docs", "GET"): "body-hash",
        ("api.docs", "PUT"): "body-hash",
        ("other.docs", "GET"): "safe",
        ("other.docs", "PUT"): "unprotected",
        ("static", "GET"): "safe",
    }


def test_app_wide_mode_covers_undecorated_views_that_answer_get() -> None:
    found = protections(make_app(app_wide=True))
    assert found[("plain", "PUT")] == "body-hash"
    assert found[("plain", "GET")] == "body-hash"
    assert found[("item", "PATCH")] == "body-hash"
    assert found[("other.docs", "PUT")] == "body-hash"
    # Checked against a GET of the same URL, which does not exist.
    assert found[("put_only", "PUT")] == "unprotected"


def test_write_whose_get_view_is_exempt_is_unprotected() -> None:
    app = Flask(__name__)
    pre = Preconditions(app)
    app.add_url_rule("/a", "read", pre.exempt(view()), methods=["GET"])
    app.add_url_rule("/a", "write", view(), methods=["PUT"])
    row = protection_of(app, "write", "put")
    assert row.protection is Protection.UNPROTECTED
    assert "'read'" in row.reason and "exempt" in row.reason


def test_nested_protected_blueprint_covers_its_children() -> None:
    app = Flask(__name__)
    pre = Preconditions(app, app_wide=False)
    parent = Blueprint("parent", __name__)
    child = Blueprint("child", __name__)
    child.add_url_rule("/doc", "doc", view(), methods=["GET", "PUT"])
    pre.protect(parent)
    parent.register_blueprint(child, url_prefix="/child")
    app.register_blueprint(parent, url_prefix="/parent")
    assert protection_of(app, "parent.child.doc", "PUT").protection == "body-hash"


def test_required_methods_configuration_decides_what_is_unprotected() -> None:
    app = Flask(__name__)
    Preconditions(app, app_wide=False, required_methods=["DELETE"])
    app.add_url_rule("/a", "a", view(), methods=["GET", "PUT", "DELETE"])
    assert protection_of(app, "a", "PUT").protection is Protection.NOT_REQUIRED
    assert protection_of(app, "a", "DELETE").protection is Protection.UNPROTECTED


def test_audit_of_an_app_without_the_extension_says_so() -> None:
    with pytest.raises(RuntimeError, match="not initialised"):
        audit_routes(Flask(__name__))


def test_protection_of_an_unknown_endpoint_is_a_key_error() -> None:
    with pytest.raises(KeyError, match="nowhere"):
        protection_of(make_app(app_wide=False), "nowhere", "GET")


def test_table_has_aligned_columns() -> None:
    rows = [r for r in audit_routes(make_app(app_wide=False)) if r.endpoint == "plain"]
    lines = format_table(rows).splitlines()
    assert lines[0].split() == ["Endpoint", "Method", "Rule", "Protection", "Atomic"]
    assert {line.index("/plain") for line in lines[2:]} == {lines[0].index("Rule")}


@pytest.fixture
def runner_app() -> Flask:
    return make_app(app_wide=False)


def test_routes_command_lists_rule_method_and_protection(runner_app: Flask) -> None:
    result = runner_app.test_cli_runner().invoke(args=["preconditions", "routes"])
    assert result.exit_code == 0
    lines = result.output.splitlines()
    assert lines[0].split() == ["Endpoint", "Method", "Rule", "Protection", "Atomic"]
    assert ["plain", "PUT", "/plain", "unprotected", "-"] in [
        ln.split() for ln in lines
    ]
    assert ["versioned", "PUT", "/versioned/<int:item_id>", "version", "lock"] in [
        ln.split()[:5] for ln in lines
    ]


def test_strict_exits_1_and_names_the_unprotected_routes(runner_app: Flask) -> None:
    result = runner_app.test_cli_runner().invoke(
        args=["preconditions", "routes", "--strict"]
    )
    assert result.exit_code == 1
    assert "4 unprotected route(s)" in result.output
    assert "PUT /plain (plain):" in result.output
    assert "PATCH /item (item):" in result.output


def test_strict_exits_0_when_every_write_is_protected() -> None:
    app = Flask(__name__)
    pre = Preconditions(app, app_wide=False)

    @app.route("/a", methods=["GET", "PUT"])
    @pre.etag
    def a() -> dict[str, str]:
        return {}

    result = app.test_cli_runner().invoke(args=["preconditions", "routes", "--strict"])
    assert result.exit_code == 0, result.output


def test_json_output_is_one_object_per_route_and_method(runner_app: Flask) -> None:
    result = runner_app.test_cli_runner().invoke(
        args=["preconditions", "routes", "--json", "--sort", "rule"]
    )
    rows = json.loads(result.output)
    assert rows[0]["rule"] == "/api/docs"
    assert {
        "endpoint": "hashed",
        "method": "PUT",
        "rule": "/hashed",
        "protection": "body-hash",
        "reason": "Checked against the entity-tag of GET /hashed (@pre.etag).",
        "atomicity": "lock",
        "lock": "FileLocks",
        "steps_aside": True,
    } in rows
    assert [r["rule"] for r in rows] == sorted(r["rule"] for r in rows)


def test_sort_by_protection_groups_rows(runner_app: Flask) -> None:
    result = runner_app.test_cli_runner().invoke(
        args=["preconditions", "routes", "--sort", "protection"]
    )
    lines = result.stdout.splitlines()
    start = lines[0].index("Protection")
    column = [line[start:].split()[0] for line in lines[2:]]
    assert column == sorted(column)


def test_audit_agrees_with_what_requests_get() -> None:
    """The routes the audit calls unprotected do accept blind writes."""
    app = make_app(app_wide=False)
    client = app.test_client()
    for row in audit_routes(app):
        if row.method != "PUT" or "<" in row.rule:
            continue
        status = client.put(row.rule).status_code
        if row.protection is Protection.UNPROTECTED:
            assert status == 200, row
        elif row.protection in (Protection.VERSION, Protection.BODY_HASH):
            assert status == 428, row


def test_sort_match_keeps_the_url_map_order(runner_app: Flask) -> None:
    result = runner_app.test_cli_runner().invoke(
        args=["preconditions", "routes", "--json", "--sort", "match"]
    )
    endpoints = [row["endpoint"] for row in json.loads(result.output)]
    in_map = [rule.endpoint for rule in runner_app.url_map.iter_rules()]
    assert list(dict.fromkeys(endpoints)) == list(dict.fromkeys(in_map))
    assert endpoints != sorted(endpoints)


def atomicity_app(lock: t.Any) -> Flask:
    app = Flask(__name__)
    pre = Preconditions(app, lock=lock)
    versions = {1: 1}

    @app.route("/plain", methods=["GET", "PUT"])
    def plain() -> str:
        return "plain"

    @app.route("/cas/<int:item_id>", methods=["GET", "PUT"])
    @pre.etag(lambda item_id: versions.get(item_id), atomic=True)
    def cas(item_id: int) -> str:
        return "cas"

    return app


def atomicity_of(app: Flask) -> dict[tuple[str, str], tuple[str, str | None]]:
    return {
        (row.endpoint, row.method): (row.atomicity.value, row.lock)
        for row in audit_routes(app)
    }


def test_the_audit_says_how_each_checked_write_is_atomic() -> None:
    rows = atomicity_of(atomicity_app("thread"))
    assert rows[("plain", "PUT")] == ("lock", "ThreadLocks")
    assert rows[("cas", "PUT")] == ("compare-and-swap", None)
    assert rows[("plain", "GET")] == ("-", None)


def test_with_the_lock_off_checked_writes_are_check_then_write() -> None:
    rows = atomicity_of(atomicity_app("off"))
    assert rows[("plain", "PUT")] == ("check-then-write", None)
    assert rows[("cas", "PUT")] == ("compare-and-swap", None)


def test_strict_fails_on_check_then_write() -> None:
    result = (
        atomicity_app("off")
        .test_cli_runner()
        .invoke(args=["preconditions", "routes", "--strict"])
    )
    assert result.exit_code == 1
    assert "1 check-then-write route(s)" in result.output
    assert "PUT /plain (plain)" in result.output


def test_strict_passes_with_the_lock_on() -> None:
    result = (
        atomicity_app("thread")
        .test_cli_runner()
        .invoke(args=["preconditions", "routes", "--strict"])
    )
    assert result.exit_code == 0, result.output


def step_aside_app() -> Flask:
    app = Flask(__name__)
    pre = Preconditions(app, lock="thread")

    @app.route("/hashed", methods=["GET", "PUT"])
    def hashed() -> str:
        return "hashed"

    @app.route("/versioned", methods=["GET", "PUT"])
    @pre.etag(lambda: 1)
    def versioned() -> str:
        return "versioned"

    return app


def test_writes_checked_against_their_get_are_reported() -> None:
    rows = {(r.endpoint, r.method): r for r in audit_routes(step_aside_app())}
    assert rows[("hashed", "PUT")].steps_aside
    assert not rows[("versioned", "PUT")].steps_aside
    assert not rows[("hashed", "GET")].steps_aside
    result = step_aside_app().test_cli_runner().invoke(args=["preconditions", "routes"])
    assert result.exit_code == 0
    assert "1 write(s) checked against the GET of their URL" in result.stderr
    assert "PUT /hashed (hashed)" in result.stderr


def test_strict_can_be_told_to_fail_on_writes_that_step_aside() -> None:
    runner = step_aside_app().test_cli_runner()
    assert runner.invoke(args=["preconditions", "routes", "--strict"]).exit_code == 0
    strict = runner.invoke(
        args=["preconditions", "routes", "--strict", "--fail-on-step-aside"]
    )
    assert strict.exit_code == 1
    alone = runner.invoke(args=["preconditions", "routes", "--fail-on-step-aside"])
    assert alone.exit_code == 2
