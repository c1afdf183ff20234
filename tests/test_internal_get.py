"""The internal GET of a checked write leaves the write's request as it was.

With Flask's documented "SQLAlchemy in Flask" pattern (a thread-local
``scoped_session`` removed on teardown) and with Flask-SQLAlchemy, a write
checked against its GET keeps everything it added to the session, ``g`` keeps
what the app's hooks put there, and no teardown handler runs mid-request.
"""

from __future__ import annotations

import pathlib
import typing as t

import pytest
from flask import Flask
from flask import g
from flask import request
from flask.testing import FlaskClient
from flask_sqlalchemy import SQLAlchemy
from sqlalchemy import ForeignKey
from sqlalchemy import select
from sqlalchemy import String
from sqlalchemy.orm import DeclarativeBase
from sqlalchemy.orm import Mapped
from sqlalchemy.orm import mapped_column
from sqlalchemy.orm import relationship
from sqlalchemy.orm import scoped_session
from sqlalchemy.orm import sessionmaker

from flask_preconditions import Preconditions
from flask_preconditions.internal_get import INTERNAL_GET_MARK


class Base(DeclarativeBase):
    pass


class User(Base):
    __tablename__ = "users"
    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(50))
    roles: Mapped[list[Role]] = relationship(lazy="select")


class Role(Base):
    __tablename__ = "roles"
    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    name: Mapped[str] = mapped_column(String(50))


class Doc(Base):
    __tablename__ = "docs"
    id: Mapped[int] = mapped_column(primary_key=True)
    text: Mapped[str] = mapped_column(String(200))


class AuditRow(Base):
    __tablename__ = "audit"
    id: Mapped[int] = mapped_column(primary_key=True)
    what: Mapped[str] = mapped_column(String(200))


def add_routes(
    app: Flask, session: t.Callable[[], t.Any], teardowns: list[str]
) -> None:
    """A doc API whose hooks load the user and log every client request."""

    @app.before_request
    def load_user_and_log() -> None:
        g.user = session().get(User, 1)
        if not request.environ.get(INTERNAL_GET_MARK):
            session().add(AuditRow(what=f"{request.method} {request.path}"))

    @app.teardown_request
    def count_request_teardown(error: BaseException | None) -> None:
        teardowns.append("request")

    @app.teardown_appcontext
    def count_appcontext_teardown(error: BaseException | None) -> None:
        teardowns.append("appcontext")

    @app.route("/docs/<int:doc_id>", methods=["GET", "PUT"])
    def doc(doc_id: int) -> t.Any:
        found = session().get(Doc, doc_id)
        if request.method == "GET":
            return {"text": found.text}
        # A lazy relationship of an object a hook loaded: it must still be
        # attached to the session.
        roles = [role.name for role in g.user.roles]
        found.text = request.get_json()["text"]
        session().commit()
        return {"text": found.text, "roles": roles}


def seed(session: t.Any) -> None:
    session.add(User(id=1, name="ann", roles=[Role(name="editor")]))
    session.add(Doc(id=1, text="first"))
    session.commit()


@pytest.fixture(params=["teardown_appcontext", "teardown_request"])
def scoped_app(
    request: pytest.FixtureRequest, tmp_path: pathlib.Path
) -> tuple[Flask, t.Any, list[str]]:
    from sqlalchemy import create_engine

    engine = create_engine(f"sqlite:///{tmp_path / 'scoped.sqlite3'}")
    Base.metadata.create_all(engine)
    db_session = scoped_session(sessionmaker(bind=engine))
    seed(db_session)
    db_session.remove()
    app = Flask(__name__)
    app.testing = True
    teardowns: list[str] = []
    # The app's hooks first, so that they run before the extension's check.
    add_routes(app, db_session, teardowns)
    Preconditions(app)
    remove_on = getattr(app, request.param)

    @remove_on
    def remove_session(error: BaseException | None = None) -> None:
        db_session.remove()

    return app, db_session, teardowns


@pytest.fixture
def flask_sqlalchemy_app(tmp_path: pathlib.Path) -> tuple[Flask, t.Any, list[str]]:
    app = Flask(__name__)
    app.testing = True
    app.config["SQLALCHEMY_DATABASE_URI"] = f"sqlite:///{tmp_path / 'fsa.sqlite3'}"
    db = SQLAlchemy(app, model_class=Base)
    with app.app_context():
        Base.metadata.create_all(db.engine)
        seed(db.session)
    teardowns: list[str] = []
    add_routes(app, lambda: db.session, teardowns)
    Preconditions(app)
    return app, db, teardowns


def put_with_current_etag(client: FlaskClient) -> t.Any:
    etag = client.get("/docs/1").headers["ETag"]
    return client.put("/docs/1", json={"text": "second"}, headers={"If-Match": etag})


def audit_rows(session: t.Any) -> list[str]:
    return list(session.scalars(select(AuditRow.what).order_by(AuditRow.id)))


def test_a_checked_write_keeps_what_the_hooks_added_to_a_scoped_session(
    scoped_app: tuple[Flask, t.Any, list[str]],
) -> None:
    app, db_session, _ = scoped_app
    response = put_with_current_etag(app.test_client())
    assert response.status_code == 200, response.get_data(as_text=True)
    # The view touched a lazy relationship of g.user: no DetachedInstanceError.
    assert response.get_json() == {"text": "second", "roles": ["editor"]}
    assert audit_rows(db_session) == ["PUT /docs/1"]
    assert db_session.get(Doc, 1).text == "second"
    db_session.remove()


def test_a_checked_write_keeps_what_the_hooks_added_with_flask_sqlalchemy(
    flask_sqlalchemy_app: tuple[Flask, t.Any, list[str]],
) -> None:
    app, db, _ = flask_sqlalchemy_app
    response = put_with_current_etag(app.test_client())
    assert response.status_code == 200, response.get_data(as_text=True)
    assert response.get_json() == {"text": "second", "roles": ["editor"]}
    with app.app_context():
        assert audit_rows(db.session) == ["PUT /docs/1"]
        assert db.session.get(Doc, 1).text == "second"


def test_no_teardown_handler_runs_in_the_middle_of_a_checked_write(
    scoped_app: tuple[Flask, t.Any, list[str]],
) -> None:
    app, _, teardowns = scoped_app
    client = app.test_client()
    etag = client.get("/docs/1").headers["ETag"]
    teardowns.clear()
    response = client.put("/docs/1", json={"text": "x"}, headers={"If-Match": etag})
    assert response.status_code == 200
    # One client request: each teardown once, after the response.
    assert sorted(teardowns) == ["appcontext", "request"]


def test_the_internal_get_leaves_g_and_after_this_request_alone() -> None:
    from flask import after_this_request

    app = Flask(__name__)
    Preconditions(app)
    seen: dict[str, t.Any] = {}

    @app.before_request
    def mark() -> None:
        if request.environ.get(INTERNAL_GET_MARK):
            seen["internal_g_empty"] = "marker" not in g
            g.marker = "set by the internal GET"
            return
        g.marker = "outer"

        @after_this_request
        def tag(response: t.Any) -> t.Any:
            response.headers["X-Outer"] = "yes"
            return response

    @app.route("/thing", methods=["GET", "PUT"])
    def thing() -> str:
        if request.method == "PUT":
            seen["outer_marker"] = g.marker
            seen["outer_request_method"] = request.method
        return "thing"

    client = app.test_client()
    etag = client.get("/thing").headers["ETag"]
    response = client.put("/thing", headers={"If-Match": etag})
    assert response.status_code == 200
    assert response.headers["X-Outer"] == "yes"
    assert seen == {
        "internal_g_empty": True,
        "outer_marker": "outer",
        "outer_request_method": "PUT",
    }


@pytest.mark.parametrize(("status", "retry_after"), [(503, "30"), (429, None)])
def test_a_get_that_is_unavailable_makes_the_write_503_not_412(
    status: int, retry_after: str | None
) -> None:
    app = Flask(__name__)
    Preconditions(app)
    writes: list[str] = []

    @app.route("/busy", methods=["GET", "PUT"])
    def busy() -> t.Any:
        if request.method == "PUT":
            writes.append("PUT")
            return "written"
        headers = {"Retry-After": retry_after} if retry_after else {}
        return "try later", status, headers

    response = app.test_client().put("/busy", headers={"If-Match": '"any"'})
    assert response.status_code == 503
    assert response.headers["Retry-After"] == (retry_after or "1")
    detail = response.get_json()["detail"]
    assert f"answered {status}" in detail
    assert "nothing was written" in detail
    assert writes == []


def test_a_get_that_fails_otherwise_makes_the_write_412_saying_why() -> None:
    app = Flask(__name__)
    Preconditions(app)

    @app.route("/odd", methods=["GET", "PUT"])
    def odd() -> t.Any:
        if request.method == "PUT":
            return "written"
        return "not acceptable", 406

    client = app.test_client()
    response = client.put("/odd", headers={"If-Match": '"any"'})
    assert response.status_code == 412
    detail = response.get_json()["detail"]
    assert "answered 406" in detail
    assert "changed by another request" not in detail
    # Fail closed, but If-Match: * still writes.
    assert client.put("/odd", headers={"If-Match": "*"}).status_code == 200
