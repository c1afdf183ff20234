"""Reading requests and writing responses: the WSGI side of the checks.

Cheap lookups of the precondition headers in a WSGI environ, validators on
responses, and turning a 200 into its 304 in place.
"""

from __future__ import annotations

import datetime as dt
import typing as t

from flask import Flask
from flask.wrappers import Request
from flask.wrappers import Response
from werkzeug.datastructures import Headers
from werkzeug.http import unquote_etag
from werkzeug.wrappers import Response as WerkzeugResponse

from .conditions import clamp_last_modified
from .conditions import CONTENT_METADATA
from .conditions import kept_on_not_modified
from .conditions import Validators
from .headers import parse_http_date
from .state import get_state

if t.TYPE_CHECKING:
    from _typeshed.wsgi import WSGIEnvironment

_ENVIRON_KEYS = {
    "If-Match": "HTTP_IF_MATCH",
    "If-None-Match": "HTTP_IF_NONE_MATCH",
    "If-Modified-Since": "HTTP_IF_MODIFIED_SINCE",
    "If-Unmodified-Since": "HTTP_IF_UNMODIFIED_SINCE",
}


class EnvironHeaders:
    """The precondition headers of a WSGI environ, by their canonical names.

    Werkzeug's ``EnvironHeaders`` raises and catches a ``KeyError`` for every
    absent header; most requests carry none of these four.
    """

    __slots__ = ("environ",)

    def __init__(self, environ: WSGIEnvironment) -> None:
        self.environ = environ

    def get(self, key: str, /) -> str | None:
        value: str | None = self.environ.get(_ENVIRON_KEYS[key])
        return value


def has_preconditions(environ: WSGIEnvironment) -> bool:
    """Whether a request carries any of the four precondition headers."""
    return (
        "HTTP_IF_MATCH" in environ
        or "HTTP_IF_NONE_MATCH" in environ
        or "HTTP_IF_MODIFIED_SINCE" in environ
        or "HTTP_IF_UNMODIFIED_SINCE" in environ
    )


def only_if_none_match(environ: WSGIEnvironment) -> str | None:
    """The request's ``If-None-Match`` when it is the only precondition header
    it carries, else ``None``."""
    value: str | None = environ.get("HTTP_IF_NONE_MATCH")
    if value is None or (
        "HTTP_IF_MATCH" in environ
        or "HTTP_IF_MODIFIED_SINCE" in environ
        or "HTTP_IF_UNMODIFIED_SINCE" in environ
    ):
        return None
    return value


def only_if_match(environ: WSGIEnvironment) -> str | None:
    """The request's ``If-Match`` when it is the only precondition header
    it carries, else ``None``."""
    value: str | None = environ.get("HTTP_IF_MATCH")
    if value is None or (
        "HTTP_IF_NONE_MATCH" in environ
        or "HTTP_IF_MODIFIED_SINCE" in environ
        or "HTTP_IF_UNMODIFIED_SINCE" in environ
    ):
        return None
    return value


def header_flags(headers: Headers) -> tuple[bool, bool, bool]:
    """Whether ``headers`` have an ``ETag``, a ``Cache-Control`` and a
    ``Content-Encoding``, found in one pass."""
    etag = cache_control = content_encoding = False
    for name, _ in headers:
        lower = name.lower()
        if lower == "etag":
            etag = True
        elif lower == "cache-control":
            cache_control = True
        elif lower == "content-encoding":
            content_encoding = True
    return etag, cache_control, content_encoding


def header_value(headers: Headers, name: str) -> str | None:
    """The first value of a header, or ``None``."""
    # Headers.get raises and catches a KeyError for an absent header; getlist
    # does not, and these headers are usually absent.
    values = headers.getlist(name)
    return values[0] if values else None


def add_headers(response: Response, headers: tuple[tuple[str, str], ...]) -> None:
    """Add declared headers that the response does not have yet."""
    for name, value in headers:
        if header_value(response.headers, name) is None:
            response.headers[name] = value


def set_validators(response: Response, current: Validators | None) -> None:
    """Give a response the validators of the resource."""
    if current is None:
        return
    if current.etag is not None:
        response.set_etag(current.etag, current.weak)
    if current.last_modified is not None:
        response.last_modified = clamp_last_modified(
            current.last_modified, dt.datetime.now(dt.timezone.utc)
        )


def response_validators(response: Response) -> Validators:
    """The validators a response carries (its ETag and Last-Modified)."""
    etag, weak = unquote_etag(header_value(response.headers, "ETag"))
    return Validators(etag, bool(weak), response_last_modified(response))


def response_last_modified(response: Response) -> dt.datetime | None:
    """The date of a response's ``Last-Modified``, or ``None``."""
    value = header_value(response.headers, "Last-Modified")
    return None if value is None else parse_http_date(value)


def not_modified(response: Response) -> Response:
    """Turn a 200 into its 304 in place, as Werkzeug's ``make_conditional`` does.

    Building a new response costs more than the rest of the 304 together. The
    content metadata it must not carry is left out when it is sent
    (:func:`not_modified_class`), so that the response keeps its headers for
    the ``after_request`` hooks that still run.
    """
    response.close()
    response.response = []
    response.status_code = 304
    response.__class__ = not_modified_class(type(response))
    return response


_not_modified_classes: dict[type[Response], type[Response]] = {}


def not_modified_class(base: type[Response]) -> type[Response]:
    """A subclass of the app's response class whose 304s carry every header but
    content metadata (:func:`~flask_preconditions.conditions.kept_on_not_modified`).

    Werkzeug drops Last-Modified from every 304 with the other entity headers,
    but a cache that holds a representation validated only by its date needs
    it to select and freshen that representation (RFC 9110 §15.4.5, RFC 9111
    §4.3.4); and it keeps some content metadata (``Content-Disposition``).
    """
    try:
        return _not_modified_classes[base]
    except KeyError:
        pass

    # An app's response class that adds headers as they are sent keeps
    # Werkzeug's way, with what it adds.
    own_way = base.get_wsgi_headers is not WerkzeugResponse.get_wsgi_headers

    def get_wsgi_headers(self: Response, environ: WSGIEnvironment) -> Headers:
        if self.status_code != 304:
            return base.get_wsgi_headers(self, environ)
        if own_way:
            return _kept_from(base.get_wsgi_headers(self, environ), self)
        kept = []
        for key, value in self.headers:
            lower = key.lower()
            if lower in _REWRITTEN:
                # Werkzeug rewrites these (IRIs to URIs, and an absolute
                # Location where the class asks for one): let it.
                return _kept_from(base.get_wsgi_headers(self, environ), self)
            # kept_on_not_modified, by set membership rather than a call.
            if lower not in CONTENT_METADATA:
                kept.append((key, value))
        # What Werkzeug's own 304 would carry, without its copy of every
        # header and second pass to remove the entity headers, and with
        # Last-Modified, which it removes.
        return Headers(kept)

    cls = _not_modified_classes[base] = t.cast(
        "type[Response]",
        type("NotModified", (base,), {"get_wsgi_headers": get_wsgi_headers}),
    )
    return cls


# Headers whose values Werkzeug rewrites when a response is sent.
_REWRITTEN = frozenset({"location", "content-location"})


def _kept_from(headers: Headers, response: Response) -> Headers:
    """Werkzeug's 304 headers, less what a 304 must not carry, with
    Last-Modified put back."""
    for name in [key for key, _ in headers if not kept_on_not_modified(key)]:
        del headers[name]
    last_modified = response.headers.getlist("Last-Modified")
    if last_modified and not headers.getlist("Last-Modified"):
        headers.add("Last-Modified", last_modified[0])
    return headers


def revalidate(
    app: Flask,
    req: Request,
    response: Response,
    has_cache_control: bool | None = None,
) -> Response:
    """Give a GET or HEAD response of a writable resource ``Cache-Control``.

    A cache that serves a stored response without asking the server hands
    clients entity-tags that a write has made stale, and their writes meet
    412 in a loop: ``no-cache`` (``PRECONDITIONS_CACHE_CONTROL``) makes caches
    revalidate first. Only where the response has no ``Cache-Control`` of its
    own, and only for resources whose writes the extension checks.
    """
    endpoint = req.endpoint
    if endpoint is None:
        return response
    value = get_state(app).cache_control_of(app, endpoint)
    if value is None:
        return response
    if has_cache_control is None:
        has_cache_control = bool(response.headers.getlist("Cache-Control"))
    if not has_cache_control:
        response.headers.add("Cache-Control", value)
    return response
