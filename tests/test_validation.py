"""Misconfigurations are exceptions that name the endpoint and the fix, and
rows of the route audit, not a 500 on every request."""

from __future__ import annotations

import typing as t

import pytest
from flask import Blueprint
from flask import Flask
from flask_sqlalchemy import SQLAlchemy
from sqlalchemy.orm import DeclarativeBase
from sqlalchemy.orm import Mapped
from sqlalchemy.orm import mapped_column

from flask_preconditions import Preconditions
from flask_preconditions.audit import audit_routes
from flask_preconditions.audit import Protection
from flask_preconditions.sqlalchemy import SQLAlchemyPreconditions
from flask_preconditions.sqlalchemy import versioned
from flask_preconditions.validation import Misconfigured


class Base(DeclarativeBase):
    pass


class Item(Base):
    __tablename__ = "items"
    id: Mapped[int] = mapped_column(primary_key=True)
    version: Mapped[int] = mapped_column(nullable=False)
    __mapper_args__ = {"version_id_col": version}  # noqa: RUF012


def sqlalchemy_app(*, integration: bool, rule: str) -> Flask:
    app = Flask(__name__)
    app.testing = True
    app.config["SQLALCHEMY_DATABASE_URI"] = "sqlite://"
    SQLAlchemy(app, model_class=Base)
    pre = Preconditions(app)
    if integration:
        SQLAlchemyPreconditions(app)

    @app.route(rule, methods=["GET", "PUT"])
    @pre.etag(versioned(Item))
    def item(**kwargs: t.Any) -> str:
        return "item"

    return app


def misconfigured_row(app: Flask, endpoint: str) -> str:
    rows = [row for row in audit_routes(app) if row.endpoint == endpoint]
    assert rows and all(row.protection is Protection.MISCONFIGURED for row in rows)
    return rows[0].reason


def test_versioned_without_its_integration_is_refused_at_the_first_request() -> None:
    app = sqlalchemy_app(integration=False, rule="/items/<int:id>")
    with pytest.raises(Misconfigured, match=r"'item'.*SQLAlchemyPreconditions"):
        app.test_client().get("/items/1")
    assert "SQLAlchemyPreconditions" in misconfigured_row(app, "item")


def test_versioned_with_ambiguous_url_arguments_is_refused() -> None:
    app = sqlalchemy_app(integration=True, rule="/shops/<shop>/items/<int:number>")
    with pytest.raises(Misconfigured, match="url_arg="):
        app.test_client().get("/shops/a/items/1")
    assert "url_arg=" in misconfigured_row(app, "item")


def test_weak_tags_on_a_writable_route_without_a_date_are_refused() -> None:
    app = Flask(__name__)
    app.testing = True
    pre = Preconditions(app)

    @app.route("/weak", methods=["GET", "PUT"])
    @pre.etag(lambda: 1, weak=True)
    def weak() -> str:
        return "weak"

    with pytest.raises(Misconfigured, match=r"'weak' has weak entity-tags"):
        app.test_client().get("/weak")
    assert "If-Unmodified-Since" in misconfigured_row(app, "weak")


def test_weak_tags_on_a_read_only_route_are_fine() -> None:
    app = Flask(__name__)
    pre = Preconditions(app)

    @app.get("/weak")
    @pre.etag(lambda: 1, weak=True)
    def weak() -> str:
        return "weak"

    assert app.test_client().get("/weak").headers["ETag"].startswith("W/")


def test_a_decorator_above_the_route_is_refused() -> None:
    app = Flask(__name__)
    app.testing = True
    pre = Preconditions(app, app_wide=False)

    @pre.etag(lambda: 1)
    @app.route("/upside-down", methods=["GET", "PUT"])
    def upside_down() -> str:
        return "unchecked"

    with pytest.raises(Misconfigured, match=r"above @app\.route"):
        app.test_client().put("/upside-down")
    assert "above @app.route" in misconfigured_row(app, "upside_down")


def test_strict_fails_on_a_misconfigured_route() -> None:
    app = sqlalchemy_app(integration=False, rule="/items/<int:id>")
    result = app.test_cli_runner().invoke(args=["preconditions", "routes", "--strict"])
    assert result.exit_code == 1
    assert "misconfigured route(s)" in result.output


def test_protect_after_register_blueprint_is_refused_with_the_fix() -> None:
    app = Flask(__name__)
    pre = Preconditions(app, app_wide=False)
    api = Blueprint("api", __name__)
    app.register_blueprint(api)
    with pytest.raises(RuntimeError, match=r"before app\.register_blueprint"):
        pre.protect(api)
