"""Flask-Compress and preconditions on one application.

``Compress(app)`` comes first. Flask runs ``after_request`` hooks in the
reverse order of registration, so the extension then hashes and compares the
uncompressed body, which is the same for every client: registered after it,
Flask-Compress would compress first, and the extension would hash gzip output,
which embeds the time and changes every second.

Flask-Compress renames the strong entity-tag of what it compresses
(``"…"`` becomes ``"…:gzip"``, ``"…:zstd"``, ``"…:br"``), so the API accepts
those forms of the current tag in ``If-Match`` and ``If-None-Match``.
"""

from flask import Flask
from flask import request
from flask_compress import Compress

from flask_preconditions import Preconditions


def create_app():
    app = Flask(__name__)
    app.config["PRECONDITIONS_ACCEPT_ALTERED_ETAGS"] = True
    Compress(app)  # before Preconditions(app)
    pre = Preconditions(app)

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

    return app
