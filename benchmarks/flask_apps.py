"""The Flask applications of the benchmark, one per way of serving the item.

Each factory takes the :class:`~items.Store` to serve and returns a new app
whose only route is ``/items/<int:item_id>`` (GET and PUT), so that the apps
differ only in how they handle conditional requests.
"""

from __future__ import annotations

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

ROUTE = "/items/<int:item_id>"
METHODS = ["GET", "PUT"]


def _write(store: Store, item_id: int) -> dict[str, t.Any]:
    data = parse_update(request.get_json(silent=True))
    if data is None:
        abort(400)
    return store.write(item_id, data)


def bare_app(store: Store) -> Flask:
    """Plain Flask, no extension: the baseline (``bare_200``, ``write_bare``)."""
    app = Flask("bare")

    @app.route(ROUTE, methods=METHODS)
    def item(item_id: int) -> t.Any:
        record = store.get(item_id)
        if record is None:
            abort(404)
        if request.method == "PUT":
            record = _write(store, item_id)
        return document(record)

    return app


def floor_app(store: Store) -> Flask:
    """A hand-written version check, the least any implementation can do:
    compare the version with the request's header before building anything."""
    app = Flask("floor")

    @app.route(ROUTE, methods=METHODS)
    def item(item_id: int) -> t.Any:
        version = store.version(item_id)
        if version is None:
            abort(404)
        etag = f"v{version}"
        if request.method == "GET":
            if request.if_none_match.contains_weak(etag):
                not_modified = Response(status=304)
                not_modified.set_etag(etag)
                return not_modified
            response = jsonify(document(store.records[item_id]))
            response.set_etag(etag)
            return response
        if not request.if_match:
            abort(428)
        if not request.if_match.contains(etag):
            abort(412)
        record = _write(store, item_id)
        response = jsonify(document(record))
        response.set_etag(f"v{record['version']}")
        return response

    return app


def version_app(store: Store, **config: t.Any) -> Flask:
    """``@pre.etag(version_function)``, the extension's recommended use."""
    app = Flask("version")
    app.config.update(config)
    pre = Preconditions(app)

    @app.route(ROUTE, methods=METHODS)
    @pre.etag(lambda item_id: store.version(item_id))
    def item(item_id: int) -> t.Any:
        record = store.get(item_id)
        if record is None:
            abort(404)
        if request.method == "PUT":
            record = _write(store, item_id)
        return document(record)

    return app


def hash_app(store: Store) -> Flask:
    """Bare ``@pre.etag``: the entity-tag is a hash of the GET body."""
    app = Flask("hash")
    pre = Preconditions(app)

    @app.route(ROUTE, methods=METHODS)
    @pre.etag
    def item(item_id: int) -> t.Any:
        record = store.get(item_id)
        if record is None:
            abort(404)
        if request.method == "PUT":
            record = _write(store, item_id)
        return document(record)

    return app


def appwide_app(store: Store) -> Flask:
    """``Preconditions(app)`` and nothing else: an undecorated view, checked by
    the app-wide hooks (the current ETag of a PUT comes from running GET)."""
    app = bare_app(store)
    app.name = "appwide"
    Preconditions(app)
    return app


def werkzeug_app(store: Store) -> Flask:
    """Werkzeug's own tools, as its documentation shows them:
    ``response.add_etag()`` then ``response.make_conditional(request)``."""
    app = Flask("werkzeug")

    @app.route(ROUTE, methods=["GET"])
    def item(item_id: int) -> t.Any:
        record = store.get(item_id)
        if record is None:
            abort(404)
        response = jsonify(document(record))
        response.add_etag()
        return response.make_conditional(request)

    return app
