"""Every check of the project, as nox sessions.

``nox`` runs them all, each in a virtual environment of its own under
``.nox/``; ``nox -s tests`` one of them; ``nox -l`` lists them. ``make test``
runs ``style``, ``typing``, ``docs`` and ``tests`` with ``--no-venv``, in the
one ``.venv`` that ``make`` installs from the ``dev`` dependency group, so the
commands are defined here only. ``nox -s tests --force-python 3.10`` runs a
session on another installed Python.

What each session installs is a dependency group of ``pyproject.toml``. The
oldest supported versions are the lower bounds of the package's dependencies
there, which ``tests_lowest`` pins.
"""

from __future__ import annotations

import os
import pathlib

import nox
from packaging.requirements import Requirement

nox.options.reuse_venv = "yes"
nox.options.sessions = ["style", "typing", "docs", "tests", "tests_lowest", "tests_dev"]

ROOT = pathlib.Path(__file__).parent
PYPROJECT = nox.project.load_toml(ROOT / "pyproject.toml")

#: The package with every extra, for the sessions that import all of it.
WITH_EXTRAS = f".[{','.join(PYPROJECT['project']['optional-dependencies'])}]"

#: Where ``tests_dev`` takes Flask and Werkzeug from.
DEV_CHECKOUTS = {"flask": "FLASK_DEV_CHECKOUT", "werkzeug": "WERKZEUG_DEV_CHECKOUT"}


def lowest_pins() -> list[str]:
    """Each dependency of the package pinned to its lower bound.

    ``flask>=3.0`` becomes ``flask==3.0``: the bound in ``pyproject.toml`` is
    the one place the oldest supported version is written down.
    """
    pins = []
    for line in PYPROJECT["project"]["dependencies"]:
        requirement = Requirement(line)
        floors = [s.version for s in requirement.specifier if s.operator == ">="]
        if len(floors) != 1:
            msg = f"{line!r} in pyproject.toml needs one lower bound (>=)."
            raise ValueError(msg)
        extras = (
            f"[{','.join(sorted(requirement.extras))}]" if requirement.extras else ""
        )
        marker = f"; {requirement.marker}" if requirement.marker else ""
        pins.append(f"{requirement.name}{extras}=={floors[0]}{marker}")
    return pins


def groups(*names: str) -> tuple[str, ...]:
    """The requirements of dependency groups, for any pip version."""
    return nox.project.dependency_groups(PYPROJECT, *names)


def needs_own_venv(session: nox.Session) -> None:
    if session.venv_backend == "none":
        session.error(
            f"{session.name} installs its own versions of Flask and Werkzeug;"
            " run it without --no-venv."
        )


def print_versions(session: nox.Session, *names: str) -> None:
    """Print the installed version of each distribution: what was tested."""
    code = "import sys, importlib.metadata as m\n"
    code += "for name in sys.argv[1:]: print(name, m.version(name))"
    session.run("python", "-c", code, *names, silent=False)


@nox.session
def style(session: nox.Session) -> None:
    """Lint and check formatting with ruff."""
    session.install(*groups("style"))
    session.run("ruff", "check", ".")
    session.run("ruff", "format", "--check", ".")


@nox.session
def typing(session: nox.Session) -> None:
    """mypy --strict on the package and the typing tests in tests/type_check."""
    session.install("-e", WITH_EXTRAS, *groups("typing"))
    session.run("mypy")


@nox.session
def docs(session: nox.Session) -> None:
    """Build the HTML documentation; any Sphinx warning is an error."""
    session.install("-e", WITH_EXTRAS, *groups("docs"))
    session.run(
        "sphinx-build",
        "-W",
        "--keep-going",
        "-E",
        "-q",
        "-b",
        "html",
        "docs",
        "docs/_build/html",
    )


@nox.session
def tests(session: nox.Session) -> None:
    """The whole test suite on the newest releases."""
    session.install("-e", ".", *groups("tests"))
    session.run("pytest", *session.posargs)


@nox.session
def tests_lowest(session: nox.Session) -> None:
    """The suite on the oldest supported dependencies, without slow tests."""
    needs_own_venv(session)
    pins = lowest_pins()
    # One resolver run, so that the rest of the tests group is chosen to fit.
    session.install("-e", ".", *groups("tests"), *pins)
    installed = [Requirement(pin) for pin in pins]
    # A pin whose marker leaves it out here (filelock off Windows) is not there.
    print_versions(
        session,
        *(pin.name for pin in installed if pin.marker is None or pin.marker.evaluate()),
    )
    session.run("pytest", "-m", "not slow", *session.posargs)


@nox.session
def tests_dev(session: nox.Session) -> None:
    """The suite on the development branches of Flask and Werkzeug.

    Takes them from local checkouts named by ``FLASK_DEV_CHECKOUT`` and
    ``WERKZEUG_DEV_CHECKOUT``, for example::

        git clone https://github.com/pallets/flask /tmp/flask-dev
        git clone https://github.com/pallets/werkzeug /tmp/werkzeug-dev
        FLASK_DEV_CHECKOUT=/tmp/flask-dev WERKZEUG_DEV_CHECKOUT=/tmp/werkzeug-dev \\
            nox -s tests_dev
    """
    missing = [var for var in DEV_CHECKOUTS.values() if not os.environ.get(var)]
    if missing:
        session.skip(
            f"set {' and '.join(missing)} to local checkouts of the development"
            " branches of Flask and Werkzeug (see tests_dev in noxfile.py)"
        )
    needs_own_venv(session)
    checkouts = []
    for name, var in DEV_CHECKOUTS.items():
        checkout = pathlib.Path(os.environ[var]).expanduser().resolve()
        if not (checkout / "pyproject.toml").is_file():
            session.error(f"{var}={checkout} is not a checkout of {name}.")
        session.log(f"{name} from {checkout}")
        # Which commit is tested; a checkout without git history prints nothing.
        git_log = ("git", "-C", str(checkout), "log", "-1", "--format=%h %cs %s")
        session.run(*git_log, external=True, silent=False, success_codes=[0, 128])
        checkouts.append(str(checkout))
    # pip reinstalls from a local directory every time, so a reused
    # environment gets the checkouts' current commits.
    session.install("-e", ".", *groups("tests"), *checkouts)
    print_versions(session, *DEV_CHECKOUTS)
    session.run("pytest", *session.posargs)
