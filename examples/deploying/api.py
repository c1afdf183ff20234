"""The API the deployment examples put behind nginx: two kinds of resource.

``/notes/<id>`` is covered app-wide, so its entity-tag is a hash of the body;
``/versioned/<id>`` takes its entity-tag from a version number. Settings come
from the environment, as Flask reads them (``from_prefixed_env``): run it with
``FLASK_PRECONDITIONS_ACCEPT_ALTERED_ETAGS=true gunicorn
'examples.deploying.api:create_app()'`` behind a compressing proxy.
"""

from flask import Flask
from flask import request

from flask_preconditions import Preconditions


def create_app():
    app = Flask(__name__)
    app.config.from_prefixed_env()
    add_notes(app, Preconditions(app))
    return app


def add_notes(app, pre):
    """The two kinds of resource, on ``app`` protected by ``pre``."""
    notes = {1: {"text": "buy milk"}}
    versioned = {1: {"text": "buy milk", "version": 1}}

    @app.route("/notes/<int:note_id>", methods=["GET", "PUT"])
    def note(note_id):
        if request.method == "PUT":
            notes[note_id] = {"text": request.get_json()["text"]}
        return notes[note_id]

    @app.route("/versioned/<int:note_id>", methods=["GET", "PUT"])
    @pre.etag(lambda note_id: versioned[note_id]["version"])
    def versioned_note(note_id):
        note = versioned[note_id]
        if request.method == "PUT":
            note["text"] = request.get_json()["text"]
            note["version"] += 1
        return {"text": note["text"]}
