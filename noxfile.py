"""Test sessions against the newest and the oldest supported Flask/Werkzeug.

Run ``nox`` (newest only) or ``nox -s tests_lowest``. Without nox installed,
``make test`` and ``make test-lowest`` run the same two suites.
"""

from __future__ import annotations

import nox

nox.options.sessions = ["tests"]

# Keep equal to the lower bounds in pyproject.toml and LOWEST_PINS in Makefile.
LOWEST = ("flask==3.0.0", "werkzeug==3.0.0")


@nox.session
def tests(session: nox.Session) -> None:
    """Run the whole suite against the newest releases."""
    session.install("-e", ".[test]")
    session.run("pytest", *session.posargs)


@nox.session
def tests_lowest(session: nox.Session) -> None:
    """Run the suite on the oldest supported Flask and Werkzeug, without slow tests."""
    # One resolver run, so the rest of the test extra is chosen to fit the pins.
    session.install("-e", ".[test]", *LOWEST)
    session.run("pytest", "-m", "not slow", *session.posargs)
