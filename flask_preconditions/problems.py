"""RFC 9457 problem details for the responses this package sends.

The exceptions subclass Werkzeug's own, so ``@app.errorhandler(412)`` and
``except PreconditionFailed`` keep working; raised and not handled, each renders
itself as ``application/problem+json``.
"""

from __future__ import annotations

import json
import typing as t
from urllib.parse import quote

from werkzeug import exceptions
from werkzeug.datastructures import Headers
from werkzeug.sansio.response import Response as SansIOResponse
from werkzeug.wrappers import Request
from werkzeug.wrappers import Response

from .conditions import SAFE_METHODS
from .decisions import Cause
from .decisions import Decision
from .decisions import Outcome

if t.TYPE_CHECKING:
    from _typeshed.wsgi import WSGIEnvironment

#: The media type of problem details (RFC 9457 §3).
PROBLEM_MEDIA_TYPE = "application/problem+json"

# Characters of a path that need no percent-encoding in a URI reference.
_PATH_SAFE = "/:@!$&'()*+,;=-._~"

#: What a client whose write was refused for a change it has not seen should
#: do next: the end of every such problem detail.
RETRY_ADVICE = (
    "Read the resource again (GET) to obtain its current state and ETag,"
    " reapply the change to that state, and retry with the new ETag in"
    " If-Match. Do not resend the same request unchanged: it would overwrite"
    " the other change."
)

#: The problem type of each status the extension answers with problem details:
#: the section of the RFC that defines the status.
PROBLEM_TYPES: t.Mapping[int, str] = {
    404: "https://www.rfc-editor.org/rfc/rfc9110#section-15.5.5",
    409: "https://www.rfc-editor.org/rfc/rfc9110#section-15.5.10",
    412: "https://www.rfc-editor.org/rfc/rfc9110#section-15.5.13",
    428: "https://www.rfc-editor.org/rfc/rfc6585#section-3",
    431: "https://www.rfc-editor.org/rfc/rfc6585#section-5",
    503: "https://www.rfc-editor.org/rfc/rfc9110#section-15.6.4",
}


class ProblemDetailsMixin(exceptions.HTTPException):
    """Render an :class:`~werkzeug.exceptions.HTTPException` as problem details.

    Subclasses set :attr:`problem_type`; the ``title`` is the exception's name,
    the ``detail`` its description and the ``instance`` the request path.

    .. versionadded:: 0.1
    """

    #: URI of the problem type (RFC 9457 §3.1.1): documentation of the status.
    problem_type: t.ClassVar[str] = "about:blank"

    def __init__(
        self,
        description: str | None = None,
        response: SansIOResponse | None = None,
        *,
        instance: str | None = None,
    ) -> None:
        super().__init__(description, response)
        #: The URI reference of the request the problem occurred on; taken from
        #: the request when the response is rendered if not given.
        self.instance = instance
        #: Why, as a :class:`~flask_preconditions.decisions.Cause` value
        #: (``"stale-tag"``, ``"weak-tag"``, …), for clients that act on it:
        #: the ``cause`` extension member (RFC 9457 §3.2) when set.
        self.cause: str | None = None

    def problem(self, instance: str | None = None) -> dict[str, t.Any]:
        """The problem details object, as a dict ready for JSON."""
        body: dict[str, t.Any] = {
            "type": self.problem_type,
            "title": self.name,
            "status": self.code,
            "detail": self.description,
        }
        instance = self.instance or instance
        if instance:
            body["instance"] = instance
        if self.cause is not None:
            body["cause"] = self.cause
        return body

    def get_response(
        self,
        environ: WSGIEnvironment | Request | None = None,
        scope: dict[str, t.Any] | None = None,
    ) -> Response:
        """Render the problem as an ``application/problem+json`` response."""
        if isinstance(environ, Request):
            environ = environ.environ
        instance = request_instance(environ) if environ is not None else None
        return _problem_json(self.problem(instance), self.code or 500)


def _problem_json(body: dict[str, t.Any], status: int) -> Response:
    return Response(
        json.dumps(body, ensure_ascii=False), status, mimetype=PROBLEM_MEDIA_TYPE
    )


def request_instance(environ: WSGIEnvironment) -> str:
    """The request path as a URI reference, for the ``instance`` member."""
    raw = environ.get("SCRIPT_NAME", "") + environ.get("PATH_INFO", "")
    # WSGI carries the path as bytes decoded as latin-1 (PEP 3333).
    return quote(raw.encode("latin-1", "replace"), safe=_PATH_SAFE)


def problem_response(
    error: exceptions.HTTPException, environ: WSGIEnvironment | None = None
) -> Response:
    """Render any HTTP error as an RFC 9457 problem details response.

    The package's own exceptions render themselves. Others, such as
    ``abort(412)`` or Werkzeug's :class:`~werkzeug.exceptions.PreconditionFailed`,
    get a problem body made of their code, name and description, and keep the
    headers they carry (``Retry-After``, ``WWW-Authenticate``). This is what
    the error handlers that :meth:`Preconditions.init_app` registers return.

    .. versionadded:: 0.2
    """
    if isinstance(error, ProblemDetailsMixin):
        return error.get_response(environ)
    code = error.code or 500
    body: dict[str, t.Any] = {
        "type": PROBLEM_TYPES.get(code, "about:blank"),
        "title": error.name,
        "status": code,
        "detail": error.description,
    }
    if environ is not None:
        body["instance"] = request_instance(environ)
    response = _problem_json(body, code)
    headers = Headers(error.get_headers(environ))
    for name, value in headers.items():
        if name.lower() != "content-type":
            response.headers.add(name, value)
    return response


class PreconditionFailed(ProblemDetailsMixin, exceptions.PreconditionFailed):
    """412: the client's copy is stale, and nothing was written.

    Raise it from a view whose conditional write found that the stored version
    is no longer the one the request was checked against::

        if not repository.replace(note_id, data, expected_version()):
            raise PreconditionFailed()

    .. versionadded:: 0.1
    """

    problem_type = PROBLEM_TYPES[412]
    description = (
        "The resource was changed by another request since the client read it,"
        f" so nothing was written. {RETRY_ADVICE}"
    )


class PreconditionRequired(ProblemDetailsMixin, exceptions.PreconditionRequired):
    """428: an unsafe request that does not say which version it modifies.

    .. versionadded:: 0.1
    """

    problem_type = PROBLEM_TYPES[428]
    description = (
        "This request modifies the resource but does not say which version of"
        " it the client edited, so it could silently overwrite another change."
        " Read the resource (GET), keep the ETag header of the response, and"
        " send it back in an If-Match header with this request."
    )


class PreconditionHeaderTooLarge(
    ProblemDetailsMixin, exceptions.RequestHeaderFieldsTooLarge
):
    """431: a precondition header too long to evaluate at bounded cost.

    .. versionadded:: 0.1
    """

    problem_type = PROBLEM_TYPES[431]
    description = (
        "A precondition header is too long. Send If-Match or If-None-Match with"
        " only the entity-tags you hold."
    )


class ServiceUnavailableProblem(ProblemDetailsMixin, exceptions.ServiceUnavailable):
    """503 with ``Retry-After``: the request was not carried out, nothing written.

    The base of the package's 503 answers; sending the same conditional request
    again after the delay is safe, since its preconditions are evaluated anew.

    :param retry_after: seconds the client should wait before sending the
        request again.

    .. versionadded:: 0.2
    """

    problem_type = PROBLEM_TYPES[503]

    def __init__(
        self,
        description: str | None = None,
        response: SansIOResponse | None = None,
        *,
        retry_after: int = 1,
    ) -> None:
        super().__init__(description, response)
        #: Seconds the client should wait before sending the request again.
        self.retry_after_seconds = retry_after

    def get_response(
        self,
        environ: WSGIEnvironment | Request | None = None,
        scope: dict[str, t.Any] | None = None,
    ) -> Response:
        """Render the problem, with a ``Retry-After`` header."""
        response = super().get_response(environ, scope)
        response.headers["Retry-After"] = str(self.retry_after_seconds)
        return response


class ResourceBusy(ServiceUnavailableProblem):
    """503: another request was writing the resource for too long.

    The write lock of the resource could not be taken within
    ``PRECONDITIONS_LOCK_TIMEOUT`` seconds, so the request was not carried out.

    .. versionadded:: 0.2
    """

    description = (
        "Another request is writing this resource, and this one could not wait"
        " for it to finish; nothing was written. Send the same request again"
        " after the Retry-After delay: its If-Match is checked again then, so it"
        " cannot overwrite the other change."
    )


class ResourceNotFound(ProblemDetailsMixin, exceptions.NotFound):
    """404: the resource a conditional request names does not exist.

    Answered by the extension where evaluation finds no resource (RFC 9110
    §13.2.1); an application's own 404 handler wins.

    .. versionadded:: 0.2
    """

    problem_type = PROBLEM_TYPES[404]
    description = "The resource does not exist."


_WRITE_DETAILS: dict[Cause, str] = {
    Cause.STALE_TAG: PreconditionFailed.description,
    Cause.WEAK_TAG: (
        "If-Match names this resource's entity-tag only in a weak form"
        ' (W/"..."), and If-Match compares strongly, so a weak tag never'
        " matches (RFC 9110 §13.1.1); nothing was written. Send the ETag exactly"
        " as the server sent it. If the server sent a strong ETag and the client"
        " received W/, an intermediary weakened it: a proxy that compresses"
        " responses (nginx gzip, Varnish do_gzip) does: configure it to keep"
        " strong ETags, or the API to accept altered entity-tags"
        " (PRECONDITIONS_ACCEPT_ALTERED_ETAGS)."
    ),
    Cause.RECODED_TAG: (
        "If-Match names this resource's entity-tag with a content-coding suffix"
        " (such as -gzip or :zstd), which a compressing proxy or Flask-Compress"
        " added when it re-encoded the response; the resource's own tag has no"
        " such suffix, so nothing was written. Configure the intermediary to"
        " keep ETags, or the API to accept altered entity-tags"
        " (PRECONDITIONS_ACCEPT_ALTERED_ETAGS)."
    ),
    Cause.MALFORMED_TAG: (
        "Nothing was written. Send back the ETag header of a GET response"
        " exactly as received, quotes included."
    ),
    Cause.NO_RESOURCE: (
        "The resource does not exist, so no entity-tag in If-Match can match;"
        " nothing was written. To create it, send If-None-Match: * instead."
    ),
    Cause.MODIFIED_SINCE: (
        "The resource was modified after the If-Unmodified-Since date, so"
        f" nothing was written. {RETRY_ADVICE}"
    ),
    Cause.EXISTS: (
        "The resource exists already, so nothing was written. Read it (GET) and"
        " send If-Match with its ETag to modify it."
    ),
    Cause.NONE_MATCH: (
        "Nothing was written. Read the resource (GET) and send If-Match with its"
        " ETag to modify it."
    ),
}

_READ_DETAILS: dict[Cause, str] = {
    Cause.STALE_TAG: (
        "The representation no longer has an entity-tag that If-Match names."
        " Read it again without If-Match to get its current state and ETag."
    ),
    Cause.WEAK_TAG: (
        'If-Match compares strongly, and a weak entity-tag (W/"...") never'
        " matches (RFC 9110 §13.1.1). Send the ETag exactly as the server sent"
        " it."
    ),
    Cause.MALFORMED_TAG: (
        "Send back the ETag header of a GET response exactly as received,"
        " quotes included."
    ),
    Cause.MODIFIED_SINCE: (
        "The representation was modified after the If-Unmodified-Since date."
        " Read it again without the condition to get its current state."
    ),
}


def problem_for(decision: Decision, method: str) -> exceptions.HTTPException:
    """The error that answers a decision other than proceed or 304.

    Its detail says, for the decision's :class:`~flask_preconditions.decisions.Cause`,
    why the request failed and what to send next; on a GET or HEAD, nothing
    about writes. The cause itself is the ``cause`` member of its problem
    body, for clients that act on it (a weakened tag cannot be fixed by
    reading again).

    .. versionadded:: 0.2
    """
    error = _problem_for(decision, method)
    if decision.cause is not None and isinstance(error, ProblemDetailsMixin):
        error.cause = decision.cause.value
    return error


def _problem_for(decision: Decision, method: str) -> exceptions.HTTPException:
    outcome = decision.outcome
    cause = decision.cause
    if outcome is Outcome.NOT_FOUND:
        return ResourceNotFound()
    if outcome is Outcome.PRECONDITION_REQUIRED:
        if cause is Cause.MISSING_IF_NONE_MATCH:
            return PreconditionRequired(
                "This request would create the resource, but does not say that"
                " it must not exist yet, so it could overwrite a resource that"
                " another client created meanwhile. Send If-None-Match: * with it."
            )
        return PreconditionRequired()
    if outcome is Outcome.HEADER_TOO_LARGE:
        return PreconditionHeaderTooLarge(
            f"{decision.reason} Send {decision.header} with only the entity-tags"
            " you hold."
        )
    details = _READ_DETAILS if method in SAFE_METHODS else _WRITE_DETAILS
    detail = details.get(cause) if cause is not None else None
    if detail is None:
        detail = PreconditionFailed.description
    return PreconditionFailed(f"{decision.reason} {detail}")
