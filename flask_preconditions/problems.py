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
from werkzeug.sansio.response import Response as SansIOResponse
from werkzeug.wrappers import Request
from werkzeug.wrappers import Response

if t.TYPE_CHECKING:
    from _typeshed.wsgi import WSGIEnvironment

#: The media type of problem details (RFC 9457 §3).
PROBLEM_MEDIA_TYPE = "application/problem+json"

# Characters of a path that need no percent-encoding in a URI reference.
_PATH_SAFE = "/:@!$&'()*+,;=-._~"


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
        return Response(
            json.dumps(self.problem(instance), ensure_ascii=False),
            self.code,
            mimetype=PROBLEM_MEDIA_TYPE,
        )


def request_instance(environ: WSGIEnvironment) -> str:
    """The request path as a URI reference, for the ``instance`` member."""
    raw = environ.get("SCRIPT_NAME", "") + environ.get("PATH_INFO", "")
    # WSGI carries the path as bytes decoded as latin-1 (PEP 3333).
    return quote(raw.encode("latin-1", "replace"), safe=_PATH_SAFE)


class PreconditionFailed(ProblemDetailsMixin, exceptions.PreconditionFailed):
    """412: the client's copy is stale, and nothing was written.

    Raise it from a view whose conditional write found that the stored version
    is no longer the one the request was checked against::

        if not repository.replace(note_id, data, expected_version()):
            raise PreconditionFailed()

    .. versionadded:: 0.1
    """

    problem_type = "https://www.rfc-editor.org/rfc/rfc9110#section-15.5.13"
    description = (
        "The resource was changed by another request since the client read it,"
        " so nothing was written. Read the resource again (GET) to obtain its"
        " current state and ETag, reapply the change to that state, and retry"
        " with the new ETag in If-Match. Do not resend the same request"
        " unchanged: it would overwrite the other change."
    )


class PreconditionRequired(ProblemDetailsMixin, exceptions.PreconditionRequired):
    """428: an unsafe request that does not say which version it modifies.

    .. versionadded:: 0.1
    """

    problem_type = "https://www.rfc-editor.org/rfc/rfc6585#section-3"
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

    problem_type = "https://www.rfc-editor.org/rfc/rfc6585#section-5"
    description = (
        "A precondition header is too long. Send If-Match or If-None-Match with"
        " only the entity-tags you hold."
    )
