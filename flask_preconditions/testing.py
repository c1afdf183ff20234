"""A pytest plugin to prove an API: protected routes, conditional requests, no
lost updates.

Installed with the ``testing`` extra, pytest loads it through its ``pytest11``
entry point; ``-p flask_preconditions.testing`` or
``pytest_plugins = ["flask_preconditions.testing"]`` load it otherwise.
Loading it creates no application, starts no server and registers no option:
everything happens when a test calls a helper or uses a fixture.

- :func:`assert_routes_protected`: the route audit as an assertion.
- The ``conditional_battery`` fixture (:class:`ConditionalBattery`): the
  conditional requests of RFC 9110 §13 against one resource, through a test
  client.
- The ``lost_update_check`` fixture (:class:`LostUpdateCheck`): concurrent
  read-modify-write clients against the application on a real server.

The pieces are also usable without pytest:
:func:`~flask_preconditions.battery.check_conditional_requests`,
:func:`~flask_preconditions.concurrency_check.check_lost_updates` and
:func:`~flask_preconditions.live_server.serve_app`.

.. versionadded:: 0.2
"""

from __future__ import annotations

import os
import typing as t

import pytest

from .battery import BatteryReport
from .battery import check_conditional_requests
from .concurrency_check import check_lost_updates
from .concurrency_check import LostUpdateReport
from .concurrency_check import Representation
from .live_server import serve_app
from .live_server import ServerFailed
from .live_server import ServerKind

if t.TYPE_CHECKING:
    from flask import Flask
    from werkzeug.test import Client

    from .audit import RouteProtection

__all__ = [
    "ConditionalBattery",
    "LostUpdateCheck",
    "assert_routes_protected",
    "conditional_battery",
    "lost_update_check",
]


def assert_routes_protected(app: Flask) -> list[RouteProtection]:
    """Fail unless every write route of ``app`` is protected and atomic.

    The same classification as ``flask preconditions routes --strict``
    (:func:`~flask_preconditions.audit.audit_routes`): a route fails when it is
    ``unprotected`` (a write nothing checks) or ``check-then-write`` (checked,
    but two writes with the same entity-tag can both pass, because the write
    lock is off). ::

        def test_every_write_is_protected(app):
            assert_routes_protected(app)

    :return: every row of the audit, for further assertions.
    :raise AssertionError: with the offending rows as a table, and why each
        one fails.
    :raise RuntimeError: the extension is not initialised on ``app``.

    .. versionadded:: 0.2
    """
    __tracebackhide__ = True
    # Imported here so that loading the plugin imports no Flask.
    from .audit import Atomicity
    from .audit import audit_routes
    from .audit import Protection
    from .cli import format_table

    rows = sorted(
        audit_routes(app), key=lambda row: (row.endpoint, row.rule, row.method)
    )
    offending = [
        row
        for row in rows
        if row.protection is Protection.UNPROTECTED
        or row.atomicity is Atomicity.CHECK_THEN_WRITE
    ]
    if not offending:
        return rows
    lines = [
        f"{len(offending)} write route(s) of the application {app.name!r} can lose"
        " an update (`flask preconditions routes --strict` fails on them):",
        "",
        format_table(offending),
        "",
    ]
    for row in offending:
        if row.protection is Protection.UNPROTECTED:
            why = f"is unprotected: {row.reason}"
        else:
            why = (
                "is check-then-write: two writes carrying the same ETag can both"
                " pass the check, and one is lost. Turn the write lock on"
                " (PRECONDITIONS_LOCK) or make the write a compare-and-swap."
            )
        lines.append(f"- {row.method} {row.rule} ({row.endpoint}) {why}")
    raise AssertionError("\n".join(lines))


class ConditionalBattery:
    """The value of the ``conditional_battery`` fixture.

    Calling it runs
    :func:`~flask_preconditions.battery.check_conditional_requests` with the
    same arguments, fails the test with the report if a check failed, and
    returns the report otherwise (printed, so ``pytest -rP`` shows it)::

        def test_note_is_conditional(conditional_battery, client):
            conditional_battery(client, "/notes/1", body={"text": "Changed"})

    .. versionadded:: 0.2
    """

    def __call__(
        self,
        client: Client,
        url: str,
        *,
        body: t.Any,
        content_type: str | None = None,
        method: str = "PUT",
        create_url: str | None = None,
        headers: t.Mapping[str, str] | None = None,
        origin: str | None = "https://client.example",
    ) -> BatteryReport:
        """Run the battery on ``url``; fail the test if a check failed.

        The parameters are those of
        :func:`~flask_preconditions.battery.check_conditional_requests`.
        """
        __tracebackhide__ = True
        report = check_conditional_requests(
            client,
            url,
            body=body,
            content_type=content_type,
            method=method,
            create_url=create_url,
            headers=headers,
            origin=origin,
        )
        if not report.ok:
            pytest.fail(str(report), pytrace=False)
        print(report)
        return report


class LostUpdateCheck:
    """The value of the ``lost_update_check`` fixture.

    Calling it starts the application with
    :func:`~flask_preconditions.live_server.serve_app`, runs
    :func:`~flask_preconditions.concurrency_check.check_lost_updates` against
    ``path`` on it, stops the server, and fails the test with the report (and
    the end of the server's log) unless every acknowledged write was kept::

        def test_no_update_is_lost(lost_update_check):
            lost_update_check(
                "myapp:create_app()",
                "/counters/1",
                change=lambda doc: {**doc, "n": doc["n"] + 1},
                read=lambda doc: doc["n"],
            )

    The fixture makes it with the pytest root directory as ``chdir`` and the
    ``pythonpath`` of the pytest configuration, so that the server runs there
    and imports what the tests import.

    .. versionadded:: 0.2
    """

    def __init__(self, chdir: str, pythonpath: t.Sequence[str]) -> None:
        self.chdir = chdir
        self.pythonpath = list(pythonpath)

    def __call__(
        self,
        app: str,
        path: str,
        *,
        change: t.Callable[[Representation], Representation],
        read: t.Callable[[Representation], int],
        clients: int = 8,
        increments: int = 25,
        server: ServerKind = "auto",
        workers: int = 4,
        env: t.Mapping[str, str] | None = None,
        gunicorn_args: t.Sequence[str] = (),
        method: str = "PUT",
        headers: t.Mapping[str, str] | None = None,
        max_attempts: int = 100,
        time_limit: float = 60.0,
    ) -> LostUpdateReport:
        """Serve ``app``, race clients against ``path``, stop it; fail on a loss.

        :param app: the application, as gunicorn names it:
            ``"module:create_app()"`` or ``"module:app"``.
        :param path: the path of the resource to change; it must exist, and is
            also the path polled until the server is ready.
        :param change: the new body from the current one.
        :param read: the count of changes in a body.
        :param server: ``"gunicorn"``, ``"threaded"`` or ``"auto"`` (gunicorn
            where installed).
        :param env: environment variables for the server, such as the URL of
            the test database.

        The other parameters are those of
        :func:`~flask_preconditions.live_server.serve_app` and
        :func:`~flask_preconditions.concurrency_check.check_lost_updates`.

        :return: the report, when every acknowledged write was kept.
        """
        __tracebackhide__ = True
        try:
            with serve_app(
                app,
                server=server,
                workers=workers,
                env=env,
                chdir=self.chdir,
                pythonpath=self.pythonpath,
                gunicorn_args=gunicorn_args,
                ready_path=path,
            ) as live:
                report = check_lost_updates(
                    live.url + path,
                    change=change,
                    read=read,
                    clients=clients,
                    increments=increments,
                    method=method,
                    headers=headers,
                    max_attempts=max_attempts,
                    time_limit=time_limit,
                )
                # The server's side of errors and unanswered writes; a lost
                # update leaves nothing in the log.
                trouble = report.errors or report.unanswered or report.server_errors
                log = live.log(last_lines=30) if trouble else ""
        except ServerFailed as e:
            pytest.fail(str(e), pytrace=False)
        served = (
            f"Served by gunicorn with {live.workers} worker processes"
            if live.kind == "gunicorn"
            else "Served by Werkzeug's threaded server in one process"
        ) + f" (pid {live.pid}, stopped)."
        if log:
            served += f" The end of its log:\n{log}"
        if not report.ok:
            pytest.fail(f"{report}\n\n{served}", pytrace=False)
        print(f"{report}\n{served}")
        return report


@pytest.fixture
def conditional_battery() -> ConditionalBattery:
    """Run the conditional-request battery on one URL; fail on any failed check.

    .. versionadded:: 0.2
    """
    return ConditionalBattery()


@pytest.fixture
def lost_update_check(request: pytest.FixtureRequest) -> LostUpdateCheck:
    """Race concurrent clients against the app on a real server; fail on a loss.

    .. versionadded:: 0.2
    """
    config = request.config
    pythonpath = [os.fspath(path) for path in config.getini("pythonpath")]
    return LostUpdateCheck(os.fspath(config.rootpath), pythonpath)
