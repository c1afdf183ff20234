"""The SQLAlchemy integration with Flask-SQLAlchemy's ``db.session``.

Checked by mypy (``nox -s typing``), never run.
"""

from __future__ import annotations

import datetime as dt
import typing as t

from flask import Flask
from flask_sqlalchemy import SQLAlchemy
from sqlalchemy.orm import DeclarativeBase
from sqlalchemy.orm import Mapped
from sqlalchemy.orm import mapped_column
from typing_extensions import assert_type

from flask_preconditions import Preconditions
from flask_preconditions.sqlalchemy import conditional_update
from flask_preconditions.sqlalchemy import last_modified_of
from flask_preconditions.sqlalchemy import SQLAlchemyPreconditions
from flask_preconditions.sqlalchemy import versioned


class Base(DeclarativeBase):
    pass


db = SQLAlchemy(model_class=Base)
app = Flask(__name__)
pre = Preconditions(app)
SQLAlchemyPreconditions(app, session=db.session)


class Note(db.Model):  # type: ignore[name-defined,misc]
    id: Mapped[int] = mapped_column(primary_key=True)
    text: Mapped[str]
    version: Mapped[int] = mapped_column(nullable=False)
    updated_at: Mapped[dt.datetime]
    __mapper_args__: t.ClassVar[dict[str, t.Any]] = {"version_id_col": version}


@app.route("/notes/<int:note_id>", methods=["GET", "PUT"])
@pre.etag(versioned(Note, session=db.session))
@pre.last_modified(last_modified_of(Note, session=db.session))
def note(note_id: int) -> dict[str, str]:
    return {"text": db.session.get_one(Note, note_id).text}


assert_type(note(1), dict[str, str])
note("1")  # type: ignore[arg-type]

# The documented compare-and-swap takes Flask-SQLAlchemy's scoped session.
assert_type(conditional_update(db.session, Note, {"id": 1}, {"text": "x"}), t.Any)
