"""Flask-Compress and preconditions on one application.

The extension hashes and compares the body around the view, before
Flask-Compress's ``after_request`` hook compresses it, so the tag is the one
of the uncompressed body, the same for every client, in either order of
registration.

Flask-Compress renames the strong entity-tag of what it compresses
(``"…"`` becomes ``"…:gzip"``, ``"…:zstd"``, ``"…:br"``), so the API accepts
those forms of the current tag in ``If-Match`` and ``If-None-Match``.
"""

from flask import Flask
from flask_compress import Compress

from examples.deploying.api import add_notes
from flask_preconditions import Preconditions


def create_app():
    app = Flask(__name__)
    app.config["PRECONDITIONS_ACCEPT_ALTERED_ETAGS"] = True
    Compress(app)
    add_notes(app, Preconditions(app))
    return app
