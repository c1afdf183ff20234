"""Recipe: Last-Modified dates next to (or instead of) entity-tags."""

import datetime as dt

from flask import Flask
from flask import request

from flask_preconditions import Preconditions

app = Flask(__name__)
pre = Preconditions(app, app_wide=False)

page = {
    "html": "<h1>Hello</h1>",
    "version": 1,
    "updated": dt.datetime(2026, 1, 1, tzinfo=dt.timezone.utc),
}


@app.route("/page", methods=["GET", "PUT"])
@pre.etag(lambda: page["version"])
@pre.last_modified(lambda: page["updated"])
def page_view():
    if request.method == "PUT":
        page["html"] = request.get_data(as_text=True)
        page["version"] += 1
        page["updated"] = dt.datetime.now(dt.timezone.utc)
    return page["html"]


@app.get("/feed")
@pre.etag(lambda: page["version"], weak=True)
def feed():
    # A weak entity-tag: the feed is "the same" for caches even if its
    # formatting changes, but it can never satisfy If-Match.
    return {"items": [page["html"]]}
