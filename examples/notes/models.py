"""The notes table, shared by the example application and its naive variant."""

from __future__ import annotations

import datetime as dt
import typing as t

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


class Note(db.Model):  # type: ignore[name-defined,misc]
    __tablename__ = "notes"

    id: Mapped[int] = mapped_column(primary_key=True)
    title: Mapped[str] = mapped_column(String(200))
    text: Mapped[str] = mapped_column(Text)
    # Incremented by SQLAlchemy on every UPDATE, whose WHERE clause requires
    # the version the instance was loaded with: the write is a compare-and-swap.
    version: Mapped[int] = mapped_column(nullable=False)
    # Python-side, so the value this request wrote is known without reading the
    # row back after the commit.
    updated_at: Mapped[dt.datetime] = mapped_column(
        db.DateTime(timezone=True), default=_now, onupdate=_now
    )

    __mapper_args__: t.ClassVar[dict[str, t.Any]] = {"version_id_col": version}

    def to_json(self) -> dict[str, t.Any]:
        return {
            "id": self.id,
            "title": self.title,
            "text": self.text,
            "version": self.version,
        }
