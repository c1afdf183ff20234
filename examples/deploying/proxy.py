"""Run nginx on 127.0.0.1 in front of a server, from a config of ours, and
always stop it.

Used by the interop tests: nginx runs as the current user, with its prefix,
config, logs and temporary files in a directory of its own, and is stopped
by its pid.
"""

from __future__ import annotations

import contextlib
import grp
import os
import pathlib
import pwd
import shutil
import socket
import subprocess
import tempfile
import time
import typing as t

from examples.notes.server import free_port
from examples.notes.server import ServerFailed
from flask_preconditions.live_server import stop_process

#: The config that docs/deploying.rst shows; the addresses in it are replaced.
NGINX_CONF = pathlib.Path(__file__).with_name("nginx.conf")
LISTEN = "127.0.0.1:8080"
UPSTREAM = "http://127.0.0.1:8000"


def nginx_program() -> str | None:
    """The nginx executable, which Debian installs outside a user's PATH."""
    return shutil.which("nginx") or shutil.which("nginx", path="/usr/sbin:/sbin")


def _replace_once(text: str, old: str, new: str) -> str:
    if text.count(old) != 1:
        raise ValueError(f"{NGINX_CONF.name} must name {old} exactly once.")
    return text.replace(old, new)


@contextlib.contextmanager
def nginx(
    upstream: str,
    *,
    conf: pathlib.Path = NGINX_CONF,
    start_timeout: float = 10.0,
    stop_timeout: float = 10.0,
) -> t.Iterator[str]:
    """Run nginx with ``conf`` in front of ``upstream`` and yield its base URL.

    ``conf`` listens on 127.0.0.1:8080 and proxies to http://127.0.0.1:8000;
    both are replaced, by a free port on 127.0.0.1 and by ``upstream``.
    """
    program = nginx_program()
    if program is None:
        raise ServerFailed("nginx is not installed")
    port = free_port()
    text = _replace_once(conf.read_text(encoding="utf-8"), LISTEN, f"127.0.0.1:{port}")
    text = _replace_once(text, UPSTREAM, upstream)
    with tempfile.TemporaryDirectory(prefix="nginx-") as prefix:
        path = pathlib.Path(prefix)
        (path / "nginx.conf").write_text(text, encoding="utf-8")
        directives = f"daemon off; pid {path / 'nginx.pid'};"
        if os.geteuid() == 0:
            # A master started by root runs its workers as "nobody", who could
            # not use this private directory: keep them as the current user.
            user = pwd.getpwuid(os.getuid()).pw_name
            group = grp.getgrgid(os.getgid()).gr_name
            directives += f" user {user} {group};"
        error_log = path / "error.log"
        command = [
            program,
            "-p",
            f"{prefix}/",
            "-c",
            str(path / "nginx.conf"),
            "-e",
            str(error_log),
            "-g",
            directives,
        ]
        process = subprocess.Popen(
            command, stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT
        )
        try:
            _wait_listening(process, port, start_timeout, error_log)
            yield f"http://127.0.0.1:{port}"
        finally:
            # SIGTERM is nginx's fast shutdown: the master stops its workers.
            stop_process(process, stop_timeout)


def _wait_listening(
    process: subprocess.Popen[t.Any], port: int, timeout: float, log: pathlib.Path
) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and process.poll() is None:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1):
                return
        except OSError:
            time.sleep(0.05)
    text = log.read_text(errors="replace") if log.exists() else ""
    raise ServerFailed(f"nginx did not listen on 127.0.0.1:{port}:\n{text}")
