"""The ``flask preconditions`` command group, registered by ``init_app``.

.. code-block:: text

    $ flask --app notes preconditions routes --strict

.. versionadded:: 0.1
"""

from __future__ import annotations

import json
import typing as t

import click
from flask import current_app
from flask.cli import AppGroup

from .audit import Atomicity
from .audit import audit_routes
from .audit import Protection
from .audit import RouteProtection

#: The ``flask preconditions`` command group.
preconditions_cli = AppGroup(
    "preconditions", help="Inspect conditional-request protection."
)

_SORT_KEYS: dict[str, t.Callable[[RouteProtection], tuple[str, ...]]] = {
    "endpoint": lambda row: (row.endpoint, row.rule, row.method),
    "rule": lambda row: (row.rule, row.method),
    "protection": lambda row: (row.protection.value, row.rule, row.method),
}


def format_table(rows: t.Sequence[RouteProtection]) -> str:
    """Render audit rows as a table in the style of ``flask routes``.

    .. versionadded:: 0.1
    """
    headers = ("Endpoint", "Method", "Rule", "Protection", "Atomic")
    table = [
        (
            row.endpoint,
            row.method,
            row.rule,
            row.protection.value,
            f"lock ({row.lock})" if row.lock else row.atomicity.value,
        )
        for row in rows
    ]
    widths = [
        max([len(header), *(len(line[i]) for line in table)])
        for i, header in enumerate(headers)
    ]
    pattern = "  ".join(f"{{{i}:<{width}}}" for i, width in enumerate(widths))
    lines = [pattern.format(*headers), pattern.format(*("-" * w for w in widths))]
    lines.extend(pattern.format(*line) for line in table)
    return "\n".join(line.rstrip() for line in lines)


@preconditions_cli.command("routes")
@click.option(
    "--strict",
    is_flag=True,
    help="Exit with status 1 if a PUT, PATCH or DELETE route (any method in"
    " PRECONDITIONS_REQUIRED_METHODS) is unprotected, or a checked write is"
    " check-then-write (the write lock is off).",
)
@click.option(
    "--fail-on-step-aside",
    is_flag=True,
    help="With --strict, also exit with status 1 if a write is checked against"
    " its GET, which steps aside when the GET answers 401 or 403.",
)
@click.option(
    "--json", "as_json", is_flag=True, help="Print the routes as a JSON array."
)
@click.option(
    "--sort",
    "-s",
    type=click.Choice([*_SORT_KEYS, "match"]),
    default="endpoint",
    show_default=True,
    help="Order of the routes; 'match' is the order Flask matches them in.",
)
def routes_command(
    strict: bool, fail_on_step_aside: bool, as_json: bool, sort: str
) -> None:
    """List every route and method with how it is protected.

    Protection is one of: version (validators from a version or last-modified
    function), body-hash (entity-tag from the GET body), exempt, safe (a GET
    without validators), not-required (an unsafe method outside
    PRECONDITIONS_REQUIRED_METHODS), and unprotected: a write that can
    silently overwrite another client's change. Atomic says how a checked
    write is made atomic with its check: compare-and-swap, the write lock
    (and its backend), or not at all (check-then-write).
    """
    rows = audit_routes(current_app)
    if sort != "match":
        rows.sort(key=_SORT_KEYS[sort])
    if as_json:
        click.echo(json.dumps([row.as_dict() for row in rows], indent=2))
    elif rows:
        click.echo(format_table(rows))
    else:
        click.echo("No routes were registered.")
    unprotected = [row for row in rows if row.protection is Protection.UNPROTECTED]
    broken = [row for row in rows if row.protection is Protection.MISCONFIGURED]
    racy = [row for row in rows if row.atomicity is Atomicity.CHECK_THEN_WRITE]
    aside = [row for row in rows if row.steps_aside]
    if strict:
        _report(
            unprotected,
            "unprotected route(s): requests to them can overwrite another"
            " client's change (a lost update).",
            with_reason=True,
        )
        _report(broken, "misconfigured route(s): requests to them fail.", True)
        _report(
            racy,
            "check-then-write route(s): two writes carrying the same ETag can"
            " both pass the check, and one is lost. Turn the write lock on"
            " (PRECONDITIONS_LOCK) or make the write a compare-and-swap.",
        )
    if not as_json or strict:
        _report(
            aside,
            "write(s) checked against the GET of their URL: where that GET"
            " answers 401 or 403 to the writer, the check steps aside, and the"
            " write view must refuse the write itself.",
        )
    if fail_on_step_aside and not strict:
        raise click.UsageError("--fail-on-step-aside goes with --strict.")
    if strict and (unprotected or broken or racy or (fail_on_step_aside and aside)):
        click.get_current_context().exit(1)


def _report(
    rows: t.Sequence[RouteProtection], what: str, with_reason: bool = False
) -> None:
    """List rows on standard error after a count and what they are."""
    if not rows:
        return
    lines = [f"{len(rows)} {what}"]
    for row in rows:
        line = f"  {row.method} {row.rule} ({row.endpoint})"
        lines.append(f"{line}: {row.reason}" if with_reason else line)
    click.echo("\n".join(lines), err=True)
