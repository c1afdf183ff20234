"""Deciding a request's preconditions: :func:`~flask_preconditions.conditions.evaluate`
called with the request's headers and the app's settings, and its decision
turned into a 304 or a raised problem.
"""

from __future__ import annotations

from flask import Flask
from flask.wrappers import Request
from flask.wrappers import Response

from .conditions import Decision
from .conditions import evaluate
from .conditions import Outcome
from .conditions import revalidates_current_tag
from .conditions import Validators
from .decisions import Cause
from .problems import problem_for
from .responses import EnvironHeaders
from .responses import not_modified_class
from .responses import only_if_none_match
from .responses import set_validators
from .state import Settings


def evaluate_request(
    settings: Settings, req: Request, current: Validators | None, *, required: bool
) -> Decision:
    """:func:`~flask_preconditions.conditions.evaluate` of the request's
    precondition headers against ``current``, with the app's settings.

    :param required: whether the 428 rule of ``PRECONDITIONS_REQUIRED_METHODS``
        applies (not after the view, where the write is done).
    """
    return evaluate(
        req.method,
        EnvironHeaders(req.environ),
        current,
        required_methods=settings.required_methods if required else (),
        max_header_length=settings.max_header_length,
        accept_altered_tags=settings.accept_altered_etags,
        require_entity_tag=settings.require_entity_tag,
    )


#: What evaluate() decides for a revalidation of the current tag.
_NOT_MODIFIED = Decision(
    Outcome.NOT_MODIFIED,
    "If-None-Match",
    "The client's representation is current (RFC 9110 §13.1.2).",
    cause=Cause.NOT_MODIFIED,
)


def revalidates(settings: Settings, req: Request, current: Validators | None) -> bool:
    """Whether a GET or HEAD revalidates exactly the current entity-tag: the
    304 that :func:`~flask_preconditions.conditions.evaluate` would decide,
    decided at once."""
    value = only_if_none_match(req.environ)
    return value is not None and revalidates_current_tag(
        req.method, value, current, max_header_length=settings.max_header_length
    )


def decide_before_view(
    settings: Settings, req: Request, current: Validators | None, *, safe: bool
) -> Decision:
    """:func:`evaluate_request` for a check before the view, a revalidation of the
    current tag decided at once."""
    if safe and revalidates(settings, req, current):
        return _NOT_MODIFIED
    return evaluate_request(settings, req, current, required=True)


def answer(
    decision: Decision, current: Validators | None, app: Flask, req: Request
) -> Response:
    """The 304 for a decision to answer it, or the raised problem.

    :raise HTTPException: the 404, 412, 428 or 431 of the decision.
    """
    if decision.outcome is Outcome.NOT_MODIFIED:
        response = not_modified_class(app.response_class)(status=304)
        set_validators(response, current)
        return response
    raise problem_for(decision, req.method)
