"""The SQLAlchemy integration: versioned entity-tags and atomic writes.

A "concurrent" change is made from a second connection at the exact point the
race needs it (between the check and the write), so every race here is
deterministic. The same tests run on PostgreSQL when
``PRECONDITIONS_TEST_DATABASE_URL`` is set.
"""

from __future__ import annotations

import datetime as dt
import sqlite3
import typing as t

import pytest
import sqlalchemy as sa
from flask import Flask
from flask import g
from flask import request
from flask.testing import FlaskClient
from flask_sqlalchemy import SQLAlchemy
from sqlalchemy.orm import DeclarativeBase
from sqlalchemy.orm import Mapped
from sqlalchemy.orm import mapped_column
from werkzeug.http import http_date
from werkzeug.http import quote_etag

from flask_preconditions import etag_for_version
from flask_preconditions import expected_version
from flask_preconditions import PreconditionFailed
from flask_preconditions import Preconditions
from flask_preconditions.sqlalchemy import conditional_delete
from flask_preconditions.sqlalchemy import conditional_update
from flask_preconditions.sqlalchemy import DatabaseBusy
from flask_preconditions.sqlalchemy import last_modified_of
from flask_preconditions.sqlalchemy import SQLAlchemyPreconditions
from flask_preconditions.sqlalchemy import versioned


class Base(DeclarativeBase):
    pass


db = SQLAlchemy(model_class=Base)

UPDATED = dt.datetime(2026, 1, 2, 3, 4, 5, tzinfo=dt.timezone.utc)


class Doc(db.Model):  # type: ignore[name-defined,misc]
    __tablename__ = "test_sqlalchemy_docs"

    id: Mapped[int] = mapped_column(primary_key=True)
    text: Mapped[str] = mapped_column(sa.Text)
    version: Mapped[int] = mapped_column(nullable=False)
    updated_at: Mapped[dt.datetime] = mapped_column(
        sa.DateTime(timezone=True), default=UPDATED
    )

    __mapper_args__: t.ClassVar[dict[str, t.Any]] = {"version_id_col": version}


class Unversioned(db.Model):  # type: ignore[name-defined,misc]
    __tablename__ = "test_sqlalchemy_unversioned"

    id: Mapped[int] = mapped_column(primary_key=True)


class Pair(db.Model):  # type: ignore[name-defined,misc]
    __tablename__ = "test_sqlalchemy_pairs"

    left: Mapped[str] = mapped_column(sa.String(20), primary_key=True)
    right: Mapped[str] = mapped_column(sa.String(20), primary_key=True)
    version: Mapped[int] = mapped_column(nullable=False)

    __mapper_args__: t.ClassVar[dict[str, t.Any]] = {"version_id_col": version}


def etag(version: int) -> str:
    return quote_etag(etag_for_version(version))


class Hooks:
    """Code the test runs inside the view, at the moment a race needs it."""

    def __init__(self) -> None:
        self.before_write: t.Callable[[], None] = lambda: None
        self.after_commit: t.Callable[[], None] = lambda: None


@pytest.fixture
def hooks() -> Hooks:
    return Hooks()


@pytest.fixture
def app(database_url: str, hooks: Hooks) -> t.Iterator[Flask]:
    app = Flask(__name__)
    app.testing = True
    app.config["SQLALCHEMY_DATABASE_URI"] = database_url
    db.init_app(app)
    Preconditions(app)
    SQLAlchemyPreconditions(app)

    @app.route("/docs/<int:doc_id>", methods=["GET", "PUT", "DELETE"])
    @Preconditions().etag(versioned(Doc))
    @Preconditions().last_modified(last_modified_of(Doc))
    def doc(doc_id: int) -> t.Any:
        found = db.session.get(Doc, doc_id)
        g.view_instance = found
        if request.method == "GET":
            assert found is not None
            return {"text": found.text}
        if request.method == "DELETE":
            assert found is not None
            hooks.before_write()
            db.session.delete(found)
            db.session.commit()
            hooks.after_commit()
            return "", 204
        text = t.cast(dict[str, str], request.json)["text"]
        if found is None:
            db.session.add(Doc(id=doc_id, text=text))
        else:
            hooks.before_write()
            found.text = text
        db.session.commit()
        hooks.after_commit()
        return {"text": text}

    with app.app_context():
        db.drop_all()
        db.create_all()
        db.session.add(Doc(id=1, text="one"))
        db.session.commit()
    yield app
    with app.app_context():
        db.drop_all()
        db.engine.dispose()


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    return app.test_client()


def write_elsewhere(app: Flask, text: str) -> None:
    """Another request's write, committed on its own connection."""
    with app.app_context(), db.engine.begin() as connection:
        table = Doc.__table__
        connection.execute(
            sa.update(table)
            .where(table.c.id == 1)
            .values(text=text, version=table.c.version + 1)
        )


def stored(app: Flask) -> tuple[str, int]:
    with app.app_context(), db.engine.connect() as connection:
        table = Doc.__table__
        row = connection.execute(
            sa.select(table.c.text, table.c.version).where(table.c.id == 1)
        ).one()
        return row.text, row.version


# -- entity-tags and dates from the model ----------------------------------------


def test_get_has_the_etag_of_the_version_column(client: FlaskClient) -> None:
    response = client.get("/docs/1")
    assert response.status_code == 200
    assert response.headers["ETag"] == etag(1)


def test_get_has_last_modified_from_updated_at(client: FlaskClient) -> None:
    response = client.get("/docs/1")
    assert response.headers["Last-Modified"] == http_date(UPDATED)


def test_conditional_get_of_current_version_is_304(client: FlaskClient) -> None:
    response = client.get("/docs/1", headers={"If-None-Match": etag(1)})
    assert response.status_code == 304


def test_get_of_missing_row_is_404(client: FlaskClient) -> None:
    assert client.get("/docs/2").status_code == 404


def test_put_with_current_etag_writes_and_returns_new_etag(
    app: Flask, client: FlaskClient
) -> None:
    response = client.put(
        "/docs/1", json={"text": "two"}, headers={"If-Match": etag(1)}
    )
    assert response.status_code == 200
    assert response.headers["ETag"] == etag(2)
    assert stored(app) == ("two", 2)


def test_put_with_stale_etag_is_412_before_writing(
    app: Flask, client: FlaskClient
) -> None:
    write_elsewhere(app, "other")
    response = client.put(
        "/docs/1", json={"text": "mine"}, headers={"If-Match": etag(1)}
    )
    assert response.status_code == 412
    assert stored(app) == ("other", 2)


def test_put_without_if_match_is_428(client: FlaskClient) -> None:
    assert client.put("/docs/1", json={"text": "two"}).status_code == 428


def test_the_view_edits_the_instance_that_was_checked(
    app: Flask, client: FlaskClient
) -> None:
    selects: list[str] = []
    with app.app_context():
        engine = db.engine

    def count(conn: t.Any, cursor: t.Any, statement: str, *args: t.Any) -> None:
        if statement.lstrip().upper().startswith("SELECT"):
            selects.append(statement)

    sa.event.listen(engine, "before_cursor_execute", count)
    try:
        response = client.put(
            "/docs/1", json={"text": "two"}, headers={"If-Match": etag(1)}
        )
    finally:
        sa.event.remove(engine, "before_cursor_execute", count)
    assert response.status_code == 200
    # One SELECT for the check, the view's session.get() and the new ETag.
    assert len(selects) == 1


# -- the race between the check and the write -------------------------------------


def test_change_between_check_and_write_is_412_not_lost(
    app: Flask, client: FlaskClient, hooks: Hooks
) -> None:
    hooks.before_write = lambda: write_elsewhere(app, "other")
    response = client.put(
        "/docs/1", json={"text": "mine"}, headers={"If-Match": etag(1)}
    )
    assert response.status_code == 412
    assert response.mimetype == "application/problem+json"
    assert "nothing was written" in response.json["detail"]
    assert stored(app) == ("other", 2)


def test_change_between_check_and_an_unconditional_write_is_409(
    app: Flask, client: FlaskClient, hooks: Hooks
) -> None:
    @app.post("/docs/<int:doc_id>/touch")
    @Preconditions().exempt
    def touch(doc_id: int) -> t.Any:
        found = db.session.get(Doc, doc_id)
        assert found is not None
        write_elsewhere(app, "other")
        found.text = "touched"
        db.session.commit()
        return "", 204

    response = client.post("/docs/1/touch")
    # No condition of the request was false, so not 412 (RFC 9110 §15.5.13).
    assert response.status_code == 409
    assert response.mimetype == "application/problem+json"
    assert stored(app) == ("other", 2)


def test_delete_after_a_concurrent_change_is_412(
    app: Flask, client: FlaskClient, hooks: Hooks
) -> None:
    hooks.before_write = lambda: write_elsewhere(app, "other")
    response = client.delete("/docs/1", headers={"If-Match": etag(1)})
    assert response.status_code == 412
    assert stored(app) == ("other", 2)


def test_write_over_a_refreshed_instance_is_412(
    app: Flask, client: FlaskClient, hooks: Hooks
) -> None:
    # Refreshing loads the other request's version, which SQLAlchemy alone
    # would then happily check its UPDATE against: the client never saw it.
    def change_and_refresh() -> None:
        write_elsewhere(app, "other")
        db.session.refresh(g.view_instance)

    hooks.before_write = change_and_refresh
    response = client.put(
        "/docs/1", json={"text": "mine"}, headers={"If-Match": etag(1)}
    )
    assert response.status_code == 412
    assert stored(app) == ("other", 2)


def test_etag_after_write_is_the_version_written_not_a_later_one(
    app: Flask, client: FlaskClient, hooks: Hooks
) -> None:
    # The session expires the instance on commit; a change committed before
    # the response is made must not lend the response its version.
    hooks.after_commit = lambda: write_elsewhere(app, "later")
    response = client.put(
        "/docs/1", json={"text": "two"}, headers={"If-Match": etag(1)}
    )
    assert response.status_code == 200
    assert response.headers["ETag"] == etag(2)
    assert stored(app) == ("later", 3)


def test_stale_write_goes_through_the_apps_own_412_handler(
    app: Flask, client: FlaskClient, hooks: Hooks
) -> None:
    app.register_error_handler(412, lambda e: ("custom", 412))
    hooks.before_write = lambda: write_elsewhere(app, "other")
    response = client.put(
        "/docs/1", json={"text": "mine"}, headers={"If-Match": etag(1)}
    )
    assert response.status_code == 412
    assert response.get_data(as_text=True) == "custom"


def test_session_is_usable_after_a_stale_write(
    app: Flask, client: FlaskClient, hooks: Hooks
) -> None:
    hooks.before_write = lambda: write_elsewhere(app, "other")
    client.put("/docs/1", json={"text": "mine"}, headers={"If-Match": etag(1)})
    hooks.before_write = lambda: None
    response = client.put(
        "/docs/1", json={"text": "mine"}, headers={"If-Match": etag(2)}
    )
    assert response.status_code == 200
    assert stored(app) == ("mine", 3)


def test_delete_returns_204_without_etag(app: Flask, client: FlaskClient) -> None:
    response = client.delete("/docs/1", headers={"If-Match": etag(1)})
    assert response.status_code == 204
    assert "ETag" not in response.headers


def test_put_with_if_none_match_star_creates_with_etag(client: FlaskClient) -> None:
    response = client.put(
        "/docs/2", json={"text": "new"}, headers={"If-None-Match": "*"}
    )
    assert response.status_code == 200
    assert response.headers["ETag"] == etag(1)


# -- a busy database --------------------------------------------------------------


def test_sqlite_locked_database_is_503_with_retry_after(tmp_path: t.Any) -> None:
    path = tmp_path / "locked.sqlite3"
    app = Flask(__name__)
    app.testing = True
    app.config["SQLALCHEMY_DATABASE_URI"] = f"sqlite:///{path}"
    app.config["SQLALCHEMY_ENGINE_OPTIONS"] = {"connect_args": {"timeout": 0.05}}
    local_db = SQLAlchemy(model_class=Base)
    local_db.init_app(app)
    Preconditions(app)
    SQLAlchemyPreconditions(app, session=local_db.session, retry_after=3)

    @app.put("/docs/<int:doc_id>")
    @Preconditions().etag(versioned(Doc, session=local_db.session))
    def put_doc(doc_id: int) -> t.Any:
        found = local_db.session.get(Doc, doc_id)
        assert found is not None
        found.text = "mine"
        local_db.session.commit()
        return {}

    with app.app_context():
        Doc.__table__.create(local_db.engine)
        local_db.session.add(Doc(id=1, text="one"))
        local_db.session.commit()
    holder = sqlite3.connect(path, isolation_level=None)
    try:
        holder.execute("BEGIN IMMEDIATE")
        response = app.test_client().put(
            "/docs/1", json={}, headers={"If-Match": etag(1)}
        )
    finally:
        holder.execute("ROLLBACK")
        holder.close()
        with app.app_context():
            local_db.engine.dispose()
    assert response.status_code == 503
    assert response.headers["Retry-After"] == "3"
    assert response.mimetype == "application/problem+json"
    assert response.json["status"] == 503


def test_other_operational_errors_are_not_turned_into_503(app: Flask) -> None:
    @app.get("/broken")
    def broken() -> t.Any:
        raise sa.exc.OperationalError(
            "SELECT 1", {}, sqlite3.OperationalError("disk I/O error")
        )

    with pytest.raises(sa.exc.OperationalError):
        app.test_client().get("/broken")


class SerializationFailure(Exception):
    sqlstate = "40001"


def test_postgresql_serialization_failure_is_503(app: Flask) -> None:
    @app.get("/serialization")
    def serialization() -> t.Any:
        raise sa.exc.OperationalError("UPDATE x", {}, SerializationFailure())

    response = app.test_client().get("/serialization")
    assert response.status_code == 503
    assert response.headers["Retry-After"] == "1"


@pytest.mark.parametrize("kind", [sa.exc.OperationalError, sa.exc.InterfaceError])
def test_a_lost_database_connection_is_503(app: Flask, kind: type) -> None:
    @app.get("/disconnected")
    def disconnected() -> t.Any:
        raise kind(
            "UPDATE x", {}, Exception("server closed"), connection_invalidated=True
        )

    response = app.test_client().get("/disconnected")
    assert response.status_code == 503
    assert response.headers["Retry-After"] == "1"
    assert response.mimetype == "application/problem+json"
    assert "connection to the database was lost" in response.json["detail"]


def test_other_database_errors_are_left_alone(app: Flask) -> None:
    @app.get("/programming")
    def programming() -> t.Any:
        raise sa.exc.ProgrammingError("SELEC 1", {}, Exception("syntax error"))

    with pytest.raises(sa.exc.ProgrammingError):
        app.test_client().get("/programming")


@pytest.mark.postgres
def test_a_connection_terminated_mid_write_is_503_and_writes_nothing(
    app: Flask, client: FlaskClient, hooks: Hooks, database_url: str
) -> None:
    if not database_url.startswith("postgresql"):
        pytest.skip("terminates a PostgreSQL backend")

    def terminate_own_backend() -> None:
        pid = db.session.execute(sa.text("SELECT pg_backend_pid()")).scalar_one()
        admin = sa.create_engine(database_url)
        with admin.connect() as connection:
            connection.execute(sa.text(f"SELECT pg_terminate_backend({int(pid)})"))
        admin.dispose()

    hooks.before_write = terminate_own_backend
    response = client.put(
        "/docs/1", json={"text": "lost"}, headers={"If-Match": etag(1)}
    )
    assert response.status_code == 503, response.get_data(as_text=True)
    assert "connection to the database was lost" in response.json["detail"]
    hooks.before_write = lambda: None
    assert client.get("/docs/1").json == {"text": "one"}


def test_negative_retry_after_is_value_error() -> None:
    with pytest.raises(ValueError, match="retry_after"):
        SQLAlchemyPreconditions(retry_after=-1)


def test_database_busy_renders_problem_with_retry_after() -> None:
    response = DatabaseBusy(retry_after=7).get_response()
    assert response.status_code == 503
    assert response.headers["Retry-After"] == "7"


# -- developer errors -------------------------------------------------------------


def test_versioned_model_without_version_column_is_type_error() -> None:
    with pytest.raises(TypeError, match="no version column"):
        versioned(Unversioned)


def test_versioned_of_an_unmapped_class_is_type_error() -> None:
    with pytest.raises(TypeError, match="mapped model class"):
        versioned(dict)


def test_last_modified_of_missing_column_is_type_error() -> None:
    with pytest.raises(TypeError, match="no attribute 'changed'"):
        last_modified_of(Doc, "changed")


def test_versioned_without_the_error_handlers_is_runtime_error(
    database_url: str,
) -> None:
    app = Flask(__name__)
    app.testing = True
    app.config["SQLALCHEMY_DATABASE_URI"] = database_url
    local_db = SQLAlchemy(model_class=Base)
    local_db.init_app(app)
    Preconditions(app)

    @app.get("/docs/<int:doc_id>")
    @Preconditions().etag(versioned(Doc))
    def get_doc(doc_id: int) -> t.Any:
        return {}

    with pytest.raises(RuntimeError, match="SQLAlchemyPreconditions"):
        app.test_client().get("/docs/1")


def test_versioned_with_ambiguous_url_arguments_names_the_endpoint(
    app: Flask,
) -> None:
    @app.get("/docs/<int:doc_id>/<int:page>")
    @Preconditions().etag(versioned(Doc))
    def doc_page(doc_id: int, page: int) -> t.Any:
        return {}

    from flask_preconditions.validation import Misconfigured

    # Found at the first request, whichever URL it is for.
    with pytest.raises(Misconfigured, match=r"'doc_page'.*url_arg"):
        app.test_client().get("/docs/1/2")


def test_versioned_url_arg_picks_the_primary_key(
    app: Flask, client: FlaskClient
) -> None:
    @app.get("/docs/<int:doc_id>/<int:page>")
    @Preconditions().etag(versioned(Doc, url_arg="doc_id"))
    def doc_page(doc_id: int, page: int) -> t.Any:
        return {}

    assert client.get("/docs/1/7").headers["ETag"] == etag(1)


def test_versioned_composite_key_from_several_url_arguments(
    app: Flask, client: FlaskClient
) -> None:
    @app.get("/pairs/<right>/<left>")
    @Preconditions().etag(versioned(Pair, url_arg=("left", "right")))
    def pair(left: str, right: str) -> t.Any:
        return {}

    with app.app_context():
        db.session.add(Pair(left="a", right="b"))
        db.session.commit()
    assert client.get("/pairs/b/a").headers["ETag"] == etag(1)
    assert client.get("/pairs/a/b").status_code == 404


def test_versioned_composite_key_takes_url_arguments_by_name_not_url_order(
    app: Flask, client: FlaskClient
) -> None:
    # The key is (left, right); the URL names them the other way round.
    @app.get("/mirrored/<right>/<left>")
    @Preconditions().etag(versioned(Pair))
    def mirrored(right: str, left: str) -> t.Any:
        return {}

    with app.app_context():
        db.session.add(Pair(left="a", right="b"))
        db.session.commit()
    response = client.get("/mirrored/b/a")
    assert response.status_code == 200
    assert response.headers["ETag"] == etag(1)


def test_versioned_url_args_must_cover_the_primary_key() -> None:
    with pytest.raises(TypeError, match="2 primary key columns"):
        versioned(Pair, url_arg="left")


# -- compare-and-swap without the ORM unit of work --------------------------------


@pytest.fixture
def cas_app(app: Flask) -> Flask:
    table = Doc.__table__

    @app.put("/cas/<int:doc_id>")
    @Preconditions().etag(versioned(Doc))
    def cas(doc_id: int) -> t.Any:
        hooks: Hooks = app.config["CAS_HOOKS"]
        hooks.before_write()
        new = conditional_update(
            db.session, table, {"id": doc_id}, {"text": request.json["text"]}
        )
        db.session.commit()
        return {"version": new}

    @app.delete("/cas/<int:doc_id>")
    @Preconditions().etag(versioned(Doc))
    def cas_delete(doc_id: int) -> t.Any:
        hooks: Hooks = app.config["CAS_HOOKS"]
        hooks.before_write()
        conditional_delete(db.session, Doc, {"id": doc_id})
        db.session.commit()
        return "", 204

    app.config["CAS_HOOKS"] = Hooks()
    return app


def test_conditional_update_names_its_own_write_in_the_etag(
    app: Flask, client: FlaskClient
) -> None:
    table = Doc.__table__

    def doc_version(doc_id: int) -> int | None:
        return t.cast(
            "int | None",
            db.session.scalar(sa.select(table.c.version).where(table.c.id == doc_id)),
        )

    @app.put("/plain-cas/<int:doc_id>")
    @Preconditions().etag(doc_version)
    def plain_cas(doc_id: int) -> t.Any:
        conditional_update(
            db.session, table, {"id": doc_id}, {"text": request.json["text"]}
        )
        db.session.commit()
        # Another request writes before this response is sent.
        write_elsewhere(app, "later")
        return "", 204

    response = client.put(
        "/plain-cas/1", json={"text": "mine"}, headers={"If-Match": etag(1)}
    )
    assert response.status_code == 204
    assert response.headers["ETag"] == etag(2)
    assert stored(app) == ("later", 3)


def test_conditional_update_writes_when_version_unchanged(
    cas_app: Flask,
) -> None:
    response = cas_app.test_client().put(
        "/cas/1", json={"text": "two"}, headers={"If-Match": etag(1)}
    )
    assert response.status_code == 200
    assert response.json == {"version": 2}
    assert stored(cas_app) == ("two", 2)


def test_conditional_update_after_a_concurrent_change_is_412(
    cas_app: Flask,
) -> None:
    cas_app.config["CAS_HOOKS"].before_write = lambda: write_elsewhere(cas_app, "x")
    response = cas_app.test_client().put(
        "/cas/1", json={"text": "two"}, headers={"If-Match": etag(1)}
    )
    assert response.status_code == 412
    assert stored(cas_app) == ("x", 2)


def test_conditional_delete_after_a_concurrent_change_is_412(
    cas_app: Flask,
) -> None:
    cas_app.config["CAS_HOOKS"].before_write = lambda: write_elsewhere(cas_app, "x")
    response = cas_app.test_client().delete("/cas/1", headers={"If-Match": etag(1)})
    assert response.status_code == 412
    assert stored(cas_app) == ("x", 2)


def test_conditional_delete_deletes_when_version_unchanged(cas_app: Flask) -> None:
    response = cas_app.test_client().delete("/cas/1", headers={"If-Match": etag(1)})
    assert response.status_code == 204
    with cas_app.app_context():
        assert db.session.get(Doc, 1) is None


def test_conditional_update_on_a_connection_with_explicit_versions(
    app: Flask,
) -> None:
    with app.app_context(), db.engine.begin() as connection:
        new = conditional_update(
            connection,
            Doc,
            {"id": 1},
            {"text": "two"},
            expected=1,
            new_version=10,
        )
        assert new == 10
        with pytest.raises(PreconditionFailed):
            conditional_update(connection, Doc, {"id": 1}, {"text": "x"}, expected=1)
    assert stored(app) == ("two", 10)


def test_conditional_update_of_a_non_integer_version_needs_new_version(
    app: Flask,
) -> None:
    with (
        app.app_context(),
        db.engine.begin() as connection,
        pytest.raises(TypeError, match="new_version"),
    ):
        conditional_update(connection, Doc, {"id": 1}, {}, expected="v1")


def test_conditional_update_of_unknown_column_is_type_error(app: Flask) -> None:
    with (
        app.app_context(),
        db.engine.begin() as connection,
        pytest.raises(TypeError, match="no column 'name'"),
    ):
        conditional_update(connection, Doc, {"name": 1}, {}, expected=1)


def test_conditional_update_when_creating_is_runtime_error(app: Flask) -> None:
    @app.put("/create/<int:doc_id>")
    @Preconditions().etag(versioned(Doc))
    def create(doc_id: int) -> t.Any:
        assert expected_version() is None
        conditional_update(db.session, Doc, {"id": doc_id}, {"text": "x"})
        return {}

    with pytest.raises(RuntimeError, match="creates the resource"):
        app.test_client().put("/create/5", json={}, headers={"If-None-Match": "*"})
