"""The resource every benchmark app serves: an item of a shop catalogue.

``GET /items/<id>`` builds a JSON document of about 2 KB from a stored record
(the work a real view does: read a record, shape a representation); ``PUT
/items/<id>`` takes a JSON body, applies it to the record and bumps its integer
version (a trivial in-memory write). Every app in the benchmark, ours and the
peers', serves this same resource, so their costs compare.
"""

from __future__ import annotations

import copy
import json
import typing as t

#: The fields a PUT may change, and the body every benchmark PUT sends.
UPDATE: dict[str, t.Any] = {
    "name": "Stainless steel espresso kettle, 1.2 l",
    "description": (
        "A gooseneck kettle for pour-over coffee: brushed stainless steel, a"
        " thermometer in the lid, a flow restrictor for a steady 4 ml/s pour"
        " and a base that works on gas, electric and induction hobs."
    ),
    "price": "54.90",
    "tags": ["coffee", "kettle", "pour-over", "stainless-steel", "induction"],
}
UPDATE_BODY = json.dumps(UPDATE).encode()
EDITABLE = frozenset(UPDATE)


def _record(item_id: int) -> dict[str, t.Any]:
    return {
        "id": item_id,
        "version": 1,
        "sku": f"KET-{item_id:06d}",
        "name": "Stainless steel kettle, 1 l",
        "description": (
            "A gooseneck kettle for pour-over coffee: brushed stainless steel,"
            " a thermometer in the lid and a base that works on gas, electric"
            " and induction hobs. Dishwasher safe apart from the thermometer."
        ),
        "price": "49.90",
        "currency": "EUR",
        "category": {"id": 12, "path": ["Kitchen", "Coffee & tea", "Kettles"]},
        "tags": ["coffee", "kettle", "pour-over", "stainless-steel"],
        "dimensions": {"width_mm": 290, "depth_mm": 150, "height_mm": 180},
        "weight_g": 860,
        "stock": [
            {"warehouse": "Lyon", "available": 41, "reserved": 3},
            {"warehouse": "Leipzig", "available": 17, "reserved": 0},
            {"warehouse": "Lisbon", "available": 5, "reserved": 1},
        ],
        "related": [item_id + 1, item_id + 2, item_id + 7, item_id + 11],
        "specifications": [
            {"name": "Capacity", "value": "1.0 l"},
            {"name": "Material", "value": "18/8 stainless steel"},
            {"name": "Spout", "value": "Gooseneck, 8 mm"},
            {"name": "Thermometer", "value": "40-100 °C, in the lid"},
            {"name": "Hobs", "value": "Gas, electric, ceramic, induction"},
        ],
        "shipping": {
            "methods": ["standard", "express", "pickup"],
            "dispatch_days": 2,
            "free_above": "60.00",
        },
        "seller": {
            "id": 3141,
            "name": "Brew & Co. Kitchenware",
            "country": "FR",
            "rating": 4.8,
        },
        "created": "2025-03-14T09:26:53Z",
        "updated": "2026-01-02T17:45:00Z",
        "reviews": [
            {
                "author": "m.keller",
                "rating": 5,
                "text": "Pours slowly and precisely; the thermometer is handy.",
            },
            {
                "author": "ana.p",
                "rating": 4,
                "text": "Good kettle, the handle gets warm after a few minutes.",
            },
            {
                "author": "j.osei",
                "rating": 5,
                "text": "Third year of daily use and no limescale on the steel.",
            },
            {
                "author": "l.moreau",
                "rating": 3,
                "text": "Works well on induction, but the lid rattles when the"
                " water boils and the thermometer fogs up.",
            },
            {
                "author": "t.nakamura",
                "rating": 5,
                "text": "The flow restrictor makes a real difference for"
                " pour-over; worth the price.",
            },
        ],
    }


class Store:
    """Records by id, in memory. Each benchmark scenario uses its own id, so a
    scenario's writes never change what another scenario reads."""

    def __init__(self, ids: t.Iterable[int] = range(1, 65)) -> None:
        self.records = {item_id: _record(item_id) for item_id in ids}

    def get(self, item_id: int) -> dict[str, t.Any] | None:
        return self.records.get(item_id)

    def version(self, item_id: int) -> int | None:
        record = self.records.get(item_id)
        return None if record is None else t.cast(int, record["version"])

    def write(self, item_id: int, data: dict[str, t.Any]) -> dict[str, t.Any]:
        record = self.records[item_id]
        record.update(data)
        record["version"] += 1
        return record

    def set_version(self, item_id: int, version: int) -> None:
        """Rewind a record between rounds (never inside a timed loop)."""
        self.records[item_id]["version"] = version

    def snapshot(self) -> dict[int, dict[str, t.Any]]:
        return copy.deepcopy(self.records)


def document(record: dict[str, t.Any]) -> dict[str, t.Any]:
    """The representation of a record: about 2 KB once serialised to JSON."""
    stock = record["stock"]
    available = sum(s["available"] - s["reserved"] for s in stock)
    ratings = [r["rating"] for r in record["reviews"]]
    item_id = record["id"]
    return {
        "id": item_id,
        "version": record["version"],
        "sku": record["sku"],
        "name": record["name"],
        "description": record["description"],
        "price": {"amount": record["price"], "currency": record["currency"]},
        "category": {
            "id": record["category"]["id"],
            "path": list(record["category"]["path"]),
            "href": f"/categories/{record['category']['id']}",
        },
        "tags": list(record["tags"]),
        "dimensions": dict(record["dimensions"]),
        "weight_g": record["weight_g"],
        "availability": {
            "in_stock": available > 0,
            "available": available,
            "warehouses": [dict(s) for s in stock],
        },
        "rating": {
            "average": round(sum(ratings) / len(ratings), 2),
            "count": len(ratings),
        },
        "specifications": {s["name"]: s["value"] for s in record["specifications"]},
        "seller": dict(record["seller"]),
        "shipping": {
            **record["shipping"],
            "methods": list(record["shipping"]["methods"]),
        },
        "reviews": [dict(r) for r in record["reviews"]],
        "related": [{"id": r, "href": f"/items/{r}"} for r in record["related"]],
        "created": record["created"],
        "updated": record["updated"],
        "links": {
            "self": f"/items/{item_id}",
            "collection": "/items",
            "reviews": f"/items/{item_id}/reviews",
        },
    }


def parse_update(data: t.Any) -> dict[str, t.Any] | None:
    """The editable fields of a PUT body, or ``None`` when it is not valid."""
    if not isinstance(data, dict) or set(data) != EDITABLE:
        return None
    return {key: data[key] for key in EDITABLE}
