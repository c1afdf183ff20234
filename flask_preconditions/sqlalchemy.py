"""SQLAlchemy integration: entity-tags from version columns, atomic writes.

Checking ``If-Match`` and then writing is not enough to prevent lost updates:
two requests carrying the same valid entity-tag can both pass the check before
either writes. The write itself must be conditional on the version that was
checked, so that the database refuses the second one. This module makes that
the easy path:

- :func:`versioned` gives a model with a ``version_id_col`` its entity-tag, with
  no version function to write. The instance it loads for the check is the one
  the view edits (the session's identity map returns it, with no second query),
  so SQLAlchemy's versioned ``UPDATE … WHERE version = :checked`` makes the
  check and the write one atomic step.
- :class:`SQLAlchemyPreconditions` turns the :exc:`~sqlalchemy.orm.exc.StaleDataError`
  of a write that lost that race into a 412 problem response (409 for a write
  that sent no precondition), and a busy database into a 503 that the client
  may retry.
- :func:`conditional_update` and :func:`conditional_delete` are the same
  compare-and-swap for Core tables and bulk statements.

Install it with the ``sqlalchemy`` extra: ``pip install
flask-preconditions[sqlalchemy]``. SQLAlchemy 2.x and Flask-SQLAlchemy 3.x are
supported; the extra installs both, and your code need not use
Flask-SQLAlchemy.
"""

from __future__ import annotations

import dataclasses
import logging
import sqlite3
import typing as t

import sqlalchemy as sa
from flask import current_app
from flask import Flask
from flask import g
from flask import has_request_context
from flask import request
from sqlalchemy import event
from sqlalchemy.orm import Mapper
from sqlalchemy.orm import scoped_session
from sqlalchemy.orm import Session
from sqlalchemy.orm.exc import StaleDataError
from werkzeug import exceptions
from werkzeug.exceptions import HTTPException

from .compat import handle_error
from .problems import PreconditionFailed
from .problems import ProblemDetailsMixin
from .problems import RETRY_ADVICE
from .problems import ServiceUnavailableProblem
from .records import checked_record
from .responses import has_preconditions
from .validation import Misconfigured
from .versions import expected_version
from .versions import set_new_version

if t.TYPE_CHECKING:
    pass

__all__ = [
    "DatabaseBusy",
    "DatabaseUnavailable",
    "SQLAlchemyPreconditions",
    "VersionFunction",
    "WriteConflict",
    "conditional_delete",
    "conditional_update",
    "last_modified_of",
    "versioned",
]

logger = logging.getLogger("flask_preconditions")

#: The name of this integration in ``app.extensions``.
EXTENSION_NAME = "preconditions.sqlalchemy"

#: A session, or something that returns one when called (a ``scoped_session``
#: such as Flask-SQLAlchemy's ``db.session``, or a function).
SessionSource = Session | t.Callable[[], Session]

_TRACKED_ATTR = "_preconditions_sqlalchemy"
_MISSING: t.Any = object()

# SQLSTATEs after which the same request may simply be sent again: nothing was
# written, and its preconditions are evaluated afresh.
_RETRYABLE_SQLSTATES = frozenset({"40001", "40P01"})


class DatabaseBusy(ServiceUnavailableProblem):
    """503: the database was too busy to take the write; nothing was written.

    Raised for SQLite's "database is locked" once its busy timeout has run out,
    and for PostgreSQL's serialization failures and deadlocks. The response
    carries ``Retry-After``. Sending the same conditional request again is safe:
    its preconditions are evaluated again, so a change made meanwhile by
    another client turns it into 412 rather than overwriting that change.

    .. versionadded:: 0.1
    """

    description = (
        "The database was busy and the request was not carried out; nothing was"
        " written. Send the same request again after the Retry-After delay: its"
        " If-Match is checked again, so it cannot overwrite another change."
    )


class DatabaseUnavailable(ServiceUnavailableProblem):
    """503: the connection to the database was lost during the request.

    Raised for a database error that SQLAlchemy recognises as a disconnect (a
    restarted server, a dropped connection). The request was not completed.
    Sending it again is safe: its ``If-Match`` is checked again, so if its
    write did reach the database before the connection was lost, the resent
    request gets 412 and the client reads its own change.

    .. versionadded:: 0.2
    """

    description = (
        "The connection to the database was lost, and the request was not"
        " completed. Send the same request again after the Retry-After delay:"
        " its If-Match is checked again, so it cannot overwrite another change,"
        " and if the first attempt was written after all, the answer is 412."
    )


class _State:
    def __init__(self, session: SessionSource | None, retry_after: int) -> None:
        self.session = session
        self.retry_after = retry_after


class SQLAlchemyPreconditions:
    """Answer the write conflicts that the database detects, on an application.

    ::

        db = SQLAlchemy(app)
        pre = Preconditions(app)
        SQLAlchemyPreconditions(app)

    It registers error handlers that roll the session back and turn

    - :exc:`~sqlalchemy.orm.exc.StaleDataError`, raised by a versioned
      ``UPDATE`` or ``DELETE`` that matched no row because another request
      changed the row after this one was checked, into
      :class:`~flask_preconditions.PreconditionFailed` (412), or
      :class:`WriteConflict` (409) when the request sent no precondition
      header; likewise an ``UPDATE`` or ``DELETE`` of a row that did not exist
      when a create-only request (``If-None-Match: *``) was checked;
    - an :exc:`~sqlalchemy.exc.IntegrityError` of a create-only request,
      whose ``INSERT`` collided with a row another request created meanwhile,
      into 412;
    - a busy database (SQLite's "database is locked" after its busy timeout,
      PostgreSQL's serialization failures and deadlocks) into
      :class:`DatabaseBusy` (503 with ``Retry-After``);
    - a lost connection (a database error SQLAlchemy recognises as a
      disconnect) into :class:`DatabaseUnavailable` (503 with
      ``Retry-After``). Give the engine ``pool_pre_ping=True``
      (``SQLALCHEMY_ENGINE_OPTIONS``) so that the requests after a database
      restart get tested connections.

    Other database errors are left alone. The 412 goes through the
    application's own 412 handler when it has one.

    :func:`versioned` and :func:`last_modified_of` require it, so that a lost
    race can never become a 500.

    :param app: the application to initialise, if not using :meth:`init_app`.
    :param session: the session to roll back and to load instances with. By
        default Flask-SQLAlchemy's ``db.session``.
    :param retry_after: the ``Retry-After`` of 503 responses, in seconds.

    .. versionadded:: 0.1
    """

    def __init__(
        self,
        app: Flask | None = None,
        *,
        session: SessionSource | None = None,
        retry_after: int = 1,
    ) -> None:
        self.session = session
        if not isinstance(retry_after, int) or retry_after < 0:
            raise ValueError(
                f"retry_after must be a number of seconds, not {retry_after!r}."
            )
        self.retry_after = retry_after
        if app is not None:
            self.init_app(app)

    def init_app(self, app: Flask) -> None:
        """Register the error handlers on an application."""
        app.extensions[EXTENSION_NAME] = _State(self.session, self.retry_after)
        app.register_error_handler(StaleDataError, _stale_data)
        app.register_error_handler(sa.exc.OperationalError, _operational_error)
        app.register_error_handler(sa.exc.IntegrityError, _integrity_error)
        app.register_error_handler(sa.exc.DBAPIError, _database_error)


def _rollback() -> None:
    try:
        session = _session(None)
    except RuntimeError:
        return
    session.rollback()


class WriteConflict(ProblemDetailsMixin, exceptions.Conflict):
    """409: a write without preconditions lost a race with another write.

    A 412 says that a condition of the request was false; a request that sent
    none gets this instead.

    .. versionadded:: 0.1
    """

    problem_type = "https://www.rfc-editor.org/rfc/rfc9110#section-15.5.10"
    description = (
        "Another request changed this resource while this one was writing it,"
        " so nothing was written. Read the resource again (GET), reapply the"
        " change, and send the write with If-Match and the ETag you read, so"
        " that it cannot overwrite a change you have not seen."
    )


def _stale_data(error: StaleDataError) -> t.Any:
    _rollback()
    if not has_preconditions(request.environ):
        return _http_error(WriteConflict())
    return _http_error(
        PreconditionFailed(
            "Another request changed this resource after this request's"
            " preconditions were checked and before it was written, so nothing"
            f" was written. {RETRY_ADVICE}"
        )
    )


def _integrity_error(error: sa.exc.IntegrityError) -> t.Any:
    checked = checked_record()
    if checked is None or checked[0] is not None:
        raise error
    # The request was checked against an absent resource (If-None-Match: *),
    # and its INSERT collided: another request created the resource meanwhile.
    _rollback()
    return _http_error(
        PreconditionFailed(
            "Another request created this resource after this request's"
            " preconditions were checked, so If-None-Match: * no longer holds"
            " and nothing was written. Read the resource (GET) and send"
            " If-Match with its ETag to modify it."
        )
    )


def _operational_error(error: sa.exc.OperationalError) -> t.Any:
    if error.connection_invalidated:
        return _lost_connection(error)
    if not _is_busy(error):
        raise error
    _rollback()
    state: _State = current_app.extensions[EXTENSION_NAME]
    return _http_error(DatabaseBusy(retry_after=state.retry_after))


def _database_error(error: sa.exc.DBAPIError) -> t.Any:
    if not error.connection_invalidated:
        raise error
    return _lost_connection(error)


def _lost_connection(error: sa.exc.DBAPIError) -> t.Any:
    # The pool has already dropped the connection; the next request gets a
    # fresh one (with pool_pre_ping, a tested one).
    _rollback()
    state: _State = current_app.extensions[EXTENSION_NAME]
    return _http_error(DatabaseUnavailable(retry_after=state.retry_after))


def _http_error(error: HTTPException) -> t.Any:
    # Raised from an error handler, the error would become a 500: answered
    # through Flask's own lookup instead, so that the application's 412 and
    # 503 handlers win over the default problem body.
    return handle_error(current_app._get_current_object(), error)  # type: ignore[attr-defined]


def _is_busy(error: sa.exc.OperationalError) -> bool:
    orig = error.orig
    if isinstance(orig, sqlite3.OperationalError):
        message = str(orig).lower()
        return "locked" in message or "busy" in message
    sqlstate = getattr(orig, "sqlstate", None) or getattr(orig, "pgcode", None)
    return sqlstate in _RETRYABLE_SQLSTATES


# -- finding the session and the instance ----------------------------------------


def _session(source: SessionSource | None) -> Session:
    if source is None:
        state: _State | None = current_app.extensions.get(EXTENSION_NAME)
        if state is not None and state.session is not None:
            source = state.session
        else:
            flask_sqlalchemy = current_app.extensions.get("sqlalchemy")
            source = getattr(flask_sqlalchemy, "session", None)
            if source is None:
                raise RuntimeError(
                    "No SQLAlchemy session: pass session= to"
                    " SQLAlchemyPreconditions() or to versioned(), or use"
                    " Flask-SQLAlchemy."
                )
    if isinstance(source, Session):
        return source
    return source()


@dataclasses.dataclass
class _Tracked:
    """An instance loaded for a precondition check, during one request."""

    #: The instance, or ``None`` when it did not exist (or was deleted).
    instance: t.Any
    #: Attribute values as of the check, then as of this request's last flush.
    values: dict[str, t.Any]


def _tracked_map() -> dict[tuple[Mapper[t.Any], tuple[str, ...]], _Tracked]:
    tracked: dict[tuple[Mapper[t.Any], tuple[str, ...]], _Tracked] | None = g.get(
        _TRACKED_ATTR
    )
    if tracked is None:
        tracked = {}
        setattr(g, _TRACKED_ATTR, tracked)
    return tracked


def _key(mapper: Mapper[t.Any], ident: t.Sequence[t.Any]) -> tuple[str, ...]:
    # URL converters and column types may disagree on the type of a key ("5"
    # and 5); compare them as text.
    return tuple(str(value) for value in ident)


class _ModelLoader:
    """Loads a model's instance from the view arguments, once per request."""

    def __init__(
        self,
        model: type[t.Any],
        url_arg: str | t.Sequence[str] | None,
        session: SessionSource | None,
        what: str,
    ) -> None:
        try:
            mapper: Mapper[t.Any] = sa.inspect(model)
        except sa.exc.NoInspectionAvailable:
            raise TypeError(
                f"{what}() takes a mapped model class, not {model!r}."
            ) from None
        if not isinstance(mapper, Mapper):
            raise TypeError(f"{what}() takes a mapped model class, not {model!r}.")
        self.model = model
        self.mapper = mapper
        self.url_args = (url_arg,) if isinstance(url_arg, str) else url_arg
        if self.url_args is not None and len(self.url_args) != len(mapper.primary_key):
            raise TypeError(
                f"{what}({model.__name__}) needs one URL argument for each of its"
                f" {len(mapper.primary_key)} primary key columns, not"
                f" {list(self.url_args)!r}."
            )
        #: The primary key's attribute names, in the key's order.
        self.key_names = tuple(
            mapper.get_property_by_column(column).key for column in mapper.primary_key
        )
        self.session = session
        self.what = what
        _listen(mapper.base_mapper)

    def _ident(self, view_args: dict[str, t.Any]) -> tuple[t.Any, ...]:
        names = self.url_args
        if names is None:
            # URL arguments named as the key's attributes, in the key's order
            # (not the URL's); a lone argument for a one-column key.
            if all(name in view_args for name in self.key_names):
                return tuple(view_args[name] for name in self.key_names)
            if len(self.key_names) != 1 or len(view_args) != 1:
                raise TypeError(
                    f"{self.what}({self.model.__name__}) on endpoint"
                    f" {request.endpoint!r} cannot tell which URL arguments hold"
                    f" the primary key {list(self.key_names)!r} among"
                    f" {sorted(view_args)!r}: pass url_arg=."
                )
            return tuple(view_args.values())
        try:
            return tuple(view_args[name] for name in names)
        except KeyError as e:
            raise TypeError(
                f"{self.what}({self.model.__name__}) on endpoint"
                f" {request.endpoint!r} expects the URL argument {e.args[0]!r};"
                f" the route has {sorted(view_args)!r}."
            ) from None

    def check_configuration(
        self, app: Flask, endpoint: str, arguments: t.AbstractSet[str]
    ) -> None:
        """Raise :exc:`Misconfigured` if loading cannot work on the endpoint."""
        name = f"{self.what}({self.model.__name__}) on endpoint {endpoint!r}"
        if EXTENSION_NAME not in app.extensions:
            raise Misconfigured(
                f"{name} needs SQLAlchemyPreconditions(app) (or its init_app),"
                " so that a write that loses a race is answered with 412, not"
                " 500."
            )
        names = self.url_args
        if names is not None:
            missing = [n for n in names if n not in arguments]
            if missing:
                raise Misconfigured(
                    f"{name} expects the URL arguments {missing!r}; its URL rules"
                    f" have {sorted(arguments)!r}. Fix url_arg=."
                )
        elif not set(self.key_names) <= arguments and not (
            len(self.key_names) == 1 and len(arguments) == 1
        ):
            raise Misconfigured(
                f"{name} cannot tell which URL arguments hold the primary key"
                f" {list(self.key_names)!r} among {sorted(arguments)!r}: pass"
                " url_arg=."
            )

    def load(self, view_args: dict[str, t.Any]) -> _Tracked:
        if EXTENSION_NAME not in current_app.extensions:
            raise RuntimeError(
                f"{self.what}({self.model.__name__}) needs"
                " SQLAlchemyPreconditions(app) (or its init_app), so that a"
                " write that loses a race is answered with 412, not 500."
            )
        ident = self._ident(view_args)
        tracked_map = _tracked_map()
        key = (self.mapper.base_mapper, _key(self.mapper, ident))
        tracked = tracked_map.get(key)
        if tracked is None:
            primary_key = ident[0] if len(ident) == 1 else ident
            instance = _session(self.session).get(self.model, primary_key)
            tracked = _Tracked(instance, {})
            tracked_map[key] = tracked
        return tracked


def _value(tracked: _Tracked, attr: str) -> t.Any:
    if tracked.instance is None:
        return None
    value = tracked.values.get(attr, _MISSING)
    if value is _MISSING:
        value = getattr(tracked.instance, attr)
        tracked.values[attr] = value
    return value


class VersionFunction:
    """The version function :func:`versioned` returns, for :meth:`Preconditions.etag`.

    Called with a view's URL arguments, it returns the version of the instance
    they name, or ``None`` when there is none.

    .. versionadded:: 0.1
    """

    def __init__(
        self,
        model: type[t.Any],
        *,
        url_arg: str | t.Sequence[str] | None = None,
        session: SessionSource | None = None,
    ) -> None:
        self._loader = _ModelLoader(model, url_arg, session, "versioned")
        column = self._loader.mapper.version_id_col
        if column is None:
            raise TypeError(
                f"versioned({model.__name__}): the model has no version column."
                ' Add __mapper_args__ = {"version_id_col": version} to it, so'
                " that its UPDATEs are conditional on the version that was"
                " checked."
            )
        #: The name of the version attribute on the model.
        self.attribute = self._loader.mapper.get_property_by_column(column).key
        self.__name__ = f"version_of_{model.__name__}"
        self.__qualname__ = self.__name__

    @property
    def model(self) -> type[t.Any]:
        """The model class."""
        return self._loader.model

    def __call__(self, **view_args: t.Any) -> t.Any:
        return _value(self._loader.load(view_args), self.attribute)

    def check_configuration(
        self, app: Flask, endpoint: str, arguments: t.AbstractSet[str]
    ) -> None:
        """Raise :exc:`~flask_preconditions.validation.Misconfigured` when the
        endpoint cannot use it: no :class:`SQLAlchemyPreconditions` on the
        application, or URL arguments that do not name the primary key."""
        self._loader.check_configuration(app, endpoint, arguments)

    def __repr__(self) -> str:
        return f"versioned({self.model.__name__})"


def versioned(
    model: type[t.Any],
    *,
    url_arg: str | t.Sequence[str] | None = None,
    session: SessionSource | None = None,
) -> VersionFunction:
    """The version function of a model with a ``version_id_col``.

    ::

        class Note(db.Model):
            id: Mapped[int] = mapped_column(primary_key=True)
            text: Mapped[str]
            version: Mapped[str] = mapped_column(String(32), nullable=False)
            __mapper_args__ = {
                "version_id_col": version,
                # A new random version per write: a note deleted and created
                # again never repeats an old ETag (an integer counter would).
                "version_id_generator": lambda version: uuid.uuid4().hex,
            }

        @app.route("/notes/<int:note_id>", methods=["GET", "PUT", "DELETE"])
        @pre.etag(versioned(Note))
        def note(note_id):
            note = db.session.get(Note, note_id)  # the checked instance
            ...
            db.session.commit()

    The instance is loaded with ``session.get()`` by its primary key, taken
    from the URL arguments, once per request. The view's own
    ``session.get()`` returns that same instance from the session's identity
    map, without a query, and SQLAlchemy makes its ``UPDATE`` and ``DELETE``
    conditional on the version the request was checked against: if another
    request changed the row in between, no row matches,
    :exc:`~sqlalchemy.orm.exc.StaleDataError` is raised and
    :class:`SQLAlchemyPreconditions` answers 412. Nothing is lost.

    If the version the flush would check is no longer the version the request
    was checked against (the view refreshed the instance, or loaded it in
    another session), the flush raises :exc:`~sqlalchemy.orm.exc.StaleDataError`
    too. After the write, the new version is the one this request flushed, not
    one re-read after the commit, so the response's ``ETag`` never names a
    concurrent change the client has not seen.

    :param model: a mapped class with ``version_id_col`` in its mapper
        arguments.
    :param url_arg: the URL argument (or, for a composite key, arguments in
        primary key order) holding the primary key. By default the URL
        arguments named like the primary key's attributes, in any order in
        the URL; for a one-column key, also the route's only argument.
    :param session: the session to load with; by default the one given to
        :class:`SQLAlchemyPreconditions`, else Flask-SQLAlchemy's.
    :raise TypeError: the model is not mapped or has no version column.

    .. versionadded:: 0.1
    """
    return VersionFunction(model, url_arg=url_arg, session=session)


def last_modified_of(
    model: type[t.Any],
    column: str = "updated_at",
    *,
    url_arg: str | t.Sequence[str] | None = None,
    session: SessionSource | None = None,
) -> t.Callable[..., t.Any]:
    """A last-modified function for :meth:`Preconditions.last_modified`.

    ::

        @app.route("/notes/<int:note_id>", methods=["GET", "PUT"])
        @pre.etag(versioned(Note))
        @pre.last_modified(last_modified_of(Note))
        def note(note_id): ...

    It reads the ``column`` attribute of the same instance :func:`versioned`
    loads (one query for both). HTTP dates have a resolution of one second, so
    ``If-Unmodified-Since`` cannot tell apart two writes within the same
    second: clients should write with ``If-Match``. Give the column a
    Python-side ``onupdate`` so that the value after a write is known without
    reading it back; a server-side default is read again after the commit.

    :param model: a mapped class.
    :param column: the attribute holding the last modification date.
    :param url_arg: as for :func:`versioned`.
    :param session: as for :func:`versioned`.
    :raise TypeError: the model is not mapped or has no such attribute.

    .. versionadded:: 0.1
    """
    loader = _ModelLoader(model, url_arg, session, "last_modified_of")
    if column not in loader.mapper.attrs:
        raise TypeError(
            f"last_modified_of({model.__name__}): the model has no attribute"
            f" {column!r}; pass column= with the name of its modification date."
        )

    def last_modified(**view_args: t.Any) -> t.Any:
        return _value(loader.load(view_args), column)

    last_modified.check_configuration = loader.check_configuration  # type: ignore[attr-defined]
    last_modified.__name__ = f"last_modified_of_{model.__name__}"
    last_modified.__qualname__ = last_modified.__name__
    return last_modified


# -- keeping the checked version and the written one ----------------------------

_listening: set[Mapper[t.Any]] = set()


def _listen(base_mapper: Mapper[t.Any]) -> None:
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


def _tracked_for(mapper: Mapper[t.Any], target: t.Any) -> _Tracked | None:
    if not has_request_context():
        return None
    tracked_map = g.get(_TRACKED_ATTR)
    if not tracked_map:
        return None
    ident = mapper.primary_key_from_instance(target)
    return t.cast(
        "_Tracked | None", tracked_map.get((mapper.base_mapper, _key(mapper, ident)))
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
    checked = tracked.values.get(attr, _MISSING)
    if checked is _MISSING:
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
        value = state.get(attr, _MISSING)
        if value is _MISSING:
            # Generated by the database and not fetched: read when next asked.
            tracked.values.pop(attr, None)
        else:
            tracked.values[attr] = value


def _after_delete(mapper: Mapper[t.Any], connection: t.Any, target: t.Any) -> None:
    tracked = _tracked_for(mapper, target)
    if tracked is not None:
        tracked.instance = None
        tracked.values.clear()


# -- compare-and-swap for Core tables and bulk statements ------------------------

Executor = Session | sa.Connection | scoped_session[t.Any]
TableLike = sa.Table | type[t.Any]


def _table_and_version(
    table: TableLike, version_column: str | None
) -> tuple[t.Any, sa.ColumnElement[t.Any]]:
    columns: t.Any
    if isinstance(table, sa.Table):
        target: t.Any = table
        columns = table.c
        default_version = None
    else:
        try:
            mapper: Mapper[t.Any] = sa.inspect(table)
        except sa.exc.NoInspectionAvailable:
            raise TypeError(
                f"Expected a Table or a mapped model class, not {table!r}."
            ) from None
        target = table
        columns = mapper.local_table.c
        version_col = mapper.version_id_col
        default_version = None if version_col is None else t.cast(str, version_col.key)
    name = version_column or default_version or "version"
    if name not in columns:
        raise TypeError(f"{table!r} has no version column {name!r}.")
    return target, columns[name]


def _where(
    table: TableLike, key: t.Mapping[str, t.Any]
) -> list[sa.ColumnElement[bool]]:
    columns = (
        table.c if isinstance(table, sa.Table) else sa.inspect(table).local_table.c
    )
    if not key:
        raise TypeError("The key must name at least one column.")
    try:
        return [columns[name] == value for name, value in key.items()]
    except KeyError as e:
        raise TypeError(f"{table!r} has no column {e.args[0]!r}.") from None


def _expected(expected: t.Any) -> t.Any:
    if expected is _MISSING:
        expected = expected_version()
    if expected is None:
        raise RuntimeError(
            "There is no expected version: the request creates the resource"
            " (If-None-Match: *). Insert it instead; a unique key makes a"
            " concurrent creation fail."
        )
    return expected


def _rowcount(result: sa.Result[t.Any]) -> int:
    return t.cast(sa.CursorResult[t.Any], result).rowcount


def conditional_update(
    executor: Executor,
    table: TableLike,
    key: t.Mapping[str, t.Any],
    values: t.Mapping[str, t.Any],
    *,
    version_column: str | None = None,
    expected: t.Any = _MISSING,
    new_version: t.Any = None,
) -> t.Any:
    """Update a row only if it still has the version the request was checked for.

    One ``UPDATE … WHERE <key> AND version = :expected``: the check and the
    write are a single atomic statement, so of two requests checked against the
    same version only one can write. When no row matches, another request
    changed (or deleted) the row after the check, and
    :class:`~flask_preconditions.PreconditionFailed` is raised: 412, nothing
    written.

    ::

        @app.put("/counters/<int:counter_id>")
        @pre.etag(counter_version)
        def put_counter(counter_id):
            conditional_update(
                db.session, counters, {"id": counter_id},
                {"value": request.json["value"]},
            )
            db.session.commit()
            return "", 204

    :param executor: a :class:`~sqlalchemy.orm.Session` or a
        :class:`~sqlalchemy.engine.Connection`; the caller commits.
    :param table: a :class:`~sqlalchemy.schema.Table` or a mapped class.
    :param key: column names and values that identify the row.
    :param values: the columns to write (not the version).
    :param version_column: the version column; by default the model's
        ``version_id_col``, else ``version``.
    :param expected: the version the row must still have; by default
        :func:`~flask_preconditions.expected_version`.
    :param new_version: the version to store; by default ``expected + 1``,
        which needs an integer version. A counter that restarts when the row
        is deleted and inserted again repeats an old ``ETag`` (the ABA rule of
        the concurrency docs): pass a UUID or a sequence value where rows are
        re-created.
    :return: the new version, also given to
        :func:`~flask_preconditions.set_new_version` when called in a request,
        so that the response's ``ETag`` names this write.
    :raise PreconditionFailed: the row no longer has the expected version.

    .. versionadded:: 0.1
    """
    target, version = _table_and_version(table, version_column)
    expected = _expected(expected)
    if new_version is None:
        if type(expected) is not int:
            raise TypeError(
                f"The expected version {expected!r} is not an int: pass"
                " new_version= to say what the new version is."
            )
        new_version = expected + 1
    statement = (
        sa.update(target)
        .where(*_where(table, key), version == expected)
        .values({**values, version.key: new_version})
        .execution_options(synchronize_session=False)
    )
    if not _rowcount(executor.execute(statement)):
        raise PreconditionFailed(
            "The resource was changed or deleted by another request after this"
            " request's preconditions were checked, so nothing was written."
            f" {RETRY_ADVICE}"
        )
    if has_request_context():
        # The response's ETag names this write, not a later one.
        set_new_version(new_version)
    return new_version


def conditional_delete(
    executor: Executor,
    table: TableLike,
    key: t.Mapping[str, t.Any],
    *,
    version_column: str | None = None,
    expected: t.Any = _MISSING,
) -> None:
    """Delete a row only if it still has the version the request was checked for.

    The ``DELETE`` counterpart of :func:`conditional_update`: one ``DELETE …
    WHERE <key> AND version = :expected``, and
    :class:`~flask_preconditions.PreconditionFailed` when no row matches.

    .. versionadded:: 0.1
    """
    target, version = _table_and_version(table, version_column)
    expected = _expected(expected)
    statement = (
        sa.delete(target)
        .where(*_where(table, key), version == expected)
        .execution_options(synchronize_session=False)
    )
    if not _rowcount(executor.execute(statement)):
        raise PreconditionFailed(
            "The resource was changed or deleted by another request after this"
            " request's preconditions were checked, so nothing was deleted."
            f" {RETRY_ADVICE}"
        )
