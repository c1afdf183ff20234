"""The notes API in each of the extension's modes, for the concurrency proof.

``create_app(mode)`` serves ``GET``, ``PUT`` (replace, or create with
``If-None-Match: *``) and ``DELETE`` of ``/notes/<id>``, protected one way:

``"app-wide"``
    ``Preconditions(app)`` covers every endpoint: entity-tags are hashes of
    the GET body, and a write is checked against an internal GET.
``"blueprint"``
    The same, on a blueprint given to
    :meth:`~flask_preconditions.Preconditions.protect`.
``"bare-etag"``
    ``@pre.etag`` on the view, with body hashes.
``"version-function"``
    ``@pre.etag(current_version)``: :mod:`examples.notes.naive`.
``"versioned"``
    The notes example itself (:mod:`examples.notes.app`): ``versioned(Note)``.

In the first four the write is the plain ``UPDATE`` of
:mod:`examples.notes.naive`, which trusts the check: only the extension's
write lock keeps two writes with the same entity-tag apart. The lock is
configured from the environment (``PRECONDITIONS_LOCK`` and its companions,
see :func:`examples.notes.app.configure`), so that the same application can be
run with the lock off. ``versioned`` writes with a compare-and-swap and takes
no lock.

Run one under gunicorn with
``gunicorn 'examples.notes.modes:create_app("blueprint")'``.

For the tests that kill a worker, two settings of the environment, unset in
normal use:

``NOTES_HOLD_FILE``
    A write sent with the header ``X-Hold-Lock: 1`` writes its process id to
    this file once its ``UPDATE`` or ``INSERT`` has run, and then sleeps
    (:data:`HOLD_SECONDS` at most) before it commits: it holds the write lock
    and an uncommitted change while the test kills its worker.
``NOTES_REDIS_LEASE``
    The lease, in seconds, of :class:`~flask_preconditions.locks.RedisLocks`
    when ``PRECONDITIONS_LOCK`` is a Redis URL.
"""

from __future__ import annotations

import os
import time
import typing as t

from flask import Blueprint
from flask import Flask
from flask import has_request_context
from flask import request
from sqlalchemy import event

from flask_preconditions import Preconditions
from flask_preconditions.locks import RedisLocks
from flask_preconditions.sqlalchemy import SQLAlchemyPreconditions

from . import app as notes_app
from . import naive
from .models import db
from .models import Note

#: Every mode :func:`create_app` serves.
MODES = ("app-wide", "blueprint", "bare-etag", "version-function", "versioned")
#: The modes whose writes are plain, made atomic by the write lock alone.
LOCKED_MODES = MODES[:-1]
#: The longest a held write sleeps: below gunicorn's 30 s worker timeout.
HOLD_SECONDS = 20.0
#: The header that makes a write hold its lock (with ``NOTES_HOLD_FILE``).
HOLD_HEADER = "X-Hold-Lock"


def create_app(
    mode: str = "versioned", config: t.Mapping[str, t.Any] | None = None
) -> Flask:
    """Create the notes application protected in ``mode`` (one of :data:`MODES`)."""
    config = {**_redis_with_lease(), **(config or {})}
    if mode == "versioned":
        app = notes_app.create_app(config)
    elif mode == "version-function":
        app = naive.create_app(config)
    elif mode in LOCKED_MODES:
        app = _body_hash_app(mode, config)
    else:
        raise ValueError(f"mode must be one of {MODES}, not {mode!r}")
    hold_file = os.environ.get("NOTES_HOLD_FILE")
    if hold_file:
        _hold_writes(app, hold_file)
    return app


def _body_hash_app(mode: str, config: t.Mapping[str, t.Any] | None) -> Flask:
    app = Flask(__name__, instance_path=os.environ.get("NOTES_INSTANCE_PATH"))
    notes_app.configure(app, config)
    pre = Preconditions(app_wide=mode == "app-wide")

    # A view function of its own: decorating one that other applications
    # route too would change it for them.
    def note(note_id: int) -> t.Any:
        return naive.note_view(note_id)

    view: t.Callable[..., t.Any] = note
    scope: Flask | Blueprint = app
    if mode == "blueprint":
        scope = pre.protect(Blueprint("notes", __name__))
    elif mode == "bare-etag":
        view = pre.etag(view)
    scope.add_url_rule(
        "/notes/<int:note_id>", "note", view, methods=["GET", "PUT", "DELETE"]
    )
    pre.init_app(app)
    SQLAlchemyPreconditions(app)
    if isinstance(scope, Blueprint):
        app.register_blueprint(scope)
    return app


def _redis_with_lease() -> dict[str, t.Any]:
    lease = os.environ.get("NOTES_REDIS_LEASE")
    setting = os.environ.get("PRECONDITIONS_LOCK", "")
    if not lease or not setting.startswith("redis"):
        return {}
    return {"PRECONDITIONS_LOCK": RedisLocks(setting, lease=float(lease))}


def _hold_writes(app: Flask, hold_file: str) -> None:
    def hold(connection: t.Any, cursor: t.Any, statement: str, *args: t.Any) -> None:
        if not (
            has_request_context()
            and request.headers.get(HOLD_HEADER) == "1"
            and statement.lstrip().upper().startswith(("UPDATE", "INSERT"))
        ):
            return
        # Renamed into place, so the test never reads a half-written pid.
        scratch = f"{hold_file}.{os.getpid()}"
        with open(scratch, "w") as file:
            file.write(str(os.getpid()))
        os.replace(scratch, hold_file)
        time.sleep(HOLD_SECONDS)

    with app.app_context():
        event.listen(db.engine, "after_cursor_execute", hold)


def seed_counter(database_url: str) -> int:
    """Create the tables afresh, with one note whose text is the counter ``0``.

    Returns the note's id. Used before the servers start, so that their
    workers do not race to create the tables.
    """
    app = notes_app.create_app({"SQLALCHEMY_DATABASE_URI": database_url})
    with app.app_context():
        db.drop_all()
        db.create_all()
        note = Note(title="counter", text="0")
        db.session.add(note)
        db.session.commit()
        note_id: int = note.id
        # Closed, not left to the garbage collector: the servers' workers open
        # their own connections.
        db.session.remove()
        db.engine.dispose()
    return note_id
