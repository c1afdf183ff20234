"""The item app served by gunicorn for the real-server benchmark.

``/bare/items/<id>`` is plain Flask (the baseline); ``/items/<id>`` is checked
with ``@pre.etag(version_function)``. gunicorn forks several workers, each
with its own memory, so the versions live in a shared memory map created
before the fork (gunicorn runs with ``--preload``): a write in one worker is
seen by the next request, whichever worker takes it.
"""

from __future__ import annotations

import mmap
import struct
import typing as t

from flask import abort
from flask import Flask
from flask import request
from items import document
from items import parse_update
from items import Store

from flask_preconditions import Preconditions

ITEMS = 64


class SharedStore(Store):
    """A :class:`~items.Store` whose versions all workers share."""

    def __init__(self) -> None:
        super().__init__(range(1, ITEMS + 1))
        self.versions = mmap.mmap(-1, 8 * (ITEMS + 1))
        for item_id in self.records:
            self.set_version(item_id, 1)

    def version(self, item_id: int) -> int | None:
        if item_id not in self.records:
            return None
        return t.cast(int, struct.unpack_from("q", self.versions, 8 * item_id)[0])

    def get(self, item_id: int) -> dict[str, t.Any] | None:
        record = self.records.get(item_id)
        if record is not None:
            record["version"] = self.version(item_id)
        return record

    def write(self, item_id: int, data: dict[str, t.Any]) -> dict[str, t.Any]:
        # Each load thread writes its own item, so no two writes race here.
        record = self.records[item_id]
        record.update(data)
        self.set_version(item_id, t.cast(int, self.version(item_id)) + 1)
        record["version"] = self.version(item_id)
        return record

    def set_version(self, item_id: int, version: int) -> None:
        struct.pack_into("q", self.versions, 8 * item_id, version)


store = SharedStore()
app = Flask(__name__)
pre = Preconditions(app, app_wide=False)


@app.route("/bare/items/<int:item_id>", methods=["GET", "PUT"])
def bare_item(item_id: int) -> t.Any:
    record = store.get(item_id)
    if record is None:
        abort(404)
    if request.method == "PUT":
        data = parse_update(request.get_json(silent=True))
        if data is None:
            abort(400)
        record = store.write(item_id, data)
    return document(record)


@app.route("/items/<int:item_id>", methods=["GET", "PUT"])
@pre.etag(lambda item_id: store.version(item_id))
def item(item_id: int) -> t.Any:
    return bare_item(item_id)
