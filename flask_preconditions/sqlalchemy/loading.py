"""Finding the instance a request is checked against: the version and
last-modified functions of mapped models (:func:`versioned`,
:func:`last_modified_of`).
"""

from __future__ import annotations

import typing as t

import sqlalchemy as sa
from flask import current_app
from flask import Flask
from flask import request
from sqlalchemy.orm import Mapper

from ..validation import Misconfigured
from .state import EXTENSION_NAME
from .state import find_session
from .state import SessionSource
from .tracking import key_as_text
from .tracking import listen_for_writes
from .tracking import MISSING
from .tracking import request_tracked_map
from .tracking import Tracked


class _ModelLoader:
    """Loads a model's instance from the view arguments, once per request."""

    def __init__(
        self,
        model: type[t.Any],
        url_arg: str | t.Sequence[str] | None,
        session: SessionSource | None,
        what: str,
    ) -> None:
        try:
            mapper: Mapper[t.Any] = sa.inspect(model)
        except sa.exc.NoInspectionAvailable:
            raise TypeError(
                f"{what}() takes a mapped model class, not {model!r}."
            ) from None
        if not isinstance(mapper, Mapper):
            raise TypeError(f"{what}() takes a mapped model class, not {model!r}.")
        self.model = model
        self.mapper = mapper
        self.url_args = (url_arg,) if isinstance(url_arg, str) else url_arg
        if self.url_args is not None and len(self.url_args) != len(mapper.primary_key):
            raise TypeError(
                f"{what}({model.__name__}) needs one URL argument for each of its"
                f" {len(mapper.primary_key)} primary key columns, not"
                f" {list(self.url_args)!r}."
            )
        #: The primary key's attribute names, in the key's order.
        self.key_names = tuple(
            mapper.get_property_by_column(column).key for column in mapper.primary_key
        )
        self.session = session
        self.what = what
        listen_for_writes(mapper.base_mapper)

    def _ident(self, view_args: dict[str, t.Any]) -> tuple[t.Any, ...]:
        names = self.url_args
        if names is None:
            # URL arguments named as the key's attributes, in the key's order
            # (not the URL's); a lone argument for a one-column key.
            if all(name in view_args for name in self.key_names):
                return tuple(view_args[name] for name in self.key_names)
            if len(self.key_names) != 1 or len(view_args) != 1:
                raise TypeError(
                    f"{self.what}({self.model.__name__}) on endpoint"
                    f" {request.endpoint!r} cannot tell which URL arguments hold"
                    f" the primary key {list(self.key_names)!r} among"
                    f" {sorted(view_args)!r}: pass url_arg=."
                )
            return tuple(view_args.values())
        try:
            return tuple(view_args[name] for name in names)
        except KeyError as e:
            raise TypeError(
                f"{self.what}({self.model.__name__}) on endpoint"
                f" {request.endpoint!r} expects the URL argument {e.args[0]!r};"
                f" the route has {sorted(view_args)!r}."
            ) from None

    def check_configuration(
        self, app: Flask, endpoint: str, arguments: t.AbstractSet[str]
    ) -> None:
        """Raise :exc:`Misconfigured` if loading cannot work on the endpoint."""
        name = f"{self.what}({self.model.__name__}) on endpoint {endpoint!r}"
        if EXTENSION_NAME not in app.extensions:
            raise Misconfigured(
                f"{name} needs SQLAlchemyPreconditions(app) (or its init_app),"
                " so that a write that loses a race is answered with 412, not"
                " 500."
            )
        names = self.url_args
        if names is not None:
            missing = [n for n in names if n not in arguments]
            if missing:
                raise Misconfigured(
                    f"{name} expects the URL arguments {missing!r}; its URL rules"
                    f" have {sorted(arguments)!r}. Fix url_arg=."
                )
        elif not set(self.key_names) <= arguments and not (
            len(self.key_names) == 1 and len(arguments) == 1
        ):
            raise Misconfigured(
                f"{name} cannot tell which URL arguments hold the primary key"
                f" {list(self.key_names)!r} among {sorted(arguments)!r}: pass"
                " url_arg=."
            )

    def load(self, view_args: dict[str, t.Any]) -> Tracked:
        if EXTENSION_NAME not in current_app.extensions:
            raise RuntimeError(
                f"{self.what}({self.model.__name__}) needs"
                " SQLAlchemyPreconditions(app) (or its init_app), so that a"
                " write that loses a race is answered with 412, not 500."
            )
        ident = self._ident(view_args)
        tracked_map = request_tracked_map()
        key = (self.mapper.base_mapper, key_as_text(self.mapper, ident))
        tracked = tracked_map.get(key)
        if tracked is None:
            primary_key = ident[0] if len(ident) == 1 else ident
            instance = find_session(self.session).get(self.model, primary_key)
            tracked = Tracked(instance, {})
            tracked_map[key] = tracked
        return tracked


def _value(tracked: Tracked, attr: str) -> t.Any:
    if tracked.instance is None:
        return None
    value = tracked.values.get(attr, MISSING)
    if value is MISSING:
        value = getattr(tracked.instance, attr)
        tracked.values[attr] = value
    return value


class VersionFunction:
    """The version function :func:`versioned` returns, for :meth:`Preconditions.etag`.

    Called with a view's URL arguments, it returns the version of the instance
    they name, or ``None`` when there is none.

    .. versionadded:: 0.1
    """

    def __init__(
        self,
        model: type[t.Any],
        *,
        url_arg: str | t.Sequence[str] | None = None,
        session: SessionSource | None = None,
    ) -> None:
        self._loader = _ModelLoader(model, url_arg, session, "versioned")
        column = self._loader.mapper.version_id_col
        if column is None:
            raise TypeError(
                f"versioned({model.__name__}): the model has no version column."
                ' Add __mapper_args__ = {"version_id_col": version} to it, so'
                " that its UPDATEs are conditional on the version that was"
                " checked."
            )
        #: The name of the version attribute on the model.
        self.attribute = self._loader.mapper.get_property_by_column(column).key
        self.__name__ = f"version_of_{model.__name__}"
        self.__qualname__ = self.__name__

    @property
    def model(self) -> type[t.Any]:
        """The model class."""
        return self._loader.model

    def __call__(self, **view_args: t.Any) -> t.Any:
        return _value(self._loader.load(view_args), self.attribute)

    def check_configuration(
        self, app: Flask, endpoint: str, arguments: t.AbstractSet[str]
    ) -> None:
        """Raise :exc:`~flask_preconditions.validation.Misconfigured` when the
        endpoint cannot use it: no :class:`SQLAlchemyPreconditions` on the
        application, or URL arguments that do not name the primary key."""
        self._loader.check_configuration(app, endpoint, arguments)

    def __repr__(self) -> str:
        return f"versioned({self.model.__name__})"


def versioned(
    model: type[t.Any],
    *,
    url_arg: str | t.Sequence[str] | None = None,
    session: SessionSource | None = None,
) -> VersionFunction:
    """The version function of a model with a ``version_id_col``.

    ::

        class Note(db.Model):
            id: Mapped[int] = mapped_column(primary_key=True)
            text: Mapped[str]
            version: Mapped[str] = mapped_column(String(32), nullable=False)
            __mapper_args__ = {
                "version_id_col": version,
                # A new random version per write: a note deleted and created
                # again never repeats an old ETag (an integer counter would).
                "version_id_generator": lambda version: uuid.uuid4().hex,
            }

        @app.route("/notes/<int:note_id>", methods=["GET", "PUT", "DELETE"])
        @pre.etag(versioned(Note))
        def note(note_id):
            note = db.session.get(Note, note_id)  # the checked instance
            ...
            db.session.commit()

    The instance is loaded with ``session.get()`` by its primary key, taken
    from the URL arguments, once per request. The view's own
    ``session.get()`` returns that same instance from the session's identity
    map, without a query, and SQLAlchemy makes its ``UPDATE`` and ``DELETE``
    conditional on the version the request was checked against: if another
    request changed the row in between, no row matches,
    :exc:`~sqlalchemy.orm.exc.StaleDataError` is raised and
    :class:`SQLAlchemyPreconditions` answers 412. Nothing is lost.

    If the version the flush would check is no longer the version the request
    was checked against (the view refreshed the instance, or loaded it in
    another session), the flush raises :exc:`~sqlalchemy.orm.exc.StaleDataError`
    too. After the write, the new version is the one this request flushed, not
    one re-read after the commit, so the response's ``ETag`` never names a
    concurrent change the client has not seen.

    :param model: a mapped class with ``version_id_col`` in its mapper
        arguments.
    :param url_arg: the URL argument (or, for a composite key, arguments in
        primary key order) holding the primary key. By default the URL
        arguments named like the primary key's attributes, in any order in
        the URL; for a one-column key, also the route's only argument.
    :param session: the session to load with; by default the one given to
        :class:`SQLAlchemyPreconditions`, else Flask-SQLAlchemy's.
    :raise TypeError: the model is not mapped or has no version column.

    .. versionadded:: 0.1
    """
    return VersionFunction(model, url_arg=url_arg, session=session)


def last_modified_of(
    model: type[t.Any],
    column: str = "updated_at",
    *,
    url_arg: str | t.Sequence[str] | None = None,
    session: SessionSource | None = None,
) -> t.Callable[..., t.Any]:
    """A last-modified function for :meth:`Preconditions.last_modified`.

    ::

        @app.route("/notes/<int:note_id>", methods=["GET", "PUT"])
        @pre.etag(versioned(Note))
        @pre.last_modified(last_modified_of(Note))
        def note(note_id): ...

    It reads the ``column`` attribute of the same instance :func:`versioned`
    loads (one query for both). HTTP dates have a resolution of one second, so
    ``If-Unmodified-Since`` cannot tell apart two writes within the same
    second: clients should write with ``If-Match``. Give the column a
    Python-side ``onupdate`` so that the value after a write is known without
    reading it back; a server-side default is read again after the commit.

    :param model: a mapped class.
    :param column: the attribute holding the last modification date.
    :param url_arg: as for :func:`versioned`.
    :param session: as for :func:`versioned`.
    :raise TypeError: the model is not mapped or has no such attribute.

    .. versionadded:: 0.1
    """
    loader = _ModelLoader(model, url_arg, session, "last_modified_of")
    if column not in loader.mapper.attrs:
        raise TypeError(
            f"last_modified_of({model.__name__}): the model has no attribute"
            f" {column!r}; pass column= with the name of its modification date."
        )

    def last_modified(**view_args: t.Any) -> t.Any:
        return _value(loader.load(view_args), column)

    last_modified.check_configuration = loader.check_configuration  # type: ignore[attr-defined]
    last_modified.__name__ = f"last_modified_of_{model.__name__}"
    last_modified.__qualname__ = last_modified.__name__
    return last_modified
