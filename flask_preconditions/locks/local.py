"""Locks of one host: OS file locks across processes, and thread locks.

.. versionadded:: 0.2
"""

from __future__ import annotations

import contextlib
import os
import stat
import tempfile
import threading
import time
import typing as t
import weakref

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

# How many lock files each thread keeps open between its acquisitions. Opening
# one costs more than locking it, but every kept file is a descriptor, and a
# process has a limit on those (often 1024) that its threads share.
_FILES_PER_THREAD = 8

# How many keys' paths each FileLocks remembers.
_RECENT_KEYS = 256

_OPEN_FLAGS = os.O_RDWR | os.O_CREAT | os.O_CLOEXEC


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

    A lock is :func:`fcntl.flock` on POSIX (``msvcrt.locking`` through the
    `filelock <https://py-filelock.readthedocs.io/>`__ package on Windows),
    taken on an open file of the thread's own: each thread opens a lock file
    once and keeps it open for its next locks, up to 8 files per thread (the
    least recently used is closed first). These locks belong to an open file,
    so two threads of one process exclude each other exactly as two
    processes do, and a lock is not reentrant: a thread that asks for a stripe
    it holds opens the file anew and waits. A lock released by a thread other
    than the one that took it closes its file. A thread's files are closed
    when it ends. A forked process never locks through the files it
    inherits, which share its parent's locks: :func:`os.fork` closes them in
    the child. A lock dropped unreleased ends when its object is
    garbage-collected. A waiter polls, first after half a millisecond, then
    less often, up to every 10 ms. A lock file that a cleaner removes, while
    it is waited for or between two locks, is noticed, and the lock taken on
    its successor.

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
        # The paths of recently used keys: hashing a key and joining its path
        # cost as much as locking it. Each dict holds paths made with the
        # settings beside it.
        self._recent: tuple[tuple[str, int], dict[str, str]] = (
            (self.directory, self.stripes),
            {},
        )
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
        settings = (self.directory, self.stripes)
        known, paths = self._recent
        path = paths.get(key)
        if path is not None and known == settings:
            return path
        directory, stripes = settings
        stripe = int.from_bytes(key_digest(key)[:8], "big") % stripes
        path = os.path.join(directory, f"stripe-{stripe}.lock")
        if known != settings or len(paths) >= _RECENT_KEYS:
            # Emptied rather than ordered: it only has to stay small.
            paths = {}
            self._recent = (settings, paths)
        paths[key] = path
        return path

    def acquire(self, key: str, timeout: float) -> HeldLock:
        """Take the lock on ``key``; see :meth:`LockBackend.acquire`.

        .. versionadded:: 0.2
        """
        check_timeout(timeout)
        path = self.path_for(key)
        if fcntl is None:
            return self._acquire_portably(key, path, timeout)
        # Taken out of the thread's files while it is held, so that a second
        # lock on this stripe by the same thread opens another file and waits:
        # flock on the same open file would succeed and exclude nothing.
        file = _thread_files.files.pop(path, None)
        if file is not None and file.pid != os.getpid():
            # A fork that ran no at-fork handler (a server forking from C):
            # the parent's open file shares the parent's locks.
            file.close()
            file = None
        # The clock is read once the lock is found busy: a free one needs no
        # deadline.
        deadline = None
        delay = _FIRST_DELAY
        while True:
            if file is None:
                file = self._open(path)
            while True:
                try:
                    fcntl.flock(file.fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                    break
                except BlockingIOError:
                    now = time.monotonic()
                    if deadline is None:
                        deadline = now + timeout
                    remaining = deadline - now
                    if remaining <= 0:
                        _keep(path, file)
                        raise LockTimeout(key, timeout) from None
                    time.sleep(min(delay, remaining))
                    delay = min(delay * 2, POLL_INTERVAL)
                except BaseException:
                    file.close()
                    raise
            try:
                linked = os.fstat(file.fd).st_nlink > 0
            except BaseException:
                file.close()
                raise
            if linked:
                return _FileHold(key, path, file)
            # A cleaner removed the file, while we waited or since this thread
            # last used it: a lock on the old file excludes no one who opens
            # the new one. Closing releases it; start again on the new one.
            file.close()
            file = None

    def _open(self, path: str) -> _LockFile:
        try:
            return _open_lock_file(path)
        except FileNotFoundError:
            # A temporary-file cleaner removed the directory.
            self._make_directory()
            return _open_lock_file(path)

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


class _LockFile:
    """An open lock file, which one thread at a time locks or keeps open."""

    __slots__ = ("__weakref__", "fd", "pid")

    def __init__(self, fd: int) -> None:
        #: The descriptor, or -1 once closed.
        self.fd = fd
        #: The process that opened it.
        self.pid = os.getpid()

    def close(self) -> None:
        # Marked closed before it is, so that a child forked in between never
        # closes a number that the parent has given up and may reuse.
        fd, self.fd = self.fd, -1
        if fd >= 0:
            os.close(fd)

    def __del__(self) -> None:
        self.close()


class _ThreadFiles(threading.local):
    """The unlocked files a thread keeps open, by path, least recently used
    first.

    Only its own thread touches it, so it needs no lock. It goes when the
    thread ends, and its files are closed then.
    """

    def __init__(self) -> None:
        self.files: dict[str, _LockFile] = {}


_thread_files = _ThreadFiles()

# Every lock file of this process, for a forked child to close. A child shares
# its parent's open files, and so their locks: a file it kept would let it in
# beside its parent, and would keep a lock alive after the parent died.
_open_files: weakref.WeakSet[_LockFile] = weakref.WeakSet()
# Held across each open and by fork, so that no file is open but unlisted
# when a process forks. Reentrant, for a signal handler that forks.
_opening = threading.RLock()


def _open_lock_file(path: str) -> _LockFile:
    with _opening:
        file = _LockFile(os.open(path, _OPEN_FLAGS, 0o600))
        _open_files.add(file)
    return file


def _close_inherited_files() -> None:
    try:
        for file in list(_open_files):
            # This closes the child's copy only: an flock ends when the last
            # copy of its open file is closed, so the parent keeps its locks.
            # A number that someone else closed is no longer ours to report.
            with contextlib.suppress(OSError):
                file.close()
        _open_files.clear()
        _thread_files.files.clear()
    finally:
        _opening.release()


if fcntl is not None:
    os.register_at_fork(
        before=_opening.acquire,
        after_in_parent=_opening.release,
        after_in_child=_close_inherited_files,
    )


def _keep(path: str, file: _LockFile) -> None:
    """Keep an unlocked file open for the current thread's next lock."""
    files = _thread_files.files
    if path in files:
        file.close()
        return
    files[path] = file
    if len(files) > _FILES_PER_THREAD:
        files.pop(next(iter(files))).close()


class _FileHold(Hold):
    def __init__(self, key: str, path: str, file: _LockFile) -> None:
        super().__init__(key)
        self._path = path
        self._file: _LockFile | None = file
        self._thread = threading.get_ident()

    def _release(self) -> None:
        file, self._file = self._file, None
        if file is None or file.fd < 0:
            # Closed in a forked child: the lock is its parent's.
            return
        try:
            fcntl.flock(file.fd, fcntl.LOCK_UN)
        except BaseException:
            file.close()
            raise
        # Each thread touches only its own files, so that they need no lock.
        # (A thread that took the ident of the ended acquirer keeps the file
        # among its own, which is as safe.)
        if threading.get_ident() == self._thread:
            _keep(self._path, file)
        else:
            file.close()


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
