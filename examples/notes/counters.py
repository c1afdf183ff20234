"""Compare-and-swap without the ORM: a counter API on a Core table.

The version function reads the row's version with a plain ``SELECT``; that
alone would be a check-then-write. The write is made safe by
:func:`~flask_preconditions.sqlalchemy.conditional_update`: one
``UPDATE … WHERE id = :id AND version = :expected``, where ``:expected`` is the
version the request's ``If-Match`` was checked against. Because the write is
its own compare-and-swap, the view says so (``atomic=True``) and the extension
takes no write lock for it. The new version is random, like the notes', so
that a counter created again never repeats an earlier entity-tag.
"""

from __future__ import annotations

import typing as t

import sqlalchemy as sa
from flask import Blueprint
from flask import request

from flask_preconditions.sqlalchemy import conditional_update

from .extensions import pre
from .models import db
from .models import new_version

counters = sa.Table(
    "counters",
    db.metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("value", sa.Integer, nullable=False),
    sa.Column("version", sa.String(32), nullable=False),
)

bp = Blueprint("counters", __name__)


def counter_version(counter_id: int) -> str | None:
    return db.session.execute(
        sa.select(counters.c.version).where(counters.c.id == counter_id)
    ).scalar_one_or_none()


@bp.get("/counters/<int:counter_id>")
@pre.etag(counter_version)
def get_counter(counter_id: int) -> t.Any:
    row = db.session.execute(
        sa.select(counters.c.value).where(counters.c.id == counter_id)
    ).one()
    return {"value": row.value}


@bp.put("/counters/<int:counter_id>")
@pre.etag(counter_version, atomic=True)
def put_counter(counter_id: int) -> t.Any:
    value = t.cast(dict[str, t.Any], request.json)["value"]
    # Raises PreconditionFailed (412) if another request wrote since the check.
    conditional_update(
        db.session,
        counters,
        {"id": counter_id},
        {"value": value},
        new_version=new_version(),
    )
    db.session.commit()
    return {"value": value}
