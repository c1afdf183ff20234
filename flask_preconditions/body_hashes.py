"""Body-hash entity-tags on GET responses: the tag of the body the view
produced, and the conditions decided against it.
"""

from __future__ import annotations

import logging

from flask import Flask
from flask.wrappers import Request
from flask.wrappers import Response
from werkzeug.exceptions import HTTPException
from werkzeug.http import quote_etag

from .compat import handle_error
from .conditions import Outcome
from .conditions import Validators
from .deciding import answer
from .deciding import evaluate_request
from .deciding import revalidates
from .resource_validators import tags_of_body
from .responses import has_preconditions
from .responses import header_value
from .responses import not_modified
from .responses import response_last_modified
from .responses import response_validators
from .state import get_state
from .state import Settings

logger = logging.getLogger("flask_preconditions")


def _warn_encoded_once(app: Flask) -> None:
    # The view compressed its own body: gzip stamps the time into its output,
    # so the tag changes every second (200s for 304s, and 412s for writes).
    # Compressing extensions run after the hash, in after_request; see the
    # Deploying page.
    state = get_state(app)
    if state.warned_of_encoded_bodies:
        return
    state.warned_of_encoded_bodies = True
    logger.warning(
        "%s: a GET body was already content-encoded when its entity-tag was"
        " computed, so the tag follows the compressed bytes (gzip's change"
        " every second). Leave compression to an extension such as"
        " Flask-Compress or to the proxy, which compress after the body is"
        " hashed.",
        app.import_name,
    )


def conditional_body_response(
    settings: Settings,
    app: Flask,
    req: Request,
    response: Response,
    weak: bool,
    flags: tuple[bool, bool, bool],
) -> Response:
    """Give a GET response a body entity-tag and answer its conditions.

    Runs after the view, where a raised error would become a 500: a problem is
    answered through the app's error handlers instead.

    :param flags: the response's
        :func:`~flask_preconditions.responses.header_flags`.
    """
    if response.status_code != 200:
        return response
    headers = response.headers
    has_etag, _, encoded = flags
    own_tag = header_value(headers, "ETag") if has_etag else None
    if own_tag is None:
        if response.is_streamed or response.direct_passthrough:
            return response
        if encoded:
            _warn_encoded_once(app)
        etag, previous = tags_of_body(app, req, response.get_data())
        headers.add("ETag", quote_etag(etag, weak))
    if not has_preconditions(req.environ):
        return response
    if own_tag is not None:
        current = response_validators(response)
    else:
        # The tag just computed, rather than parsed back from the header; its
        # date only when a revalidation of the tag does not settle the request.
        current = Validators(etag, weak, None, previous)
        if revalidates(settings, req, current):
            return not_modified(response)
        current = current._replace(last_modified=response_last_modified(response))
    decision = evaluate_request(settings, req, current, required=False)
    if decision.outcome is Outcome.PROCEED:
        return response
    if decision.outcome is Outcome.NOT_MODIFIED:
        return not_modified(response)
    try:
        return answer(decision, current, app, req)
    except HTTPException as error:
        return handle_error(app, error)
