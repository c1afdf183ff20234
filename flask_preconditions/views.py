"""What a view declares, and the one classification of a route built on it.

The request hooks, the route audit and the OpenAPI plugin all ask
:func:`classify` how a method of an endpoint is handled, so what the audit
reports is what a request gets.
"""

from __future__ import annotations

import dataclasses
import enum
import typing as t

#: The attribute of a decorated view that holds its :class:`ResourceSpec`.
SPEC_ATTRIBUTE = "__preconditions__"
#: The attribute of a view (or ``MethodView`` class or method) left out of
#: app-wide and blueprint protection.
EXEMPT_ATTRIBUTE = "__preconditions_exempt__"
#: The attribute a precondition decorator sets on the function it wraps: seen
#: on a registered view, it means the decorator was applied above the route.
DECORATED_BY_ATTRIBUTE = "__preconditions_decorated_by__"
#: The attribute of a view that holds its authorisation function.
AUTHORIZE_ATTRIBUTE = "__preconditions_authorize__"
#: The attribute of a view that holds its resource-key function.
RESOURCE_KEY_ATTRIBUTE = "__preconditions_resource_key__"


@dataclasses.dataclass
class ResourceSpec:
    """How a decorated view finds its resource's validators.

    Attached to the view by :meth:`Preconditions.etag` and
    :meth:`Preconditions.last_modified`; read by the route audit.

    .. versionadded:: 0.1
    """

    #: Called with the view arguments; returns the current version or ``None``.
    version: t.Callable[..., t.Any] | None = None
    #: Whether entity-tags derived from the version are weak.
    weak: bool = False
    #: Called with the view arguments; returns the last modification date.
    last_modified: t.Callable[..., t.Any] | None = None
    #: Whether the entity-tag is computed from the GET response body.
    body: bool = False
    #: Representation headers that GET, HEAD and early 304 responses carry.
    headers: tuple[tuple[str, str], ...] = ()
    #: Whether the view's write is itself a compare-and-swap on the checked
    #: version (``atomic=True``, or a version function that says so), so that
    #: it needs no write lock.
    atomic: bool = False
    #: Called with the view arguments before anything is decided, to refuse
    #: (by raising, e.g. ``abort(404)``) a client that may not see the
    #: resource, so that 304, 412 and 428 reveal nothing to it.
    authorize: t.Callable[..., t.Any] | None = None

    @property
    def uses_functions(self) -> bool:
        """Whether validators come from functions, without running the view."""
        return not self.body and (
            self.version is not None or self.last_modified is not None
        )

    @property
    def version_only(self) -> bool:
        """Whether the version function alone gives the validators: no date
        function, no body hash, no authorisation to run first. Reads of such
        a sync view, and writes whose one precondition is ``If-Match``, go on
        paths of their own.

        .. versionadded:: 0.2
        """
        return (
            self.version is not None
            and self.last_modified is None
            and self.authorize is None
            and not self.body
        )

    @property
    def body_hash_only(self) -> bool:
        """Whether a read needs only the body hash: no date function, no
        authorisation to run first.

        .. versionadded:: 0.2
        """
        return self.body and self.last_modified is None and self.authorize is None

    @property
    def compare_and_swap(self) -> bool:
        """Whether writes are atomic without a lock.

        .. versionadded:: 0.2
        """
        return self.atomic or bool(
            getattr(self.version, "compare_and_swap", False) and self.uses_functions
        )


class Mode(enum.Enum):
    """How requests with one method to one endpoint are handled.

    .. versionadded:: 0.2
    """

    #: Left out with :meth:`~flask_preconditions.Preconditions.exempt`.
    EXEMPT = "exempt"
    #: The view's own decorator checks it, with the view's :class:`ResourceSpec`.
    DECORATED = "decorated"
    #: App-wide mode or a protected blueprint checks it: entity-tags from GET
    #: bodies, writes checked against a GET of the same URL.
    HOOKS = "hooks"
    #: Nothing checks it.
    UNCOVERED = "uncovered"


class Route(t.NamedTuple):
    """The classification of one method of one endpoint.

    .. versionadded:: 0.2
    """

    mode: Mode
    #: The view's spec when :attr:`mode` is :attr:`Mode.DECORATED`.
    spec: ResourceSpec | None = None
    #: The function that refuses clients who may not see the resource, called
    #: before anything is decided (:meth:`Preconditions.authorize`).
    authorize: t.Callable[..., t.Any] | None = None


_EXEMPT = Route(Mode.EXEMPT)
_HOOKS = Route(Mode.HOOKS)
_UNCOVERED = Route(Mode.UNCOVERED)


def _declared(view: t.Any, method: str) -> Route | None:
    if getattr(view, EXEMPT_ATTRIBUTE, False):
        return _EXEMPT
    spec = getattr(view, SPEC_ATTRIBUTE, None)
    if spec is not None:
        return Route(Mode.DECORATED, t.cast(ResourceSpec, spec))
    view_class = getattr(view, "view_class", None)
    if view_class is None:
        return None
    # A MethodView whose methods are decorated one by one; HEAD is answered by
    # its get() when it has no head().
    meth = getattr(view_class, method.lower(), None)
    if meth is None and method == "HEAD":
        meth = getattr(view_class, "get", None)
    if meth is None:
        return None
    if getattr(view_class, EXEMPT_ATTRIBUTE, False) or getattr(
        meth, EXEMPT_ATTRIBUTE, False
    ):
        return _EXEMPT
    spec = getattr(meth, SPEC_ATTRIBUTE, None)
    if spec is not None:
        return Route(Mode.DECORATED, t.cast(ResourceSpec, spec))
    return None


def classify(
    view: t.Callable[..., t.Any] | None, method: str, *, hooks_cover: bool
) -> Route:
    """How requests with ``method`` to ``view`` are handled.

    :param view: the endpoint's view function, or ``None`` for an unrouted
        request.
    :param method: the request method, upper case.
    :param hooks_cover: whether app-wide mode or a protected blueprint covers
        the endpoint.

    .. versionadded:: 0.2
    """
    if view is None:
        return _EXEMPT
    route = _declared(view, method)
    if route is None:
        route = _HOOKS if hooks_cover else _UNCOVERED
    authorize = getattr(view, AUTHORIZE_ATTRIBUTE, None)
    if route.spec is not None and route.spec.authorize is not None:
        authorize = route.spec.authorize
    if authorize is not None and route.mode is not Mode.EXEMPT:
        route = route._replace(authorize=authorize)
    return route
