"""Quickstart 1: decorate a view with the version of its resource."""

import threading

from flask import Flask
from flask import request

from flask_preconditions import expected_version
from flask_preconditions import PreconditionFailed
from flask_preconditions import Preconditions
from flask_preconditions import set_new_version

app = Flask(__name__)
pre = Preconditions(app, app_wide=False)

notes = {1: {"text": "Buy milk", "version": 1}}
lock = threading.Lock()


def note_version(note_id):
    note = notes.get(note_id)
    return None if note is None else note["version"]


@app.route("/notes/<int:note_id>", methods=["GET", "PUT"])
@pre.etag(note_version)
def note(note_id):
    if request.method == "PUT":
        with lock:
            note = notes[note_id]
            # Compare and set: another request may have written since the check.
            if note["version"] != expected_version():
                raise PreconditionFailed()
            note["text"] = request.get_json()["text"]
            note["version"] += 1
            # The response's new ETag is this version, whatever comes next.
            set_new_version(note["version"])
    return {"text": notes[note_id]["text"]}


if __name__ == "__main__":
    from try_it import try_it

    try_it(app, "/notes/1")
