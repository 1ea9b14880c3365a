"""The results store: one HDF5 file a sweep, and an in-memory twin.

Layout of a results file (plain h5py reads it)::

    /                     attrs: format="fastnn-results", schema_version, kind
                          ("sweep" or "reproduce"), recipe, created, and the
                          fastnn/numpy/numba/h5py/python versions
    /runs/<run_id>        attrs: config (canonical JSON), recipe, seed, order,
                          status ("running", "done", "failed"), error, summary,
                          wall_seconds, compile_seconds and provenance
                          (numba_threads, threading_layer, cpu, platform,
                          python, host, git_commit), and checksum
    /runs/<run_id>/metrics           attrs: the final metrics
    /runs/<run_id>/curves/<name>     1-D, resizable (maxshape=(None,)), chunked, gzip,
                                     Fletcher-32
    /runs/<run_id>/arrays/<name>     larger than 4 KiB: chunked, gzip, Fletcher-32;
                                     else contiguous, attrs: crc32
    /runs/<run_id>/text/<name>       a scalar UTF-8 string, attrs: crc32

A run's ``status`` attribute is written last (then its checksum).

Checksums. Every value a run stores is checked when fastnn reads it, so that
a damaged file is an error ("is damaged"), never a different number. Chunked
datasets carry HDF5's Fletcher-32 filter (HDF5 checks each chunk it reads);
contiguous ones (small arrays, scalars, text) a ``crc32`` attribute, the
CRC-32 of their bytes (text: its UTF-8). A run's ``checksum`` attribute is the
CRC-32 of the canonical JSON of its other attributes and its metrics
(``_run_checksum``), rewritten by each transaction that changes them. Runs,
datasets and files written before checksums have none and are read unchecked.

Crash safety. HDF5 itself is not crash-safe: a process killed while the
library writes its metadata can leave a file no one can open. The store
therefore never lets HDF5 write the file directly. HDF5 writes through a
page overlay held in memory (h5py's file-object driver); each commit (one per
``begin``, ``finish``, ``fail`` or ``delete``) writes the dirty pages to
``<file>.journal`` and renames it into place, which is the commit point,
copies the pages into the file (new pages first, then the few pages rewritten
in place) and deletes the journal. A process killed before the rename leaves
the file as it was; one killed after it leaves a journal that the next open
replays (``recover``). Runs committed before a kill are never touched again.

The same holds after a power loss or an OS crash, given a file system that
honours fsync. The journal is fsynced before its rename and the directory
after it, so a journal that survives is complete, and is durable before the
file is touched; the file is fsynced after the copy and before the journal is
deleted (and the directory after that), so the journal never disappears while
pages it holds live only in the page cache. A replay writes the same bytes
again, so replaying a journal whose copy was already done is harmless. A new
file is fsynced before it is renamed into place. The cost is four fsyncs per
commit, two of files (the journal, the results file) and two of the directory,
so eight per run (it commits at ``begin`` and at ``finish``). Where a directory
cannot be fsynced (EINVAL, EBADF, EACCES) that fsync is skipped silently.

Only one process writes a file; workers send their results to the parent.
The writer holds an exclusive lock (on byte 0) for as long as the file is
open, and ``recover`` (which every reader calls) replays a journal only under
that same lock, so it never touches the journal of a live writer. On Linux the
locks are open-file-description locks (``F_OFD_SETLK``): they belong to the
writer's own descriptor. A POSIX ``lockf`` lock belongs to the process instead
and is silently dropped when the process closes *any* descriptor of the file;
the store's own checks (and any reader in the same process) close such
descriptors, so with ``lockf`` a reader could replay a writer's journal while
it was being applied, or apply a stale one over newer commits and truncate the
file, and two writers could share one file. Other systems fall back to ``lockf``.

Readers beside a live writer. Between a commit's first copied page and its
last the file is half old, half new, and HDF5 fails on it ("truncated file",
"addr overflow"). So the pages are copied in only under an exclusive lock on
byte 1, and a reader (``open_store(path, mode='r')``, which ``load``,
``load_run``, ``load_curves`` and ``fastnn show`` use, and ``inspect_file``)
holds a shared lock on byte 1 from before it opens the file until it closes
it: it reads the file between two commits, never during one. A writer first takes byte 2
(exclusive) and readers pass through byte 2 (shared) before byte 1, so readers
that follow each other without a gap cannot keep a waiting writer out. A commit whose
pages cannot be copied in at once (readers hold byte 1) stays pending: the
journal (which is the commit) stays on disk, the writer keeps its pages in
memory and tries again at its next commit, the next journal holding every page
still pending; once those pass ``PENDING_WAIT_ABOVE`` bytes a commit waits up to
``LOCK_WAIT`` seconds for readers, and so does the close, which otherwise
leaves the journal for the next open (``recover``). A reader that
finds a pending journal reads through it (the file and the journal's pages over
it), so it sees every commit, and a reader held open for hours never has the
file change under it. Readers open in the writer's own process are not waited
for. A reader waits at most ``LOCK_WAIT`` seconds for a commit being copied in,
and then says that the file is being written. Where the file system has no
locks, readers read without them, as before.

Ctrl-C. h5py calls the store's file object back from inside HDF5, and an
exception raised there (a KeyboardInterrupt) is swallowed by HDF5 or comes out
as a RuntimeError or SystemError. So SIGINT is held back while a run is
written (from the first HDF5 call of a ``begin``, ``finish``, ``fail`` or
``delete`` to its commit) and raised as KeyboardInterrupt once the commit is
done; and an exception raised inside those callbacks anyway is kept, the
write rolled back, and that exception raised.
"""
import contextlib
import errno
import fcntl
import json
import os
import re
import signal
import stat
import struct
import tempfile
import threading
import time
import zlib

import numpy as np

SCHEMA_VERSION = 1
FORMAT = "fastnn-results"
KINDS = ("sweep", "reproduce")
STATUSES = ("running", "done", "failed")
_HDF5_SIGNATURE = b"\x89HDF\r\n\x1a\n"
_COMPRESS_ABOVE = 4096          # bytes; smaller arrays are stored contiguous
_PAGE = 4096
_JOURNAL_MAGIC = b"FNNJRNL1"
_WRITER_BYTE = 0     # exclusive: the one writer, for as long as it has the file open
_COMMIT_BYTE = 1     # exclusive while a commit copies pages in; shared by readers
_INTENT_BYTE = 2     # exclusive while a writer waits for byte 1; readers pass through it
LOCK_WAIT = 10.0     # seconds a reader waits for a commit, and a closing writer for readers
PENDING_WAIT_ABOVE = 16 << 20   # bytes of pending pages past which a commit waits for readers too
_READERS = {}        # (st_dev, st_ino) -> read-mode stores open in this process


class StoreError(ValueError):
    """A results file that cannot be used: unwritable, not a results file,
    corrupt, of another recipe, or a write that failed."""


def check_path(path, name="path"):
    """A results file path: a non-empty str or os.PathLike."""
    if not isinstance(path, (str, bytes, os.PathLike)):
        raise TypeError(f"{name} must be a path to a results file; got {type(path).__name__} {path!r}.")
    if not os.fspath(path):
        raise ValueError(f"{name} must name a results file; got {os.fspath(path)!r}.")
    return os.fspath(path)


# a run's id, as ``runners.configuration`` makes it: the first 12 hex digits of
# the SHA-256 of its configuration
_RUN_ID = re.compile(r"[0-9a-f]{12}")


def check_run_id(run_id, name="run_id"):
    """A run id as the store makes them (12 lowercase hex digits); TypeError or
    ValueError naming ``name`` otherwise. Never an HDF5 path ('/', '/runs/...')."""
    if not isinstance(run_id, str):
        raise TypeError(f"{name} must be a str, a run id such as '3f9a0c2b7d41' (the run_id "
                        f"column of load(path)); got {type(run_id).__name__} {run_id!r}.")
    if not _RUN_ID.fullmatch(run_id):
        raise ValueError(f"{name} must be a run id: 12 lowercase hexadecimal digits, such as "
                         f"'3f9a0c2b7d41' (the run_id column of load(path)); got {run_id!r}.")
    return run_id


def check_name(value, name):
    """The name of a curve, array, text or metric: a non-empty str without '/'
    (never an HDF5 path); TypeError or ValueError naming ``name`` otherwise."""
    if not isinstance(value, str):
        raise TypeError(f"{name} must be a str, the name of what a run recorded (e.g. 'loss'); "
                        f"got {type(value).__name__} {value!r}.")
    if not _is_name(value):
        raise ValueError(f"{name} must be a name without '/' (e.g. 'loss'), not a path; "
                         f"got {value!r}.")
    return value


def _is_name(value):
    """A name a run may record under (a group's member, never an HDF5 path)."""
    return isinstance(value, str) and bool(value) and "/" not in value and value not in (".", "..")


def _h5py():
    try:
        import h5py
    except ImportError:  # pragma: no cover - h5py is a dependency
        raise ImportError("the HDF5 results store needs h5py: pip install h5py") from None
    return h5py


def versions():
    """The versions stored in a results file's root attributes."""
    import platform
    import numba
    h5py = _h5py()
    try:
        from importlib.metadata import version
        fastnn_version = version("fastnn")
    except Exception:  # pragma: no cover - not installed
        fastnn_version = "unknown"
    return {"fastnn_version": fastnn_version, "numpy_version": np.__version__,
            "numba_version": numba.__version__, "h5py_version": h5py.__version__,
            "hdf5_version": h5py.version.hdf5_version,
            "python_version": platform.python_version()}


# --------------------------------------------------------------------------
# the journaled file under HDF5

def _journal_path(path):
    return path + ".journal"


_NO_DIR_FSYNC = (errno.EINVAL, errno.EBADF, errno.EACCES)


def _folder(path):
    return os.path.dirname(os.path.abspath(path))


def _fsync_dir(path):
    """fsync directory ``path`` so that renames and deletions in it survive a power loss.

    Skipped silently where a directory cannot be opened or fsynced (no
    ``O_DIRECTORY``, or the OS answers EINVAL, EBADF or EACCES).
    """
    flag = getattr(os, "O_DIRECTORY", None)
    if flag is None:
        return
    try:
        fd = os.open(path, os.O_RDONLY | flag)
    except OSError as err:
        if err.errno in _NO_DIR_FSYNC:
            return
        raise
    try:
        os.fsync(fd)
    except OSError as err:
        if err.errno not in _NO_DIR_FSYNC:
            raise
    finally:
        os.close(fd)


def _write_journal(path, size, pages):
    """Write the redo journal for ``pages`` durably and atomically (temp file,
    fsync, rename, fsync of the directory)."""
    body = [struct.pack("<QQ", size, len(pages))]
    for index in sorted(pages):
        body.append(struct.pack("<Q", index))
        body.append(bytes(pages[index]))
    data = b"".join(body)
    blob = _JOURNAL_MAGIC + data + struct.pack("<I", zlib.crc32(data)) + _JOURNAL_MAGIC
    tmp = _journal_path(path) + ".tmp"
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
    try:
        view = memoryview(blob)
        while view:
            view = view[os.write(fd, view):]
        os.fsync(fd)                            # never a partial journal after a crash
    finally:
        os.close(fd)
    os.replace(tmp, _journal_path(path))        # the commit point
    _fsync_dir(_folder(path))                   # durable before the file is touched


def _read_journal(path):
    jpath = _journal_path(path)
    with open(jpath, "rb") as fh:
        blob = fh.read()
    m = len(_JOURNAL_MAGIC)
    if (len(blob) < 2 * m + 20 or blob[:m] != _JOURNAL_MAGIC or blob[-m:] != _JOURNAL_MAGIC
            or struct.unpack("<I", blob[-m - 4:-m])[0] != zlib.crc32(blob[m:-m - 4])):
        raise StoreError(f"{jpath} is damaged; the results file {path} may be inconsistent. "
                         f"Move both away or pick another --out.")
    data = memoryview(blob)[m:-m - 4]
    size, n = struct.unpack_from("<QQ", data, 0)
    pages, pos = {}, 16
    for _ in range(n):
        (index,) = struct.unpack_from("<Q", data, pos)
        pages[index] = data[pos + 8:pos + 8 + _PAGE]
        pos += 8 + _PAGE
    return size, pages


def _apply_pages(fd, old_size, size, pages):
    """Copy pages into the file: pages past the old end first (they change
    nothing a reader can reach), then the pages rewritten in place."""
    order = sorted(pages, key=lambda i: (i * _PAGE < old_size, i))
    for index in order:
        start = index * _PAGE
        if start >= size:
            continue
        page = pages[index][:size - start]
        view = memoryview(page)
        off = start
        while view:
            written = os.pwrite(fd, view, off)
            view, off = view[written:], off + written
    os.ftruncate(fd, size)


_CONFLICT = (errno.EAGAIN, errno.EACCES)     # what F_SETLK and lockf answer to a held lock


def _byte_lock(fd, kind, byte):
    """Lock (``kind``: fcntl.F_WRLCK or F_RDLCK) or unlock (F_UNLCK) byte ``byte``
    of ``fd`` without waiting: True, False if another descriptor holds a
    conflicting lock, None where the file system has no locks.

    A lock lasts until it is unlocked or ``fd`` (and any descriptor duplicated
    from it) is closed; closing other descriptors of the same file does not
    release it (an OFD lock; see the module docstring).
    """
    op = getattr(fcntl, "F_OFD_SETLK", None)
    if op is not None:
        # struct flock: l_type, l_whence, l_start, l_len, l_pid (0 for OFD locks)
        arg = struct.pack("hhqqi4x", kind, os.SEEK_SET, byte, 1, 0)
        try:
            fcntl.fcntl(fd, op, arg)
            return True
        except OSError as err:
            if err.errno in _CONFLICT:
                return False
            if err.errno != errno.EINVAL:        # EINVAL: a kernel without OFD locks
                return None
    how = {fcntl.F_WRLCK: fcntl.LOCK_EX, fcntl.F_RDLCK: fcntl.LOCK_SH, fcntl.F_UNLCK: fcntl.LOCK_UN}
    try:
        fcntl.lockf(fd, how[kind] | (fcntl.LOCK_NB if kind != fcntl.F_UNLCK else 0), 1, byte,
                    os.SEEK_SET)
    except OSError as err:
        return False if err.errno in _CONFLICT else None
    return True


def _wait_lock(fd, kind, byte, timeout):
    """``_byte_lock``, trying again for up to ``timeout`` seconds (False after)."""
    deadline = time.monotonic() + timeout
    while (got := _byte_lock(fd, kind, byte)) is False:
        if time.monotonic() >= deadline:
            return False
        time.sleep(0.005)
    return got


def _lock(fd):
    """Take the writer's exclusive lock on ``fd``; False if another process holds it
    (or the file system has no locks)."""
    return _byte_lock(fd, fcntl.F_WRLCK, _WRITER_BYTE) is True


def _writer_active(path):
    """True when a process holds the writer's lock of ``path`` (a live sweep)."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK)
    except OSError:
        return False
    try:
        op = getattr(fcntl, "F_OFD_GETLK", None) or fcntl.F_GETLK
        arg = struct.pack("hhqqi4x", fcntl.F_WRLCK, os.SEEK_SET, _WRITER_BYTE, 1, 0)
        try:
            got = fcntl.fcntl(fd, op, arg)
        except OSError:
            return False
        return struct.unpack("hhqqi4x", got)[0] != fcntl.F_UNLCK
    finally:
        os.close(fd)


def _being_written(path):
    return StoreError(f"{path} is being written by another fastnn process and could not be read "
                      f"between two of its commits; retry.")


@contextlib.contextmanager
def _committing(fd, wait=LOCK_WAIT):
    """Hold byte 1 of ``fd`` exclusively while a commit copies pages into the file:
    readers (shared on byte 1) then read before or after it, never during.
    Yields whether the copy may go ahead: False when readers still hold the file
    after ``wait`` seconds (no wait for this process's own readers), True once
    they are out (or where the file system has no locks)."""
    st = os.fstat(fd)
    if _READERS.get((st.st_dev, st.st_ino)):
        wait = 0.0
    intent = _wait_lock(fd, fcntl.F_WRLCK, _INTENT_BYTE, wait)
    held = _wait_lock(fd, fcntl.F_WRLCK, _COMMIT_BYTE, wait) if intent is not False else False
    try:
        yield held is not False
    finally:
        if held is True:
            _byte_lock(fd, fcntl.F_UNLCK, _COMMIT_BYTE)
        if intent is True:
            _byte_lock(fd, fcntl.F_UNLCK, _INTENT_BYTE)


def _read_lock(path):
    """A descriptor of ``path`` holding the readers' shared lock (byte 1): no commit
    copies pages in until it is closed. StoreError if a writer is still copying
    after LOCK_WAIT seconds."""
    fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK)     # never waits: not on a named pipe either
    try:
        deadline = time.monotonic() + LOCK_WAIT
        while True:   # through byte 2 (a writer waiting for readers holds it), then byte 1
            intent = _byte_lock(fd, fcntl.F_RDLCK, _INTENT_BYTE)
            if intent is None:
                return fd             # no locks on this file system
            if intent:
                got = _byte_lock(fd, fcntl.F_RDLCK, _COMMIT_BYTE)
                _byte_lock(fd, fcntl.F_UNLCK, _INTENT_BYTE)
                if got is not False:
                    return fd
            if time.monotonic() >= deadline:
                raise _being_written(path)
            time.sleep(0.005)
    except BaseException:
        os.close(fd)
        raise


def recover(path):
    """Copy a pending journal of results file ``path`` into the file; True if one was.

    A journal is left by a process killed while it copied a committed run into
    the file, or by a writer that closed while readers held the file. Every
    fastnn open calls this (and fastnn's readers read a pending journal
    anyway); call it yourself before reading such a file with plain h5py. It
    does nothing while a writer has the file open, or while readers hold it
    after ``LOCK_WAIT`` seconds.
    """
    return _recover(os.fspath(path), LOCK_WAIT)


def _recover(path, wait):
    """``recover``, waiting up to ``wait`` seconds for readers (fastnn's own
    readers do not wait: they read through a journal left pending)."""
    if not os.path.exists(_journal_path(path)):
        return False
    fd = os.open(path, os.O_RDWR)
    try:
        if not _lock(fd):
            return False             # a live writer holds the file and will copy it in
        _drop_unfinished_journal(path)
        file = _JournaledFile(path, fd)
        return file.pending and file.copy_in(wait)
    finally:
        os.close(fd)


def _recover_for_reader(path):
    """``_recover`` as a reader that can write the file does it, without waiting:
    a journal it cannot copy in (readers hold the file, a writer has it open,
    or a write fails: a full disk, an I/O error) stays pending, and the reader
    reads through it. A copy that failed half-way leaves the journal in place,
    so the file and the journal still hold every commit (the next open replays
    it)."""
    try:
        _recover(path, 0.0)
    except OSError:
        pass


def _drop_unfinished_journal(path):
    tmp = _journal_path(path) + ".tmp"
    if os.path.exists(tmp):
        os.unlink(tmp)               # a commit that never reached its commit point


class _JournaledFile:
    """A file-like object for h5py's ``fileobj`` driver: reads come from the
    file, writes go to an in-memory page overlay until ``commit``.

    The committed state is the file with the pending journal's pages over it,
    if a journal is pending (committed, not yet copied in); the overlay starts
    as that state. So a reader sees the last commit even while a writer keeps
    its pages out of the file for readers that hold it."""

    def __init__(self, path, fd):
        self.path = path
        self.fd = fd
        self._base_size = os.fstat(fd).st_size
        self._size = self._base_size
        self._pages = {}
        self._pos = 0
        self.pending = False         # a journal holds pages the file does not yet hold
        try:
            size, pages = _read_journal(path)
        except FileNotFoundError:
            pass
        else:
            self._size = size
            self._pages = {index: bytearray(page) for index, page in pages.items()}
            self.pending = True
        self._committed = (self._size, {i: bytes(page) for i, page in self._pages.items()})

    # the file-object protocol h5py uses
    def seek(self, offset, whence=0):
        if whence == 0:
            self._pos = offset
        elif whence == 1:
            self._pos += offset
        else:
            self._pos = self._size + offset
        return self._pos

    def tell(self):
        return self._pos

    def _page(self, index):
        page = self._pages.get(index)
        if page is None:
            page = bytearray(_PAGE)
            start = index * _PAGE
            if start < self._base_size:
                data = os.pread(self.fd, _PAGE, start)
                page[:len(data)] = data
            self._pages[index] = page
        return page

    def readinto(self, buf):
        view = memoryview(buf).cast("B")
        n = max(0, min(len(view), self._size - self._pos))
        done = 0
        while done < n:
            pos = self._pos + done
            index, off = divmod(pos, _PAGE)
            take = min(_PAGE - off, n - done)
            page = self._pages.get(index)
            if page is not None:
                view[done:done + take] = page[off:off + take]
            else:
                data = os.pread(self.fd, take, pos) if pos < self._base_size else b""
                view[done:done + len(data)] = data
                if len(data) < take:
                    view[done + len(data):done + take] = bytes(take - len(data))
            done += take
        self._pos += n
        return n

    def read(self, n=-1):
        if n is None or n < 0:
            n = max(0, self._size - self._pos)
        buf = bytearray(n)
        got = self.readinto(buf)
        return bytes(buf[:got])

    def write(self, data):
        view = memoryview(data).cast("B")
        done = 0
        while done < len(view):
            pos = self._pos + done
            index, off = divmod(pos, _PAGE)
            take = min(_PAGE - off, len(view) - done)
            self._page(index)[off:off + take] = view[done:done + take]
            done += take
        self._pos += done
        self._size = max(self._size, self._pos)
        return done

    def truncate(self, size=None):
        size = self._pos if size is None else size
        if size < self._size:
            last = size // _PAGE
            for index in [i for i in self._pages if i > last]:
                del self._pages[index]
            if size % _PAGE:
                self._page(last)[size % _PAGE:] = bytes(_PAGE - size % _PAGE)
            elif last in self._pages:
                del self._pages[last]
        self._size = size
        return size

    def flush(self):
        pass

    def close(self):
        pass

    # the transaction
    @property
    def dirty(self):
        return bool(self._pages) or self._size != self._base_size

    def _changed_pages(self):
        """Dirty pages whose bytes differ from the file (HDF5 rewrites some unchanged)."""
        changed = {}
        for index, page in self._pages.items():
            start = index * _PAGE
            if start >= self._base_size or start + _PAGE > self._size:
                changed[index] = page
                continue
            if os.pread(self.fd, _PAGE, start) != page:
                changed[index] = page
        return changed

    def commit(self):
        """Make the overlay durable (journal, rename), then copy it into the file
        unless readers hold the file: then it stays pending, in memory and in the
        journal, until a later commit or the store's close finds them gone."""
        if not self.dirty:
            return
        self._pages = self._changed_pages()
        if (self._size, self._pages) != self._committed:
            _write_journal(self.path, self._size, self._pages)
            self._committed = (self._size, {i: bytes(page) for i, page in self._pages.items()})
            self.pending = True
        # a journal that grew large (each commit rewrites it) waits for readers as a close does
        self.copy_in(LOCK_WAIT if len(self._pages) * _PAGE > PENDING_WAIT_ABOVE else 0.0)

    def copy_in(self, wait):
        """Copy the committed pages into the file and delete the journal, waiting
        up to ``wait`` seconds for readers to let go; True once the file holds
        them. Only between transactions (the overlay is the committed state)."""
        if not self.pending:
            return True
        size, pages = self._committed
        with _committing(self.fd, wait) as held:
            if not held:
                return False
            _apply_pages(self.fd, self._base_size, size, pages)
        os.fsync(self.fd)            # the pages on disk before the journal goes
        os.unlink(_journal_path(self.path))
        _fsync_dir(_folder(self.path))
        self._base_size = self._size = size
        self._pages = {}
        self._committed = (size, {})
        self.pending = False
        return True

    def rollback(self):
        """Forget every write since the last commit."""
        size, pages = self._committed
        self._size = size
        self._pages = {index: bytearray(page) for index, page in pages.items()}


class _Recording:
    """The file object h5py is given: each call goes to the ``_JournaledFile``,
    and the first exception raised in one is kept in ``error``. h5py calls these
    from inside HDF5, which turns an exception into an HDF5 error (a
    RuntimeError or OSError), a SystemError, or nothing at all (a read that
    fails, and HDF5 carries on); the store raises the kept one instead."""

    def __init__(self, file):
        self.file = file
        self.error = None

    def _call(self, name, *args):
        try:
            return getattr(self.file, name)(*args)
        except BaseException as err:
            if self.error is None:
                self.error = err
            raise

    def seek(self, *args):
        return self._call("seek", *args)

    def tell(self):
        return self._call("tell")

    def readinto(self, buf):
        return self._call("readinto", buf)

    def read(self, *args):
        return self._call("read", *args)

    def write(self, data):
        return self._call("write", data)

    def truncate(self, *args):
        return self._call("truncate", *args)

    def flush(self):
        return self._call("flush")

    def close(self):
        return self._call("close")

    def raise_kept(self, instead_of=None):
        """Raise the exception an HDF5 call swallowed or turned into another, if
        any (and forget it); none if it is ``instead_of``, the one in flight."""
        err, self.error = self.error, None
        if err is not None and err is not instead_of:
            raise err


@contextlib.contextmanager
def _sigint_deferred():
    """Hold SIGINT (Ctrl-C) back for the block; raise it (call the handler that
    was installed) at its end. Only in the main thread, and only where a Python
    handler is installed (the default raises KeyboardInterrupt)."""
    handler = signal.getsignal(signal.SIGINT)
    if threading.current_thread() is not threading.main_thread() or not callable(handler):
        yield
        return
    caught = []
    try:
        signal.signal(signal.SIGINT, lambda signum, frame: caught.append(frame))
    except (ValueError, OSError):  # not the main interpreter
        yield
        return
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, handler)
        if caught:
            handler(signal.SIGINT, caught[0])


# --------------------------------------------------------------------------
# checks before any work

def _signature_offset(path):
    """Offset of the HDF5 signature (0, 512, 1024, ...) or None."""
    size = os.path.getsize(path)
    with open(path, "rb") as fh:
        offset = 0
        while offset + 8 <= size:
            fh.seek(offset)
            if fh.read(8) == _HDF5_SIGNATURE:
                return offset
            offset = 512 if offset == 0 else offset * 2
    return None


def check_writable_dir(path):
    """StoreError unless a new file can be created beside ``path``."""
    folder = os.path.dirname(os.path.abspath(path))
    if not os.path.isdir(folder):
        raise StoreError(f"cannot write results to {path}: the directory {folder} does not exist.")
    if not os.access(folder, os.W_OK | os.X_OK):
        raise StoreError(f"cannot write results to {path}: the directory {folder} is not writable.")
    try:
        fd, tmp = tempfile.mkstemp(dir=folder, prefix=".fastnn-", suffix=".tmp")
    except OSError as err:
        raise StoreError(f"cannot write results to {path}: creating a file in {folder} failed "
                         f"({err.strerror or err}).") from None
    os.close(fd)
    os.unlink(tmp)


_SPECIAL_FILES = ((stat.S_ISFIFO, "a named pipe"), (stat.S_ISSOCK, "a socket"),
                  (stat.S_ISCHR, "a character device"), (stat.S_ISBLK, "a block device"))


def _check_regular(path, writing):
    """StoreError unless ``path`` is a regular file that can be read, saying what
    it is instead (missing, a directory, a named pipe, a device...). Checked
    before the file is opened: opening a named pipe waits for a writer, forever."""
    try:
        mode = os.stat(path).st_mode
    except (FileNotFoundError, NotADirectoryError):
        raise StoreError(f"{path} does not exist.") from None
    except OSError as err:
        raise StoreError(f"cannot read {path}: {err.strerror or err}.") from None
    if stat.S_ISDIR(mode):
        raise StoreError(f"{path} is a directory" + ("; --out must name a results file."
                                                     if writing else ", not a results file."))
    if not stat.S_ISREG(mode):
        kind = next((what for test, what in _SPECIAL_FILES if test(mode)), "not a regular file")
        raise _not_results(path, kind, writing)
    if not os.access(path, os.R_OK):
        raise StoreError(f"cannot read {path}: permission denied.")


def _not_results(path, why, writing):
    if writing:
        return StoreError(f"{path} is {why}, not a fastnn results file; fastnn will not overwrite "
                          f"it. Pick another --out or move it away.")
    return StoreError(f"{path} is {why}, not a fastnn results file.")


# what h5py raises on a damaged file (and ValueError covers UnicodeDecodeError)
_H5_ERRORS = (OSError, KeyError, RuntimeError, ValueError, TypeError, IndexError)


def inspect_file(path):
    """Root attributes of results file ``path``; StoreError naming the problem otherwise.

    Reads between two commits of a live writer (see the module docstring)."""
    path = os.fspath(path)
    _check_regular(path, writing=False)
    fd = _read_lock(path)
    try:
        return _inspect(path, writing=False, view=_JournaledFile(path, fd))
    finally:
        os.close(fd)


def _inspect(path, writing, view=None):
    """``inspect_file`` without the readers' lock (the caller holds it, or the
    writer's, and passes ``view``, the file as committed: a pending journal is
    read over the file)."""
    h5py = _h5py()
    _check_regular(path, writing)
    if os.path.getsize(path) == 0:
        raise _not_results(path, "an empty file", writing)
    if _signature_offset(path) is None:
        raise _not_results(path, "not an HDF5 file", writing)
    try:
        with h5py.File(view if view is not None and view.pending else path, "r") as f:
            attrs = {_plain(k): _plain(v) for k, v in f.attrs.items()}
            has_runs = isinstance(f.get("runs"), h5py.Group)
    except _H5_ERRORS as err:
        if not writing and _writer_active(path):
            raise _being_written(path) from None
        raise StoreError(f"{path} is corrupt or truncated: h5py cannot open it ({_first_line(err)}). "
                         + ("Move it away or pick another --out." if writing else "Move it away.")
                         ) from None
    if attrs.get("format") != FORMAT or "schema_version" not in attrs or not has_runs:
        raise _not_results(path, "an HDF5 file without fastnn's schema_version attribute", writing)
    if int(attrs["schema_version"]) > SCHEMA_VERSION:
        raise StoreError(f"{path} was written by a newer fastnn (schema_version "
                         f"{attrs['schema_version']}, this fastnn reads {SCHEMA_VERSION}); upgrade fastnn.")
    return attrs


def _first_line(err):
    text = str(err.args[0]) if isinstance(err, KeyError) and err.args else str(err)
    return text.strip().splitlines()[0] if text.strip() else type(err).__name__


def _plain(value):
    """An HDF5 attribute value as a plain Python value (UnicodeError, a
    ValueError, for text that is not UTF-8: a damaged file)."""
    if isinstance(value, bytes):
        return value.decode("utf-8")
    if isinstance(value, str):
        value.encode("utf-8")    # h5py decodes bad bytes to surrogates, which no one can print
        return value
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, np.ndarray):
        return value.tolist() if value.ndim else value.item()
    return value


def _check_identity(path, attrs, kind, recipe):
    if attrs.get("kind") != kind or (kind == "sweep" and attrs.get("recipe") != recipe):
        held = (f"a sweep of recipe {attrs.get('recipe')!r}" if attrs.get("kind") == "sweep"
                else f"a {attrs.get('kind')!r} results file")
        wanted = f"a sweep of recipe {recipe!r}" if kind == "sweep" else f"a {kind!r} results file"
        raise StoreError(f"{path} holds {held}; this is {wanted}. fastnn resumes only the same "
                         f"recipe and will not overwrite it: pick another --out.")


# --------------------------------------------------------------------------
# the two stores

def _check_result(result):
    """A Result's contents as plain types; ValueError naming what is wrong."""
    metrics = {}
    for name, value in result.metrics.items():
        _check_name(name, "metric")
        if isinstance(value, np.generic):
            value = value.item()
        if value is None:
            value = float("nan")
        if not isinstance(value, (bool, int, float, str)):
            raise ValueError(f"metric {name!r} must be a number or a str; got {type(value).__name__}.")
        metrics[name] = value
    curves = {}
    for name, value in result.curves.items():
        _check_name(name, "curve")
        arr = np.asarray(value)
        if arr.ndim != 1 or arr.dtype.kind not in "biuf":
            raise ValueError(f"curve {name!r} must be a 1-D numeric array; got {arr.dtype} "
                             f"of shape {arr.shape}.")
        curves[name] = arr
    arrays = {}
    for name, value in result.arrays.items():
        _check_name(name, "array")
        arr = np.asarray(value)
        if arr.dtype.kind not in "biufc":
            raise ValueError(f"array {name!r} must be numeric; got dtype {arr.dtype}.")
        arrays[name] = arr
    text = {}
    for name, value in result.text.items():
        _check_name(name, "text")
        if not isinstance(value, str):
            raise ValueError(f"text {name!r} must be a str; got {type(value).__name__}.")
        text[name] = value
    if not isinstance(result.summary, str):
        raise ValueError(f"summary must be a str; got {type(result.summary).__name__}.")
    return metrics, curves, arrays, text


_CHECKSUM = "checksum"     # run attribute: CRC-32 of the run's other attributes and its metrics
_CRC = "crc32"             # dataset attribute: CRC-32 of a contiguous dataset's value


def _run_checksum(attrs, metrics):
    """CRC-32 of a run's attributes (without its checksum) and metrics, as read
    back (plain values), in canonical JSON."""
    text = json.dumps({"attrs": attrs, "metrics": metrics}, sort_keys=True,
                      separators=(",", ":"), ensure_ascii=True, default=repr)
    return zlib.crc32(text.encode("ascii"))


def _value_crc(value):
    """CRC-32 of a dataset's value: a str's UTF-8, else the array's bytes (HDF5
    stores an array's dtype, byte order included, so it reads back the same bytes)."""
    if isinstance(value, str):
        return zlib.crc32(value.encode("utf-8"))
    return zlib.crc32(np.ascontiguousarray(value).tobytes())


def _check_name(name, what):
    if not _is_name(name):
        raise ValueError(f"{what} names must be non-empty strings without '/'; got {name!r}.")


class MemoryStore:
    """The store's interface, in memory (``sweep(..., out=None)`` uses it)."""

    path = None

    def __init__(self, kind="sweep", recipe=""):
        self.kind = kind
        self.recipe = recipe
        self.attrs = {"format": FORMAT, "schema_version": SCHEMA_VERSION, "kind": kind,
                      "recipe": recipe, "created": time.strftime("%Y-%m-%dT%H:%M:%S%z")}
        self._runs = {}

    def statuses(self):
        return {rid: run["attrs"]["status"] for rid, run in self._runs.items()}

    def begin(self, run_id, config, recipe, seed, order=0):
        self._runs[run_id] = {"attrs": {"config": config, "recipe": recipe, "seed": int(seed),
                                        "order": int(order), "error": "", "summary": "",
                                        "status": "running"},
                              "metrics": {}, "curves": {}, "arrays": {}, "text": {}}

    def finish(self, run_id, result, attrs=None):
        metrics, curves, arrays, text = _check_result(result)
        run = self._runs[run_id]
        run["metrics"] = dict(metrics)
        run["curves"] = {k: v.copy() for k, v in curves.items()}
        run["arrays"] = {k: v.copy() for k, v in arrays.items()}
        run["text"] = dict(text)
        run["attrs"].update(attrs or {})
        run["attrs"]["summary"] = result.summary
        run["attrs"]["status"] = "done"

    def fail(self, run_id, error, attrs=None):
        run = self._runs[run_id]
        run["attrs"].update(attrs or {})
        run["attrs"]["error"] = str(error)
        run["attrs"]["status"] = "failed"

    def delete(self, run_id):
        self._runs.pop(run_id, None)

    def rows(self):
        """One dict a run: the run's attributes plus ``run_id`` and ``metrics``."""
        return [dict(run["attrs"], run_id=rid, metrics=dict(run["metrics"]))
                for rid, run in self._runs.items()]

    def read_run(self, run_id):
        if run_id not in self._runs:
            raise KeyError(f"no run {run_id!r} in this store.")
        run = self._runs[run_id]
        return {"attrs": dict(run["attrs"]), "metrics": dict(run["metrics"]),
                "curves": {k: v.copy() for k, v in run["curves"].items()},
                "arrays": {k: v.copy() for k, v in run["arrays"].items()},
                "text": dict(run["text"])}

    def curve(self, run_id, name):
        return self._runs[run_id]["curves"].get(name)

    def close(self):
        pass

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


class HDF5Store(MemoryStore):
    """A results file (see the module docstring). Use ``open_store``."""

    def __init__(self, path, mode, kind=None, recipe=None):
        _h5py()                      # a clear ImportError first
        self.path = check_path(path)
        self.mode = mode
        self._fd = None
        self._h5 = None
        self._io = None
        self._reader = None
        self._pid = os.getpid()
        if mode == "r":
            _check_regular(self.path, writing=False)
            if os.access(self.path, os.W_OK) and os.access(os.path.dirname(os.path.abspath(self.path)), os.W_OK):
                _recover_for_reader(self.path)
            self._open_for_read()
        else:
            self._open_for_write(kind, recipe)
        self.kind = self.attrs.get("kind")
        self.recipe = self.attrs.get("recipe")

    # opening -------------------------------------------------------------
    def _open_for_read(self):
        """Open under the readers' lock, held until ``close``: no commit copies
        pages in meanwhile, so HDF5 reads the file between two commits."""
        h5py = _h5py()
        self._reader = _read_lock(self.path)
        try:
            view = _JournaledFile(self.path, self._reader)
            self.attrs = _inspect(self.path, writing=False, view=view)
            try:
                # a journal kept out of the file by readers: read through it
                self._h5 = h5py.File(view if view.pending else self.path, "r")
            except _H5_ERRORS as err:
                raise StoreError(f"{self.path} is corrupt or truncated: h5py cannot open it "
                                 f"({_first_line(err)}).") from None
        except BaseException:
            os.close(self._reader)
            self._reader = None
            raise
        st = os.fstat(self._reader)
        self._key = (st.st_dev, st.st_ino)
        _READERS[self._key] = _READERS.get(self._key, 0) + 1

    def _release_reader(self):
        if self._reader is None:
            return
        count = _READERS.get(self._key, 1) - 1
        if count > 0:
            _READERS[self._key] = count
        else:
            _READERS.pop(self._key, None)
        os.close(self._reader)
        self._reader = None

    @contextlib.contextmanager
    def _reading(self):
        """HDF5 reads of the runs: the error of a damaged file as a StoreError naming it."""
        try:
            yield
            if self._io is not None:
                self._io.raise_kept()
        except StoreError:
            raise
        except BaseException as err:
            if self._io is not None:      # a KeyboardInterrupt that HDF5 turned into this
                self._io.raise_kept(instead_of=err)
            if not isinstance(err, _H5_ERRORS):
                raise
            if self.mode == "r" and _writer_active(self.path):   # never call a live file damaged
                raise _being_written(self.path) from None
            again = ("Move it away or pick another --out." if self.mode != "r" else "Move it away.")
            raise StoreError(f"{self.path} is damaged: HDF5 cannot read its runs "
                             f"({_first_line(err)}). {again}") from None

    def _open_for_write(self, kind, recipe):
        path = self.path
        if kind not in KINDS:
            raise ValueError(f"kind must be one of {list(KINDS)}; got {kind!r}.")
        check_writable_dir(path)
        if os.path.exists(path):
            _check_regular(path, writing=True)
            if not os.access(path, os.W_OK):
                raise StoreError(f"cannot write results to {path}: the file is read-only.")
        else:
            self._create(path, kind, recipe)
        try:
            self._fd = os.open(path, os.O_RDWR)
        except OSError as err:
            raise StoreError(f"cannot write results to {path}: {err.strerror or err}.") from None
        if not _lock(self._fd):
            os.close(self._fd)
            self._fd = None
            raise StoreError(f"{path} is being written by another fastnn process; wait for it "
                             f"or pick another --out.") from None
        try:
            _drop_unfinished_journal(path)
            self._file = _JournaledFile(path, self._fd)     # with a journal left pending, if any
            self._file.copy_in(LOCK_WAIT)
            self.attrs = _inspect(path, writing=True, view=self._file)
            _check_identity(path, self.attrs, kind, recipe)
            self._open_h5()
        except BaseException:
            os.close(self._fd)
            self._fd = None
            raise

    def _open_h5(self):
        h5py = _h5py()
        self._io = _Recording(self._file)
        try:
            self._h5 = h5py.File(self._io, "r+")
        except BaseException as err:
            self._io.raise_kept(instead_of=err)
            raise
        self._io.raise_kept()

    def _create(self, path, kind, recipe):
        h5py = _h5py()
        folder = os.path.dirname(os.path.abspath(path))
        fd, tmp = tempfile.mkstemp(dir=folder, prefix="." + os.path.basename(path) + ".", suffix=".tmp")
        os.close(fd)
        try:
            with h5py.File(tmp, "w") as f:
                f.attrs["format"] = FORMAT
                f.attrs["schema_version"] = SCHEMA_VERSION
                f.attrs["kind"] = kind
                f.attrs["recipe"] = recipe or ""
                f.attrs["created"] = time.strftime("%Y-%m-%dT%H:%M:%S%z")
                for key, value in versions().items():
                    f.attrs[key] = value
                f.create_group("runs")
            os.chmod(tmp, 0o644 & ~_umask())
            fd = os.open(tmp, os.O_RDONLY)
            try:
                os.fsync(fd)           # journals replayed onto it assume its bytes are on disk
            finally:
                os.close(fd)
            if os.path.exists(path):   # created meanwhile by someone else: never overwrite
                raise StoreError(f"{path} appeared while fastnn was creating it; pick another --out.")
            os.replace(tmp, path)
            _fsync_dir(folder)
        except BaseException:
            if os.path.exists(tmp):
                os.unlink(tmp)
            raise

    # transactions --------------------------------------------------------
    def _commit(self):
        self._h5.flush()
        self._io.raise_kept()        # never commit after a callback failed, even if HDF5 went on
        self._file.commit()

    def _transaction(self, write):
        """Run ``write(h5file)`` and commit; on failure nothing of it remains.

        Ctrl-C waits until the commit is done (``_sigint_deferred``)."""
        if self._h5 is None or self.mode == "r":
            raise StoreError(f"{self.path} is not open for writing.")
        with _sigint_deferred():
            self._io.error = None
            try:
                write(self._h5)
                self._commit()
            except BaseException as err:
                kept = self._io.error    # what HDF5 turned into another error, if anything
                self._rollback()
                if kept is not None and kept is not err:
                    raise kept from None
                if isinstance(err, OSError) and err.errno == errno.ENOSPC:
                    raise StoreError(f"could not write to {self.path}: the disk is full "
                                     f"([Errno 28] {os.strerror(errno.ENOSPC)}); the runs stored "
                                     f"before are intact.") from err
                raise

    def _rollback(self):
        """Drop uncommitted writes and reopen HDF5 on the committed file."""
        try:
            self._h5.close()
        except BaseException:    # the caller raises the error in flight
            pass
        _drop_unfinished_journal(self.path)
        # the committed state: the file and the journal, if one reached its commit
        # point (a commit that failed after it, or one kept from readers)
        self._file = _JournaledFile(self.path, self._fd)
        self._open_h5()

    # the interface ---------------------------------------------------------
    def statuses(self):
        with self._reading():
            runs = self._h5["runs"]
            out = {}
            for rid in runs:
                out[_plain(rid)] = _plain(runs[rid].attrs.get("status", "running"))
        return out

    def begin(self, run_id, config, recipe, seed, order=0):
        def write(f):
            runs = f["runs"]
            if run_id in runs:
                del runs[run_id]
            g = runs.create_group(run_id)
            g.attrs["config"] = config
            g.attrs["recipe"] = recipe
            g.attrs["seed"] = int(seed)
            g.attrs["order"] = int(order)
            g.attrs["error"] = ""
            g.attrs["summary"] = ""
            g.attrs["status"] = "running"
            _seal(g)
        self._transaction(write)

    def finish(self, run_id, result, attrs=None):
        h5py = _h5py()
        metrics, curves, arrays, text = _check_result(result)

        def write(f):
            g = f["runs"][run_id]
            for sub in ("metrics", "curves", "arrays", "text"):
                if sub in g:
                    del g[sub]
            m = g.create_group("metrics")
            for name, value in metrics.items():
                m.attrs[name] = value
            c = g.create_group("curves")
            for name, arr in curves.items():
                chunk = max(1, min(len(arr), 4096))
                c.create_dataset(name, data=arr, maxshape=(None,), chunks=(chunk,),
                                 compression="gzip", compression_opts=4, shuffle=True,
                                 fletcher32=True)
            a = g.create_group("arrays")
            for name, arr in arrays.items():
                if arr.nbytes > _COMPRESS_ABOVE and arr.ndim > 0:
                    a.create_dataset(name, data=arr, chunks=True, compression="gzip",
                                     compression_opts=4, shuffle=True, fletcher32=True)
                else:
                    a.create_dataset(name, data=arr).attrs[_CRC] = _value_crc(arr)
            t = g.create_group("text")
            for name, value in text.items():
                t.create_dataset(name, data=value, dtype=h5py.string_dtype()).attrs[_CRC] = \
                    _value_crc(value)
            for key, value in (attrs or {}).items():
                g.attrs[key] = value
            g.attrs["summary"] = result.summary
            g.attrs["status"] = "done"             # last, but for the checksum
            _seal(g)
        self._transaction(write)

    def fail(self, run_id, error, attrs=None):
        def write(f):
            g = f["runs"][run_id]
            for key, value in (attrs or {}).items():
                g.attrs[key] = value
            g.attrs["error"] = str(error)
            g.attrs["status"] = "failed"           # last, but for the checksum
            _seal(g)
        self._transaction(write)

    def delete(self, run_id):
        def write(f):
            if run_id in f["runs"]:
                del f["runs"][run_id]
        self._transaction(write)

    def rows(self):
        out = []
        with self._reading():
            runs = self._h5["runs"]
            for rid in runs:
                row, metrics = self._checked_attrs(runs[rid], rid)
                row.setdefault("status", "running")
                row["run_id"] = _plain(rid)
                row["metrics"] = metrics
                out.append(row)
        return out

    def _checked_attrs(self, g, run_id):
        """Run group ``g``'s attributes (without the checksum) and metrics, as
        plain values; StoreError if they do not match the run's checksum."""
        attrs, metrics = _attrs_and_metrics(g)
        stored = attrs.pop(_CHECKSUM, None)
        if stored is not None and stored != _run_checksum(attrs, metrics):
            raise self._damaged(f"the attributes or metrics of run {_plain(run_id)} do not "
                                f"match their checksum")
        return attrs, metrics

    def _checked_value(self, d, what):
        """The value of dataset ``d`` (text as a str); StoreError naming ``what`` if it
        does not match its crc32 attribute (HDF5 checks the Fletcher-32 of chunked ones)."""
        value = d[()]
        if isinstance(value, bytes):   # text
            value = _plain(value)
        stored = d.attrs.get(_CRC)
        if stored is not None and _plain(stored) != _value_crc(value):
            raise self._damaged(f"{what} does not match its checksum")
        return value

    def _damaged(self, what):
        again = "Move it away or pick another --out." if self.mode != "r" else "Move it away."
        return StoreError(f"{self.path} is damaged: {what}. {again}")

    def _require_run(self, run_id):
        """The runs group; KeyError (outside the read's wrapping) without ``run_id``."""
        with self._reading():
            runs = self._h5["runs"]
            found = run_id in runs
        if not found:
            raise KeyError(f"no run {run_id!r} in {self.path}.")
        return runs

    def read_run(self, run_id):
        runs = self._require_run(run_id)
        with self._reading():
            g = runs[run_id]
            attrs, metrics = self._checked_attrs(g, run_id)
            out = {"attrs": attrs, "metrics": metrics, "curves": {}, "arrays": {}, "text": {}}
            for sub, kind in (("curves", "curve"), ("arrays", "array"), ("text", "text")):
                for name, d in (g[sub].items() if sub in g else ()):
                    name = _plain(name)
                    out[sub][name] = self._checked_value(d, f"{kind} {name!r} of run {run_id}")
        return out

    def curve(self, run_id, name):
        runs = self._require_run(run_id)
        with self._reading():
            g = runs[run_id]
            if "curves" in g and name in g["curves"]:
                return g["curves"][name][()]
        return None

    def close(self):
        if self._h5 is None:
            self._release_reader()
            return
        if getattr(self, "_pid", os.getpid()) != os.getpid():
            # a forked copy of the writer: its view of the file is stale and the
            # lock is its parent's; only the parent may write (closing this copy
            # of the descriptor leaves the parent's lock in place)
            self._h5 = None
            if self._fd is not None:
                os.close(self._fd)
                self._fd = None
            return
        writer = self.mode != "r" and self._fd is not None
        with _sigint_deferred():
            try:
                if writer:
                    self._h5.flush()
                self._h5.close()
                if writer:
                    self._io.raise_kept()
            except BaseException as err:
                if writer:        # never commit a half-done close: every run is already committed
                    self._file.rollback()
                    self._io.raise_kept(instead_of=err)
                raise
            else:
                if writer:
                    self._file.commit()
                    self._file.copy_in(LOCK_WAIT)   # else the journal stays for the next open
            finally:
                self._h5 = None
                if writer:
                    os.close(self._fd)
                    self._fd = None
                self._release_reader()

    def __del__(self):
        try:
            self.close()
        except Exception:
            pass


def _attrs_and_metrics(g):
    """Run group ``g``'s attributes and metrics as plain values, as HDF5 holds them."""
    attrs = {_plain(k): _plain(v) for k, v in g.attrs.items()}
    metrics = ({_plain(k): _plain(v) for k, v in g["metrics"].attrs.items()}
               if "metrics" in g else {})
    return attrs, metrics


def _seal(g):
    """Write run group ``g``'s checksum, over its attributes and metrics as HDF5 holds them."""
    attrs, metrics = _attrs_and_metrics(g)
    attrs.pop(_CHECKSUM, None)
    g.attrs[_CHECKSUM] = _run_checksum(attrs, metrics)


def _umask():
    mask = os.umask(0)
    os.umask(mask)
    return mask


def open_store(path, kind="sweep", recipe="", mode="a"):
    """Open results file ``path`` for writing (``mode='a'``: create or resume,
    after every check) or reading (``mode='r'``).

    A store open for reading keeps a live writer's commits out of the file (they
    wait in its journal, which other readers read through; see the module
    docstring): close it when done."""
    if mode not in ("a", "r"):
        raise ValueError(f"mode must be 'a' or 'r'; got {mode!r}.")
    return HDF5Store(path, mode, kind, recipe)


def dumps(value):
    """Canonical JSON: sorted keys, no spaces."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=True)
