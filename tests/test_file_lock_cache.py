"""The open lock files that FileLocks keeps between a thread's locks.

Each thread keeps the files it locked open for its next locks. These tests
show that keeping them weakens nothing: a thread that asks again for a stripe
it holds still waits, a forked child still waits for its parent, a kept file
that a cleaner removed is not trusted, and the files stay bounded and are
closed when their thread ends. Open files are counted in ``/proc/self/fd``.
"""

from __future__ import annotations

import contextlib
import ctypes
import gc
import os
import pathlib
import subprocess
import sys
import threading
import time
import typing as t
import warnings

import pytest

from flask_preconditions.locks import FileLocks
from flask_preconditions.locks import LockTimeout

#: The longest any test waits for a thread, a child or a lock.
WAIT = 20.0
#: How long an acquisition that must fail waits before it gives up.
SHORT = 0.2

needs_proc = pytest.mark.skipif(
    not os.path.isdir("/proc/self/fd"), reason="counts open files in /proc"
)
needs_fork = pytest.mark.skipif(not hasattr(os, "fork"), reason="needs os.fork")


@pytest.fixture
def directory(tmp_path: pathlib.Path) -> pathlib.Path:
    return tmp_path / "locks"


@pytest.fixture
def backend(directory: pathlib.Path) -> FileLocks:
    return FileLocks(directory)


def open_lock_files(directory: pathlib.Path) -> list[str]:
    """The files in directory that this process has open, once per
    descriptor, removed or not."""
    found = []
    prefix = f"{directory}{os.sep}"
    for name in os.listdir("/proc/self/fd"):
        with contextlib.suppress(OSError):
            target = os.readlink(f"/proc/self/fd/{name}")
            if target.startswith(prefix):
                found.append(target)
    return sorted(found)


def keys_on_one_stripe(backend: FileLocks, count: int) -> list[str]:
    first = "key:0"
    keys = [
        key
        for key in (f"key:{number}" for number in range(10_000))
        if backend.path_for(key) == backend.path_for(first)
    ]
    assert len(keys) >= count
    return keys[:count]


def keys_on_different_stripes(backend: FileLocks, count: int) -> list[str]:
    by_path: dict[str, str] = {}
    for number in range(10_000):
        key = f"key:{number}"
        by_path.setdefault(backend.path_for(key), key)
        if len(by_path) == count:
            return list(by_path.values())
    raise AssertionError(f"fewer than {count} stripes")


def in_thread(function: t.Callable[[], object]) -> None:
    """Run function in a new thread, which has ended when this returns."""
    errors: list[BaseException] = []

    def run() -> None:
        try:
            function()
        except BaseException as error:
            errors.append(error)

    thread = threading.Thread(target=run)
    thread.start()
    thread.join(WAIT)
    assert not thread.is_alive()
    if errors:
        raise errors[0]


class Holder:
    """A thread that takes the lock on a key and keeps it until stopped."""

    def __init__(self, backend: FileLocks, key: str) -> None:
        self._backend = backend
        self._key = key
        self._held = threading.Event()
        self._done = threading.Event()
        self._thread = threading.Thread(target=self._hold)

    def _hold(self) -> None:
        held = self._backend.acquire(self._key, WAIT)
        self._held.set()
        self._done.wait(WAIT)
        held.release()

    def start(self) -> Holder:
        self._thread.start()
        assert self._held.wait(WAIT)
        return self

    def stop(self) -> None:
        self._done.set()
        self._thread.join(WAIT)
        assert not self._thread.is_alive()

    def __enter__(self) -> Holder:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()


def start_child(child: t.Callable[[], int], fork: t.Callable[[], int] = os.fork) -> int:
    """Fork a process that runs child and exits with what it returns; its
    pid."""
    with warnings.catch_warnings():
        # Python 3.12 warns about forking while another test's thread still
        # runs; the child here only locks and exits, so nothing it needs can
        # be held by a thread that did not come along.
        warnings.simplefilter("ignore", DeprecationWarning)
        pid = fork()
    if pid == 0:
        status = 3
        try:
            status = child()
        finally:
            os._exit(status)
    assert pid > 0, os.strerror(ctypes.get_errno())
    return pid


def exit_code(pid: int) -> int:
    _, status = os.waitpid(pid, 0)
    return os.waitstatus_to_exitcode(status)


#: What a child exits with: it timed out as it must, or it got the lock.
TIMED_OUT = 0
GOT_THE_LOCK = 1


def try_lock(backend: FileLocks, key: str) -> int:
    try:
        backend.acquire(key, SHORT).release()
    except LockTimeout:
        return TIMED_OUT
    return GOT_THE_LOCK


# Kept files


@needs_proc
def test_a_released_lock_leaves_its_file_open_for_the_next(
    backend: FileLocks, directory: pathlib.Path
) -> None:
    backend.acquire("key", 1.0).release()
    kept = open_lock_files(directory)
    assert len(kept) == 1
    backend.acquire("key", 1.0).release()
    assert open_lock_files(directory) == kept


@needs_proc
def test_a_thread_keeps_at_most_eight_lock_files_open(
    backend: FileLocks, directory: pathlib.Path
) -> None:
    def lock_many() -> None:
        for key in keys_on_different_stripes(backend, 40):
            backend.acquire(key, 1.0).release()
        assert len(open_lock_files(directory)) == 8

    in_thread(lock_many)


@needs_proc
def test_a_thread_closes_its_least_recently_used_file_first(
    backend: FileLocks, directory: pathlib.Path
) -> None:
    def lock() -> None:
        first, *others = keys_on_different_stripes(backend, 9)
        for key in [first, *others[:7], first, others[7]]:
            backend.acquire(key, 1.0).release()
        # The first was used again after others[0], so others[0] went.
        assert open_lock_files(directory) == sorted(
            backend.path_for(key) for key in [first, *others[1:]]
        )

    in_thread(lock)


@needs_proc
def test_lock_files_of_ended_threads_are_closed(
    backend: FileLocks, directory: pathlib.Path
) -> None:
    # As the development server does: a new thread for every request.
    keys = keys_on_different_stripes(backend, 8)

    def lock_each() -> None:
        for key in keys:
            backend.acquire(key, WAIT).release()

    before = len(os.listdir("/proc/self/fd"))
    for _ in range(20):
        threads = [threading.Thread(target=lock_each) for _ in range(10)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(WAIT)
    # 200 threads kept 8 files each while they ran: 1600 if they leaked. The
    # slack is for anything else in this process that opened a file.
    assert open_lock_files(directory) == []
    assert len(os.listdir("/proc/self/fd")) <= before + 8


@needs_proc
def test_a_lock_released_by_another_thread_closes_its_file(
    backend: FileLocks, directory: pathlib.Path
) -> None:
    held = backend.acquire("key", 1.0)
    released = threading.Event()
    checked = threading.Event()

    def release() -> None:
        held.release()
        released.set()
        checked.wait(WAIT)

    releaser = threading.Thread(target=release)
    releaser.start()
    try:
        assert released.wait(WAIT)
        # Neither thread keeps it: the releaser is still alive.
        assert open_lock_files(directory) == []
    finally:
        checked.set()
        releaser.join(WAIT)
    backend.acquire("key", 0).release()


def test_a_lock_dropped_unreleased_ends_at_garbage_collection(
    backend: FileLocks,
) -> None:
    backend.acquire("key", 1.0).release()
    held = backend.acquire("key", 1.0)
    del held
    gc.collect()
    in_thread(lambda: backend.acquire("key", 0).release())


def test_kept_files_give_no_warning_at_interpreter_exit(
    directory: pathlib.Path,
) -> None:
    program = (
        "import sys, threading\n"
        "from flask_preconditions.locks import FileLocks\n"
        "backend = FileLocks(sys.argv[1])\n"
        "backend.acquire('key', 1.0).release()\n"
        "stop = threading.Event()\n"
        "def keep():\n"
        "    backend.acquire('other', 1.0).release()\n"
        "    stop.wait()\n"
        "threading.Thread(target=keep, daemon=True).start()\n"
        # Unreleased, in a module that goes last at shutdown.
        "import builtins\n"
        "builtins.held = backend.acquire('late', 1.0)\n"
    )
    root = pathlib.Path(__file__).resolve().parent.parent
    result = subprocess.run(
        [sys.executable, "-X", "dev", "-W", "error", "-c", program, str(directory)],
        capture_output=True,
        text=True,
        timeout=WAIT,
        env={**os.environ, "PYTHONPATH": str(root)},
    )
    assert (result.returncode, result.stderr) == (0, "")


# Not reentrant through a kept file


@pytest.mark.parametrize("second", ["same key", "same stripe", "same directory"])
def test_a_thread_asking_again_for_a_stripe_it_holds_times_out(
    backend: FileLocks, directory: pathlib.Path, second: str
) -> None:
    first, other = keys_on_one_stripe(backend, 2)
    again = FileLocks(directory) if second == "same directory" else backend
    key = other if second == "same stripe" else first
    # The first lock is taken through the thread's kept file.
    backend.acquire(first, 1.0).release()
    held = backend.acquire(first, 1.0)
    try:
        with pytest.raises(LockTimeout):
            again.acquire(key, SHORT)
        # Still held: the failed attempt did not free it.
        with pytest.raises(LockTimeout):
            in_thread(lambda: backend.acquire(first, 0))
    finally:
        held.release()
    in_thread(lambda: backend.acquire(first, 0).release())


# Forks


@needs_fork
def test_a_forked_child_waits_for_the_lock_its_parent_holds(
    backend: FileLocks,
) -> None:
    backend.acquire("key", 1.0).release()
    held = backend.acquire("key", 1.0)
    try:
        assert exit_code(start_child(lambda: try_lock(backend, "key"))) == TIMED_OUT
        # Closing its copies in the child left the parent's lock in place.
        with pytest.raises(LockTimeout):
            in_thread(lambda: backend.acquire("key", 0))
    finally:
        held.release()


def parent_locks_after_the_fork(
    backend: FileLocks, fork: t.Callable[[], int] = os.fork
) -> int:
    """Keep a file, fork, then lock through the kept file, which the child
    has a copy of; how the child's attempt on the same key ended."""
    backend.acquire("key", 1.0).release()
    readable, writable = os.pipe()

    def child() -> int:
        os.close(writable)
        assert os.read(readable, 1) == b"x"
        return try_lock(backend, "key")

    pid = start_child(child, fork)
    os.close(readable)
    try:
        held = backend.acquire("key", 1.0)
        try:
            os.write(writable, b"x")
            return exit_code(pid)
        finally:
            held.release()
    finally:
        os.close(writable)


@needs_fork
def test_a_forked_child_waits_for_a_lock_its_parent_takes_after_the_fork(
    backend: FileLocks,
) -> None:
    assert parent_locks_after_the_fork(backend) == TIMED_OUT


@needs_fork
@pytest.mark.skipif(sys.platform != "linux", reason="calls the C library's fork")
def test_a_child_forked_without_python_s_fork_handlers_waits_for_its_parent(
    backend: FileLocks,
) -> None:
    # As uWSGI forks its workers by default: no os.register_at_fork handler
    # runs, so the child still has its parent's kept file.
    libc_fork = ctypes.CDLL(None, use_errno=True).fork
    assert parent_locks_after_the_fork(backend, libc_fork) == TIMED_OUT


@needs_proc
@needs_fork
def test_a_forked_child_keeps_none_of_its_parent_s_lock_files_open(
    backend: FileLocks, directory: pathlib.Path
) -> None:
    # Kept open, they would keep the parent's locks alive after it died.
    first, second = keys_on_different_stripes(backend, 2)
    backend.acquire(first, 1.0).release()
    held = backend.acquire(second, 1.0)
    try:
        assert len(open_lock_files(directory)) == 2
        assert exit_code(start_child(lambda: len(open_lock_files(directory)))) == 0
    finally:
        held.release()


# Removed lock files


def test_a_kept_file_that_a_cleaner_removed_is_not_trusted(
    backend: FileLocks,
) -> None:
    backend.acquire("key", 1.0).release()
    # A cleaner removes it; another thread locks the file that replaces it.
    os.remove(backend.path_for("key"))
    with Holder(backend, "key"), pytest.raises(LockTimeout):
        backend.acquire("key", SHORT)
    backend.acquire("key", 0).release()


@needs_fork
def test_a_kept_file_that_a_cleaner_removed_does_not_let_in_beside_a_process(
    backend: FileLocks,
) -> None:
    backend.acquire("key", 1.0).release()
    os.remove(backend.path_for("key"))
    # Another process locks the file that replaces it, then waits to be told.
    held_by_child, child_holds = os.pipe()
    child_may_go, tell_child = os.pipe()

    def child() -> int:
        os.close(held_by_child)
        os.close(tell_child)
        held = FileLocks(backend.directory).acquire("key", 1.0)
        os.write(child_holds, b"x")
        os.read(child_may_go, 1)
        held.release()
        return 0

    pid = start_child(child)
    os.close(child_holds)
    os.close(child_may_go)
    try:
        assert os.read(held_by_child, 1) == b"x"
        with pytest.raises(LockTimeout):
            backend.acquire("key", SHORT)
    finally:
        os.close(tell_child)
        os.close(held_by_child)
        assert exit_code(pid) == 0
    backend.acquire("key", 0).release()


@needs_proc
def test_a_file_removed_while_it_is_waited_for_is_locked_on_its_successor(
    backend: FileLocks, directory: pathlib.Path
) -> None:
    taken = threading.Event()

    def wait_for_it() -> None:
        held = backend.acquire("key", WAIT)
        taken.set()
        held.release()

    first = Holder(backend, "key").start()
    waiter = threading.Thread(target=wait_for_it)
    waiter.start()
    try:
        # The waiter has opened the file and polls it.
        while len(open_lock_files(directory)) < 2:
            assert waiter.is_alive()
            time.sleep(0.001)
        os.remove(backend.path_for("key"))
        with Holder(backend, "key"):
            # The waiter now gets the removed file, and must not stop there.
            first.stop()
            assert not taken.wait(SHORT * 2)
        assert taken.wait(WAIT)
    finally:
        first.stop()
        waiter.join(WAIT)
