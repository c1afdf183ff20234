"""The resource every benchmark app serves: an item of a shop catalogue.

``GET /items/<id>`` shapes a stored record into a JSON document of about 2 KB
(the work a real view does: read a record, build a representation); ``PUT
/items/<id>`` applies a JSON body to the record and bumps its integer version,
in memory. Every app, ours and the peers', serves this same resource, so their
costs compare.
"""

from __future__ import annotations

import json
import typing as t

#: The fields a PUT may change, and the body every benchmark PUT sends.
UPDATE: dict[str, t.Any] = {
    "name": "Stainless steel espresso kettle, 1.2 l",
    "description": "A gooseneck kettle for pour-over coffee: brushed steel, a"
    " thermometer in the lid and a flow restrictor for a steady 4 ml/s pour.",
    "price": "54.90",
    "tags": ["coffee", "kettle", "pour-over", "stainless-steel", "induction"],
}
UPDATE_BODY = json.dumps(UPDATE).encode()

_REVIEWS = [
    ("m.keller", 5, "Pours slowly and precisely; the thermometer is handy."),
    ("ana.p", 4, "Good kettle, the handle gets warm after a few minutes."),
    ("j.osei", 5, "Third year of daily use and no limescale on the steel."),
    ("l.moreau", 3, "Works on induction, but the lid rattles when it boils."),
    ("t.nakamura", 5, "The flow restrictor makes a real difference; worth it."),
]
_SPECIFICATIONS = [
    ("Capacity", "1.0 l"),
    ("Material", "18/8 stainless steel"),
    ("Spout", "Gooseneck, 8 mm"),
    ("Thermometer", "40-100 °C, in the lid"),
    ("Hobs", "Gas, electric, ceramic, induction"),
]
_STOCK = [("Lyon", 41, 3), ("Leipzig", 17, 0), ("Lisbon", 5, 1)]


class Store:
    """Records by id, in memory. Each scenario uses its own id, so that one
    scenario's writes never change what another one reads."""

    def __init__(self, ids: t.Iterable[int] = range(1, 65)) -> None:
        self.records = {
            item_id: {
                "id": item_id,
                "version": 1,
                "sku": f"KET-{item_id:06d}",
                **json.loads(UPDATE_BODY),
                "name": "Stainless steel kettle, 1 l",
                "currency": "EUR",
                "category": "Kitchen / Coffee & tea / Kettles",
                "stock": [
                    dict(zip(("warehouse", "available", "reserved"), s, strict=True))
                    for s in _STOCK
                ],
                "specifications": [{"name": n, "value": v} for n, v in _SPECIFICATIONS],
                "reviews": [
                    dict(zip(("author", "rating", "text"), r, strict=True))
                    for r in _REVIEWS
                ],
                "related": [item_id + 1, item_id + 2, item_id + 7, item_id + 11],
                "seller": {
                    "id": 3141,
                    "name": "Brew & Co. Kitchenware",
                    "country": "FR",
                },
                "shipping": {"methods": ["standard", "express", "pickup"], "days": 2},
                "created": "2025-03-14T09:26:53Z",
            }
            for item_id in ids
        }

    def get(self, item_id: int) -> dict[str, t.Any] | None:
        return self.records.get(item_id)

    def version(self, item_id: int) -> int | None:
        record = self.get(item_id)
        return None if record is None else t.cast(int, record["version"])

    def write(self, item_id: int, data: dict[str, t.Any]) -> dict[str, t.Any]:
        self.records[item_id].update(data)
        self.set_version(item_id, t.cast(int, self.version(item_id)) + 1)
        return t.cast(dict[str, t.Any], self.get(item_id))

    def set_version(self, item_id: int, version: int) -> None:
        """Rewind a record between batches (never inside a timed loop)."""
        self.records[item_id]["version"] = version


def document(record: dict[str, t.Any]) -> dict[str, t.Any]:
    """The representation of a record: about 2 KB once serialised to JSON."""
    item_id = record["id"]
    available = sum(s["available"] - s["reserved"] for s in record["stock"])
    ratings = [review["rating"] for review in record["reviews"]]
    return {
        **{key: record[key] for key in ("id", "version", "sku", "name", "description")},
        "price": {"amount": record["price"], "currency": record["currency"]},
        "category": record["category"].split(" / "),
        "tags": list(record["tags"]),
        "availability": {"in_stock": available > 0, "available": available},
        "warehouses": [dict(s) for s in record["stock"]],
        "specifications": {s["name"]: s["value"] for s in record["specifications"]},
        "rating": {"average": sum(ratings) / len(ratings), "count": len(ratings)},
        "reviews": [dict(review) for review in record["reviews"]],
        "related": [{"id": r, "href": f"/items/{r}"} for r in record["related"]],
        "seller": dict(record["seller"]),
        "shipping": dict(record["shipping"]),
        "created": record["created"],
        "links": {"self": f"/items/{item_id}", "reviews": f"/items/{item_id}/reviews"},
    }


def parse_update(data: t.Any) -> dict[str, t.Any] | None:
    """The editable fields of a PUT body, or ``None`` when it is not valid."""
    if not isinstance(data, dict) or set(data) != set(UPDATE):
        return None
    return {key: data[key] for key in UPDATE}
