"""What one request recorded: what it was checked against, the version its
write produced, and the write lock it holds.

The record lives in the request's WSGI environ under :data:`RECORD_KEY`
rather than on ``g``: reading it is a dictionary lookup instead of a context
variable read and a proxy, and the hot paths read it several times. The
internal GET runs on a copy of the environ without this key, so it starts
with a record of its own, as it starts with a ``g`` of its own.
"""

from __future__ import annotations

import datetime as dt
import typing as t

from .conditions import Validators
from .locks import HeldLock

if t.TYPE_CHECKING:
    from _typeshed.wsgi import WSGIEnvironment

#: The WSGI environ key of a request's :class:`Record`.
RECORD_KEY = "flask_preconditions.record"
#: What :attr:`Record.new_version` is when the view declared nothing.
UNSET: t.Any = object()


class Record:
    """What the extension remembers about one request.

    The class attributes are the defaults: a new record costs no
    initialisation, and most requests set one field at most.
    """

    #: The validators the request's preconditions were checked against, and
    #: the version they came from, once it was checked.
    checked: tuple[Validators | None, t.Any] | None = None
    #: The version the request's write produced (:data:`UNSET`: not said).
    new_version: t.Any = UNSET
    #: The modification date that write declared.
    new_last_modified: dt.datetime | dt.date | None = None
    #: The write lock the request holds, if any.
    held: HeldLock | None = None


def record_of(environ: WSGIEnvironment) -> Record:
    """The request's record, made at the first write to it."""
    record: Record | None = environ.get(RECORD_KEY)
    if record is None:
        record = environ[RECORD_KEY] = Record()
    return record


def existing_record(environ: WSGIEnvironment) -> Record | None:
    """The request's record, or ``None`` when nothing was recorded."""
    return t.cast("Record | None", environ.get(RECORD_KEY))
