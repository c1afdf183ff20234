"""The Flask applications of the benchmark, one per way of answering.

Each factory takes the :class:`~items.Store` to serve (and, for ours, keyword
arguments for :class:`~flask_preconditions.Preconditions`) and returns an app
whose only route is ``/items/<int:item_id>``, so that the apps differ only in
how they handle conditional requests.
"""

from __future__ import annotations

import hashlib
import os
import tempfile
import typing as t

from flask import abort
from flask import Flask
from flask import jsonify
from flask import request
from flask import Response
from items import document
from items import parse_update
from items import Store

from flask_preconditions import Preconditions

try:
    import fcntl
except ImportError:  # Windows: no floor_locked
    fcntl = None  # type: ignore[assignment]

ROUTE = "/items/<int:item_id>"
View = t.Callable[..., t.Any]


def item_view(store: Store) -> View:
    """The plain view every Flask app below starts from."""

    def item(item_id: int) -> t.Any:
        record = store.get(item_id)
        if record is None:
            abort(404)
        if request.method == "PUT":
            data = parse_update(request.get_json(silent=True))
            if data is None:
                abort(400)
            record = store.write(item_id, data)
        return document(record)

    return item


def _app(name: str, view: View, methods: tuple[str, ...] = ("GET", "PUT")) -> Flask:
    app = Flask(name)
    app.add_url_rule(ROUTE, view_func=view, methods=list(methods))
    return app


def bare(store: Store) -> Flask:
    """Plain Flask, no extension: the baselines."""
    return _app("bare", item_view(store))


def version(store: Store, etag_key: str | None = None, **options: t.Any) -> Flask:
    """``@pre.etag(version_function)``, the recommended use; with a key, its
    tags are keyed MACs bound to the resource.

    The key is ``PRECONDITIONS_ETAG_KEY`` rather than ``SECRET_KEY``, which
    would also make Flask sign a session cookie on every request: that cost
    is Flask's, and would hide the tags' own.
    """
    pre = Preconditions(**options)
    app = _app("version", pre.etag(store.version)(item_view(store)))
    app.config["PRECONDITIONS_ETAG_KEY"] = etag_key
    pre.init_app(app)
    return app


def body_hash(store: Store, etag_key: str | None = None, **options: t.Any) -> Flask:
    """Bare ``@pre.etag``: the entity-tag is a hash of the GET body."""
    pre = Preconditions(**options)
    app = _app("hash", pre.etag(item_view(store)))
    app.config["PRECONDITIONS_ETAG_KEY"] = etag_key
    pre.init_app(app)
    return app


def app_wide(store: Store, **options: t.Any) -> Flask:
    """``Preconditions(app)`` and an undecorated view: a checked write learns
    the current entity-tag by running the GET view."""
    app = _app("app_wide", item_view(store))
    Preconditions(app, **options)
    return app


def exempt(store: Store, **options: t.Any) -> Flask:
    """``Preconditions(app)`` and an exempt view: what a request the extension
    does not check pays for it being there."""
    pre = Preconditions(**options)
    app = _app("exempt", pre.exempt(item_view(store)))
    pre.init_app(app)
    return app


def floor(store: Store, lock_file: int | None = None) -> Flask:
    """A version check written by hand in the view, before building anything:
    the least any implementation can do.

    :param lock_file: the descriptor of an open file to hold an exclusive
        ``flock`` on around a write, from before its check to its new tag:
        the least an OS lock across processes costs (without the extension's
        check that a cleaner did not remove the file).
    """
    view = item_view(store)

    def check(item_id: int) -> t.Any:
        current = store.version(item_id)
        if current is None:
            abort(404)
        etag = f"v{current}"
        if request.method == "GET" and request.if_none_match.contains_weak(etag):
            response = Response(status=304)
        elif request.method == "PUT" and not request.if_match:
            abort(428)
        elif request.method == "PUT" and not request.if_match.contains(etag):
            abort(412)
        else:
            response = jsonify(view(item_id))
            etag = f"v{store.version(item_id)}"
        response.set_etag(etag)
        return response

    def locked(item_id: int) -> t.Any:
        if request.method == "GET":
            return check(item_id)
        assert lock_file is not None
        fcntl.flock(lock_file, fcntl.LOCK_EX)
        try:
            return check(item_id)
        finally:
            fcntl.flock(lock_file, fcntl.LOCK_UN)

    return _app("floor", check if lock_file is None else locked)


def floor_locked(store: Store) -> Flask:
    """:func:`floor` with its writes under an exclusive ``flock``, on an
    unnamed file that goes with the process."""
    lock_file, path = tempfile.mkstemp(prefix="bench-floor-")
    os.unlink(path)
    return floor(store, lock_file)


def floor_read(store: Store) -> Flask:
    """The least a version 200 can cost: the version's ``ETag``, and the
    ``Cache-Control: no-cache`` the extension gives the reads of a writable
    resource, added by hand to the view's response of an unconditional GET."""
    view = item_view(store)

    def item(item_id: int) -> t.Any:
        version = store.version(item_id)
        response = jsonify(view(item_id))
        response.set_etag(f"v{version}")
        response.headers["Cache-Control"] = "no-cache"
        return response

    return _app("floor_read", item, methods=("GET",))


def floor_hash(store: Store) -> Flask:
    """The least a body-hash 200 can cost: the view's body hashed, and its
    ``ETag`` and ``Cache-Control: no-cache`` added by hand."""
    view = item_view(store)

    def item(item_id: int) -> t.Any:
        response = jsonify(view(item_id))
        response.set_etag(hashlib.sha256(response.get_data()).hexdigest()[:32])
        response.headers["Cache-Control"] = "no-cache"
        return response

    return _app("floor_hash", item, methods=("GET",))


def werkzeug(store: Store) -> Flask:
    """Werkzeug's own tools as its documentation shows them:
    ``response.add_etag()`` then ``response.make_conditional(request)``."""
    view = item_view(store)

    def item(item_id: int) -> t.Any:
        response = jsonify(view(item_id))
        response.add_etag()
        return response.make_conditional(request)

    return _app("werkzeug", item, methods=("GET",))
