"""Recipe: authentication above the precondition decorator."""

import functools

from flask import abort
from flask import Flask
from flask import request

from flask_preconditions import Preconditions

app = Flask(__name__)
pre = Preconditions(app, app_wide=False)

documents = {"plan": {"text": "v1", "version": 1}}


def login_required(view):
    @functools.wraps(view)
    def wrapper(**kwargs):
        if request.headers.get("Authorization") != "Bearer secret":
            abort(401)
        return view(**kwargs)

    return wrapper


@app.route("/documents/<name>", methods=["GET", "PUT"])
@login_required  # first: strangers learn nothing, not even an ETag
@pre.etag(lambda name: documents[name]["version"] if name in documents else None)
def document(name):
    if request.method == "PUT":
        documents[name]["text"] = request.get_json()["text"]
        documents[name]["version"] += 1
    return {"text": documents[name]["text"]}
