"""An API that browser code on another origin reads and writes, with flask-cors.

Browsers hide response headers from cross-origin code unless the server lists
them in ``Access-Control-Expose-Headers``, and ``ETag`` is not one of the few
they show anyway: without ``expose_headers``, ``response.headers.get("ETag")``
is ``null`` in the browser and every write is answered 428. Requests carrying
``If-Match`` or ``If-None-Match`` are preflighted, so those headers must be
allowed too (flask-cors allows any requested header by default; list them when
you restrict ``allow_headers``).

``CORS(app)`` may come before or after ``Preconditions(app)``: a 304 keeps the
``Access-Control-*`` headers either way.
"""

from flask import Flask
from flask import request
from flask_cors import CORS

from flask_preconditions import Preconditions


def create_app(origins="*", *, cors_first=True):
    app = Flask(__name__)

    def add_cors():
        CORS(
            app,
            origins=origins,
            expose_headers=["ETag"],
            allow_headers=["Content-Type", "If-Match", "If-None-Match"],
        )

    if cors_first:
        add_cors()
    Preconditions(app)
    if not cors_first:
        add_cors()

    notes = {1: {"text": "buy milk"}}

    @app.route("/notes/<int:note_id>", methods=["GET", "PUT"])
    def note(note_id):
        if request.method == "PUT":
            notes[note_id] = {"text": request.get_json()["text"]}
        return notes[note_id]

    return app
