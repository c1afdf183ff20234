"""The notes API written the way most servers are: check, then write.

It is here to be measured, not copied. The precondition check is correct (428
without ``If-Match``, 412 for a stale one) but it is a separate ``SELECT``, and
the write is a separate ``UPDATE`` that does not repeat the condition. Two
requests that carry the same, current entity-tag can both pass the check
before either writes; both are acknowledged with 200, and the first write is
silently overwritten by the second: a lost update. flask-smorest's
``check_etag``, Eve and hand-written Werkzeug checks all work this way.

Nothing in this module widens the window between the check and the write: the
races it loses under several worker processes happen on their own.
"""

from __future__ import annotations

import os
import typing as t

from flask import Flask
from flask import request
from sqlalchemy import select
from sqlalchemy import update
from werkzeug.exceptions import NotFound

from flask_preconditions import Preconditions

from .app import configure
from .app import json_body
from .app import note_fields
from .models import db
from .models import Note

pre = Preconditions()


def current_version(note_id: int) -> int | None:
    """The check: read the version with its own SELECT."""
    return db.session.execute(
        select(Note.version).where(Note.id == note_id)
    ).scalar_one_or_none()


def create_app(config: t.Mapping[str, t.Any] | None = None) -> Flask:
    """Create the naive notes application (GET and PUT of a note)."""
    app = Flask(__name__, instance_path=os.environ.get("NOTES_INSTANCE_PATH"))
    configure(app, config)
    pre.init_app(app)

    @app.route("/notes/<int:note_id>", methods=["GET", "PUT"])
    @pre.etag(current_version)
    def note(note_id: int) -> t.Any:
        if request.method == "PUT":
            fields = note_fields(json_body(), partial=False)
            # The write: a separate UPDATE that trusts the check above.
            notes = Note.__table__
            db.session.execute(
                update(notes)
                .where(notes.c.id == note_id)
                .values(**fields, version=notes.c.version + 1)
            )
            db.session.commit()
        found = db.session.get(Note, note_id)
        if found is None:
            raise NotFound()
        return found.to_json()

    return app
