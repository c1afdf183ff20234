"""Writes checked against the GET of their URL (app-wide mode, protected
blueprints, bare ``@pre.etag``), and the validators a GET gives their 2xx.
"""

from __future__ import annotations

import logging

from flask import Flask
from flask.wrappers import Request
from flask.wrappers import Response

from .conditions import Outcome
from .conditions import Presence
from .deciding import answer
from .deciding import evaluate_request
from .decisions import Cause
from .internal_get import current_by_internal_get
from .locking import holds_lock
from .problems import PreconditionFailed
from .problems import ServiceUnavailableProblem
from .records import checked_record
from .records import record_checked
from .responses import has_preconditions
from .responses import header_value
from .responses import set_validators
from .state import Settings

logger = logging.getLogger("flask_preconditions")


def validators_after_write(app: Flask, req: Request, response: Response) -> Response:
    """Give a checked write's 2xx the validators a GET of its URL has now.

    Called while the request still holds its resource's write lock, so the
    validators name exactly the state this write produced. A write that was
    not checked, or whose response already carries an ``ETag``, is left
    alone, as is one whose GET fails: the write happened, and a missing
    validator only costs the client a GET.
    """
    if (
        checked_record(req) is None
        or not 200 <= response.status_code < 300
        or header_value(response.headers, "ETag") is not None
        or not holds_lock(req)
    ):
        return response
    try:
        found = current_by_internal_get(app, req)
    except Exception:
        logger.exception(
            "The GET after the write to %s failed; the response goes without"
            " its new validators.",
            req.path,
        )
        return response
    if found.presence is Presence.PRESENT:
        set_validators(response, found.validators)
    return response


def check_against_get(settings: Settings, app: Flask, req: Request) -> None:
    """Check a write against the validators a GET of the same URL has now.

    :raise HTTPException: a problem that answers the request.
    """
    if req.method not in settings.required_methods and not has_preconditions(
        req.environ
    ):
        return
    found = current_by_internal_get(app, req)
    presence, current = found.presence, found.validators
    if presence is Presence.NOT_APPLICABLE:
        return
    if presence is Presence.UNAVAILABLE:
        retry_after = found.retry_after or ""
        raise ServiceUnavailableProblem(
            "The current state of the resource could not be read (a GET of this"
            f" URL answered {found.status}), so this write could not be checked"
            " and nothing was written. Send it again after the Retry-After"
            " delay.",
            retry_after=int(retry_after)
            if retry_after and retry_after.isdigit()
            else 1,
        )
    decision = evaluate_request(settings, req, current, required=True)
    if decision.outcome is not Outcome.PROCEED:
        if presence is Presence.NO_VALIDATOR and decision.cause is Cause.STALE_TAG:
            raise PreconditionFailed(
                "A GET of this URL answers without an ETag or Last-Modified (a"
                " streamed response?), so no entity-tag in If-Match can be"
                " confirmed and nothing was written. Only If-Match: * can write"
                " it. The API should give the GET view a version function"
                " (@pre.etag(version_function)), or exempt the write with"
                " @pre.exempt."
            )
        if presence is Presence.UNKNOWN and decision.cause is Cause.STALE_TAG:
            raise PreconditionFailed(
                "The current entity-tag of the resource could not be read (a GET"
                f" of this URL answered {found.status}), so no entity-tag in"
                " If-Match can be confirmed and nothing was written. Only"
                " If-Match: * can write it until its GET answers 200."
            )
        answer(decision, current, app, req)
    record_checked(req, current, None)
