"""What one request recorded: what it was checked against, the version its
write produced, and the write lock it holds; and the functions that record
and read them.

The record lives in the request's WSGI environ under :data:`RECORD_KEY`
rather than on ``g``: reading it is a dictionary lookup instead of a context
variable read and a proxy, and the hot paths read it several times. The
internal GET runs on a copy of the environ without this key, so it starts
with a record of its own, as it starts with a ``g`` of its own.
"""

from __future__ import annotations

import datetime as dt
import typing as t

from flask import request
from flask.wrappers import Request

from .conditions import Validators
from .locks import HeldLock
from .validators import to_last_modified

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
    record: Record | None = environ.get(RECORD_KEY)
    return record


def record_checked(req: Request, current: Validators | None, version: t.Any) -> None:
    """Remember what the request's preconditions were checked against."""
    # Kept raw: most views never ask for it.
    record_of(req.environ).checked = (current, version)


def checked_record(
    req: Request | None = None,
) -> tuple[Validators | None, t.Any] | None:
    """What :func:`record_checked` kept for the request, or ``None``."""
    record = existing_record((request if req is None else req).environ)
    return None if record is None else record.checked


def record_new_version(version: t.Any, last_modified: t.Any = None) -> None:
    """Remember the version (and date) the request's write produced."""
    record = record_of(request.environ)
    record.new_version, record.new_last_modified = version, last_modified


def new_version_record(
    req: Request | None = None,
) -> tuple[t.Any, dt.datetime | None]:
    """The version and date :func:`record_new_version` kept; :data:`UNSET`
    and ``None`` when the view declared nothing."""
    record = existing_record((request if req is None else req).environ)
    if record is None or record.new_version is UNSET:
        return UNSET, None
    last_modified = record.new_last_modified
    return record.new_version, None if last_modified is None else to_last_modified(
        last_modified
    )
