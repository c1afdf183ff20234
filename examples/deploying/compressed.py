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
from flask_compress import Compress

from examples.deploying.api import add_notes
from flask_preconditions import Preconditions


def create_app():
    app = Flask(__name__)
    app.config["PRECONDITIONS_ACCEPT_ALTERED_ETAGS"] = True
    Compress(app)  # before Preconditions(app)
    add_notes(app, Preconditions(app))
    return app
