"""An app with one write route forgotten, for ``flask preconditions routes``."""

from flask import Flask
from flask import request

from flask_preconditions import Preconditions

app = Flask(__name__)
pre = Preconditions(app, app_wide=False)

notes = {1: {"text": "Buy milk", "version": 1}}
tags = {"shopping"}


@app.route("/notes/<int:note_id>", methods=["GET", "PUT", "DELETE"])
@pre.etag(lambda note_id: notes[note_id]["version"] if note_id in notes else None)
def note(note_id):
    return notes[note_id]


@app.post("/notes")
def create_note():
    notes[len(notes) + 1] = {"text": request.get_json()["text"], "version": 1}
    return "", 201


@app.route("/tags", methods=["GET", "PUT"])
def tag_list():  # forgotten: PUT /tags can overwrite another client's tags
    if request.method == "PUT":
        tags.clear()
        tags.update(request.get_json())
    return sorted(tags)
