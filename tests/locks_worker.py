"""A worker process for the multi-process lock tests in test_locks.py.

``count``: waits for the go file, then increments the integer in the counter
file ``--increments`` times by read, sleep, write, each inside the lock on
``--key`` (or without any lock with ``--no-lock``, the negative control).

``hold``: takes the lock on ``--key``, prints ``held`` and sleeps, so that the
test can kill it while it holds the lock.

The backend is ``--setting`` as ``PRECONDITIONS_LOCK`` would take it, except
that ``file`` uses ``--directory``. Every wait is bounded.
"""

from __future__ import annotations

import argparse
import os
import pathlib
import sys
import time

from flask_preconditions.locks import backend_from_setting
from flask_preconditions.locks import FileLocks
from flask_preconditions.locks import LockBackend

# Long enough for every worker to start; short enough to end a stuck test.
GO_WAIT = 20.0
LOCK_WAIT = 20.0
HOLD_FOR = 30.0


def make_backend(setting: str, directory: str | None) -> LockBackend:
    if setting == "file":
        return FileLocks(directory)
    backend = backend_from_setting(setting)
    assert backend is not None
    return backend


def read_counter(path: pathlib.Path) -> int:
    return int(path.read_text())


def write_counter(path: pathlib.Path, value: int) -> None:
    # Rename over it, so that a reader without the lock (the negative control)
    # sees the old or the new value and never a half-written file.
    scratch = path.with_name(f"{path.name}.{os.getpid()}")
    scratch.write_text(str(value))
    os.replace(scratch, path)


def count(arguments: argparse.Namespace, backend: LockBackend | None) -> None:
    counter = pathlib.Path(arguments.counter)
    go = pathlib.Path(arguments.go)
    print("ready", flush=True)
    deadline = time.monotonic() + GO_WAIT
    while not go.exists():
        if time.monotonic() > deadline:
            sys.exit("the go file never appeared")
        time.sleep(0.001)
    for _ in range(arguments.increments):
        held = None if backend is None else backend.acquire(arguments.key, LOCK_WAIT)
        try:
            value = read_counter(counter)
            time.sleep(arguments.pause)
            write_counter(counter, value + 1)
        finally:
            if held is not None:
                held.release()


def hold(arguments: argparse.Namespace, backend: LockBackend) -> None:
    # Kept in a name: a file lock that is garbage-collected is released.
    held = backend.acquire(arguments.key, LOCK_WAIT)
    print("held", flush=True)
    time.sleep(HOLD_FOR)
    held.release()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("mode", choices=["count", "hold"])
    parser.add_argument("--setting", required=True)
    parser.add_argument("--directory")
    parser.add_argument("--key", required=True)
    parser.add_argument("--counter")
    parser.add_argument("--go")
    parser.add_argument("--increments", type=int, default=20)
    parser.add_argument("--pause", type=float, default=0.002)
    parser.add_argument("--no-lock", action="store_true")
    arguments = parser.parse_args()
    backend = make_backend(arguments.setting, arguments.directory)
    if arguments.mode == "count":
        count(arguments, None if arguments.no_lock else backend)
    else:
        hold(arguments, backend)


if __name__ == "__main__":
    main()
