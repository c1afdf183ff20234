"""Defects a review found, each with the test that failed before its fix."""

from __future__ import annotations

import logging
import typing as t
import uuid

import pytest
from flask import abort
from flask import Blueprint
from flask import Flask
from flask import request
from flask import url_for
from flask_sqlalchemy import SQLAlchemy
from sqlalchemy import ForeignKey
from sqlalchemy import String
from sqlalchemy.orm import DeclarativeBase
from sqlalchemy.orm import Mapped
from sqlalchemy.orm import mapped_column
from sqlalchemy.orm import relationship

from flask_preconditions import Preconditions
from flask_preconditions import set_new_version
from flask_preconditions.audit import Atomicity
from flask_preconditions.audit import audit_routes
from flask_preconditions.sqlalchemy import SQLAlchemyPreconditions
from flask_preconditions.sqlalchemy import versioned


class Base(DeclarativeBase):
    pass


class Note(Base):
    __tablename__ = "review_notes"
    id: Mapped[int] = mapped_column(primary_key=True)
    version: Mapped[str] = mapped_column(String(32), nullable=False)
    items: Mapped[list[Item]] = relationship(cascade="all, delete-orphan")
    __mapper_args__ = {  # noqa: RUF012
        "version_id_col": version,
        "version_id_generator": lambda version: uuid.uuid4().hex,
    }


class Item(Base):
    __tablename__ = "review_items"
    id: Mapped[int] = mapped_column(primary_key=True)
    note_id: Mapped[int] = mapped_column(ForeignKey("review_notes.id"))
    text: Mapped[str] = mapped_column(String(50))


@pytest.fixture
def items_app(tmp_path: t.Any) -> t.Iterator[tuple[Flask, t.Any]]:
    app = Flask(__name__)
    app.config["SQLALCHEMY_DATABASE_URI"] = f"sqlite:///{tmp_path / 'r.sqlite3'}"
    db = SQLAlchemy(app, model_class=Base)
    pre = Preconditions(app, lock="thread")
    SQLAlchemyPreconditions(app)
    with app.app_context():
        Base.metadata.create_all(db.engine)
        db.session.add(Note(id=1, items=[Item(text="original")]))
        db.session.commit()

    @app.route("/notes/<int:note_id>", methods=["GET", "PUT"])
    @pre.etag(versioned(Note))
    def note(note_id: int) -> t.Any:
        found = db.session.get(Note, note_id)
        assert found is not None
        if request.method == "PUT":
            found.items = [Item(text=request.get_data(as_text=True))]
            db.session.commit()
        return {"items": [item.text for item in found.items]}

    yield app, db
    with app.app_context():
        db.engine.dispose()


def test_a_versioned_write_of_only_a_relationship_is_logged(
    items_app: tuple[Flask, t.Any], caplog: pytest.LogCaptureFixture
) -> None:
    # Its versioned UPDATE does not happen: the row is not written, so its
    # version, and its ETag, stay; the application must move the version.
    app, _ = items_app
    client = app.test_client()
    etag = client.get("/notes/1").headers["ETag"]
    with caplog.at_level(logging.WARNING, logger="flask_preconditions"):
        assert (
            client.put("/notes/1", data="x", headers={"If-Match": etag}).status_code
            == 200
        )
    assert "changes only through its relationships" in caplog.text


def test_versioned_writes_are_serialised_by_the_lock(
    items_app: tuple[Flask, t.Any],
) -> None:
    # versioned() takes the write lock like any checked write.
    app, _ = items_app
    rows = {(r.endpoint, r.method): r for r in audit_routes(app)}
    assert rows[("note", "PUT")].atomicity is Atomicity.LOCK


def owns(note_id: int) -> None:
    if request.headers.get("X-User") != "ann":
        abort(404)


@pytest.mark.parametrize("mode", ["app-wide", "blueprint"])
def test_authorize_covers_reads_in_app_wide_and_blueprint_mode(mode: str) -> None:
    app = Flask(f"review_{mode}")
    pre = Preconditions(app, app_wide=mode == "app-wide")
    scope: Flask | Blueprint = app if mode == "app-wide" else Blueprint("api", __name__)
    if isinstance(scope, Blueprint):
        pre.protect(scope)

    def note(note_id: int) -> dict[str, str]:
        return {"secret": "ann's text"}

    scope.add_url_rule(
        "/notes/<int:note_id>",
        "note",
        pre.authorize(owns)(note),
        methods=["GET", "PUT"],
    )
    if isinstance(scope, Blueprint):
        app.register_blueprint(scope)
    client = app.test_client()
    tag = client.get("/notes/1", headers={"X-User": "ann"}).headers["ETag"]
    assert client.get("/notes/1").status_code == 404
    assert client.get("/notes/1", headers={"If-None-Match": tag}).status_code == 404
    assert client.put("/notes/1", headers={"If-Match": tag}).status_code == 404
    owner = {"X-User": "ann", "If-Match": tag}
    assert client.put("/notes/1", headers=owner).status_code == 200


def test_set_new_version_with_an_unhashable_version_never_makes_a_write_5xx() -> None:
    app = Flask(__name__)
    app.config["SECRET_KEY"] = "s"
    Preconditions(app)
    stored: dict[int, t.Any] = {}

    @app.post("/notes")
    def create() -> t.Any:
        stored[1] = object()
        set_new_version(stored[1])  # not a version a tag can be made of
        return "created", 201, {"Location": url_for("read", note_id=1)}

    @app.get("/notes/<int:note_id>")
    def read(note_id: int) -> str:
        return "note"

    response = app.test_client().post("/notes")
    assert response.status_code == 201
    assert "ETag" not in response.headers
    assert 1 in stored


def test_set_new_version_refuses_a_date_of_the_wrong_type_in_the_view() -> None:
    app = Flask(__name__)
    Preconditions(app)

    @app.post("/notes")
    def create() -> str:
        set_new_version(1, last_modified="2024-01-01")
        return "never"

    app.testing = True
    with pytest.raises(TypeError, match="set_new_version"):
        app.test_client().post("/notes")


def test_resource_key_on_the_write_view_only_still_writes_with_keyed_tags() -> None:
    app = Flask(__name__)
    app.config["SECRET_KEY"] = "s"
    pre = Preconditions(app)
    versions = {5: 1}

    @app.get("/notes/<int:note_id>")
    @pre.etag(lambda note_id: versions[note_id])
    def read(note_id: int) -> str:
        return "note"

    @app.put("/notes/<int:note_id>")
    @pre.resource_key(lambda note_id: f"note:{note_id}")
    @pre.etag(lambda note_id: versions[note_id])
    def write(note_id: int) -> str:
        versions[note_id] += 1
        return "written"

    client = app.test_client()
    tag = client.get("/notes/5").headers["ETag"]
    assert client.put("/notes/5", headers={"If-Match": tag}).status_code == 200


def test_a_201_under_a_mount_point_carries_the_created_resources_tag() -> None:
    app = Flask(__name__)
    app.config["SECRET_KEY"] = "s"
    pre = Preconditions(app)
    versions: dict[int, int] = {}

    @app.post("/notes")
    def create() -> t.Any:
        versions[2] = 1
        set_new_version(1)
        return "created", 201, {"Location": url_for("note", note_id=2)}

    @app.route("/notes/<int:note_id>", methods=["GET", "PUT"])
    @pre.etag(lambda note_id: versions.get(note_id))
    def note(note_id: int) -> str:
        return "note"

    client = app.test_client()
    created = client.post("/notes", base_url="http://localhost/api/")
    assert created.headers["Location"].endswith("/api/notes/2")
    read = client.get("/notes/2", base_url="http://localhost/api/")
    assert created.headers["ETag"] == read.headers["ETag"]


def test_set_new_version_on_a_body_hash_resource_gives_the_body_tag() -> None:
    app = Flask(__name__)
    Preconditions(app)
    texts = {"doc": "one"}

    @app.route("/doc", methods=["GET", "PUT"])
    def doc() -> str:
        if request.method == "PUT":
            texts["doc"] = request.get_data(as_text=True)
            set_new_version(2)  # a version, but this resource's tags hash bodies
        return texts["doc"]

    client = app.test_client()
    first = client.put(
        "/doc", data="two", headers={"If-Match": client.get("/doc").headers["ETag"]}
    )
    assert first.headers["ETag"] == client.get("/doc").headers["ETag"]
    chained = client.put(
        "/doc", data="three", headers={"If-Match": first.headers["ETag"]}
    )
    assert chained.status_code == 200
