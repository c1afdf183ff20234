"""flask-smorest serving the item, as its documentation shows: a
``MethodView`` on a ``Blueprint``, marshmallow schemas, ``@blp.etag`` with
``blp.check_etag`` in the write. The same app without ``@blp.etag`` is the
baseline flask-smorest's own costs are compared with.
"""

from __future__ import annotations

import typing as t

from flask import Flask
from flask.views import MethodView
from flask_smorest import abort
from flask_smorest import Api
from flask_smorest import Blueprint
from items import document
from items import Store
from marshmallow import fields
from marshmallow import Schema


class PriceSchema(Schema):
    amount = fields.String()
    currency = fields.String()


class CategorySchema(Schema):
    id = fields.Integer()
    path = fields.List(fields.String())
    href = fields.String()


class WarehouseSchema(Schema):
    warehouse = fields.String()
    available = fields.Integer()
    reserved = fields.Integer()


class AvailabilitySchema(Schema):
    in_stock = fields.Boolean()
    available = fields.Integer()
    warehouses = fields.List(fields.Nested(WarehouseSchema))


class ReviewSchema(Schema):
    author = fields.String()
    rating = fields.Integer()
    text = fields.String()


class RelatedSchema(Schema):
    id = fields.Integer()
    href = fields.String()


class ItemSchema(Schema):
    id = fields.Integer()
    version = fields.Integer()
    sku = fields.String()
    name = fields.String()
    description = fields.String()
    price = fields.Nested(PriceSchema)
    category = fields.Nested(CategorySchema)
    tags = fields.List(fields.String())
    dimensions = fields.Dict(keys=fields.String(), values=fields.Integer())
    weight_g = fields.Integer()
    availability = fields.Nested(AvailabilitySchema)
    rating = fields.Dict()
    specifications = fields.Dict(keys=fields.String(), values=fields.String())
    seller = fields.Dict()
    shipping = fields.Dict()
    reviews = fields.List(fields.Nested(ReviewSchema))
    related = fields.List(fields.Nested(RelatedSchema))
    created = fields.String()
    updated = fields.String()
    links = fields.Dict(keys=fields.String(), values=fields.String())


class ItemUpdateSchema(Schema):
    name = fields.String(required=True)
    description = fields.String(required=True)
    price = fields.String(required=True)
    tags = fields.List(fields.String(), required=True)


def smorest_app(store: Store, *, etag: bool) -> Flask:
    """The smorest app, with ``@blp.etag`` (``etag=True``) or without."""
    app = Flask("smorest_etag" if etag else "smorest_bare")
    app.config.update(API_TITLE="Items", API_VERSION="1", OPENAPI_VERSION="3.0.3")
    api = Api(app)
    blp = Blueprint("items", "items", url_prefix="/items")

    def maybe_etag(view: t.Any) -> t.Any:
        return blp.etag(view) if etag else view

    @blp.route("/<int:item_id>")
    class Item(MethodView):
        @maybe_etag
        @blp.response(200, ItemSchema)
        def get(self, item_id: int) -> t.Any:
            record = store.get(item_id)
            if record is None:
                abort(404)
            return document(record)

        @maybe_etag
        @blp.arguments(ItemUpdateSchema)
        @blp.response(200, ItemSchema)
        def put(self, update: dict[str, t.Any], item_id: int) -> t.Any:
            record = store.get(item_id)
            if record is None:
                abort(404)
            if etag:
                blp.check_etag(document(record), ItemSchema)
            return document(store.write(item_id, update))

    api.register_blueprint(blp)
    return app
