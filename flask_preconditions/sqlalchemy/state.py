"""The integration's per-application state, and the session it works with.

:class:`~flask_preconditions.sqlalchemy.SQLAlchemyPreconditions` stores a
:class:`State` in ``app.extensions`` under :data:`EXTENSION_NAME`;
:func:`find_session` finds the session its error handlers roll back and its
version functions load with.
"""

from __future__ import annotations

import typing as t

from flask import current_app
from sqlalchemy.orm import Session

#: The name of this integration in ``app.extensions``.
EXTENSION_NAME = "preconditions.sqlalchemy"

#: A session, or something that returns one when called (a ``scoped_session``
#: such as Flask-SQLAlchemy's ``db.session``, or a function).
SessionSource = Session | t.Callable[[], Session]


class State:
    """The settings of the integration on one application."""

    def __init__(self, session: SessionSource | None, retry_after: int) -> None:
        self.session = session
        self.retry_after = retry_after


def find_session(source: SessionSource | None) -> Session:
    """The session of ``source``; by default the application's.

    With ``source=None``, the session given to
    :class:`~flask_preconditions.sqlalchemy.SQLAlchemyPreconditions`, else
    Flask-SQLAlchemy's ``db.session``.
    """
    if source is None:
        state: State | None = current_app.extensions.get(EXTENSION_NAME)
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
