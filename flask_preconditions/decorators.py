"""The view decorators behind ``pre.etag``, ``pre.last_modified`` and ``pre.exempt``.

Each attaches a :class:`~flask_preconditions.views.ResourceSpec` to the view
and wraps it, sync or async, in the checks of :mod:`flask_preconditions.checks`.
"""

from __future__ import annotations

import contextlib
import functools
import inspect
import typing as t

from flask import current_app
from flask import Flask
from flask.wrappers import Request
from flask.wrappers import Response

from .checks import after_view
from .checks import authorize
from .checks import before_view
from .checks import plain_body_read
from .checks import plain_read
from .checks import plain_write
from .compat import current
from .conditions import SAFE_METHODS
from .conditions import Validators
from .locking import lock_write
from .locking import needs_lock
from .state import get_state
from .views import AUTHORIZE_ATTRIBUTE
from .views import DECORATED_BY_ATTRIBUTE
from .views import ResourceSpec
from .views import SPEC_ATTRIBUTE

P = t.ParamSpec("P")
R_co = t.TypeVar("R_co", covariant=True)
F = t.TypeVar("F", bound=t.Callable[..., t.Any])


class ETagDecorator(t.Protocol[P, R_co]):
    """What ``pre.etag(func)`` returns: a view, or a decorator of views.

    Used on a view, ``@pre.etag`` gives it body-hash entity-tags; given a
    version function, ``@pre.etag(func)`` decorates the view below it.

    .. versionadded:: 0.1
    """

    @t.overload
    def __call__(self, view: F, /) -> F: ...

    @t.overload
    def __call__(self, *args: P.args, **kwargs: P.kwargs) -> R_co: ...

    def __call__(self, *args: t.Any, **kwargs: t.Any) -> t.Any: ...


def lazy_etag(func: t.Callable[..., t.Any]) -> t.Callable[..., t.Any]:
    """``pre.etag(func)``: ``func`` is a view, or a version function.

    Flask calls views with keyword arguments only, so a call with a single
    positional callable is the decorator use: ``func`` was a version function.
    """
    if not inspect.iscoroutinefunction(func):
        # The wrapper tells the two uses apart itself: one call less a request.
        return decorate(func, version=None, weak=False, body=True, lazy=True)
    # An async view, or an async version function: told apart at the first
    # call, as above.
    view = decorate(func, version=None, weak=False, body=True)

    @functools.wraps(view)
    def view_or_decorator(*args: t.Any, **kwargs: t.Any) -> t.Any:
        if len(args) == 1 and not kwargs and callable(args[0]):
            return decorate(args[0], version=func, weak=False, body=False)
        return current_app.ensure_sync(view)(*args, **kwargs)

    setattr(view_or_decorator, SPEC_ATTRIBUTE, getattr(view, SPEC_ATTRIBUTE))
    return view_or_decorator


def decorate_last_modified(view: F, *, func: t.Callable[..., t.Any]) -> F:
    spec = getattr(view, SPEC_ATTRIBUTE, None)
    if spec is not None:
        spec.last_modified = func
        return view
    decorated = decorate(view, version=None, weak=False, body=False)
    getattr(decorated, SPEC_ATTRIBUTE).last_modified = func
    return decorated


def header_items(
    headers: t.Mapping[str, str] | None,
) -> tuple[tuple[str, str], ...]:
    if headers is None:
        return ()
    items = tuple(dict(headers).items())
    for name, value in items:
        if not isinstance(name, str) or not isinstance(value, str):
            raise TypeError(
                f"etag(headers=...) takes names and values that are strings, not"
                f" {name!r}: {value!r}."
            )
    return items


def decorate(
    view: F,
    *,
    version: t.Callable[..., t.Any] | None,
    weak: bool,
    body: bool,
    headers: tuple[tuple[str, str], ...] = (),
    atomic: bool = False,
    lazy: bool = False,
) -> F:
    """Attach a spec to ``view`` and wrap it in the checks.

    :param lazy: ``view`` may be a version function instead, to be told
        apart at the first call (:func:`lazy_etag`).
    """
    if not callable(view):
        raise TypeError(f"Only views can be decorated, not {type(view).__name__!r}.")
    spec: ResourceSpec | None = getattr(view, SPEC_ATTRIBUTE, None)
    if spec is not None:
        # Stacked with last_modified(): one spec, one check.
        if version is not None:
            spec.version = version
            spec.body = False
        spec.weak = weak
        if headers:
            spec.headers = headers
        spec.atomic = spec.atomic or atomic
        return view
    spec = ResourceSpec(
        version=version,
        weak=weak,
        body=body,
        headers=headers,
        atomic=atomic,
        authorize=getattr(view, AUTHORIZE_ATTRIBUTE, None),
    )

    if inspect.iscoroutinefunction(view):

        @functools.wraps(view)
        async def async_wrapper(*args: t.Any, **kwargs: t.Any) -> t.Any:
            # Validator functions and the internal GET go through Flask's
            # ensure_sync, which cannot run inside this event loop: run them
            # in the request's thread. Async views need asgiref anyway.
            from asgiref.sync import sync_to_async

            app, req = current()
            early, validators = await sync_to_async(_lock_and_check)(spec, app, req)
            if early is not None:
                return early
            rv = await view(*args, **kwargs)
            return await sync_to_async(after_view)(spec, app, req, rv, validators)

        wrapper: t.Any = async_wrapper
    else:

        @functools.wraps(view)
        def sync_wrapper(*args: t.Any, **kwargs: t.Any) -> t.Any:
            if lazy and len(args) == 1 and not kwargs and callable(args[0]):
                # pre.etag(version_function)(view): Flask passes views
                # keyword arguments only.
                return decorate(args[0], version=view, weak=False, body=False)
            # The proxies are resolved once: each lookup costs a context
            # variable read, and the checks below need them many times.
            app, req = current()
            # The reads and writes most requests are, on paths of their own.
            if req.method in SAFE_METHODS:
                if spec.version_only:
                    response = plain_read(spec, app, req, view, args, kwargs)
                    if response is not None:
                        return response
                elif spec.body_hash_only:
                    return plain_body_read(spec, app, req, view, args, kwargs)
            elif spec.version_only:
                response = plain_write(spec, app, req, view, args, kwargs)
                if response is not None:
                    return response
            early, validators = _lock_and_check(spec, app, req)
            if early is not None:
                return early
            return after_view(spec, app, req, view(*args, **kwargs), validators)

        wrapper = sync_wrapper

    setattr(wrapper, SPEC_ATTRIBUTE, spec)
    # A callable that takes no attributes cannot be told apart; it is rare.
    with contextlib.suppress(AttributeError):
        setattr(view, DECORATED_BY_ATTRIBUTE, wrapper)
    return t.cast(F, wrapper)


def _lock_and_check(
    spec: ResourceSpec, app: Flask, req: Request
) -> tuple[Response | None, Validators | None]:
    authorize(spec, app, req)
    settings = get_state(app).settings
    if not spec.compare_and_swap and needs_lock(settings, req):
        lock_write(settings, app, req)
    return before_view(spec, app, req)
