"""Recipe: ``async def`` views (needs the ``async`` extra)."""

import asyncio

from flask import Flask
from flask import request

from flask_preconditions import Preconditions

app = Flask(__name__)
pre = Preconditions(app, app_wide=False)

counters = {"visits": 0}


async def counter_version(name):
    await asyncio.sleep(0)  # e.g. a query with an async database driver
    return counters.get(name)


@app.route("/counters/<name>", methods=["GET", "PUT"])
@pre.etag(counter_version)
async def counter(name):
    await asyncio.sleep(0)  # e.g. the write, with the same driver
    if request.method == "PUT":
        counters[name] = request.get_json()["value"]
    return {"value": counters[name]}
