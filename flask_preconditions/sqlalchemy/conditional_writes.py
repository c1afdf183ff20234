"""Compare-and-swap for Core tables and bulk statements: an ``UPDATE`` or
``DELETE`` conditional on the version the request was checked against
(:func:`conditional_update`, :func:`conditional_delete`).
"""

from __future__ import annotations

import typing as t

import sqlalchemy as sa
from flask import has_request_context
from sqlalchemy.orm import Mapper
from sqlalchemy.orm import scoped_session
from sqlalchemy.orm import Session

from ..problems import PreconditionFailed
from ..problems import RETRY_ADVICE
from ..versions import expected_version
from ..versions import set_new_version

Executor = Session | sa.Connection | scoped_session[t.Any]
TableLike = sa.Table | type[t.Any]

_MISSING: t.Any = object()


def _table_and_version(
    table: TableLike, version_column: str | None
) -> tuple[t.Any, sa.ColumnElement[t.Any]]:
    columns: t.Any
    if isinstance(table, sa.Table):
        target: t.Any = table
        columns = table.c
        default_version = None
    else:
        try:
            mapper: Mapper[t.Any] = sa.inspect(table)
        except sa.exc.NoInspectionAvailable:
            raise TypeError(
                f"Expected a Table or a mapped model class, not {table!r}."
            ) from None
        target = table
        columns = mapper.local_table.c
        version_col = mapper.version_id_col
        default_version = None if version_col is None else t.cast(str, version_col.key)
    name = version_column or default_version or "version"
    if name not in columns:
        raise TypeError(f"{table!r} has no version column {name!r}.")
    return target, columns[name]


def _where(
    table: TableLike, key: t.Mapping[str, t.Any]
) -> list[sa.ColumnElement[bool]]:
    columns = (
        table.c if isinstance(table, sa.Table) else sa.inspect(table).local_table.c
    )
    if not key:
        raise TypeError("The key must name at least one column.")
    try:
        return [columns[name] == value for name, value in key.items()]
    except KeyError as e:
        raise TypeError(f"{table!r} has no column {e.args[0]!r}.") from None


def _expected(expected: t.Any) -> t.Any:
    if expected is _MISSING:
        expected = expected_version()
    if expected is None:
        raise RuntimeError(
            "There is no expected version: the request creates the resource"
            " (If-None-Match: *). Insert it instead; a unique key makes a"
            " concurrent creation fail."
        )
    return expected


def _rowcount(result: sa.Result[t.Any]) -> int:
    return t.cast(sa.CursorResult[t.Any], result).rowcount


def conditional_update(
    executor: Executor,
    table: TableLike,
    key: t.Mapping[str, t.Any],
    values: t.Mapping[str, t.Any],
    *,
    version_column: str | None = None,
    expected: t.Any = _MISSING,
    new_version: t.Any = None,
) -> t.Any:
    """Update a row only if it still has the version the request was checked for.

    One ``UPDATE … WHERE <key> AND version = :expected``: the check and the
    write are a single atomic statement, so of two requests checked against the
    same version only one can write. When no row matches, another request
    changed (or deleted) the row after the check, and
    :class:`~flask_preconditions.PreconditionFailed` is raised: 412, nothing
    written.

    ::

        @app.put("/counters/<int:counter_id>")
        @pre.etag(counter_version)
        def put_counter(counter_id):
            conditional_update(
                db.session, counters, {"id": counter_id},
                {"value": request.json["value"]},
            )
            db.session.commit()
            return "", 204

    :param executor: a :class:`~sqlalchemy.orm.Session` or a
        :class:`~sqlalchemy.engine.Connection`; the caller commits.
    :param table: a :class:`~sqlalchemy.schema.Table` or a mapped class.
    :param key: column names and values that identify the row.
    :param values: the columns to write (not the version).
    :param version_column: the version column; by default the model's
        ``version_id_col``, else ``version``.
    :param expected: the version the row must still have; by default
        :func:`~flask_preconditions.expected_version`.
    :param new_version: the version to store; by default ``expected + 1``,
        which needs an integer version. A counter that restarts when the row
        is deleted and inserted again repeats an old ``ETag`` (the ABA rule of
        the concurrency docs): pass a UUID or a sequence value where rows are
        re-created.
    :return: the new version, also given to
        :func:`~flask_preconditions.set_new_version` when called in a request,
        so that the response's ``ETag`` names this write.
    :raise PreconditionFailed: the row no longer has the expected version.

    .. versionadded:: 0.1
    """
    target, version = _table_and_version(table, version_column)
    expected = _expected(expected)
    if new_version is None:
        if type(expected) is not int:
            raise TypeError(
                f"The expected version {expected!r} is not an int: pass"
                " new_version= to say what the new version is."
            )
        new_version = expected + 1
    statement = (
        sa.update(target)
        .where(*_where(table, key), version == expected)
        .values({**values, version.key: new_version})
        .execution_options(synchronize_session=False)
    )
    if not _rowcount(executor.execute(statement)):
        raise PreconditionFailed(
            "The resource was changed or deleted by another request after this"
            " request's preconditions were checked, so nothing was written."
            f" {RETRY_ADVICE}"
        )
    if has_request_context():
        # The response's ETag names this write, not a later one.
        set_new_version(new_version)
    return new_version


def conditional_delete(
    executor: Executor,
    table: TableLike,
    key: t.Mapping[str, t.Any],
    *,
    version_column: str | None = None,
    expected: t.Any = _MISSING,
) -> None:
    """Delete a row only if it still has the version the request was checked for.

    The ``DELETE`` counterpart of :func:`conditional_update`: one ``DELETE …
    WHERE <key> AND version = :expected``, and
    :class:`~flask_preconditions.PreconditionFailed` when no row matches.

    .. versionadded:: 0.1
    """
    target, version = _table_and_version(table, version_column)
    expected = _expected(expected)
    statement = (
        sa.delete(target)
        .where(*_where(table, key), version == expected)
        .execution_options(synchronize_session=False)
    )
    if not _rowcount(executor.execute(statement)):
        raise PreconditionFailed(
            "The resource was changed or deleted by another request after this"
            " request's preconditions were checked, so nothing was deleted."
            f" {RETRY_ADVICE}"
        )
