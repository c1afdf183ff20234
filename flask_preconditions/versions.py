"""What the current request was checked against, and what its write produced.

:func:`expected_version` and :func:`expected_etag` make a view's write a
compare-and-swap; :func:`set_new_version` names the version it wrote, for the
response's validators.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import logging
import typing as t

from flask import after_this_request
from flask import Flask
from flask.wrappers import Request
from flask.wrappers import Response
from werkzeug.http import quote_etag

from .compat import current
from .conditions import Validators
from .identity import location_identity
from .identity import resource_identity
from .records import checked_record
from .records import new_version_record
from .records import record_new_version
from .records import UNSET
from .responses import set_validators
from .state import get_state
from .validators import version_tags
from .views import Mode

logger = logging.getLogger("flask_preconditions")


@dataclasses.dataclass(frozen=True)
class Checked:
    """What a request's preconditions were checked against.

    .. versionadded:: 0.1
    """

    #: The version returned by the validator function (``None`` when absent, or
    #: when the entity-tag came from the body of a GET).
    version: t.Any
    #: The current entity-tag, quoted, or ``None`` when the resource is absent.
    etag: str | None


def expected_version() -> t.Any:
    """The version the current request's preconditions were checked against.

    Use it to make the write a compare-and-swap, so that two requests that
    passed the check with the same entity-tag cannot both write::

        updated = db.session.execute(
            update(Note)
            .where(Note.id == note_id, Note.version == expected_version())
            .values(text=text, version=Note.version + 1)
        ).rowcount
        if not updated:
            raise PreconditionFailed()

    Returns ``None`` when the request creates the resource (``If-None-Match:
    *`` on an absent resource), and when the entity-tag came from the body of
    a GET rather than from a version function (use :func:`expected_etag`).
    On a GET or HEAD of a view with a version function, it is the current
    version, the one the response's ``ETag`` names.

    :raise RuntimeError: no precondition was checked for this request: the
        view is not covered, or is exempt, or its entity-tags come from GET
        bodies, which on a GET are only known after the view.

    .. versionadded:: 0.1
    """
    return _checked().version


def expected_etag() -> str | None:
    """The quoted entity-tag the current request was checked against.

    ``None`` when the request creates the resource, and when an
    ``If-Match: *`` write passed on a resource without an entity-tag.

    :raise RuntimeError: no precondition was checked for this request.

    .. versionadded:: 0.1
    """
    return _checked().etag


def set_new_version(version: t.Any, *, last_modified: t.Any = None) -> None:
    """Say which version the current request's write produced.

    After a successful PUT or PATCH, the response carries the ``ETag`` of the
    resource's new version so that the client can chain edits. Without this
    call the version function is asked again after the view, while the
    request still holds its resource's write lock. A compare-and-swap write
    that takes no lock knows the version it wrote, and should say so: another
    request could write between its commit and that question::

        new_version = expected_version() + 1
        if not repository.replace(note_id, data, expected_version(), new_version):
            raise PreconditionFailed()
        set_new_version(new_version)

    In a view that creates a resource (a ``POST`` answered 201, or a
    create-only ``PUT``), it gives the response the created resource's
    ``ETag`` (and ``Last-Modified``), as RFC 9110 §15.3.2 allows, next to
    its ``Location``; in every view, a 2xx response that sets no ``ETag`` of
    its own gets this one::

        @app.post("/notes")
        @pre.exempt
        def create_note():
            note = repository.create(request.json)
            set_new_version(note.version, last_modified=note.updated_at)
            return note.to_json(), 201, {"Location": url_for("note", note_id=note.id)}

    ``None`` sends no ``ETag``: the client must read the resource again.

    :param version: the version written, as a version function returns it.
    :param last_modified: its modification date, for ``Last-Modified``.

    .. versionadded:: 0.1
    .. versionchanged:: 0.2
        Works in any view, and added ``last_modified``.
    """
    if last_modified is not None and not isinstance(last_modified, dt.date):
        # A wrong type is the view's mistake: said here, in the view, rather
        # than after its write is done.
        raise TypeError(
            "set_new_version(last_modified=...) takes a datetime or a date, not"
            f" {type(last_modified).__name__!r}."
        )
    first = new_version_record()[0] is UNSET
    record_new_version(version, last_modified)
    if first:
        after_this_request(_new_validators_of_any_view)


def _new_validators_of_any_view(response: Response) -> Response:
    # Decorated writes have set theirs already: this serves the other views.
    version, last_modified = new_version_record()
    if (
        not 200 <= response.status_code < 300
        or version is None
        or "ETag" in response.headers
    ):
        return response
    app, req = current()
    try:
        etag = _etag_of_new_version(app, req, response, version)
        if etag is not None:
            set_validators(response, Validators(etag, False, last_modified))
    except Exception:
        # The write happened: a 5xx now would make the client retry a write
        # that succeeded. The response goes without the new validators.
        logger.exception(
            "The validators of the version %r that %s %s declared could not be"
            " computed; the response goes without them.",
            version,
            req.method,
            req.path,
        )
    return response


def _etag_of_new_version(
    app: Flask, req: Request, response: Response, version: t.Any
) -> str | None:
    """The tag of ``version`` of the resource the response is about: the one
    its ``Location`` names, else the request's own; ``None`` where that
    resource's tags are not made from versions."""
    state = get_state(app)
    location = response.headers.get("Location")
    if location is None:
        route = state.route(app, req.endpoint, req.method)
        if route.mode is Mode.HOOKS or (route.spec is not None and route.spec.body):
            # Its GETs are tagged by body hashes: a version's tag would never
            # match them.
            return None
    keys = state.settings.etag_keys
    identity = ""
    if keys is not None:
        if location is not None:
            found = location_identity(app, req, location)
            if found is None:
                return None
            identity = found
        else:
            identity = resource_identity(app, req, declared=False)
    return version_tags(version, identity, keys)[0]


def _checked() -> Checked:
    checked = checked_record()
    if checked is None:
        raise RuntimeError(
            "No precondition was checked for this request. Views decorated with"
            " @pre.etag(version_function) have an expected version on every"
            " method; views with body-hash entity-tags (bare @pre.etag,"
            " app-wide or blueprint protection) only on checked writes, since"
            " a GET's entity-tag is known only after the view; exempt and"
            " uncovered views never."
        )
    current, version = checked
    if current is None or current.etag is None:
        return Checked(version, None)
    return Checked(version, quote_etag(current.etag, current.weak))
