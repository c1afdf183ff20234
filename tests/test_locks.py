"""The per-resource write locks of flask_preconditions.locks.

Mutual exclusion is shown the only way it can be: a counter incremented by
read, sleep, write from several threads or processes stays exact inside the
lock, while the same harness without the lock (the negative control) loses
increments, so a broken lock could not pass unseen.

The Redis and PostgreSQL backends run against real servers named by
PRECONDITIONS_TEST_REDIS_URL and PRECONDITIONS_TEST_DATABASE_URL (`.ci/run`
starts both). Without them those tests skip, except under CI=true, where the
servers are promised and a missing one fails the test.
"""

from __future__ import annotations

import concurrent.futures
import hashlib
import importlib.util
import logging
import math
import os
import pathlib
import selectors
import signal
import stat
import subprocess
import sys
import tempfile
import threading
import time
import typing as t
import uuid

import pytest

from flask_preconditions.locks import backend_from_setting
from flask_preconditions.locks import FileLocks
from flask_preconditions.locks import HeldLock
from flask_preconditions.locks import LockBackend
from flask_preconditions.locks import LockTimeout
from flask_preconditions.locks import PostgresAdvisoryLocks
from flask_preconditions.locks import RedisLocks
from flask_preconditions.locks import resource_key
from flask_preconditions.locks import ThreadLocks
from helpers import service_url

ROOT = pathlib.Path(__file__).resolve().parent.parent
WORKER = ROOT / "tests" / "locks_worker.py"

REDIS_VARIABLE = "PRECONDITIONS_TEST_REDIS_URL"
POSTGRES_VARIABLE = "PRECONDITIONS_TEST_DATABASE_URL"

#: Threads or processes racing for one counter, and the increments each makes.
RACERS = 4
INCREMENTS = 20
#: The read-to-write window of each increment, where a lost update happens.
PAUSE = 0.001

#: The longest any test waits for a lock, a worker or a line of output.
WAIT = 20.0

needs_sigkill = pytest.mark.skipif(
    not hasattr(signal, "SIGKILL"), reason="needs SIGKILL (POSIX)"
)
needs_posix_owner = pytest.mark.skipif(
    not hasattr(os, "getuid"), reason="needs POSIX file ownership"
)


class NoLocks:
    """A backend that locks nothing: the negative control."""

    class _Nothing:
        def release(self) -> None:
            pass

    def acquire(self, key: str, timeout: float) -> HeldLock:
        return self._Nothing()


@pytest.fixture
def key() -> str:
    """A key no other test, or concurrent run, uses on a shared server."""
    return f"test:{uuid.uuid4().hex}"


@pytest.fixture
def private_tempdir(tmp_path: pathlib.Path, monkeypatch: pytest.MonkeyPatch) -> str:
    """Point tempfile.gettempdir() at a directory of this test's own."""
    directory = tmp_path / "tmp"
    directory.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(directory))
    return str(directory)


@pytest.fixture
def redis_url() -> str:
    return service_url(REDIS_VARIABLE)


@pytest.fixture
def postgres_url() -> str:
    return service_url(POSTGRES_VARIABLE)


@pytest.fixture(
    params=[
        "thread",
        "file",
        "redis",
        pytest.param("postgresql", marks=pytest.mark.postgres),
    ]
)
def backend(
    request: pytest.FixtureRequest, tmp_path: pathlib.Path
) -> t.Iterator[t.Any]:
    """Each backend, the servers' ones on the servers the tests are given."""
    if request.param == "thread":
        yield ThreadLocks()
    elif request.param == "file":
        yield FileLocks(tmp_path / "locks")
    elif request.param == "redis":
        redis_backend = RedisLocks(service_url(REDIS_VARIABLE))
        yield redis_backend
        redis_backend.client.close()
    else:
        postgres_backend = PostgresAdvisoryLocks(service_url(POSTGRES_VARIABLE))
        yield postgres_backend
        postgres_backend.engine.dispose()


def count_in_threads(backend: LockBackend, keys: t.Sequence[str]) -> int:
    """Let one thread per key increment a shared counter INCREMENTS times by
    read, sleep, write, each inside the lock on its key; the final count."""
    counter = {"value": 0}
    start = threading.Barrier(len(keys))

    def increment(key: str) -> None:
        start.wait(timeout=WAIT)
        for _ in range(INCREMENTS):
            held = backend.acquire(key, WAIT)
            try:
                value = counter["value"]
                time.sleep(PAUSE)
                counter["value"] = value + 1
            finally:
                held.release()

    with concurrent.futures.ThreadPoolExecutor(len(keys)) as pool:
        futures = [pool.submit(increment, key) for key in keys]
        for future in futures:
            future.result(timeout=WAIT * 2)
    return counter["value"]


def worker_environment() -> dict[str, str]:
    path = os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")]))
    return {**os.environ, "PYTHONPATH": path}


def start_worker(*arguments: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, str(WORKER), *arguments],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=worker_environment(),
        cwd=ROOT,
    )


def read_line(process: subprocess.Popen[str]) -> str:
    """The next line the worker prints, waiting at most WAIT seconds."""
    assert process.stdout is not None
    with selectors.DefaultSelector() as selector:
        selector.register(process.stdout, selectors.EVENT_READ)
        if not selector.select(WAIT):
            raise AssertionError(f"the worker printed nothing within {WAIT} s")
    line = process.stdout.readline().strip()
    if not line:
        _, errors = process.communicate(timeout=WAIT)
        raise AssertionError(f"the worker ended without a line:\n{errors}")
    return line


def stop(processes: t.Iterable[subprocess.Popen[str]]) -> None:
    for process in processes:
        if process.poll() is None:
            process.kill()
        process.communicate(timeout=WAIT)


def count_in_processes(
    tmp_path: pathlib.Path, setting: list[str], key: str, *, lock: bool = True
) -> int:
    """The same as count_in_threads with RACERS worker processes on one key,
    and a counter in a file; the final count."""
    counter = tmp_path / "counter"
    counter.write_text("0")
    go = tmp_path / "go"
    arguments = [
        "count",
        *setting,
        f"--key={key}",
        f"--counter={counter}",
        f"--go={go}",
        f"--increments={INCREMENTS}",
        f"--pause={PAUSE * 2}",
    ]
    if not lock:
        arguments.append("--no-lock")
    processes = [start_worker(*arguments) for _ in range(RACERS)]
    try:
        for process in processes:
            assert read_line(process) == "ready"
        # All have started, so the increments overlap instead of running one
        # process after the other, each on its own.
        go.touch()
        for process in processes:
            _, errors = process.communicate(timeout=WAIT * 2)
            assert process.returncode == 0, errors
    finally:
        stop(processes)
    return int(counter.read_text())


def assert_killed_holder_frees_its_lock(
    backend: LockBackend, setting: list[str], key: str
) -> None:
    """SIGKILL a process while it holds the lock on key; the lock must free."""
    process = start_worker("hold", *setting, f"--key={key}")
    try:
        assert read_line(process) == "held"
        with pytest.raises(LockTimeout):
            backend.acquire(key, 0)
        os.kill(process.pid, signal.SIGKILL)
        process.wait(timeout=WAIT)
        assert process.returncode == -signal.SIGKILL
        started = time.monotonic()
        backend.acquire(key, 5.0).release()
        assert time.monotonic() - started < 5.0
    finally:
        stop([process])


def keys_on_different_stripes(backend: FileLocks) -> tuple[str, str]:
    first = "key:0"
    for number in range(1, 100):
        other = f"key:{number}"
        if backend.path_for(other) != backend.path_for(first):
            return first, other
    raise AssertionError("100 keys on one stripe")


# resource_key


def test_resource_key_has_the_documented_format() -> None:
    # Pinned: workers of two versions must compute the same key.
    assert resource_key("notes", "note", {"note_id": 5}) == "notes:note?note_id=5"
    assert resource_key("notes", "index", {}) == "notes:index"
    assert (
        resource_key("my app", "api.item", {"path": "a/b", "v": "é"})
        == "my%20app:api.item?path=a%2Fb&v=%C3%A9"
    )


def test_resource_key_is_the_same_in_another_process() -> None:
    arguments = ("app", "notes.update", {"b": "x y", "a": 7, "c": uuid.UUID(int=1)})
    program = (
        "import uuid\n"
        "from flask_preconditions.locks import resource_key\n"
        "print(resource_key('app', 'notes.update',"
        " {'b': 'x y', 'a': 7, 'c': uuid.UUID(int=1)}))\n"
    )
    for seed in ("1", "2"):
        result = subprocess.run(
            [sys.executable, "-c", program],
            capture_output=True,
            text=True,
            check=True,
            timeout=WAIT,
            env={**worker_environment(), "PYTHONHASHSEED": seed},
        )
        assert result.stdout.strip() == resource_key(*arguments)


def test_resource_key_does_not_depend_on_view_argument_order() -> None:
    assert resource_key("app", "e", {"a": 1, "b": 2}) == resource_key(
        "app", "e", {"b": 2, "a": 1}
    )


@pytest.mark.parametrize(
    ("one", "other"),
    [
        (("app", "note", {"id": 1}), ("app", "note", {"id": 2})),
        (("app", "note", {"id": 1}), ("app", "user", {"id": 1})),
        (("app", "note", {"id": 1}), ("other", "note", {"id": 1})),
        (("app", "note", {"id": 1}), ("app", "note", {"key": 1})),
        (("app", "note", {}), ("app", "note", {"id": 1})),
        # Separators inside a part must not make two resources one.
        (("a:b", "c", {}), ("a", "b:c", {})),
        (("app", "e", {"x": "1&y=2"}), ("app", "e", {"x": "1", "y": "2"})),
        (("app", "e?x=1", {}), ("app", "e", {"x": "1"})),
    ],
)
def test_resource_key_differs_for_different_resources(
    one: tuple[str, str, dict[str, t.Any]], other: tuple[str, str, dict[str, t.Any]]
) -> None:
    assert resource_key(*one) != resource_key(*other)


def test_resource_key_gives_a_value_and_its_string_one_key() -> None:
    assert resource_key("app", "e", {"id": 5}) == resource_key("app", "e", {"id": "5"})


def test_resource_key_refuses_a_value_whose_text_is_its_memory_address() -> None:
    with pytest.raises(TypeError, match=r"'thing'.*__str__"):
        resource_key("app", "e", {"thing": object()})


def test_importing_locks_imports_neither_flask_nor_the_services() -> None:
    program = (
        "import sys\n"
        "import flask_preconditions.locks\n"
        "print(sorted({'flask', 'redis', 'sqlalchemy'} & set(sys.modules)))\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", program],
        capture_output=True,
        text=True,
        check=True,
        timeout=WAIT,
        env=worker_environment(),
    )
    assert result.stdout.strip() == "[]"


# The contract, on every backend


def test_negative_control_threads_without_a_lock_lose_updates() -> None:
    assert count_in_threads(NoLocks(), ["k"] * RACERS) < RACERS * INCREMENTS


def test_threads_holding_one_key_exclude_each_other(backend: t.Any, key: str) -> None:
    assert count_in_threads(backend, [key] * RACERS) == RACERS * INCREMENTS


def test_a_held_key_times_out_after_the_timeout(backend: t.Any, key: str) -> None:
    held = backend.acquire(key, 1.0)
    try:
        with concurrent.futures.ThreadPoolExecutor(1) as pool:
            started = time.monotonic()
            waiting = pool.submit(backend.acquire, key, 0.3)
            with pytest.raises(LockTimeout) as caught:
                waiting.result(timeout=WAIT)
            waited = time.monotonic() - started
    finally:
        held.release()
    # Redis gives up when its next poll would end past the timeout.
    assert 0.25 <= waited < 3.0
    assert (caught.value.key, caught.value.timeout) == (key, 0.3)


def test_timeout_zero_tries_once_without_waiting(backend: t.Any, key: str) -> None:
    held = backend.acquire(key, 0)
    try:
        started = time.monotonic()
        with pytest.raises(LockTimeout):
            backend.acquire(key, 0)
        assert time.monotonic() - started < 0.5
    finally:
        held.release()


def test_a_thread_asking_again_for_its_own_key_times_out(
    backend: t.Any, key: str
) -> None:
    # A reentrant lock would let a second request on the same thread (or a
    # thread sharing the lock object) in: a lost update.
    held = backend.acquire(key, 1.0)
    try:
        with pytest.raises(LockTimeout):
            backend.acquire(key, 0.1)
    finally:
        held.release()


def test_release_is_idempotent(backend: t.Any, key: str) -> None:
    held = backend.acquire(key, 1.0)
    held.release()
    held.release()
    again = backend.acquire(key, 0)
    # The first hold's second release must not have freed this one.
    held.release()
    with pytest.raises(LockTimeout):
        backend.acquire(key, 0)
    again.release()


def test_racing_releases_release_once(backend: t.Any, key: str) -> None:
    # Many threads releasing one hold at once: the backend's release runs
    # once (a second would unlock a lock someone else took meanwhile).
    held = backend.acquire(key, 5.0)
    calls = []
    real = held._release
    held._release = lambda: (calls.append(1), real())
    barrier = threading.Barrier(8)

    def release() -> None:
        barrier.wait()
        held.release()

    threads = [threading.Thread(target=release) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert calls == [1]
    backend.acquire(key, 0).release()


def test_release_from_another_thread_frees_the_lock(backend: t.Any, key: str) -> None:
    held = backend.acquire(key, 1.0)
    releaser = threading.Thread(target=held.release)
    releaser.start()
    releaser.join(timeout=WAIT)
    backend.acquire(key, 0).release()


def test_different_keys_do_not_block_each_other(backend: t.Any, key: str) -> None:
    if isinstance(backend, FileLocks):
        first, other = keys_on_different_stripes(backend)
    else:
        first, other = key, key + ":other"
    held = backend.acquire(first, 1.0)
    try:
        backend.acquire(other, 0).release()
    finally:
        held.release()


@pytest.mark.parametrize("timeout", [-1.0, math.nan, math.inf])
def test_a_timeout_that_is_not_a_finite_wait_is_refused(
    backend: t.Any, key: str, timeout: float
) -> None:
    with pytest.raises(ValueError, match="timeout"):
        backend.acquire(key, timeout)


def test_lock_timeout_names_the_key_and_the_wait() -> None:
    error = LockTimeout("app:note?id=1", 2.5)
    assert (error.key, error.timeout) == ("app:note?id=1", 2.5)
    assert "app:note?id=1" in str(error)
    assert "2.5" in str(error)


# FileLocks


def test_file_locks_exclude_threads_on_one_stripe_with_different_keys(
    tmp_path: pathlib.Path,
) -> None:
    backend = FileLocks(tmp_path, stripes=1)
    keys = [f"key:{number}" for number in range(RACERS)]
    assert count_in_threads(backend, keys) == RACERS * INCREMENTS


def test_file_locks_of_two_objects_on_one_directory_exclude_each_other(
    tmp_path: pathlib.Path, key: str
) -> None:
    held = FileLocks(tmp_path).acquire(key, 1.0)
    try:
        with pytest.raises(LockTimeout):
            FileLocks(tmp_path).acquire(key, 0)
    finally:
        held.release()


def test_file_locks_keep_a_bounded_number_of_files(tmp_path: pathlib.Path) -> None:
    backend = FileLocks(tmp_path / "locks", stripes=64)
    for number in range(10_000):
        backend.acquire(f"app:note?id={number}", 1.0).release()
    files = list((tmp_path / "locks").iterdir())
    assert len(files) <= 64


def test_file_locks_keys_spread_over_the_stripes(tmp_path: pathlib.Path) -> None:
    backend = FileLocks(tmp_path, stripes=8)
    paths = {backend.path_for(f"key:{number}") for number in range(200)}
    assert len(paths) == 8
    assert all(os.path.dirname(path) == str(tmp_path) for path in paths)


@needs_posix_owner
def test_file_locks_default_to_a_private_per_user_directory(
    private_tempdir: str,
) -> None:
    backend = FileLocks()
    assert backend.directory == os.path.join(
        private_tempdir, f"flask-preconditions-{os.getuid()}"
    )
    assert stat.S_IMODE(os.stat(backend.directory).st_mode) == 0o700


@needs_posix_owner
def test_file_locks_refuse_a_default_directory_others_can_write(
    private_tempdir: str,
) -> None:
    directory = os.path.join(private_tempdir, f"flask-preconditions-{os.getuid()}")
    os.mkdir(directory)
    os.chmod(directory, 0o777)
    with pytest.raises(PermissionError, match=r"FileLocks\(directory="):
        FileLocks()


@needs_posix_owner
def test_file_locks_remake_a_removed_directory_private(
    tmp_path: pathlib.Path, key: str
) -> None:
    directory = tmp_path / "locks"
    backend = FileLocks(directory)
    os.rmdir(directory)
    backend.acquire(key, 1.0).release()
    assert stat.S_IMODE(directory.stat().st_mode) == 0o700


def test_file_locks_refuse_no_stripes(tmp_path: pathlib.Path) -> None:
    with pytest.raises(ValueError, match="stripes"):
        FileLocks(tmp_path, stripes=0)


def test_negative_control_processes_without_a_lock_lose_updates(
    tmp_path: pathlib.Path, key: str
) -> None:
    setting = ["--setting=file", f"--directory={tmp_path / 'locks'}"]
    total = count_in_processes(tmp_path, setting, key, lock=False)
    assert total < RACERS * INCREMENTS


def test_file_locks_exclude_each_other_across_processes(
    tmp_path: pathlib.Path, key: str
) -> None:
    setting = ["--setting=file", f"--directory={tmp_path / 'locks'}"]
    assert count_in_processes(tmp_path, setting, key) == RACERS * INCREMENTS


@needs_sigkill
def test_file_lock_of_a_killed_process_is_released(
    tmp_path: pathlib.Path, key: str
) -> None:
    directory = tmp_path / "locks"
    setting = ["--setting=file", f"--directory={directory}"]
    assert_killed_holder_frees_its_lock(FileLocks(directory), setting, key)


# ThreadLocks


def test_thread_locks_forget_keys_nobody_holds_or_awaits() -> None:
    backend = ThreadLocks()
    for number in range(1000):
        backend.acquire(f"key:{number}", 1.0).release()
    assert backend.tracked_keys == 0
    held = backend.acquire("busy", 1.0)
    with pytest.raises(LockTimeout):
        backend.acquire("busy", 0.05)
    # The waiter that gave up has left; the holder remains.
    assert backend.tracked_keys == 1
    held.release()
    assert backend.tracked_keys == 0


# RedisLocks


def test_redis_locks_exclude_each_other_across_processes(
    tmp_path: pathlib.Path, redis_url: str, key: str
) -> None:
    setting = [f"--setting={redis_url}"]
    assert count_in_processes(tmp_path, setting, key) == RACERS * INCREMENTS


def test_redis_lease_that_ran_out_is_logged_on_release(
    redis_url: str, key: str, caplog: pytest.LogCaptureFixture
) -> None:
    backend = RedisLocks(redis_url, lease=0.3)
    held = backend.acquire(key, 0)
    time.sleep(0.5)
    # The lease really ended: another request gets in.
    successor = backend.acquire(key, 0)
    with caplog.at_level(logging.WARNING, logger="flask_preconditions.locks"):
        held.release()
    try:
        [record] = caplog.records
        assert record.levelno == logging.WARNING
        assert key in record.getMessage()
        assert "lease" in record.getMessage()
        # The late release must not have freed the successor's lock.
        with pytest.raises(LockTimeout):
            backend.acquire(key, 0)
    finally:
        successor.release()
        backend.client.close()


def test_redis_release_within_the_lease_logs_nothing(
    redis_url: str, key: str, caplog: pytest.LogCaptureFixture
) -> None:
    backend = RedisLocks(redis_url)
    with caplog.at_level(logging.DEBUG, logger="flask_preconditions.locks"):
        backend.acquire(key, 0).release()
    backend.client.close()
    assert caplog.records == []


def test_redis_locks_use_the_prefix(redis_url: str, key: str) -> None:
    backend = RedisLocks(redis_url, prefix="my-app:")
    held = backend.acquire(key, 0)
    try:
        assert backend.client.exists(f"my-app:{key}") == 1
        ttl = backend.client.pttl(f"my-app:{key}")
        assert 0 < ttl <= 60_000
    finally:
        held.release()
        backend.client.close()


@pytest.mark.parametrize("lease", [0, 0.0004, -1.0, math.inf, math.nan])
def test_redis_lease_must_be_a_finite_positive_time(lease: float) -> None:
    pytest.importorskip("redis")
    with pytest.raises(ValueError, match="lease"):
        RedisLocks("redis://127.0.0.1:1/0", lease=lease)


def test_redis_locks_without_redis_py_name_the_extra(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setitem(sys.modules, "redis", None)
    with pytest.raises(ImportError, match=r"flask-preconditions\[redis\]"):
        RedisLocks("redis://127.0.0.1:1/0")


# PostgresAdvisoryLocks


@pytest.mark.postgres
def test_postgres_locks_exclude_each_other_across_processes(
    tmp_path: pathlib.Path, postgres_url: str, key: str
) -> None:
    setting = [f"--setting={postgres_url}"]
    assert count_in_processes(tmp_path, setting, key) == RACERS * INCREMENTS


@pytest.mark.postgres
@needs_sigkill
def test_postgres_lock_of_a_killed_process_is_released(
    postgres_url: str, key: str
) -> None:
    backend = PostgresAdvisoryLocks(postgres_url)
    try:
        assert_killed_holder_frees_its_lock(backend, [f"--setting={postgres_url}"], key)
    finally:
        backend.engine.dispose()


@pytest.mark.postgres
def test_postgres_locks_return_their_connections(postgres_url: str, key: str) -> None:
    backend = PostgresAdvisoryLocks(postgres_url)
    pool = backend.engine.pool
    try:
        held = backend.acquire(key, 1.0)
        assert pool.checkedout() == 1
        for timeout in (0, 0.05):
            with pytest.raises(LockTimeout):
                backend.acquire(key, timeout)
        # A timed-out attempt gave its connection back.
        assert pool.checkedout() == 1
        held.release()
        assert pool.checkedout() == 0
    finally:
        backend.engine.dispose()


@pytest.mark.postgres
def test_postgres_lock_is_the_documented_advisory_lock(
    postgres_url: str, key: str
) -> None:
    import sqlalchemy

    backend = PostgresAdvisoryLocks(postgres_url)
    held = backend.acquire(key, 1.0)
    try:
        with backend.engine.connect() as connection:
            # The one-number form of an advisory lock: classid is the high
            # 32 bits, objid the low 32 bits, objsubid 1.
            rows = connection.execute(
                sqlalchemy.text(
                    "SELECT classid::bigint, objid::bigint FROM pg_locks"
                    " WHERE locktype = 'advisory' AND objsubid = 1 AND granted"
                )
            ).all()
    finally:
        held.release()
        backend.engine.dispose()
    held_numbers = {high << 32 | low for high, low in rows}
    # The same 64 bits, read unsigned.
    assert PostgresAdvisoryLocks.lock_id(key) % 2**64 in held_numbers


@pytest.mark.postgres
def test_postgres_locks_replace_a_pooled_connection_the_server_closed(
    postgres_url: str, key: str
) -> None:
    import sqlalchemy

    name = f"locks-test-{uuid.uuid4().hex[:16]}"
    url = sqlalchemy.make_url(postgres_url).update_query_dict(
        {"application_name": name}
    )
    backend = PostgresAdvisoryLocks(url.render_as_string(hide_password=False))
    other = sqlalchemy.create_engine(postgres_url)
    try:
        backend.acquire(key, 1.0).release()
        with other.connect() as connection:
            ended = connection.execute(
                sqlalchemy.text(
                    "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity"
                    " WHERE application_name = :name"
                ),
                {"name": name},
            ).scalar_one()
        assert ended == 1
        # The pool's pre-ping finds the dead connection and opens another.
        backend.acquire(key, 1.0).release()
    finally:
        backend.engine.dispose()
        other.dispose()


def test_postgres_lock_id_is_the_first_8_bytes_of_sha256_signed() -> None:
    digest = hashlib.sha256(b"app:note?id=1").digest()
    expected = int.from_bytes(digest[:8], "big", signed=True)
    assert PostgresAdvisoryLocks.lock_id("app:note?id=1") == expected
    # Pinned: hosts of two versions must lock the same number.
    assert PostgresAdvisoryLocks.lock_id("") == -2039914840885289964


def test_postgres_locks_refuse_an_engine_on_another_database() -> None:
    sqlalchemy = pytest.importorskip("sqlalchemy")
    engine = sqlalchemy.create_engine("sqlite://")
    with pytest.raises(ValueError, match="PostgreSQL"):
        PostgresAdvisoryLocks(engine)


def test_postgres_locks_without_sqlalchemy_name_the_extra(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setitem(sys.modules, "sqlalchemy", None)
    with pytest.raises(ImportError, match=r"flask-preconditions\[postgresql\]"):
        PostgresAdvisoryLocks("postgresql://127.0.0.1:1/db")


# backend_from_setting


@pytest.mark.parametrize("value", [None, False, "off", " OFF "])
def test_setting_off_turns_locking_off(value: t.Any) -> None:
    assert backend_from_setting(value) is None


@pytest.mark.usefixtures("private_tempdir")
@pytest.mark.parametrize(
    ("value", "kind"),
    [("file", FileLocks), ("File", FileLocks), ("thread", ThreadLocks)],
)
def test_setting_names_a_local_backend(value: str, kind: type[t.Any]) -> None:
    assert type(backend_from_setting(value)) is kind


@pytest.mark.parametrize(
    "url",
    [
        "redis://127.0.0.1:1/0",
        "rediss://user:secret@127.0.0.1:1/0",
        "unix:///run/redis/redis.sock?db=0",
    ],
)
def test_setting_with_a_redis_url_is_redis_locks(url: str) -> None:
    pytest.importorskip("redis")
    backend = backend_from_setting(url)
    assert isinstance(backend, RedisLocks)
    assert backend.lease == 60.0


@pytest.mark.parametrize(
    ("url", "driver"),
    [
        ("postgresql+psycopg://u:p@127.0.0.1:1/db", "psycopg"),
        (
            "postgresql://u:p@127.0.0.1:1/db",
            "psycopg2" if importlib.util.find_spec("psycopg2") else "psycopg",
        ),
    ],
)
def test_setting_with_a_postgresql_url_is_postgres_advisory_locks(
    url: str, driver: str
) -> None:
    pytest.importorskip("sqlalchemy")
    pytest.importorskip(driver)
    backend = backend_from_setting(url)
    assert isinstance(backend, PostgresAdvisoryLocks)
    assert backend.engine.dialect.driver == driver


def test_setting_with_an_object_that_can_acquire_is_that_object() -> None:
    custom = NoLocks()
    assert backend_from_setting(custom) is custom


@pytest.mark.parametrize(
    "value", ["", "on", "files", "redis", "memcached://127.0.0.1", "postgres://db"]
)
def test_setting_with_an_unknown_string_lists_the_accepted_values(value: str) -> None:
    with pytest.raises(ValueError) as caught:
        backend_from_setting(value)
    message = str(caught.value)
    for accepted in ("'off'", "'file'", "'thread'", "redis://", "postgresql://"):
        assert accepted in message


class NotCallable:
    acquire = "not a method"


@pytest.mark.parametrize("value", [True, 1, 0.5, object(), NotCallable()])
def test_setting_of_another_type_lists_the_accepted_values(value: t.Any) -> None:
    with pytest.raises(TypeError, match=r"'file'.*acquire"):
        backend_from_setting(value)


def test_setting_with_a_backend_class_asks_for_an_instance() -> None:
    with pytest.raises(TypeError, match=r"instance, such as FileLocks\(\.\.\.\)"):
        backend_from_setting(FileLocks)
