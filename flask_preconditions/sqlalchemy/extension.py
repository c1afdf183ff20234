"""The integration on an application: :class:`SQLAlchemyPreconditions`, and
the answers its error handlers give to the write conflicts and failures that the
database reports (412, 409, 503).
"""

from __future__ import annotations

import sqlite3
import typing as t

import sqlalchemy as sa
from flask import current_app
from flask import Flask
from flask import request
from sqlalchemy.orm.exc import StaleDataError
from werkzeug import exceptions
from werkzeug.exceptions import HTTPException

from ..compat import handle_error
from ..problems import PreconditionFailed
from ..problems import ProblemDetailsMixin
from ..problems import RETRY_ADVICE
from ..problems import ServiceUnavailableProblem
from ..records import checked_record
from ..responses import has_preconditions
from .state import EXTENSION_NAME
from .state import find_session
from .state import SessionSource
from .state import State

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
        app.extensions[EXTENSION_NAME] = State(self.session, self.retry_after)
        app.register_error_handler(StaleDataError, _stale_data)
        app.register_error_handler(sa.exc.OperationalError, _operational_error)
        app.register_error_handler(sa.exc.IntegrityError, _integrity_error)
        app.register_error_handler(sa.exc.DBAPIError, _database_error)


def _rollback() -> None:
    try:
        session = find_session(None)
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
    state: State = current_app.extensions[EXTENSION_NAME]
    return _http_error(DatabaseBusy(retry_after=state.retry_after))


def _database_error(error: sa.exc.DBAPIError) -> t.Any:
    if not error.connection_invalidated:
        raise error
    return _lost_connection(error)


def _lost_connection(error: sa.exc.DBAPIError) -> t.Any:
    # The pool has already dropped the connection; the next request gets a
    # fresh one (with pool_pre_ping, a tested one).
    _rollback()
    state: State = current_app.extensions[EXTENSION_NAME]
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
