"""What a request loaded for its checks, kept current by ORM events: the
version each instance was checked at, then the version this request wrote.

:func:`listen_for_writes` registers the mapper events; the loaders of
:mod:`~flask_preconditions.sqlalchemy.loading` fill the record.
"""

from __future__ import annotations

import dataclasses
import logging
import typing as t

import sqlalchemy as sa
from flask import g
from flask import has_request_context
from sqlalchemy import event
from sqlalchemy.orm import Mapper
from sqlalchemy.orm import Session
from sqlalchemy.orm.exc import StaleDataError

logger = logging.getLogger("flask_preconditions")

#: The attribute of :data:`flask.g` holding this request's tracked instances.
_TRACKED_ATTR = "_preconditions_sqlalchemy"
#: Stands for a value not recorded (or not loaded) yet.
MISSING: t.Any = object()


@dataclasses.dataclass
class Tracked:
    """An instance loaded for a precondition check, during one request."""

    #: The instance, or ``None`` when it did not exist (or was deleted).
    instance: t.Any
    #: Attribute values as of the check, then as of this request's last flush.
    values: dict[str, t.Any]


def request_tracked_map() -> dict[tuple[Mapper[t.Any], tuple[str, ...]], Tracked]:
    """This request's tracked instances, by base mapper and key as text."""
    tracked: dict[tuple[Mapper[t.Any], tuple[str, ...]], Tracked] | None = g.get(
        _TRACKED_ATTR
    )
    if tracked is None:
        tracked = {}
        setattr(g, _TRACKED_ATTR, tracked)
    return tracked


def key_as_text(mapper: Mapper[t.Any], ident: t.Sequence[t.Any]) -> tuple[str, ...]:
    """A primary key's values as text: a tracked instance's key."""
    # URL converters and column types may disagree on the type of a key ("5"
    # and 5); compare them as text.
    return tuple(str(value) for value in ident)


# -- keeping the checked version and the written one ----------------------------

_listening: set[Mapper[t.Any]] = set()


def listen_for_writes(base_mapper: Mapper[t.Any]) -> None:
    """Keep the tracked instances of a mapper hierarchy current as they are
    written: once per hierarchy."""
    if base_mapper in _listening:
        return
    _listening.add(base_mapper)
    cls = base_mapper.class_
    event.listen(cls, "before_update", _before_update, propagate=True)
    event.listen(cls, "before_delete", _before_update, propagate=True)
    event.listen(cls, "after_update", _after_write, propagate=True)
    event.listen(cls, "after_insert", _after_write, propagate=True)
    event.listen(cls, "after_delete", _after_delete, propagate=True)


@event.listens_for(Session, "before_flush")
def _warn_of_unversioned_changes(
    session: Session, flush_context: t.Any, instances: t.Any
) -> None:
    """Say so when a checked instance changes only through its collections.

    A flush that only replaces a relationship writes the related rows, not the
    instance's own: its version stays, and so does its entity-tag, which then
    names two representations. Clients holding the old tag get 304 for the new
    content, and may write over it.
    """
    if not has_request_context():
        return
    tracked_map = g.get(_TRACKED_ATTR)
    if not tracked_map:
        return
    for tracked in tracked_map.values():
        instance = tracked.instance
        if instance is None or instance not in session:
            continue
        if session.is_modified(instance) and not session.is_modified(
            instance, include_collections=False
        ):
            logger.warning(
                "%r changes only through its relationships, so its version,"
                " and its ETag, stay the same: change a column of it too (such"
                " as its modification date), so that the version moves.",
                instance,
            )


def _tracked_for(mapper: Mapper[t.Any], target: t.Any) -> Tracked | None:
    if not has_request_context():
        return None
    tracked_map = g.get(_TRACKED_ATTR)
    if not tracked_map:
        return None
    ident = mapper.primary_key_from_instance(target)
    return t.cast(
        "Tracked | None",
        tracked_map.get((mapper.base_mapper, key_as_text(mapper, ident))),
    )


def _before_update(mapper: Mapper[t.Any], connection: t.Any, target: t.Any) -> None:
    tracked = _tracked_for(mapper, target)
    column = mapper.version_id_col
    if tracked is None or column is None:
        return
    if tracked.instance is None:
        # The check found no such row (a create-only PUT), and yet one is
        # being updated or deleted: another request created it meanwhile.
        raise StaleDataError(
            f"{mapper.class_.__name__} did not exist when the request was"
            " checked, but another request has created it since."
        )
    attr = mapper.get_property_by_column(column).key
    checked = tracked.values.get(attr, MISSING)
    if checked is MISSING:
        return
    history = sa.inspect(target).attrs[attr].load_history()
    if history.deleted:
        flushed = history.deleted[0]
    elif history.unchanged:
        flushed = history.unchanged[0]
    else:
        return
    if flushed != checked:
        # The UPDATE would be conditional on a version other than the one the
        # client's If-Match was checked against.
        raise StaleDataError(
            f"{mapper.class_.__name__} was checked at version {checked!r} but"
            f" the flush would write over version {flushed!r}."
        )


def _after_write(mapper: Mapper[t.Any], connection: t.Any, target: t.Any) -> None:
    tracked = _tracked_for(mapper, target)
    if tracked is None:
        return
    tracked.instance = target
    state = target.__dict__
    attrs = set(tracked.values)
    if mapper.version_id_col is not None:
        attrs.add(mapper.get_property_by_column(mapper.version_id_col).key)
    for attr in attrs:
        value = state.get(attr, MISSING)
        if value is MISSING:
            # Generated by the database and not fetched: read when next asked.
            tracked.values.pop(attr, None)
        else:
            tracked.values[attr] = value


def _after_delete(mapper: Mapper[t.Any], connection: t.Any, target: t.Any) -> None:
    tracked = _tracked_for(mapper, target)
    if tracked is not None:
        tracked.instance = None
        tracked.values.clear()
