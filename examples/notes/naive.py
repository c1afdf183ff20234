"""The notes API written the way most servers are: check, then write.

It is here to be measured, not copied. The precondition check is correct (428
without ``If-Match``, 412 for a stale one) but it is a separate ``SELECT``, and
the write is a separate ``UPDATE`` (or ``INSERT``, or ``DELETE``) that does not
repeat the condition. Two requests that carry the same, current entity-tag can
both pass the check before either writes; both are acknowledged, and the first
write is silently overwritten by the second: a lost update. flask-smorest's
``check_etag``, Eve and hand-written Werkzeug checks all work this way.

With flask-preconditions it loses nothing all the same: the extension holds
the note's write lock from before the check until the request is torn down
(by default a file lock, which holds across the worker processes and threads
of one host), so the second of two such requests is checked against what the
first wrote, and gets 412. Start it with ``PRECONDITIONS_LOCK=off`` to see what
it loses without the lock; ``make demo`` shows both.

Nothing in this module widens the window between the check and the write: the
races it loses with the lock off happen on their own.
:mod:`examples.notes.modes` serves the same writes in the extension's other
modes.
"""

from __future__ import annotations

import os
import typing as t

from flask import Flask
from flask import request
from sqlalchemy import delete
from sqlalchemy import insert
from sqlalchemy import select
from sqlalchemy import update
from sqlalchemy.engine import CursorResult
from werkzeug.exceptions import NotFound

from flask_preconditions import Preconditions
from flask_preconditions.sqlalchemy import SQLAlchemyPreconditions

from .app import configure
from .app import json_body
from .app import note_fields
from .models import db
from .models import new_version
from .models import Note

_notes = Note.__table__


def current_version(note_id: int) -> str | None:
    """The check: read the version with its own SELECT."""
    return db.session.execute(
        select(Note.version).where(Note.id == note_id)
    ).scalar_one_or_none()


def read_note(note_id: int) -> dict[str, t.Any]:
    row = db.session.execute(
        select(_notes.c.id, _notes.c.title, _notes.c.text, _notes.c.version).where(
            _notes.c.id == note_id
        )
    ).one_or_none()
    if row is None:
        raise NotFound()
    return dict(row._mapping)


def replace_note(note_id: int) -> t.Any:
    """PUT: a plain UPDATE that trusts the check, or an INSERT if absent."""
    fields = note_fields(json_body(), partial=False)
    result = db.session.execute(
        update(_notes)
        .where(_notes.c.id == note_id)
        .values(**fields, version=new_version())
    )
    if t.cast("CursorResult[t.Any]", result).rowcount:
        db.session.commit()
        return read_note(note_id)
    # A concurrent creation makes this INSERT fail on the key, which
    # SQLAlchemyPreconditions answers with 412.
    db.session.execute(
        insert(_notes).values(id=note_id, **fields, version=new_version())
    )
    db.session.commit()
    return read_note(note_id), 201, {"Location": request.path}


def delete_note(note_id: int) -> t.Any:
    """DELETE: a plain DELETE that trusts the check."""
    db.session.execute(delete(_notes).where(_notes.c.id == note_id))
    db.session.commit()
    return "", 204


def note_view(note_id: int) -> t.Any:
    """GET, PUT and DELETE of one note, with no precondition of its own."""
    if request.method == "PUT":
        return replace_note(note_id)
    if request.method == "DELETE":
        return delete_note(note_id)
    return read_note(note_id)


def create_app(config: t.Mapping[str, t.Any] | None = None) -> Flask:
    """Create the naive notes application: a version function, plain writes."""
    app = Flask(__name__, instance_path=os.environ.get("NOTES_INSTANCE_PATH"))
    configure(app, config)
    pre = Preconditions(app, app_wide=False)
    SQLAlchemyPreconditions(app)

    @app.route("/notes/<int:note_id>", methods=["GET", "PUT", "DELETE"])
    @pre.etag(current_version)
    def note(note_id: int) -> t.Any:
        return note_view(note_id)

    return app
