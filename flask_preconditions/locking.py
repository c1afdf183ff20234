"""The per-resource write lock of a checked write, held for its whole request.

A write the extension checks takes the lock of its resource before its
preconditions are evaluated and keeps it until the request is torn down,
after the view, its commit and the new validators. Two writes that carry the
same valid entity-tag therefore run one after the other, and the second is
evaluated against what the first wrote: check and write are atomic whatever
the view does. The backends are in :mod:`flask_preconditions.locks`.
"""

from __future__ import annotations

import logging

from flask import Flask
from flask import g
from flask.wrappers import Request

from .conditions import IGNORING_METHODS
from .conditions import SAFE_METHODS
from .identity import resource_identity
from .locks import HeldLock
from .locks import LockTimeout
from .problems import ResourceBusy
from .responses import has_preconditions
from .state import Settings

_HELD_ATTR = "_preconditions_lock"
logger = logging.getLogger("flask_preconditions")


def needs_lock(settings: Settings, req: Request) -> bool:
    """Whether a request is a write the extension checks, with locking on.

    A write that sends no precondition at all needs none: it is refused (428,
    or 404 for a resource that is not there) whatever state it meets, and a
    method that need not send one is not checked.
    """
    method = req.method
    return (
        settings.lock is not None
        and method not in SAFE_METHODS
        and method not in IGNORING_METHODS
        and has_preconditions(req.environ)
    )


def lock_key(settings: Settings, app: Flask, req: Request) -> str:
    """The key of the request's resource, in the application's namespace.

    Its URL rule and arguments, so that every view of one URL (a PUT view and
    a DELETE view) takes the same lock; or the key a view declares with
    :meth:`~flask_preconditions.Preconditions.resource_key`.
    """
    return resource_identity(app, req, settings.lock_namespace)


def lock_write(settings: Settings, app: Flask, req: Request) -> None:
    """Take the write lock of the request's resource, unless it holds one.

    Released by :func:`release_write` when the request is torn down.

    :raise ResourceBusy: the lock was not free within
        ``PRECONDITIONS_LOCK_TIMEOUT``; nothing was written.
    """
    backend = settings.lock
    if backend is None or g.get(_HELD_ATTR) is not None:
        return
    key = lock_key(settings, app, req)
    try:
        held = backend.acquire(key, settings.lock_timeout)
    except LockTimeout:
        raise ResourceBusy(retry_after=settings.lock_retry_after) from None
    setattr(g, _HELD_ATTR, held)


def release_write(error: BaseException | None = None) -> None:
    """Release the request's write lock, if it took one (a teardown handler)."""
    held: HeldLock | None = g.pop(_HELD_ATTR, None)
    if held is None:
        return
    try:
        held.release()
    except Exception:
        # The write is done; a lock service that fails now must not turn it
        # into an error. Redis leases and PostgreSQL sessions expire on their own.
        logger.exception("Releasing the write lock %r failed.", held)


def holds_lock() -> bool:
    """Whether the current request holds a write lock."""
    return g.get(_HELD_ATTR) is not None
