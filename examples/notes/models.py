"""The notes table, shared by the example application and its variants."""

from __future__ import annotations

import datetime as dt
import typing as t
import uuid

from flask_sqlalchemy import SQLAlchemy
from sqlalchemy import String
from sqlalchemy import Text
from sqlalchemy.orm import DeclarativeBase
from sqlalchemy.orm import Mapped
from sqlalchemy.orm import mapped_column


class Base(DeclarativeBase):
    pass


db = SQLAlchemy(model_class=Base)


def _now() -> dt.datetime:
    return dt.datetime.now(dt.timezone.utc)


def new_version(previous: str | None = None) -> str:
    """A version no note has ever had: 32 random hexadecimal digits.

    A counter that starts at 1 would give a note deleted and created again
    the versions, and so the entity-tags, of the note before it: a client
    holding an old tag would pass ``If-Match`` and get 304 for a note it has
    never seen. A random version is unique per incarnation.
    """
    return uuid.uuid4().hex


class Note(db.Model):  # type: ignore[name-defined,misc]
    __tablename__ = "notes"

    id: Mapped[int] = mapped_column(primary_key=True)
    title: Mapped[str] = mapped_column(String(200))
    text: Mapped[str] = mapped_column(Text)
    # Replaced by SQLAlchemy on every UPDATE, whose WHERE clause requires the
    # version the instance was loaded with: the write is a compare-and-swap.
    # Random, not a counter, so that no incarnation repeats another's ETag.
    version: Mapped[str] = mapped_column(String(32), nullable=False)
    # Python-side, so the value this request wrote is known without reading the
    # row back after the commit.
    updated_at: Mapped[dt.datetime] = mapped_column(
        db.DateTime(timezone=True), default=_now, onupdate=_now
    )

    __mapper_args__: t.ClassVar[dict[str, t.Any]] = {
        "version_id_col": version,
        "version_id_generator": new_version,
    }

    def to_json(self) -> dict[str, t.Any]:
        return {
            "id": self.id,
            "title": self.title,
            "text": self.text,
            "version": self.version,
        }
