"""The per-resource write lock of a checked write, held for its whole request.

A write the extension checks takes the lock of its resource before its
preconditions are evaluated and keeps it until the request is torn down,
after the view, its commit and the new validators (:func:`release_after`).
Two writes that carry the same valid entity-tag therefore run one after the
other, and the second is evaluated against what the first wrote: check and
write are atomic whatever the view does. The backends are in
:mod:`flask_preconditions.locks`.
"""

from __future__ import annotations

import logging
import typing as t
import weakref

from flask import Flask
from flask import request
from flask import request_tearing_down
from flask.wrappers import Request

from .conditions import IGNORING_METHODS
from .conditions import SAFE_METHODS
from .identity import resource_identity
from .locks import LockTimeout
from .problems import ResourceBusy
from .records import existing_record
from .records import Record
from .records import RECORD_KEY
from .records import record_of
from .responses import has_preconditions
from .state import Settings

#: The WSGI environ key that says :func:`release_after` will release the
#: request's lock.
RELEASES_KEY = "flask_preconditions.releases"

if t.TYPE_CHECKING:
    from _typeshed.wsgi import StartResponse
    from _typeshed.wsgi import WSGIApplication
    from _typeshed.wsgi import WSGIEnvironment

logger = logging.getLogger("flask_preconditions")

# The apps whose requests _release_torn_down is connected to.
_releasing_at_teardown: weakref.WeakSet[Flask] = weakref.WeakSet()


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


def lock_write(settings: Settings, app: Flask, req: Request) -> None:
    """Take the write lock of the request's resource, unless it holds one.

    The resource is its URL rule and arguments, so that every view of one URL
    (a PUT view and a DELETE view) takes the same lock, or the key a view
    declares with :meth:`~flask_preconditions.Preconditions.resource_key`;
    in the application's namespace
    (:func:`~flask_preconditions.identity.resource_identity`). Released by
    :func:`release_after` once the request is torn down; for a request
    dispatched without ``app.wsgi_app``, by :func:`_release_torn_down` after
    its ``teardown_request`` functions, or when its request object is freed.

    :raise ResourceBusy: the lock was not free within
        ``PRECONDITIONS_LOCK_TIMEOUT``; nothing was written.
    """
    backend = settings.lock
    if backend is None:
        return
    environ = req.environ
    record = record_of(environ)
    if record.held is not None:
        return
    key = resource_identity(app, req, settings.lock_namespace)
    try:
        record.held = backend.acquire(key, settings.lock_timeout)
    except LockTimeout:
        raise ResourceBusy(retry_after=settings.lock_retry_after) from None
    if RELEASES_KEY not in environ:
        # Dispatched without app.wsgi_app (test_request_context() and
        # full_dispatch_request(), or middleware that replaced it): released
        # once the request is torn down, after the app's teardown_request
        # functions; else when the request object is freed.
        if app not in _releasing_at_teardown:
            request_tearing_down.connect(_release_torn_down, sender=app)
            _releasing_at_teardown.add(app)
        weakref.finalize(req, _release, record)


def release_after(wsgi_app: WSGIApplication) -> WSGIApplication:
    """Wrap an application's WSGI callable so that a request's write lock is
    released once the request is done.

    ``Flask.wsgi_app`` returns after the request is torn down, its
    ``teardown_request`` and ``teardown_appcontext`` handlers included (an
    app that commits there is covered), and also when an error propagates.
    A WSGI middleware rather than a teardown handler: requests that take no
    lock, reads above all, pay a function call instead of Flask's call of a
    handler.
    """

    def release_locks(
        environ: WSGIEnvironment, start_response: StartResponse
    ) -> t.Iterable[bytes]:
        environ[RELEASES_KEY] = True
        try:
            return wsgi_app(environ, start_response)
        finally:
            # Popped, so that an environ used again starts with no record.
            record = environ.pop(RECORD_KEY, None)
            if record is not None and record.held is not None:
                _release(record)

    return release_locks


def _release_torn_down(sender: Flask, **extra: t.Any) -> None:
    """Release the lock of a request dispatched without ``app.wsgi_app``,
    as Flask's ``request_tearing_down`` signal says it is torn down.

    Connected to an application at its first such write, so that apps served
    only through ``wsgi_app`` never pay for the signal. From then on every
    request of that app calls it; those served through ``wsgi_app`` are left
    to :func:`release_after`, which also covers ``teardown_appcontext``.
    """
    environ = request.environ
    if RELEASES_KEY in environ:
        return
    record = existing_record(environ)
    if record is not None and record.held is not None:
        _release(record)


def _release(record: Record) -> None:
    # Once: from the WSGI wrapper, or from the request object's finalizer.
    held, record.held = record.held, None
    try:
        if held is not None:
            held.release()
    except Exception:
        # The write is done; a lock service that fails now must not turn it
        # into an error. Redis leases and PostgreSQL sessions expire on their own.
        logger.exception("Releasing the write lock %r failed.", held)


def holds_lock(req: Request) -> bool:
    """Whether a request holds a write lock."""
    record = existing_record(req.environ)
    return record is not None and record.held is not None
