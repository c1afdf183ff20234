"""The extension, the request helpers and the pure evaluation, as an app uses them.

Checked by mypy (``nox -s typing``), never run.
"""

from __future__ import annotations

import datetime as dt
import typing as t

from flask import Flask
from typing_extensions import assert_type
from werkzeug.datastructures import Headers
from werkzeug.exceptions import HTTPException

from flask_preconditions import Decision
from flask_preconditions import etag_for_body
from flask_preconditions import etag_for_version
from flask_preconditions import evaluate
from flask_preconditions import expected_etag
from flask_preconditions import expected_version
from flask_preconditions import Outcome
from flask_preconditions import PreconditionFailed
from flask_preconditions import PreconditionRequired
from flask_preconditions import Preconditions
from flask_preconditions import set_new_version
from flask_preconditions import Validators

# One extension object for many apps, as application factories do.
pre = Preconditions(app_wide=False)


def create_app() -> Flask:
    app = Flask(__name__)
    assert_type(pre.init_app(app), None)
    return app


# The checked version is whatever the version function returned.
assert_type(expected_version(), t.Any)
assert_type(expected_etag(), str | None)
set_new_version(2)
set_new_version("2024-01-01")

assert_type(etag_for_version(3), str)
assert_type(etag_for_body(b"{}"), str)

# The problems are Werkzeug HTTP exceptions, for errorhandler() and abort().
error: HTTPException = PreconditionFailed("The note changed.")
error = PreconditionRequired(instance="/notes/1")

# The pure evaluation takes plain values; no Flask needed.
current = Validators(
    etag=etag_for_version(3),
    last_modified=dt.datetime(2024, 1, 1, tzinfo=dt.timezone.utc),
)
decision = evaluate("PUT", Headers({"If-Match": '"abc"'}), current)
assert_type(decision, Decision)
assert_type(decision.outcome, Outcome)
evaluate("GET", {"If-None-Match": "*"}, None)
