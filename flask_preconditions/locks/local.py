"""Locks of one host: OS file locks across processes, and thread locks.

.. versionadded:: 0.2
"""

from __future__ import annotations

import os
import stat
import tempfile
import threading
import time
import typing as t

try:
    import fcntl
except ImportError:  # Windows
    fcntl = None  # type: ignore[assignment]

from .base import check_timeout
from .base import HeldLock
from .base import Hold
from .base import key_digest
from .base import LockTimeout
from .base import POLL_INTERVAL

# The first wait of a contended lock; doubled up to POLL_INTERVAL, so that a
# lock freed soon is taken soon, and a long wait costs little CPU.
_FIRST_DELAY = 0.0005


def _default_directory() -> str:
    getuid = getattr(os, "getuid", None)
    # Windows has no uid, and its temporary directory is per user already.
    name = (
        "flask-preconditions" if getuid is None else f"flask-preconditions-{getuid()}"
    )
    return os.path.join(tempfile.gettempdir(), name)


class FileLocks:
    """Locks that hold across the worker processes and threads of one host,
    with operating-system file locks; the default backend.

    Choose it when every process that serves the application runs on one
    host: gunicorn, uWSGI or waitress workers, or the development server. It
    needs no service. The operating system releases a lock when its holder's
    process dies, even by ``SIGKILL``, so a crashed worker never leaves a
    resource locked. It cannot exclude processes on other hosts: use
    :class:`RedisLocks` or :class:`PostgresAdvisoryLocks` there.

    Each key is hashed with SHA-256 onto one of ``stripes`` lock files in
    ``directory``, so the number of files stays bounded however many
    resources there are. Two keys that share a stripe serialise their
    requests, which is safe because a request holds one lock at a time; more
    stripes make that rarer.

    Every lock is taken through a new open file, with :func:`fcntl.flock` on
    POSIX (``msvcrt.locking`` through the `filelock
    <https://py-filelock.readthedocs.io/>`__ package on Windows), so two
    threads of one process exclude each other exactly as two processes do; a
    lock is not reentrant. A waiter polls, first after half a millisecond,
    then less often, up to every 10 ms. A lock file that a cleaner removes
    while it is being waited for is noticed, and the lock taken on its
    successor.

    All workers of one application must use the same directory and the same
    number of stripes (else a key names different files), and the directory
    must be on a local filesystem: network filesystems (NFS, SMB) and some FUSE
    filesystems do not give these locks their meaning. Where the filesystem
    has no ``flock`` at all, acquiring raises :exc:`OSError` rather than fall
    back to lock files that a killed process would leave behind. In
    production, prefer a directory that no temporary-file cleaner empties
    (``systemd-tmpfiles`` ages files out of ``/tmp``), for example one under
    ``/run`` or the application's instance folder.

    :param directory: where the lock files live; created (mode ``0o700``) if
        missing. Defaults to ``flask-preconditions-<uid>`` in
        :func:`tempfile.gettempdir`, one per user so that no other local user
        can hold or replace its lock files: it must be a directory owned by
        the current user that no one else can write to, or
        :exc:`PermissionError` is raised.
    :param stripes: how many lock files to use at most.

    .. versionadded:: 0.2
    """

    def __init__(
        self, directory: str | os.PathLike[str] | None = None, *, stripes: int = 1024
    ) -> None:
        if isinstance(stripes, bool) or not isinstance(stripes, int) or stripes < 1:
            raise ValueError(f"stripes must be a positive integer, not {stripes!r}")
        self._check_ownership = directory is None
        #: The directory that holds the lock files.
        self.directory: str = os.fspath(
            _default_directory() if directory is None else directory
        )
        #: How many lock files there are at most.
        self.stripes: int = stripes
        self._make_directory()

    def _make_directory(self) -> None:
        os.makedirs(self.directory, mode=0o700, exist_ok=True)
        if not self._check_ownership or not hasattr(os, "getuid"):
            return
        # The default lives in a world-writable directory, where anyone could
        # have made it first to hold or swap our lock files.
        info = os.lstat(self.directory)
        if (
            not stat.S_ISDIR(info.st_mode)
            or info.st_uid != os.getuid()
            or info.st_mode & (stat.S_IWGRP | stat.S_IWOTH)
        ):
            raise PermissionError(
                f"{self.directory} is not a directory that only this user"
                f" (uid {os.getuid()}) can write to; remove it, or pass"
                " FileLocks(directory=...)"
            )

    def path_for(self, key: str) -> str:
        """The lock file that guards ``key``.

        .. versionadded:: 0.2
        """
        stripe = int.from_bytes(key_digest(key)[:8], "big") % self.stripes
        return os.path.join(self.directory, f"stripe-{stripe}.lock")

    def acquire(self, key: str, timeout: float) -> HeldLock:
        """Take the lock on ``key``; see :meth:`LockBackend.acquire`.

        .. versionadded:: 0.2
        """
        check_timeout(timeout)
        path = self.path_for(key)
        if fcntl is None:
            return self._acquire_portably(key, path, timeout)
        deadline = time.monotonic() + timeout
        delay = _FIRST_DELAY
        while True:
            fd = self._open(path)
            # Each acquisition opens the file anew: flock locks belong to an
            # open file, so two threads of one process exclude each other as
            # two processes do, and the OS drops a dead process's locks.
            while True:
                try:
                    fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                    break
                except BlockingIOError:
                    remaining = deadline - time.monotonic()
                    if remaining <= 0:
                        os.close(fd)
                        raise LockTimeout(key, timeout) from None
                    time.sleep(min(delay, remaining))
                    delay = min(delay * 2, POLL_INTERVAL)
                except BaseException:
                    os.close(fd)
                    raise
            if _still_linked(fd, path):
                return _FileHold(key, fd)
            # A cleaner removed the file while we waited: a lock on the old
            # file excludes no one who opens the new one. Start again.
            os.close(fd)

    def _open(self, path: str) -> int:
        try:
            return os.open(path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
        except FileNotFoundError:
            # A temporary-file cleaner removed the directory.
            self._make_directory()
            return os.open(path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)

    def _acquire_portably(self, key: str, path: str, timeout: float) -> HeldLock:
        # Windows: msvcrt locks through the filelock package.
        import filelock

        if not os.path.isdir(self.directory):
            self._make_directory()
        lock = filelock.FileLock(
            path,
            # A new, unshared, non-thread-local lock object per acquisition, so
            # that another thread waits on the OS lock instead of re-entering
            # a shared object, and release works from any thread.
            thread_local=False,
            is_singleton=False,
            # A "soft" fallback lock file would outlive a killed process.
            fallback_to_soft=False,
            poll_interval=POLL_INTERVAL,
        )
        try:
            lock.acquire(timeout=timeout, blocking=timeout > 0)
        except filelock.Timeout:
            raise LockTimeout(key, timeout) from None
        return _PortableFileHold(key, lock)

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.directory!r}, stripes={self.stripes})"


def _still_linked(fd: int, path: str) -> bool:
    try:
        held = os.fstat(fd)
        named = os.stat(path)
    except FileNotFoundError:
        return False
    return (held.st_dev, held.st_ino) == (named.st_dev, named.st_ino)


class _FileHold(Hold):
    def __init__(self, key: str, fd: int) -> None:
        super().__init__(key)
        self._fd = fd

    def _release(self) -> None:
        # Closing the file releases its lock; unlocking first says so plainly.
        try:
            fcntl.flock(self._fd, fcntl.LOCK_UN)
        finally:
            os.close(self._fd)


class _PortableFileHold(Hold):
    def __init__(self, key: str, lock: t.Any) -> None:
        super().__init__(key)
        self._lock = lock

    def _release(self) -> None:
        self._lock.release()


class _ThreadEntry:
    __slots__ = ("lock", "users")

    def __init__(self) -> None:
        self.lock = threading.Lock()
        #: Holders and waiters: the entry goes when the last one leaves.
        self.users = 0


class ThreadLocks:
    """Locks that hold across the threads of one process, and nowhere else.

    Choose it for tests and for servers that run the application in a single
    process (the development server, or one waitress or gunicorn ``gthread``
    worker). With several worker processes it excludes nothing between them;
    use :class:`FileLocks` there.

    One :class:`threading.Lock` is kept per key while a request holds or waits
    for it, and dropped when the last one leaves, so memory stays bounded by
    the number of concurrent requests. A lock is not reentrant, and may be
    released from any thread.

    .. versionadded:: 0.2
    """

    def __init__(self) -> None:
        self._entries: dict[str, _ThreadEntry] = {}
        self._entries_lock = threading.Lock()

    @property
    def tracked_keys(self) -> int:
        """How many keys a request holds or waits for now: the number of locks
        this object keeps.

        .. versionadded:: 0.2
        """
        with self._entries_lock:
            return len(self._entries)

    def acquire(self, key: str, timeout: float) -> HeldLock:
        """Take the lock on ``key``; see :meth:`LockBackend.acquire`.

        .. versionadded:: 0.2
        """
        check_timeout(timeout)
        with self._entries_lock:
            entry = self._entries.get(key)
            if entry is None:
                entry = self._entries[key] = _ThreadEntry()
            entry.users += 1
        try:
            if timeout > 0:
                acquired = entry.lock.acquire(timeout=timeout)
            else:
                acquired = entry.lock.acquire(blocking=False)
        except BaseException:
            self._leave(key, entry)
            raise
        if not acquired:
            self._leave(key, entry)
            raise LockTimeout(key, timeout)
        return _ThreadHold(key, self, entry)

    def _leave(self, key: str, entry: _ThreadEntry) -> None:
        with self._entries_lock:
            entry.users -= 1
            if entry.users == 0:
                del self._entries[key]

    def __repr__(self) -> str:
        return f"{type(self).__name__}()"


class _ThreadHold(Hold):
    def __init__(self, key: str, owner: ThreadLocks, entry: _ThreadEntry) -> None:
        super().__init__(key)
        self._owner = owner
        self._entry = entry

    def _release(self) -> None:
        self._entry.lock.release()
        self._owner._leave(self.key, self._entry)
