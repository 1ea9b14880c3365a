"""The results store: layout, both backends, journal recovery, the errors before any work."""
import errno
import os
import re
import signal

import h5py
import numpy as np
import pytest
from toy_recipes import REF, assert_same_run, read_plain

from fastnn.experiments import store as store_mod
from fastnn.experiments.registry import Result
from fastnn.experiments.runners import configuration, execute, resolve_params, resolve_recipe
from fastnn.experiments.store import MemoryStore, StoreError, open_store, recover
from fastnn.experiments.sweep import sweep


def _outcome(seed=0, **params):
    rec = resolve_recipe(REF)
    params = resolve_params(rec, params)
    run_id, config = configuration(REF, params, seed)
    return run_id, config, execute(REF, params, seed)


@pytest.fixture(params=["memory", "hdf5"])
def store(request, tmp_path):
    if request.param == "memory":
        s = MemoryStore("sweep", REF)
    else:
        s = open_store(tmp_path / "r.h5", kind="sweep", recipe=REF)
    yield s
    s.close()


def test_store_round_trip_both_backends(store):
    run_id, config, outcome = _outcome(seed=3, array_size=100)
    store.begin(run_id, config, REF, 3, order=0)
    assert store.statuses() == {run_id: "running"}
    store.finish(run_id, outcome.result, outcome.attrs)
    assert store.statuses() == {run_id: "done"}
    run = store.read_run(run_id)
    assert run["attrs"]["seed"] == 3 and run["attrs"]["config"] == config
    assert run["attrs"]["summary"] == outcome.result.summary
    assert run["metrics"]["loss"] == outcome.result.metrics["loss"]
    np.testing.assert_array_equal(run["curves"]["loss"], outcome.result.curves["loss"])
    np.testing.assert_array_equal(run["arrays"]["noise"], outcome.result.arrays["noise"])
    assert run["text"]["report"] == outcome.result.text["report"]
    assert run["attrs"]["numba_threads"] >= 1 and "cpu" in run["attrs"]


def test_failed_and_deleted_runs_both_backends(store):
    run_id, config, _ = _outcome(seed=1, fail=True)
    store.begin(run_id, config, REF, 1)
    store.fail(run_id, "ValueError: toy failed on purpose")
    assert store.statuses() == {run_id: "failed"}
    assert store.read_run(run_id)["attrs"]["error"].startswith("ValueError")
    store.delete(run_id)
    assert store.statuses() == {}


def test_hdf5_layout_is_readable_with_plain_h5py(tmp_path):
    path = tmp_path / "r.h5"
    run_id, config, outcome = _outcome(array_size=100)
    with open_store(path, kind="sweep", recipe=REF) as s:
        s.begin(run_id, config, REF, 0)
        s.finish(run_id, outcome.result, outcome.attrs)
    with h5py.File(path, "r") as f:
        assert f.attrs["schema_version"] == store_mod.SCHEMA_VERSION
        assert f.attrs["format"] == "fastnn-results" and f.attrs["recipe"] == REF
        for key in ("fastnn_version", "numpy_version", "numba_version", "h5py_version", "created"):
            assert key in f.attrs
        g = f["runs"][run_id]
        assert g.attrs["status"] == "done" and g.attrs["config"] == config
        for key in ("wall_seconds", "compile_seconds", "numba_threads", "threading_layer", "cpu",
                    "platform", "python", "git_commit"):
            assert key in g.attrs
        curve = g["curves/loss"]
        assert curve.maxshape == (None,) and curve.chunks is not None and curve.compression == "gzip"
        assert g["arrays/noise"].compression == "gzip"          # 100 x 100 float64: large
        assert g["arrays/weights"].compression is None           # 3 floats: small
        assert g["metrics"].attrs["loss"] == outcome.result.metrics["loss"]
    assert not os.path.exists(str(path) + ".journal")


def test_status_is_written_last(tmp_path, monkeypatch):
    """A write that dies before the status leaves the run as it was ('running')."""
    path = tmp_path / "r.h5"
    run_id, config, outcome = _outcome()
    s = open_store(path, kind="sweep", recipe=REF)
    s.begin(run_id, config, REF, 0)
    original = h5py.AttributeManager.__setitem__

    def no_status(self, name, value):
        if name == "status":
            raise RuntimeError("killed")
        original(self, name, value)

    monkeypatch.setattr(h5py.AttributeManager, "__setitem__", no_status)
    with pytest.raises(RuntimeError, match="killed"):
        s.finish(run_id, outcome.result, outcome.attrs)
    monkeypatch.undo()
    s.close()
    runs = read_plain(path)
    assert runs[run_id]["attrs"]["status"] == "running" and runs[run_id]["metrics"] == {}


def _leave_journal(path, monkeypatch):
    """A results file and the journal of a process killed right after its commit
    point (the journal's rename); returns the run's id and the file's bytes
    from before that commit."""
    with open_store(path, kind="sweep", recipe=REF):
        pass
    before = open(path, "rb").read()
    run_id, config, _ = _outcome()
    pid = os.fork()
    if pid == 0:                                   # the child dies right after the rename
        try:
            monkeypatch.setattr(store_mod, "_apply_pages", lambda *a: os._exit(9))
            open_store(path, kind="sweep", recipe=REF).begin(run_id, config, REF, 0)
        finally:
            os._exit(3)
    _, status = os.waitpid(pid, 0)
    assert os.WEXITSTATUS(status) == 9 and os.path.exists(path + ".journal")
    return run_id, before


def test_pending_journal_is_replayed(tmp_path, monkeypatch):
    """A process killed between the journal's commit point (its rename) and the
    copy into the file: the file is untouched, and the next open (or
    ``recover``) finishes the commit."""
    path = str(tmp_path / "r.h5")
    run_id, before = _leave_journal(path, monkeypatch)
    assert open(path, "rb").read() == before
    assert recover(path) is True
    assert not os.path.exists(path + ".journal")
    assert read_plain(path)[run_id]["attrs"]["status"] == "running"
    assert recover(path) is False


def test_damaged_journal_is_a_clear_error(tmp_path):
    path = str(tmp_path / "r.h5")
    with open_store(path, kind="sweep", recipe=REF):
        pass
    with open(path + ".journal", "wb") as fh:
        fh.write(b"FNNJRNL1 garbage")
    with pytest.raises(StoreError, match=r"r\.h5\.journal is damaged"):
        open_store(path, kind="sweep", recipe=REF)


# ---------------------------------------------------------------------------
# errors before any work

def test_not_an_hdf5_file_is_never_overwritten(tmp_path, spec):
    path = tmp_path / "notes.h5"
    path.write_text("my notes")
    with pytest.raises(StoreError, match=r"notes\.h5 is not an HDF5 file, not a fastnn results "
                                         r"file; fastnn will not overwrite it"):
        sweep(spec, out=path, progress=False)
    assert path.read_text() == "my notes"


def test_hdf5_file_without_schema_is_not_a_results_file(tmp_path, spec):
    path = tmp_path / "other.h5"
    with h5py.File(path, "w") as f:
        f["x"] = np.arange(3)
    with pytest.raises(StoreError, match="without fastnn's schema_version attribute"):
        sweep(spec, out=path, progress=False)
    with h5py.File(path, "r") as f:
        assert list(f) == ["x"]


def test_corrupt_results_file_is_a_clear_error(tmp_path, spec):
    path = tmp_path / "r.h5"
    sweep(spec, out=path, progress=False)
    data = path.read_bytes()
    path.write_bytes(data[:len(data) // 3])                    # truncated
    with pytest.raises(StoreError, match=r"r\.h5 is corrupt or truncated"):
        sweep(spec, out=path, progress=False)
    with pytest.raises(StoreError, match=r"r\.h5 is corrupt or truncated"):
        open_store(path, mode="r")


def test_results_file_of_another_recipe_is_not_overwritten(tmp_path, spec):
    path = tmp_path / "r.h5"
    sweep({"recipe": "toy_recipes:toy-numba", "seeds": [0]}, out=path, progress=False)
    before = read_plain(path)
    with pytest.raises(StoreError, match="holds a sweep of recipe 'toy_recipes:toy-numba'; this is a "
                                         "sweep of recipe 'toy_recipes:toy'.*pick another --out"):
        sweep(spec, out=path, progress=False)
    assert read_plain(path).keys() == before.keys()


def test_output_directory_missing_or_a_file(tmp_path, spec):
    with pytest.raises(StoreError, match="does not exist"):
        sweep(spec, out=tmp_path / "missing" / "r.h5", progress=False)
    (tmp_path / "afile").write_text("x")
    with pytest.raises(StoreError, match="does not exist"):
        sweep(spec, out=tmp_path / "afile" / "r.h5", progress=False)


def test_read_only_directory_reported_by_os_access(tmp_path, spec, monkeypatch):
    real = os.access
    monkeypatch.setattr(os, "access", lambda p, mode, **kw: False if os.fspath(p) == str(tmp_path)
                        and mode & os.W_OK else real(p, mode, **kw))
    with pytest.raises(StoreError, match=f"the directory {tmp_path} is not writable"):
        sweep(spec, out=tmp_path / "r.h5", progress=False)


@pytest.mark.skipif(os.geteuid() == 0, reason="root writes into read-only directories")
def test_read_only_directory_for_real(tmp_path, spec):
    folder = tmp_path / "ro"
    folder.mkdir()
    folder.chmod(0o555)
    try:
        with pytest.raises(StoreError, match="not writable"):
            sweep(spec, out=folder / "r.h5", progress=False)
    finally:
        folder.chmod(0o755)


def test_creating_a_file_that_fails_is_reported(tmp_path, spec, monkeypatch):
    """os.access can say yes where creating a file fails (root on a read-only mount...)."""
    import tempfile

    def refuse(*args, **kwargs):
        raise PermissionError(errno.EROFS, "Read-only file system")

    monkeypatch.setattr(tempfile, "mkstemp", refuse)
    with pytest.raises(StoreError, match="creating a file in .* failed \\(Read-only file system\\)"):
        sweep(spec, out=tmp_path / "r.h5", progress=False)
    assert not (tmp_path / "r.h5").exists()


# ---------------------------------------------------------------------------
# a full disk

def _enospc(*args, **kwargs):
    raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))


def test_full_disk_in_hdf5_write_stops_and_keeps_stored_runs(tmp_path, spec, monkeypatch):
    path = tmp_path / "r.h5"
    first = dict(spec, seeds=[0])
    sweep(first, out=path, progress=False)
    stored = read_plain(path)
    monkeypatch.setattr(h5py.Group, "create_dataset", _enospc)
    with pytest.raises(StoreError, match="the disk is full.*the runs stored before are intact"):
        sweep(spec, out=path, progress=False)
    monkeypatch.undo()
    after = read_plain(path)
    for run_id, run in stored.items():
        assert_same_run(after[run_id], run)
    failed = [r for r in after.values() if r["attrs"]["status"] == "failed"]
    assert len(failed) == 1 and "disk is full" in failed[0]["attrs"]["error"]
    report = sweep(spec, out=path, progress=False)          # space again: resume completes
    assert report.skipped == len(stored) and report.done == 6 - len(stored)


def test_full_disk_while_journaling_keeps_stored_runs(tmp_path, spec, monkeypatch):
    path = tmp_path / "r.h5"
    sweep(dict(spec, seeds=[0]), out=path, progress=False)
    stored = read_plain(path)
    monkeypatch.setattr(store_mod, "_write_journal", _enospc)
    with pytest.raises(StoreError, match="disk is full"):
        sweep(spec, out=path, progress=False)
    monkeypatch.undo()
    after = read_plain(path)
    assert after.keys() == stored.keys()
    for run_id, run in stored.items():
        assert_same_run(after[run_id], run)
    assert not os.path.exists(str(path) + ".journal")


def test_result_the_store_cannot_hold_marks_the_run_failed(tmp_path):
    s = MemoryStore()
    s.begin("a", "{}", REF, 0)
    with pytest.raises(ValueError, match="curve 'c' must be a 1-D numeric array"):
        s.finish("a", Result(curves={"c": np.zeros((2, 2))}))
    with pytest.raises(ValueError, match="names must be non-empty strings without '/'"):
        s.finish("a", Result(arrays={"a/b": np.zeros(2)}))


def _in_child(fn):
    """Run ``fn()`` in a forked process (another process for the locks); its exit code."""
    pid = os.fork()
    if pid == 0:
        code = 70
        try:
            code = fn()
        finally:
            os._exit(code)
    _, status = os.waitpid(pid, 0)
    return os.WEXITSTATUS(status)


def test_writer_lock_survives_closing_other_descriptors_of_the_file(tmp_path):
    """The writer's lock lasts while the file is open, even after this process opened and
    closed the file elsewhere (its own checks, plain h5py, ``load``): a POSIX lockf lock
    is dropped then, and another process could write the file or replay the live
    writer's journal (the cause of runs that lost their attributes)."""
    from fastnn.experiments import load
    path = str(tmp_path / "r.h5")
    s = open_store(path, kind="sweep", recipe=REF)
    run_id, config, outcome = _outcome()
    s.begin(run_id, config, REF, 0)
    with h5py.File(path, "r") as f:                      # closes a descriptor of the file
        assert run_id in f["runs"]
    assert list(load(path)["run_id"]) == [run_id]        # a reader in the same process

    def second_writer():
        try:
            open_store(path, kind="sweep", recipe=REF)
        except StoreError as err:
            return 4 if "being written by another fastnn process" in str(err) else 5
        return 6
    assert _in_child(second_writer) == 4

    with open(path + ".journal", "wb") as fh:            # as if the writer were mid-commit
        fh.write(b"a journal being applied")
    with open(path + ".journal.tmp", "wb") as fh:
        fh.write(b"a journal being written")
    assert _in_child(lambda: 8 if recover(path) is False else 9) == 8
    assert os.path.exists(path + ".journal") and os.path.exists(path + ".journal.tmp")
    os.unlink(path + ".journal")
    os.unlink(path + ".journal.tmp")
    s.finish(run_id, outcome.result, outcome.attrs)
    s.close()
    assert _in_child(lambda: 0 if open_store(path, kind="sweep", recipe=REF).close() is None else 1) == 0
    assert read_plain(path)[run_id]["attrs"]["status"] == "done"


def test_forked_copy_of_a_writer_never_writes(tmp_path):
    """A forked child that closes its copy of an open store leaves the file alone."""
    path = str(tmp_path / "r.h5")
    s = open_store(path, kind="sweep", recipe=REF)
    run_id, config, _ = _outcome()
    s.begin(run_id, config, REF, 0)
    before = open(path, "rb").read()

    def child():
        s._h5.attrs["scribble"] = "from a forked child"
        s.close()
        return 0
    assert _in_child(child) == 0
    assert open(path, "rb").read() == before
    s.close()
    with h5py.File(path, "r") as f:
        assert "scribble" not in f.attrs


# ---------------------------------------------------------------------------
# durability: the fsyncs, in order

def _record_io(monkeypatch, path):
    """Record, in order, the fsyncs, renames, deletions and writes of the store's
    files (wrapping the real calls); each as (operation, which file)."""
    folder, base = os.path.dirname(path), os.path.basename(path)
    names = {base: "file", base + ".journal": "journal", base + ".journal.tmp": "journal.tmp"}

    def label(p):
        name = os.path.basename(os.fspath(p))
        if name in names:
            return names[name]
        return "new.tmp" if name.startswith("." + base + ".") and name.endswith(".tmp") else "other"

    def of_fd(fd):
        st = os.fstat(fd)
        if os.path.samestat(st, os.stat(folder)):
            return "dir"
        for name in os.listdir(folder):
            if os.path.samestat(st, os.stat(os.path.join(folder, name))):
                return label(name)
        return "other"

    log = []
    real = {name: getattr(os, name) for name in ("fsync", "replace", "unlink", "pwrite", "ftruncate")}

    def fsync(fd):
        log.append(("fsync", of_fd(fd)))
        return real["fsync"](fd)

    def replace(src, dst, **kw):
        log.append(("replace", label(dst)))
        return real["replace"](src, dst, **kw)

    def unlink(p, **kw):
        log.append(("unlink", label(p)))
        return real["unlink"](p, **kw)

    def pwrite(fd, data, offset):
        if not log or log[-1] != ("pwrite", of_fd(fd)):     # one entry for a run of writes
            log.append(("pwrite", of_fd(fd)))
        return real["pwrite"](fd, data, offset)

    def ftruncate(fd, size):
        log.append(("ftruncate", of_fd(fd)))
        return real["ftruncate"](fd, size)

    for name, fn in (("fsync", fsync), ("replace", replace), ("unlink", unlink), ("pwrite", pwrite),
                     ("ftruncate", ftruncate)):
        monkeypatch.setattr(store_mod.os, name, fn)
    return log


def _steps(log):
    return [step for step in log if step[1] != "other"]


def test_commit_fsyncs_journal_then_directory_then_file_before_the_journal_goes(tmp_path, monkeypatch):
    """Power loss: the journal must be on disk (contents, then its name) before the
    file is touched, and the file's pages on disk before the journal is deleted."""
    path = str(tmp_path / "r.h5")
    s = open_store(path, kind="sweep", recipe=REF)
    run_id, config, outcome = _outcome()
    log = _record_io(monkeypatch, path)
    s.begin(run_id, config, REF, 0)                      # one commit
    assert _steps(log) == [("fsync", "journal.tmp"), ("replace", "journal"), ("fsync", "dir"),
                           ("pwrite", "file"), ("ftruncate", "file"), ("fsync", "file"),
                           ("unlink", "journal"), ("fsync", "dir")]
    del log[:]
    s.finish(run_id, outcome.result, outcome.attrs)      # another, with datasets
    steps = _steps(log)
    assert steps.index(("fsync", "journal.tmp")) < steps.index(("replace", "journal")) \
        < steps.index(("fsync", "dir")) < steps.index(("pwrite", "file")) \
        < steps.index(("fsync", "file")) < steps.index(("unlink", "journal")) < len(steps) - 1
    assert steps[-1] == ("fsync", "dir") and steps.count(("fsync", "dir")) == 2
    monkeypatch.undo()
    s.close()
    assert read_plain(path)[run_id]["attrs"]["status"] == "done"


def test_new_results_file_is_fsynced_before_its_rename(tmp_path, monkeypatch):
    """Journals replayed onto a new file assume its first bytes are on disk."""
    path = str(tmp_path / "r.h5")
    log = _record_io(monkeypatch, path)
    s = open_store(path, kind="sweep", recipe=REF)
    assert _steps(log) == [("fsync", "new.tmp"), ("replace", "file"), ("fsync", "dir")]
    monkeypatch.undo()
    s.close()


@pytest.mark.parametrize("how", ["recover", "open_store"])
def test_replay_fsyncs_the_file_before_the_journal_goes(tmp_path, monkeypatch, how):
    path = str(tmp_path / "r.h5")
    run_id, _ = _leave_journal(path, monkeypatch)
    log = _record_io(monkeypatch, path)
    if how == "recover":
        assert recover(path) is True
    else:
        s = open_store(path, kind="sweep", recipe=REF)
    assert _steps(log) == [("pwrite", "file"), ("ftruncate", "file"), ("fsync", "file"),
                           ("unlink", "journal"), ("fsync", "dir")]
    monkeypatch.undo()
    if how == "open_store":
        s.close()
    assert not os.path.exists(path + ".journal")
    assert read_plain(path)[run_id]["attrs"]["status"] == "running"


@pytest.mark.parametrize("code", [errno.EINVAL, errno.EBADF, errno.EACCES], ids=errno.errorcode.get)
def test_directory_that_cannot_be_fsynced_is_skipped(tmp_path, monkeypatch, code):
    def refuse(*args):
        raise OSError(code, os.strerror(code))

    monkeypatch.setattr(store_mod.os, "fsync", refuse)
    assert store_mod._fsync_dir(str(tmp_path)) is None
    monkeypatch.setattr(store_mod.os, "open", refuse)
    assert store_mod._fsync_dir(str(tmp_path)) is None
    monkeypatch.delattr(store_mod.os, "O_DIRECTORY")
    assert store_mod._fsync_dir(str(tmp_path)) is None


def test_directory_fsync_failing_otherwise_is_an_error(tmp_path, monkeypatch):
    def broken(fd):
        raise OSError(errno.EIO, os.strerror(errno.EIO))

    monkeypatch.setattr(store_mod.os, "fsync", broken)
    with pytest.raises(OSError, match="Input/output error"):
        store_mod._fsync_dir(str(tmp_path))


def test_store_works_where_directories_cannot_be_fsynced(tmp_path, monkeypatch):
    """Some file systems answer EINVAL to fsync on a directory; files still are fsynced."""
    import stat
    real_fsync, files = os.fsync, []

    def fsync(fd):
        if stat.S_ISDIR(os.fstat(fd).st_mode):
            raise OSError(errno.EINVAL, os.strerror(errno.EINVAL))
        files.append(fd)
        return real_fsync(fd)

    monkeypatch.setattr(store_mod.os, "fsync", fsync)
    path = str(tmp_path / "r.h5")
    run_id, config, outcome = _outcome()
    with open_store(path, kind="sweep", recipe=REF) as s:
        s.begin(run_id, config, REF, 0)
        s.finish(run_id, outcome.result, outcome.attrs)
    monkeypatch.undo()
    assert len(files) >= 5                       # the new file, then journal + file per commit
    assert read_plain(path)[run_id]["attrs"]["status"] == "done"
    assert not os.path.exists(path + ".journal")


# ---------------------------------------------------------------------------
# Ctrl-C while a run is written

def test_ctrl_c_during_a_commit_is_raised_once_the_run_is_stored(tmp_path, monkeypatch, ctrl_c):
    """SIGINT that arrives while a run is written waits for its commit: the run is
    whole in the file, then KeyboardInterrupt stops the caller."""
    path = str(tmp_path / "r.h5")
    run_id, config, outcome = _outcome()
    s = open_store(path, kind="sweep", recipe=REF)
    s.begin(run_id, config, REF, 0)
    write_journal = store_mod._write_journal

    def journal(*args):
        os.kill(os.getpid(), signal.SIGINT)          # Ctrl-C in the middle of the commit
        return write_journal(*args)

    monkeypatch.setattr(store_mod, "_write_journal", journal)
    with pytest.raises(KeyboardInterrupt):
        s.finish(run_id, outcome.result, outcome.attrs)
    monkeypatch.undo()
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler
    s.close()
    assert read_plain(path)[run_id]["attrs"]["status"] == "done"


KI_POINTS = ([("readinto", n) for n in (1, 6, 12, 17)] + [("write", n) for n in (1, 30, 70, 110)]
             + [("seek", n) for n in (2, 60, 130)] + [("flush", n) for n in (1, 8)]
             + [("tell", n) for n in (1, 4)] + [("truncate", n) for n in (1, 9)])


@pytest.mark.parametrize("method, call", KI_POINTS)
def test_keyboard_interrupt_inside_hdf5_callbacks_stops_the_sweep(tmp_path, monkeypatch, method,
                                                                  call):
    """A KeyboardInterrupt raised in the file object that h5py calls back from HDF5
    was swallowed (the sweep went on) or came out as RuntimeError ("Unable to
    synchronously flush file") or SystemError, with a traceback. Now it stops
    the sweep as a KeyboardInterrupt, the file keeps every run stored, and the
    sweep resumes to the same results."""
    path = tmp_path / "r.h5"
    spec = {"recipe": "linear-classifier", "seeds": [0, 1, 2, 3]}
    sweep(dict(spec, seeds=[0]), out=path, progress=False)
    real, calls = getattr(store_mod._JournaledFile, method), [0]

    def interrupted(self, *args):
        calls[0] += 1
        if calls[0] == call:
            raise KeyboardInterrupt
        return real(self, *args)

    monkeypatch.setattr(store_mod._JournaledFile, method, interrupted)
    with pytest.raises(KeyboardInterrupt):
        sweep(spec, out=path, progress=False)
    monkeypatch.undo()
    assert calls[0] >= call
    reference = sweep(spec, progress=False).store
    for run_id, run in read_plain(path).items():
        if run["attrs"]["status"] == "done":
            assert_same_run(run, reference.read_run(run_id))
    report = sweep(spec, out=path, progress=False)
    assert report.failed == 0
    runs = read_plain(path)
    assert runs.keys() == reference.statuses().keys()
    for run_id, run in runs.items():
        assert_same_run(run, reference.read_run(run_id))


# ---------------------------------------------------------------------------
# readers beside a live writer

def _one_run_file(path):
    run_id, config, outcome = _outcome()
    s = open_store(path, kind="sweep", recipe=REF)
    s.begin(run_id, config, REF, 0)
    s.finish(run_id, outcome.result, outcome.attrs)
    return s, run_id


def test_reader_waits_while_a_commit_is_copied_in(tmp_path):
    """Between a commit's first page and its last the file is half old, half new;
    a reader waits for the commit instead of failing (or calling the file corrupt)."""
    import threading

    from fastnn.experiments import load
    path = str(tmp_path / "r.h5")
    s, run_id = _one_run_file(path)
    got = {}
    with store_mod._committing(s._fd):                   # as a writer copying pages in
        reader = threading.Thread(target=lambda: got.update(table=load(path)))
        reader.start()
        reader.join(0.3)
        assert reader.is_alive()
    reader.join(30)
    assert list(got["table"]["run_id"]) == [run_id]
    s.close()


def test_a_file_being_written_is_never_called_corrupt(tmp_path, monkeypatch, capsys):
    """A reader that cannot get between two commits, or finds the file torn while
    a writer holds it, says so and to retry; it does not tell the user to move a
    healthy file away."""
    from fastnn.cli import main
    from fastnn.experiments import load
    monkeypatch.setattr(store_mod, "LOCK_WAIT", 0.2)
    path = str(tmp_path / "r.h5")
    s, run_id = _one_run_file(path)
    being_written = r"r\.h5 is being written by another fastnn process.*; retry\."
    with store_mod._committing(s._fd):
        with pytest.raises(StoreError, match=being_written):
            load(path)
        assert main(["show", path]) == 2
        assert re.search(being_written, capsys.readouterr().err)
    os.truncate(path, os.path.getsize(path) // 2)        # torn, as by a writer without the lock
    with pytest.raises(StoreError, match=being_written):
        load(path)
    s._h5 = None                                          # (nothing more to write)
    os.close(s._fd)
    s._fd = None
    with pytest.raises(StoreError, match=r"r\.h5 is corrupt or truncated"):
        load(path)                                        # no writer: it is truncated


def _held_by_reader(path):
    """A descriptor holding the readers' shared lock of ``path``, as another
    process's reader would (this process's ``_READERS`` does not count it)."""
    fd = store_mod._read_lock(str(path))
    assert store_mod._byte_lock(fd, store_mod.fcntl.F_RDLCK, store_mod._COMMIT_BYTE) is True
    return fd


def test_a_reader_held_open_keeps_commits_out_of_the_file_not_out_of_reach(tmp_path, monkeypatch):
    """A reader left open past LOCK_WAIT used to have the writer copy pages in under
    it (a torn file). Now the writer keeps the committed pages in its journal until
    the file is free: the held reader's bytes never change, readers opened meanwhile
    see every commit through the journal, and the copy-in happens at the first
    commit (or close) after the reader lets go."""
    from fastnn.experiments import load, load_run
    monkeypatch.setattr(store_mod, "LOCK_WAIT", 0.2)
    path = str(tmp_path / "r.h5")
    s, first = _one_run_file(path)
    held = _held_by_reader(path)
    before = open(path, "rb").read()
    ids = [first]
    for seed in (1, 2):
        run_id, config, outcome = _outcome(seed=seed)
        s.begin(run_id, config, REF, seed)
        s.finish(run_id, outcome.result, outcome.attrs)
        ids.append(run_id)
        assert open(path, "rb").read() == before           # the held reader's file is untouched
        assert os.path.exists(path + ".journal")
        assert sorted(load(path)["run_id"]) == sorted(ids)  # a new reader sees the commit
        got = load_run(path, run_id)
        np.testing.assert_array_equal(got["curves"]["loss"], outcome.result.curves["loss"])
    assert list(read_plain(path)) == [first]               # plain h5py: the file as it was
    os.close(held)
    run_id, config, outcome = _outcome(seed=3)
    s.begin(run_id, config, REF, 3)                        # the next commit copies everything in
    ids.append(run_id)
    assert not os.path.exists(path + ".journal")
    assert sorted(read_plain(path)) == sorted(ids)
    s.close()


def test_a_large_pending_journal_waits_for_the_readers(tmp_path, monkeypatch):
    """Each commit rewrites the pending pages; past PENDING_WAIT_ABOVE bytes a commit
    waits (up to LOCK_WAIT) for the readers to let go instead of growing it further."""
    import threading
    monkeypatch.setattr(store_mod, "LOCK_WAIT", 30.0)
    path = str(tmp_path / "r.h5")
    s, first = _one_run_file(path)
    held = _held_by_reader(path)
    run_id, config, outcome = _outcome(seed=1)
    s.begin(run_id, config, REF, 1)                        # small: kept pending at once
    assert os.path.exists(path + ".journal")
    monkeypatch.setattr(store_mod, "PENDING_WAIT_ABOVE", 0)
    threading.Timer(0.3, os.close, (held,)).start()        # the reader lets go meanwhile
    s.finish(run_id, outcome.result, outcome.attrs)        # waits for it, then copies in
    assert not os.path.exists(path + ".journal")
    assert read_plain(path)[run_id]["attrs"]["status"] == "done"
    s.close()


def test_a_writer_closing_beside_a_reader_leaves_its_journal_to_the_next_open(tmp_path, monkeypatch):
    import threading

    from fastnn.experiments import load
    monkeypatch.setattr(store_mod, "LOCK_WAIT", 0.2)
    path = str(tmp_path / "r.h5")
    s = open_store(path, kind="sweep", recipe=REF)
    held = _held_by_reader(path)
    run_id, config, outcome = _outcome()
    s.begin(run_id, config, REF, 0)
    s.finish(run_id, outcome.result, outcome.attrs)
    s.close()                                              # the reader still holds the file
    assert os.path.exists(path + ".journal") and list(read_plain(path)) == []
    monkeypatch.setattr(store_mod, "LOCK_WAIT", 3600.0)
    got = {}
    reader = threading.Thread(target=lambda: got.update(table=load(path)))
    reader.start()
    reader.join(60)                                        # fastnn's readers do not wait for the
    assert not reader.is_alive()                           # held one: they read through the journal
    assert list(got["table"]["run_id"]) == [run_id]
    monkeypatch.setattr(store_mod, "LOCK_WAIT", 0.2)
    assert recover(path) is False                          # still held: not copied in
    os.close(held)
    assert recover(path) is True
    assert not os.path.exists(path + ".journal") and list(read_plain(path)) == [run_id]


def test_a_failed_write_keeps_the_commits_still_waiting_for_readers(tmp_path, monkeypatch):
    """A rollback returns to the last commit, pending pages included, not to the
    file on disk (which lacks them while a reader holds it)."""
    monkeypatch.setattr(store_mod, "LOCK_WAIT", 0.2)
    path = str(tmp_path / "r.h5")
    s, first = _one_run_file(path)
    held = _held_by_reader(path)
    run_id, config, outcome = _outcome(seed=1)
    s.begin(run_id, config, REF, 1)
    s.finish(run_id, outcome.result, outcome.attrs)       # pending
    monkeypatch.setattr(store_mod, "_write_journal", _enospc)
    with pytest.raises(StoreError, match="disk is full"):
        s.begin("other", config, REF, 2)
    monkeypatch.undo()
    assert s.statuses() == {first: "done", run_id: "done"}
    os.close(held)
    s.close()
    after = read_plain(path)
    assert sorted(after) == sorted([first, run_id]) and not os.path.exists(path + ".journal")


# ---------------------------------------------------------------------------
# a file damaged past its header

def test_file_damaged_past_its_header_is_a_store_error_naming_it(tmp_path, spec, capsys):
    """Random bytes written past the first 4 KiB of a results file gave raw h5py
    errors ("bad symbol table node signature", KeyError, RuntimeError) that named
    neither the file nor the damage, and exit statuses 1 or 2."""
    from fastnn.cli import main
    from fastnn.experiments import load, load_curves, load_run
    good = tmp_path / "good.h5"
    sweep(dict(spec, seeds=list(range(10))), out=good, progress=False)
    data = good.read_bytes()
    rng = np.random.default_rng(5)
    refused = 0
    readers = (load, lambda p: load_curves(p, "loss"),
               lambda p: [load_run(p, r) for r in load(p)["run_id"]])
    for trial in range(12):
        bad = bytearray(data)
        for _ in range(20):
            at, n = int(rng.integers(4096, len(data) - 64)), int(rng.choice([1, 8, 64]))
            bad[at:at + n] = rng.bytes(n)
        path = tmp_path / f"bad{trial}.h5"
        path.write_bytes(bytes(bad))
        for read in readers:
            try:
                read(path)
            except StoreError as err:
                assert re.search(rf"{path.name} is (damaged|corrupt or truncated)", str(err)), err
                refused += 1
        code = main(["show", str(path)])
        err = capsys.readouterr().err
        assert code in (0, 2) and "Traceback" not in err
        if code == 2:
            assert len(err.splitlines()) == 1 and path.name in err and (
                "damaged" in err or "corrupt" in err), err
    assert refused >= 5
