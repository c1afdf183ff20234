"""The notes API: list, create, read, replace, patch and delete notes.

Run it with ``flask --app examples.notes.app run``, or under several worker
processes with ``gunicorn -w 4 'examples.notes.app:create_app()'``. The
database is SQLite in the instance folder unless ``NOTES_DATABASE_URL`` names
another (any SQLAlchemy URL, e.g.
``postgresql+psycopg://user:password@127.0.0.1/notes``). The extension's
write-lock settings may come from the environment too
(``PRECONDITIONS_LOCK``, ``PRECONDITIONS_LOCK_TIMEOUT``,
``PRECONDITIONS_LOCK_NAMESPACE``).

Every write is checked against the version the client read (``If-Match``),
and the write itself is conditional on that version: SQLAlchemy's versioned
``UPDATE … WHERE id = :id AND version = :checked``. Two clients that read the
same version can both pass the check, but only one of them can write; the
other gets 412 and re-reads. No acknowledged update is ever lost, and the
view needs no write lock (``versioned()`` says so to the extension).

Versions are random (:func:`~examples.notes.models.new_version`), so a note
deleted and created again never repeats an entity-tag of the note before it.

The ``/counters`` routes (:mod:`examples.notes.counters`) show the same
compare-and-swap written by hand on a Core table.
"""

from __future__ import annotations

import os
import sqlite3
import typing as t

from flask import Flask
from flask import request
from flask import url_for
from sqlalchemy import event
from sqlalchemy import select
from sqlalchemy.engine import Engine
from werkzeug.exceptions import BadRequest

from flask_preconditions import ProblemDetailsMixin
from flask_preconditions import set_new_version
from flask_preconditions.sqlalchemy import last_modified_of
from flask_preconditions.sqlalchemy import versioned

from .counters import bp as counters_blueprint
from .extensions import conflicts
from .extensions import pre
from .models import db
from .models import Note

_FIELDS = ("title", "text")
#: The extension's settings that the environment may give, and how to read them.
_LOCK_SETTINGS: dict[str, t.Callable[[str], t.Any]] = {
    "PRECONDITIONS_LOCK": str,
    "PRECONDITIONS_LOCK_TIMEOUT": float,
    "PRECONDITIONS_LOCK_NAMESPACE": str,
}


class InvalidNote(ProblemDetailsMixin, BadRequest):
    """400: the request body is not a note."""

    problem_type = "https://www.rfc-editor.org/rfc/rfc9110#section-15.5.1"


def create_app(config: t.Mapping[str, t.Any] | None = None) -> Flask:
    """Create the notes application.

    :param config: configuration overriding the defaults and the environment:
        ``SQLALCHEMY_DATABASE_URI`` (else ``NOTES_DATABASE_URL``, else SQLite in
        the instance folder), ``NOTES_SQLITE_BUSY_TIMEOUT_MS`` (5000), and the
        ``PRECONDITIONS_LOCK*`` settings (else the environment's, else the
        extension's defaults).
    """
    app = Flask(__name__, instance_path=os.environ.get("NOTES_INSTANCE_PATH"))
    configure(app, config)
    pre.init_app(app)
    conflicts.init_app(app)
    register_routes(app)
    app.register_blueprint(counters_blueprint)
    return app


def configure(app: Flask, config: t.Mapping[str, t.Any] | None) -> None:
    """Configure the database and the write lock of the application and of its
    variants."""
    default_url = f"sqlite:///{os.path.join(app.instance_path, 'notes.sqlite3')}"
    app.config["NOTES_SQLITE_BUSY_TIMEOUT_MS"] = 5000
    app.config["SQLALCHEMY_DATABASE_URI"] = os.environ.get(
        "NOTES_DATABASE_URL", default_url
    )
    for key, parse in _LOCK_SETTINGS.items():
        if key in os.environ:
            app.config[key] = parse(os.environ[key])
    # A pooled connection that the database dropped (a restart) is replaced
    # before use, instead of failing the next request on it.
    app.config["SQLALCHEMY_ENGINE_OPTIONS"] = {"pool_pre_ping": True}
    app.config.update(config or {})
    if app.config["SQLALCHEMY_DATABASE_URI"] == default_url:
        os.makedirs(app.instance_path, exist_ok=True)
    db.init_app(app)
    with app.app_context():
        engine = db.engine
        if engine.dialect.name == "sqlite":
            _configure_sqlite(engine, app.config["NOTES_SQLITE_BUSY_TIMEOUT_MS"])
        # Idempotent; under several workers, create the tables once first
        # (`flask --app examples.notes.app init-db`) so they do not race.
        db.create_all()

    @app.cli.command("init-db")
    def init_db_command() -> None:
        """Create the tables of the notes application."""
        db.create_all()
        print(f"Tables ready in {db.engine.url!r}.")


def _configure_sqlite(engine: Engine, busy_timeout_ms: int) -> None:
    def on_connect(connection: sqlite3.Connection, record: t.Any) -> None:
        # WAL lets readers work while a writer holds the lock; the busy timeout
        # makes a writer wait for the lock instead of failing at once. A wait
        # longer than that is answered 503 by SQLAlchemyPreconditions.
        connection.execute("PRAGMA journal_mode=WAL")
        connection.execute(f"PRAGMA busy_timeout={int(busy_timeout_ms)}")

    event.listen(engine, "connect", on_connect)
    engine.dispose()


def note_fields(data: t.Any, *, partial: bool) -> dict[str, str]:
    if not isinstance(data, dict):
        raise InvalidNote("The request body must be a JSON object.")
    unknown = sorted(set(data) - set(_FIELDS))
    if unknown:
        raise InvalidNote(f"Unknown fields {unknown}; a note has {list(_FIELDS)}.")
    missing = [] if partial else [name for name in _FIELDS if name not in data]
    if missing:
        raise InvalidNote(f"Missing fields {missing}: PUT replaces the whole note.")
    for name, value in data.items():
        if not isinstance(value, str):
            raise InvalidNote(f"The field {name!r} must be a string.")
    return t.cast(dict[str, str], data)


def json_body() -> t.Any:
    data = request.get_json(silent=True)
    if data is None:
        raise InvalidNote(
            "The request body must be JSON, with Content-Type application/json."
        )
    return data


def register_routes(app: Flask) -> None:
    @app.get("/notes")
    def list_notes() -> t.Any:
        notes = db.session.scalars(select(Note).order_by(Note.id))
        return [note.to_json() for note in notes]

    @app.post("/notes")
    def create_note() -> t.Any:
        note = Note(**note_fields(json_body(), partial=False))
        db.session.add(note)
        db.session.flush()
        body = note.to_json()
        db.session.commit()
        # The 201 carries the created note's ETag and Last-Modified, so that
        # the client can edit it without reading it first.
        set_new_version(note.version, last_modified=note.updated_at)
        return body, 201, {"Location": url_for("note", note_id=body["id"])}

    @app.route("/notes/<int:note_id>", methods=["GET", "PUT", "PATCH", "DELETE"])
    @pre.etag(versioned(Note))
    @pre.last_modified(last_modified_of(Note))
    def note(note_id: int) -> t.Any:
        # The instance loaded for the precondition check, from the session's
        # identity map: no second query, and its version is the one checked.
        found = db.session.get(Note, note_id)
        if request.method in ("GET", "HEAD"):
            # Flask routes HEAD here too: it must read, never write.
            assert found is not None  # 404 was answered before the view.
            return found.to_json()
        if request.method == "DELETE":
            assert found is not None
            db.session.delete(found)
            db.session.commit()  # DELETE … WHERE id = ? AND version = :checked
            return "", 204
        fields = note_fields(json_body(), partial=request.method == "PATCH")
        if found is None:
            # PUT with If-None-Match: * creates the note. A concurrent creation
            # of the same id makes the INSERT fail, which SQLAlchemyPreconditions
            # answers with 412: If-None-Match: * no longer holds.
            if request.method == "PATCH":
                raise InvalidNote("PATCH cannot create a note; use PUT.")
            return _create_at(note_id, fields)
        for name, value in fields.items():
            setattr(found, name, value)
        db.session.flush()  # UPDATE … WHERE id = ? AND version = :checked
        body = found.to_json()
        db.session.commit()
        return body


def _create_at(note_id: int, fields: dict[str, str]) -> t.Any:
    note = Note(id=note_id, **fields)
    db.session.add(note)
    db.session.flush()  # INSERT; fails if another request created the note
    body = note.to_json()
    db.session.commit()
    return body, 201, {"Location": url_for("note", note_id=note_id)}
