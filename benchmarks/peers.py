"""The peers serving the same item with their own tools, as their docs show.

flask-smorest with marshmallow schemas and ``@blp.etag`` (its baseline: the
same app without it); Django's ``@condition(etag_func=...)`` in its own WSGI
handler (its baseline: the same view undecorated). Imported only when used.
"""

from __future__ import annotations

import json
import typing as t

from items import document
from items import parse_update
from items import Store

#: Django's URL configuration (``ROOT_URLCONF`` is this module), filled in by
#: :func:`django_app` so that importing this module never needs Django.
urlpatterns: list[t.Any] = []


def smorest_app(store: Store, *, etag: bool = True) -> t.Any:
    """The flask-smorest app, with ``@blp.etag`` or (``etag=False``) without."""
    from flask import Flask
    from flask.views import MethodView
    from flask_smorest import abort
    from flask_smorest import Api
    from flask_smorest import Blueprint
    from marshmallow import fields
    from marshmallow import Schema

    def nested(name: str, **fields_: t.Any) -> t.Any:
        return fields.Nested(Schema.from_dict(fields_, name=name))

    text, number, listed = fields.String, fields.Integer, fields.List
    item_schema = Schema.from_dict(
        {
            **{key: text() for key in ("sku", "name", "description", "created")},
            "id": number(),
            "version": number(),
            "price": nested("Price", amount=text(), currency=text()),
            "category": listed(text()),
            "tags": listed(text()),
            "availability": nested(
                "Stock", in_stock=fields.Boolean(), available=number()
            ),
            "warehouses": listed(
                nested(
                    "Warehouse", warehouse=text(), available=number(), reserved=number()
                )
            ),
            "specifications": fields.Dict(keys=text(), values=text()),
            "rating": fields.Dict(),
            "reviews": listed(
                nested("Review", author=text(), rating=number(), text=text())
            ),
            "related": listed(nested("Related", id=number(), href=text())),
            "seller": fields.Dict(),
            "shipping": fields.Dict(),
            "links": fields.Dict(keys=text(), values=text()),
        },
        name="Item",
    )
    update_schema = Schema.from_dict(
        {
            **{key: text(required=True) for key in ("name", "description", "price")},
            "tags": listed(text(), required=True),
        },
        name="ItemUpdate",
    )
    app = Flask("smorest" if etag else "smorest_bare")
    app.config.update(API_TITLE="Items", API_VERSION="1", OPENAPI_VERSION="3.0.3")
    blp = Blueprint("items", "items", url_prefix="/items")

    def maybe_etag(view: t.Any) -> t.Any:
        return blp.etag(view) if etag else view

    @blp.route("/<int:item_id>")
    class Item(MethodView):
        @maybe_etag
        @blp.response(200, item_schema)
        def get(self, item_id: int) -> t.Any:
            record = store.get(item_id)
            if record is None:
                abort(404)
            return document(record)

        @maybe_etag
        @blp.arguments(update_schema)
        @blp.response(200, item_schema)
        def put(self, update: dict[str, t.Any], item_id: int) -> t.Any:
            record = store.get(item_id)
            if record is None:
                abort(404)
            if etag:
                blp.check_etag(document(record), item_schema)
            return document(store.write(item_id, update))

    Api(app).register_blueprint(blp)
    return app


def django_app(store: Store) -> t.Any:
    """Django's WSGI handler: ``/bare/items/<id>`` plain, ``/items/<id>`` with
    ``@condition(etag_func=...)``. Configures Django once per process."""
    import django
    from django.conf import settings
    from django.core.handlers.wsgi import WSGIHandler
    from django.http import HttpResponse
    from django.http import HttpResponseBadRequest
    from django.http import JsonResponse
    from django.urls import path
    from django.views.decorators.http import condition

    def item(request: t.Any, item_id: int) -> HttpResponse:
        record = store.get(item_id)
        if record is None:
            return HttpResponse(status=404)
        if request.method == "PUT":
            try:
                data = parse_update(json.loads(request.body))
            except ValueError:
                data = None
            if data is None:
                return HttpResponseBadRequest()
            record = store.write(item_id, data)
        return JsonResponse(document(record))

    def etag(request: t.Any, item_id: int) -> str | None:
        version = store.version(item_id)
        return None if version is None else f'"v{version}"'

    if not settings.configured:
        settings.configure(
            DEBUG=False,
            SECRET_KEY="benchmark-only",
            ALLOWED_HOSTS=["localhost"],
            ROOT_URLCONF=__name__,
            MIDDLEWARE=[],
            INSTALLED_APPS=[],
            DATABASES={},
            USE_TZ=True,
        )
        django.setup()
    urlpatterns[:] = [
        path("bare/items/<int:item_id>", item),
        path("items/<int:item_id>", condition(etag_func=etag)(item)),
    ]
    return WSGIHandler()
