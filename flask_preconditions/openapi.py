"""An apispec plugin that documents conditional requests in OpenAPI 3.

Needs the ``openapi`` extra (``pip install flask-preconditions[openapi]``).
Use it with apispec-webframeworks' ``FlaskPlugin``, which turns views into
paths::

    from apispec import APISpec
    from apispec_webframeworks.flask import FlaskPlugin
    from flask_preconditions.openapi import PreconditionsPlugin

    spec = APISpec(
        "Notes", "1.0", "3.1.0", plugins=[FlaskPlugin(), PreconditionsPlugin(app)]
    )
    with app.test_request_context():
        spec.path(view=note)

Each documented operation of a protected view gains its precondition request
headers, the ``ETag`` response header, and the 304, 412 and 428 responses with
an RFC 9457 problem details schema.

.. versionadded:: 0.1
"""

from __future__ import annotations

import typing as t

from apispec import APISpec
from apispec import BasePlugin
from apispec.exceptions import APISpecError
from flask import current_app
from flask import Flask

from .audit import Protection
from .audit import protection_of
from .conditions import NEW_VALIDATOR_METHODS
from .conditions import SAFE_METHODS
from .problems import PROBLEM_MEDIA_TYPE
from .state import get_state

#: Names of the components the plugin registers.
PROBLEM_SCHEMA = "ProblemDetails"
ETAG_HEADER = "ETag"
LAST_MODIFIED_HEADER = "LastModified"
IF_MATCH = "IfMatch"
IF_NONE_MATCH = "IfNoneMatch"
IF_MODIFIED_SINCE = "IfModifiedSince"
IF_UNMODIFIED_SINCE = "IfUnmodifiedSince"
NOT_MODIFIED = "NotModified"
PRECONDITION_FAILED = "PreconditionFailed"
PRECONDITION_REQUIRED = "PreconditionRequired"

_PROBLEM_SCHEMA: dict[str, t.Any] = {
    "type": "object",
    "description": "Problem details (RFC 9457).",
    "properties": {
        "type": {
            "type": "string",
            "format": "uri-reference",
            "description": "A URI that identifies the problem type.",
        },
        "title": {"type": "string", "description": "A short summary."},
        "status": {"type": "integer", "description": "The HTTP status code."},
        "detail": {
            "type": "string",
            "description": "What went wrong and what to send next.",
        },
        "instance": {
            "type": "string",
            "format": "uri-reference",
            "description": "The path of the request.",
        },
    },
    "required": ["type", "title", "status"],
}


def _header_parameter(name: str, description: str) -> dict[str, t.Any]:
    return {
        "name": name,
        "required": False,
        "description": description,
        "schema": {"type": "string"},
    }


def _problem_response(description: str) -> dict[str, t.Any]:
    return {
        "description": description,
        "content": {PROBLEM_MEDIA_TYPE: {"schema": PROBLEM_SCHEMA}},
    }


class PreconditionsPlugin(BasePlugin):
    """Document the preconditions of protected views in an OpenAPI 3 spec.

    :param app: the application whose views are documented. When ``None``,
        the ``app`` argument of :meth:`apispec.APISpec.path` or the current
        application is used.

    Operations are classified as ``flask preconditions routes`` does; those
    that are ``version`` or ``body-hash`` protected are documented:

    - GET and HEAD: the ``If-None-Match`` (and, with a last-modified function,
      ``If-Modified-Since``) parameters, the ``ETag`` header of 2xx responses
      and the 304 response, with the headers declared by
      ``pre.etag(..., headers=...)`` on both.
    - Writes: ``If-Match`` (and ``If-Unmodified-Since`` with a last-modified
      function), ``If-None-Match`` for PUT (``*`` creates), the 412 response,
      the 428 response for methods in ``PRECONDITIONS_REQUIRED_METHODS``, and
      the new ``ETag`` of 2xx responses to version-protected PUT and PATCH.

    It registers the components ``ProblemDetails`` (schema), ``ETag`` and
    ``LastModified`` (headers), ``IfMatch``, ``IfNoneMatch``,
    ``IfModifiedSince`` and ``IfUnmodifiedSince`` (parameters), and
    ``NotModified``, ``PreconditionFailed`` and ``PreconditionRequired``
    (responses).

    .. versionadded:: 0.1
    """

    def __init__(self, app: Flask | None = None) -> None:
        self.app = app

    def init_spec(self, spec: APISpec) -> None:
        """Register the plugin's components on the spec."""
        if spec.openapi_version.major < 3:
            raise APISpecError(
                "PreconditionsPlugin documents OpenAPI 3 specs, not"
                f" {spec.openapi_version}."
            )
        components = spec.components
        components.schema(PROBLEM_SCHEMA, _PROBLEM_SCHEMA)
        components.header(
            ETAG_HEADER,
            {
                "description": "The entity-tag of the representation. Send it"
                " back in If-Match to modify the resource, or in If-None-Match"
                " to revalidate a cached copy.",
                "schema": {"type": "string"},
            },
        )
        components.header(
            LAST_MODIFIED_HEADER,
            {
                "description": "When the resource last changed (an HTTP-date).",
                "schema": {"type": "string"},
            },
        )
        components.parameter(
            IF_MATCH,
            "header",
            _header_parameter(
                "If-Match",
                "The ETag of the representation this request modifies. Required"
                " in practice: without it (or If-Unmodified-Since) the request"
                " is refused with 428; with a stale one, with 412.",
            ),
        )
        components.parameter(
            IF_NONE_MATCH,
            "header",
            _header_parameter(
                "If-None-Match",
                "On GET and HEAD: ETags of cached copies; 304 if one is current."
                " On PUT: '*' to create the resource only if it does not exist.",
            ),
        )
        components.parameter(
            IF_MODIFIED_SINCE,
            "header",
            _header_parameter(
                "If-Modified-Since",
                "An HTTP-date; 304 if the resource has not changed since.",
            ),
        )
        components.parameter(
            IF_UNMODIFIED_SINCE,
            "header",
            _header_parameter(
                "If-Unmodified-Since",
                "An HTTP-date; 412 if the resource has changed since.",
            ),
        )
        components.response(
            NOT_MODIFIED,
            {
                "description": "Not Modified: the client's copy is current.",
                "headers": {"ETag": ETAG_HEADER},
            },
        )
        components.response(
            PRECONDITION_FAILED,
            _problem_response(
                "Precondition Failed: the resource changed since the client"
                " read it, and nothing was written."
            ),
        )
        components.response(
            PRECONDITION_REQUIRED,
            _problem_response(
                "Precondition Required: send If-Match with the ETag of the"
                " representation being modified."
            ),
        )

    def operation_helper(
        self,
        path: str | None = None,
        operations: dict[str, t.Any] | None = None,
        **kwargs: t.Any,
    ) -> None:
        """Add precondition headers and responses to a view's operations.

        Does nothing unless the path was given a ``view``, as
        apispec-webframeworks' ``FlaskPlugin`` takes.
        """
        view = kwargs.get("view")
        if view is None or not operations:
            return
        app: Flask = kwargs.get("app") or self.app or current_app
        endpoint = _endpoint_of(app, view)
        for method, operation in operations.items():
            if method.startswith("x-") or not isinstance(operation, dict):
                continue
            upper = method.upper()
            row = protection_of(app, endpoint, upper)
            if not row.conditional:
                continue
            resource = get_state(app).route(app, endpoint, upper).spec
            has_dates = resource is not None and resource.last_modified is not None
            if upper in SAFE_METHODS:
                declared = resource.headers if resource is not None else ()
                _document_read(operation, has_dates, declared)
            else:
                _document_write(
                    operation,
                    upper,
                    has_dates,
                    required=upper in get_state(app).settings.required_methods,
                    new_etag=row.protection is Protection.VERSION
                    and upper in NEW_VALIDATOR_METHODS,
                )


def _endpoint_of(app: Flask, view: t.Callable[..., t.Any]) -> str:
    for endpoint, view_function in app.view_functions.items():
        # == rather than is: app-wide mode's wrapper equals the view it wraps.
        if view_function == view:
            return endpoint
    raise APISpecError(f"The view {view!r} is not registered on {app.name!r}.")


def _add_parameters(operation: dict[str, t.Any], *components: str) -> None:
    parameters = operation.setdefault("parameters", [])
    for component in components:
        if component not in parameters:
            parameters.append(component)


def _add_etag_headers(operation: dict[str, t.Any], has_dates: bool) -> None:
    for code, response in operation.get("responses", {}).items():
        if str(code).startswith("2") and isinstance(response, dict):
            headers = response.setdefault("headers", {})
            headers.setdefault("ETag", ETAG_HEADER)
            if has_dates:
                headers.setdefault("Last-Modified", LAST_MODIFIED_HEADER)


def _document_read(
    operation: dict[str, t.Any],
    has_dates: bool,
    declared: tuple[tuple[str, str], ...] = (),
) -> None:
    _add_parameters(operation, IF_NONE_MATCH)
    if has_dates:
        _add_parameters(operation, IF_MODIFIED_SINCE)
    _add_etag_headers(operation, has_dates)
    responses = operation.setdefault("responses", {})
    if not declared:
        responses.setdefault("304", NOT_MODIFIED)
        return
    # Headers declared with pre.etag(headers=...) are on the 2xx and on the
    # 304, so this operation's 304 is its own rather than the shared one.
    documented = {
        name: {"description": f"Sent as {value!r}.", "schema": {"type": "string"}}
        for name, value in declared
    }
    for code, response in responses.items():
        if str(code).startswith("2") and isinstance(response, dict):
            for name, header in documented.items():
                response.setdefault("headers", {}).setdefault(name, header)
    not_modified_headers: dict[str, t.Any] = {"ETag": ETAG_HEADER}
    if has_dates:
        not_modified_headers["Last-Modified"] = LAST_MODIFIED_HEADER
    responses.setdefault(
        "304",
        {
            "description": "Not Modified: the client's copy is current.",
            "headers": {**not_modified_headers, **documented},
        },
    )


def _document_write(
    operation: dict[str, t.Any],
    method: str,
    has_dates: bool,
    *,
    required: bool,
    new_etag: bool,
) -> None:
    _add_parameters(operation, IF_MATCH)
    if has_dates:
        _add_parameters(operation, IF_UNMODIFIED_SINCE)
    if method == "PUT":
        _add_parameters(operation, IF_NONE_MATCH)
    if new_etag:
        _add_etag_headers(operation, has_dates)
    responses = operation.setdefault("responses", {})
    responses.setdefault("412", PRECONDITION_FAILED)
    if required:
        responses.setdefault("428", PRECONDITION_REQUIRED)
