"""Run an application under gunicorn on 127.0.0.1, and always stop it.

Used by ``examples/demo.py`` and the concurrency tests.
"""

from __future__ import annotations

import contextlib
import os
import socket
import subprocess
import sys
import tempfile
import time
import typing as t
import urllib.error
import urllib.request

from flask_preconditions.live_server import stop_process

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class ServerFailed(RuntimeError):
    """The server did not start; the message holds its log."""


@contextlib.contextmanager
def gunicorn(
    app: str,
    *,
    env: t.Mapping[str, str],
    workers: int = 4,
    worker_class: str = "sync",
    threads: int = 1,
    ready_path: str = "/notes",
    start_timeout: float = 30.0,
    stop_timeout: float = 10.0,
) -> t.Iterator[str]:
    """Run ``app`` (a gunicorn app spec) and yield its base URL.

    ``workers`` processes of ``worker_class`` (``"sync"``, or ``"gthread"``
    with ``threads`` threads each) serve it. The server binds 127.0.0.1 on a
    free port, is polled until ``ready_path`` answers (for at most
    ``start_timeout`` seconds) and is stopped by its pid on exit: SIGTERM,
    then SIGKILL after ``stop_timeout`` seconds.
    """
    port = free_port()
    command = [
        sys.executable,
        "-m",
        "gunicorn",
        "--workers",
        str(workers),
        "--worker-class",
        worker_class,
        "--threads",
        str(threads),
        "--bind",
        f"127.0.0.1:{port}",
        "--graceful-timeout",
        "5",
        "--chdir",
        ROOT,
        *_no_control_socket(),
        app,
    ]
    with tempfile.TemporaryFile("w+") as log:
        process = subprocess.Popen(
            command,
            env={**os.environ, **env},
            stdout=log,
            stderr=subprocess.STDOUT,
            cwd=ROOT,
        )
        try:
            base_url = f"http://127.0.0.1:{port}"
            _wait_ready(process, base_url + ready_path, start_timeout, log)
            yield base_url
        finally:
            stop_process(process, stop_timeout)


def _no_control_socket() -> list[str]:
    # gunicorn 24 and later listen on a control socket in the home directory by
    # default; servers run side by side must not share it.
    import gunicorn.config

    names = {setting.name for setting in gunicorn.config.KNOWN_SETTINGS}
    return ["--no-control-socket"] if "control_socket_disable" in names else []


def _wait_ready(
    process: subprocess.Popen[t.Any], url: str, timeout: float, log: t.IO[str]
) -> None:
    # The server is local: never ask a proxy from the environment.
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            break
        try:
            with opener.open(url, timeout=2) as response:
                if response.status == 200:
                    return
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            pass
        time.sleep(0.1)
    log.seek(0)
    raise ServerFailed(f"gunicorn did not answer {url} in {timeout} s:\n{log.read()}")
