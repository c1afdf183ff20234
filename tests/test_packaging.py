"""The distributions build, pass ``twine check``, and work in a fresh venv.

Slow: builds the sdist and wheel, creates a virtual environment without the
system's packages, installs the wheel there from the package index, and runs
the README's quickstart with it.
"""

from __future__ import annotations

import os
import pathlib
import re
import shutil
import subprocess
import sys
import venv
import zipfile

import pytest

pytestmark = pytest.mark.slow

ROOT = pathlib.Path(__file__).parent.parent


def run(
    *args: str | os.PathLike[str], cwd: pathlib.Path = ROOT, timeout: int = 300
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [os.fspath(arg) for arg in args],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


@pytest.fixture(scope="module")
def index_reachable(tmp_path_factory: pytest.TempPathFactory) -> None:
    probe = run(
        sys.executable,
        "-m",
        "pip",
        "download",
        "--no-deps",
        "--dest",
        tmp_path_factory.mktemp("probe"),
        "itsdangerous",
        timeout=120,
    )
    if probe.returncode != 0:
        pytest.skip(f"no package index reachable: {probe.stderr.strip()[-300:]}")


@pytest.fixture(scope="module")
def dist(
    tmp_path_factory: pytest.TempPathFactory, index_reachable: None
) -> pathlib.Path:
    out = tmp_path_factory.mktemp("dist")
    result = run(sys.executable, "-m", "build", "--outdir", out, ROOT, timeout=600)
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-2000:]
    return out


def wheel_of(dist: pathlib.Path) -> pathlib.Path:
    (wheel,) = dist.glob("flask_preconditions-*.whl")
    return wheel


def test_build_makes_one_wheel_and_one_sdist(dist: pathlib.Path) -> None:
    assert len(list(dist.glob("*.whl"))) == 1
    assert len(list(dist.glob("*.tar.gz"))) == 1


def test_twine_check_accepts_the_distributions(dist: pathlib.Path) -> None:
    files = sorted(dist.iterdir())
    result = run(sys.executable, "-m", "twine", "check", "--strict", *files)
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.count("PASSED") == len(files)


def test_wheel_ships_the_modules_and_py_typed(dist: pathlib.Path) -> None:
    names = set(zipfile.ZipFile(wheel_of(dist)).namelist())
    for module in ("audit", "cli", "openapi", "extension", "conditions", "testing"):
        assert f"flask_preconditions/{module}.py" in names
    assert "flask_preconditions/locks/__init__.py" in names
    assert "flask_preconditions/sqlalchemy/__init__.py" in names
    assert "flask_preconditions/py.typed" in names


def test_wheel_metadata_has_extras_and_classifiers(dist: pathlib.Path) -> None:
    with zipfile.ZipFile(wheel_of(dist)) as wheel:
        (metadata_name,) = [n for n in wheel.namelist() if n.endswith("/METADATA")]
        metadata = wheel.read(metadata_name).decode()
    extras = set(re.findall(r"^Provides-Extra: (\S+)$", metadata, re.M))
    assert {"sqlalchemy", "openapi", "async", "redis", "postgresql", "testing"} <= (
        extras
    )
    assert "Classifier: Framework :: Flask" in metadata
    assert "Classifier: Typing :: Typed" in metadata
    assert re.search(r"^Project-URL: Documentation, ", metadata, re.M)


@pytest.fixture(scope="module")
def fresh_venv(
    dist: pathlib.Path, tmp_path_factory: pytest.TempPathFactory
) -> pathlib.Path:
    """A venv without system site-packages, with only the wheel installed."""
    home = tmp_path_factory.mktemp("venv")
    venv.create(home, with_pip=True, system_site_packages=False, clear=True)
    python = home / "bin" / "python"
    result = run(python, "-m", "pip", "install", wheel_of(dist), timeout=600)
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-2000:]
    return home


def test_fresh_venv_is_not_the_development_venv(fresh_venv: pathlib.Path) -> None:
    python = fresh_venv / "bin" / "python"
    # Not from the checkout: the working directory is on sys.path with -c.
    result = run(
        python,
        "-c",
        "import flask_preconditions; print(flask_preconditions.__file__)",
        cwd=fresh_venv,
    )
    assert result.returncode == 0, result.stderr
    assert str(fresh_venv) in result.stdout
    # Only the wheel's dependencies: no test tools leaked in.
    assert run(python, "-c", "import pytest", cwd=fresh_venv).returncode != 0


def test_readme_quickstart_runs_in_the_fresh_venv(
    fresh_venv: pathlib.Path, tmp_path: pathlib.Path
) -> None:
    quickstart = tmp_path / "quickstart"
    shutil.copytree(ROOT / "examples" / "quickstart", quickstart)
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    expected = re.search(r"```text\n(.*?)```", readme, re.S)
    assert expected is not None
    result = run(fresh_venv / "bin" / "python", "decorated.py", cwd=quickstart)
    assert result.returncode == 0, result.stderr
    assert result.stdout == expected.group(1)


def test_route_audit_runs_in_the_fresh_venv(
    fresh_venv: pathlib.Path, tmp_path: pathlib.Path
) -> None:
    quickstart = tmp_path / "quickstart"
    shutil.copytree(ROOT / "examples" / "quickstart", quickstart)
    result = run(
        fresh_venv / "bin" / "flask",
        "--app",
        "decorated",
        "preconditions",
        "routes",
        "--strict",
        cwd=quickstart,
    )
    assert result.returncode == 0, result.stderr
    assert re.search(r"note\s+PUT\s+/notes/<int:note_id>\s+version", result.stdout)


TYPED_VIEWS = """
from __future__ import annotations

from flask import Flask
from flask.views import MethodView

from flask_preconditions import Preconditions

app = Flask(__name__)
pre = Preconditions(app)


def version(note_id: int) -> int:
    return note_id


@pre.etag(version)
def note(note_id: int) -> dict[str, int]:
    return {"id": note_id}


@pre.etag(version, weak=True)
@pre.last_modified(lambda note_id: None)
def dated(note_id: int) -> bytes:
    return b""


@pre.exempt
def free(name: str) -> str:
    return name


class Item(MethodView):
    @pre.etag(version)
    def get(self, note_id: int) -> str:
        return ""


reveal_type(note)
reveal_type(dated)
reveal_type(free)
reveal_type(Item().get)
"""


def test_installed_package_is_typed_and_decorators_keep_signatures(
    fresh_venv: pathlib.Path, tmp_path: pathlib.Path
) -> None:
    (tmp_path / "views.py").write_text(TYPED_VIEWS, encoding="utf-8")
    result = run(
        sys.executable,
        "-m",
        "mypy",
        "--strict",
        "--no-incremental",
        "--python-executable",
        fresh_venv / "bin" / "python",
        "views.py",
        cwd=tmp_path,
    )
    assert result.returncode == 0, result.stdout
    revealed = re.findall(r'Revealed type is "(.*)"', result.stdout)
    assert revealed == [
        "def (note_id: int) -> dict[str, int]",
        "def (note_id: int) -> bytes",
        "def (name: str) -> str",
        "def (note_id: int) -> str",
    ]
