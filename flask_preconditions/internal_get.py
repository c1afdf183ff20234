"""The internal GET: a write's target resource's current validators, from its GET.

Used where a write's validators come from GET bodies (app-wide mode, protected
blueprints, bare ``@pre.etag``): the GET view of the same URL runs within the
write's own request, and its response says whether the resource exists and
which entity-tag it has now.
"""

from __future__ import annotations

import io
import typing as t

from flask import Flask
from flask.wrappers import Request
from flask.wrappers import Response

from .compat import dispatch_in_current_context
from .conditions import Presence
from .conditions import presence_from_status
from .conditions import Validators
from .identity import resource_identity
from .records import RECORD_KEY
from .responses import response_validators
from .state import get_state
from .validators import body_tags

# WSGI keys left out of the internal GET: its own conditions, any range, the
# body, Werkzeug's cached request object of the real request, and the
# content-codings it accepts: the tag a write is checked against is the one of
# the identity representation, as the extension's own 304s and writes name it,
# not one a compressing hook (Flask-Compress) renamed.
_DROPPED = frozenset(
    {
        "HTTP_ACCEPT_ENCODING",
        "HTTP_IF_MATCH",
        "HTTP_IF_NONE_MATCH",
        "HTTP_IF_MODIFIED_SINCE",
        "HTTP_IF_UNMODIFIED_SINCE",
        "HTTP_IF_RANGE",
        "HTTP_RANGE",
        "CONTENT_TYPE",
        "HTTP_CONTENT_ENCODING",
        "werkzeug.request",
        RECORD_KEY,
    }
)

#: The WSGI environ key that marks the internal GET's environ (value ``True``),
#: so that an app's own hooks can tell it apart from a client's GET.
INTERNAL_GET_MARK = "flask_preconditions.internal_get"


class Current(t.NamedTuple):
    """What the internal GET found."""

    presence: Presence
    #: The validators when :attr:`presence` is PRESENT; no validator a client
    #: could hold when UNKNOWN; ``None`` otherwise.
    validators: Validators | None
    #: The status the GET answered (0 when no GET route matched).
    status: int = 0
    #: The GET's ``Retry-After``, when it sent one.
    retry_after: str | None = None


def current_by_internal_get(app: Flask, req: Request) -> Current:
    """Run the GET view of the request's URL to learn its current validators.

    The GET runs in the write's own context (:mod:`~flask_preconditions.compat`):
    none of the app's teardown handlers run in the middle of the write, and
    ``g`` and the database session of the write are left as they were.

    A 2xx without ``ETag`` or ``Last-Modified`` (a streamed response) is
    :attr:`~flask_preconditions.conditions.Presence.NO_VALIDATOR`: the write
    cannot be checked, and only ``If-Match: *`` can write.
    """
    environ = {key: value for key, value in req.environ.items() if key not in _DROPPED}
    environ["REQUEST_METHOD"] = "GET"
    environ["CONTENT_LENGTH"] = "0"
    environ["wsgi.input"] = io.BytesIO()
    environ[INTERNAL_GET_MARK] = True
    response = dispatch_in_current_context(app, environ)
    if response is None:
        # No GET route at this URL: nothing to check the write against.
        return Current(Presence.NOT_APPLICABLE, None)
    try:
        status = response.status_code
        presence = presence_from_status(status)
        if presence is Presence.PRESENT:
            current = response_validators(response)
            if current.etag is None and current.last_modified is None:
                # A streamed GET, or one that drops its ETag: no tag a client
                # holds can be confirmed. Fail closed, never unchecked.
                return Current(Presence.NO_VALIDATOR, Validators(), status)
            return Current(
                presence, _with_previous(app, req, response, current), status
            )
        if presence is Presence.UNKNOWN:
            return Current(presence, Validators(), status)
        return Current(presence, None, status, response.headers.get("Retry-After"))
    finally:
        response.close()


def _with_previous(
    app: Flask, req: Request, response: Response, current: Validators
) -> Validators:
    """Add the tags older keys give the GET's body, during a key rotation, so
    that a client holding one can still write."""
    keys = get_state(app).settings.etag_keys
    if keys is None or not keys.previous or response.is_streamed:
        return current
    etag, previous = body_tags(
        response.get_data(), resource_identity(app, req, declared=False), keys
    )
    # Only a tag the extension made from this body has older forms.
    if etag != current.etag:
        return current
    return current._replace(previous=previous)
