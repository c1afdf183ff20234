"""SQLAlchemy integration: entity-tags from version columns, atomic writes.

Checking ``If-Match`` and then writing is not enough to prevent lost updates:
two requests carrying the same valid entity-tag can both pass the check before
either writes. The write itself must be conditional on the version that was
checked, so that the database refuses the second one. This package makes that
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

from .conditional_writes import conditional_delete
from .conditional_writes import conditional_update
from .conditional_writes import Executor as Executor
from .conditional_writes import TableLike as TableLike
from .extension import DatabaseBusy
from .extension import DatabaseUnavailable
from .extension import SQLAlchemyPreconditions
from .extension import WriteConflict
from .loading import last_modified_of
from .loading import versioned
from .loading import VersionFunction
from .state import EXTENSION_NAME as EXTENSION_NAME
from .state import SessionSource as SessionSource

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
