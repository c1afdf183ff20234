"""Run an application on a real server on 127.0.0.1, and always stop it.

:func:`serve_app` starts the application in a process of its own: under
gunicorn with several worker processes where gunicorn is installed, else on
Werkzeug's threaded development server. The concurrency check of
:mod:`flask_preconditions.testing` uses it, so that its clients race over real
sockets against processes that share nothing but the application's storage.

.. versionadded:: 0.2
"""

from __future__ import annotations

import contextlib
import dataclasses
import http.client
import importlib.util
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
import typing as t

#: The servers :func:`serve_app` can start.
ServerKind = t.Literal["auto", "gunicorn", "threaded"]

# Run in the server process by ``python -c``: the spec is resolved the way
# ``flask --app`` resolves it, which also accepts gunicorn's
# ``module:create_app(...)`` form.
_THREADED_SERVER = """\
import sys
from flask.cli import locate_app
from werkzeug.serving import make_server
module, _, name = sys.argv[1].partition(":")
app = locate_app(module, name or None)
make_server("127.0.0.1", int(sys.argv[2]), app, threaded=True).serve_forever()
"""


class ServerFailed(RuntimeError):
    """The server did not start; the message holds its log.

    .. versionadded:: 0.2
    """


@dataclasses.dataclass(frozen=True)
class LiveServer:
    """A running server, as :func:`serve_app` yields it.

    .. versionadded:: 0.2
    """

    #: The base URL, such as ``http://127.0.0.1:50123``, without a final slash.
    url: str
    #: The process id of the server (gunicorn's master process).
    pid: int
    #: ``"gunicorn"`` or ``"threaded"``.
    kind: str
    #: Worker processes; 1 for the threaded server.
    workers: int
    #: The file that receives the server's output.
    log_path: str

    def log(self, last_lines: int | None = None) -> str:
        """The server's output so far, or its last ``last_lines`` lines.

        Only while the server runs: the file is removed when it stops.
        """
        with open(self.log_path, encoding="utf-8", errors="replace") as log:
            text = log.read()
        if last_lines is None:
            return text
        return "\n".join(text.splitlines()[-last_lines:])


def gunicorn_available() -> bool:
    """Whether gunicorn can be started by :func:`serve_app` here.

    .. versionadded:: 0.2
    """
    return sys.platform != "win32" and importlib.util.find_spec("gunicorn") is not None


def _free_port() -> int:
    # Another process may take it before the server binds it; the server then
    # exits, and ServerFailed shows its log.
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextlib.contextmanager
def serve_app(
    app: str,
    *,
    server: ServerKind = "auto",
    workers: int = 4,
    env: t.Mapping[str, str] | None = None,
    chdir: str | os.PathLike[str] | None = None,
    pythonpath: t.Sequence[str | os.PathLike[str]] = (),
    gunicorn_args: t.Sequence[str] = (),
    ready_path: str = "/",
    start_timeout: float = 30.0,
    stop_timeout: float = 10.0,
) -> t.Iterator[LiveServer]:
    """Serve an application on 127.0.0.1 for the duration of a ``with`` block.

    ::

        with serve_app("myapp:create_app()", workers=2) as live:
            urllib.request.urlopen(live.url + "/notes/1")

    The server binds a free port, is polled until ``ready_path`` gives any
    HTTP answer, and is stopped by its own process id when the block ends:
    SIGTERM, then SIGKILL after ``stop_timeout`` seconds.

    :param app: the application, as gunicorn and ``flask --app`` name it:
        ``"module:app"`` or ``"module:create_app()"``, with literal arguments
        if the factory takes some.
    :param server: ``"gunicorn"`` (``workers`` processes), ``"threaded"``
        (Werkzeug's development server, one process with a thread per
        request), or ``"auto"``: gunicorn where it is installed.
    :param workers: gunicorn's worker processes.
    :param env: environment variables added to the server's.
    :param chdir: the directory the server runs in and imports ``app`` from;
        the current one by default.
    :param pythonpath: more directories to import from.
    :param gunicorn_args: more options for gunicorn, such as
        ``["--threads", "4"]``.
    :param ready_path: a path that answers once the application is loaded.
    :raise ServerFailed: the server exited, or did not answer within
        ``start_timeout`` seconds; the message holds its output.

    .. versionadded:: 0.2
    """
    if server == "auto":
        server = "gunicorn" if gunicorn_available() else "threaded"
    directory = os.fspath(chdir) if chdir is not None else os.getcwd()
    port = _free_port()
    if server == "gunicorn":
        command = [
            sys.executable,
            "-m",
            "gunicorn",
            "--workers",
            str(workers),
            "--bind",
            f"127.0.0.1:{port}",
            "--graceful-timeout",
            "5",
            "--chdir",
            directory,
            *_no_control_socket(),
            *gunicorn_args,
            app,
        ]
    elif server == "threaded":
        workers = 1
        command = [sys.executable, "-c", _THREADED_SERVER, app, str(port)]
    else:
        raise ValueError(
            f"server must be 'auto', 'gunicorn' or 'threaded', not {server!r}."
        )
    search_path = [*(os.fspath(path) for path in pythonpath), directory]
    if os.environ.get("PYTHONPATH"):
        search_path.append(os.environ["PYTHONPATH"])
    server_env = {**os.environ, "PYTHONPATH": os.pathsep.join(search_path)}
    server_env.update(env or {})
    descriptor, log_path = tempfile.mkstemp(
        prefix="flask-preconditions-", suffix=".log"
    )
    try:
        with os.fdopen(descriptor, "ab") as log:
            process = subprocess.Popen(
                command,
                cwd=directory,
                env=server_env,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        try:
            live = LiveServer(
                f"http://127.0.0.1:{port}", process.pid, server, workers, log_path
            )
            _wait_ready(process, live, ready_path, start_timeout)
            yield live
        finally:
            stop_process(process, stop_timeout)
    finally:
        os.unlink(log_path)


def _no_control_socket() -> list[str]:
    # gunicorn 24 and later listen on a control socket in the home directory by
    # default; servers run side by side must not share it.
    import gunicorn.config

    names = {setting.name for setting in gunicorn.config.KNOWN_SETTINGS}
    return ["--no-control-socket"] if "control_socket_disable" in names else []


def _wait_ready(
    process: subprocess.Popen[bytes], live: LiveServer, path: str, timeout: float
) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and process.poll() is None:
        connection = http.client.HTTPConnection("127.0.0.1", _port(live), timeout=2)
        try:
            connection.request("GET", path)
            connection.getresponse().read()
            return
        except (OSError, http.client.HTTPException):
            time.sleep(0.1)
        finally:
            connection.close()
    status = (
        f"exited with status {process.returncode}"
        if process.poll() is not None
        else f"did not answer GET {path} in {timeout:g} s"
    )
    raise ServerFailed(
        f"The {live.kind} server for the application {status}. Its output:\n"
        f"{live.log(last_lines=60)}"
    )


def _port(live: LiveServer) -> int:
    return int(live.url.rpartition(":")[2])


def stop_process(process: subprocess.Popen[t.Any], timeout: float) -> None:
    """Stop a server by its own pid: SIGTERM, then SIGKILL after ``timeout``.

    Never by name: other servers may be running.

    .. versionadded:: 0.2
    """
    if process.poll() is not None:
        return
    process.send_signal(signal.SIGTERM)
    try:
        process.wait(timeout)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(timeout)
