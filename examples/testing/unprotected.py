"""A counter API with one write forgotten: what the plugin's checks catch.

``GET /counters/<id>`` has an entity-tag from a version function, but ``PUT``
is a view of its own that nobody decorated, and ``app_wide=False`` leaves it
unchecked: it writes whatever it is sent, with or without ``If-Match``. Run
it with ``flask --app examples.testing.unprotected run``.
"""

from __future__ import annotations

import typing as t

from flask import Flask
from flask import request

from flask_preconditions import Preconditions


def create_app() -> Flask:
    """Create the counter application; counter 1 starts at 0."""
    app = Flask(__name__)
    pre = Preconditions(app, app_wide=False)
    counters = {1: {"value": 0, "version": 1}}

    def version(counter_id: int) -> int | None:
        counter = counters.get(counter_id)
        return None if counter is None else counter["version"]

    @app.get("/counters/<int:counter_id>")
    @pre.etag(version)
    def get_counter(counter_id: int) -> t.Any:
        return {"value": counters[counter_id]["value"]}

    @app.put("/counters/<int:counter_id>")
    def put_counter(counter_id: int) -> t.Any:  # forgotten: no @pre.etag
        counter = counters.setdefault(counter_id, {"value": 0, "version": 0})
        counter["value"] = request.get_json()["value"]
        counter["version"] += 1
        return {"value": counter["value"]}

    return app
