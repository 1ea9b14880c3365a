"""Reading a results file: a full disk, wrong arguments, paths that are not
results files, and values damaged on disk (checksums)."""
import errno
import os
import re
import struct
import threading

import h5py
import numpy as np
import pytest
from toy_recipes import REF, read_plain

from fastnn.experiments import load, load_curves, load_run
from fastnn.experiments import store as store_mod
from fastnn.experiments.registry import Result
from fastnn.experiments.store import StoreError, dumps, inspect_file, open_store, recover
from fastnn.experiments.sweep import sweep

METRIC = 0.123456789012345          # values whose bytes occur once in the file
ORDER = 987654321
WEIGHTS = np.array([1.25e-3, 2.5e-3, 3.75e-3])
REPORT = "a report no other bytes of the file spell"


def _result(k):
    return Result(metrics={"score": METRIC + k, "ok": True, "epochs": 7, "note": "fine",
                           "missing": float("nan"), "neg_zero": -0.0},
                  curves={"loss": np.linspace(1.0, 0.1, 50) + k},
                  arrays={"weights": WEIGHTS + k, "bias": np.float64(0.5 + k),
                          "empty": np.zeros(0), "noise": np.arange(1000.0) + k},
                  text={"report": REPORT + str(k)}, summary=f"run {k}")


def _write_run(s, k):
    """Store run ``k`` (ids are 12 hex digits, as the store makes them); its id."""
    run_id = f"{k + 1:012x}"
    s.begin(run_id, dumps({"recipe": REF, "params": {"k": k}, "seed": k}), REF, k,
            order=ORDER if k == 0 else k)
    s.finish(run_id, _result(k), {"wall_seconds": 1.5})
    return run_id


def _file(path, n=2):
    with open_store(path, kind="sweep", recipe=REF) as s:
        return [_write_run(s, k) for k in range(n)]


def _assert_run(run, k):
    assert run["metrics"]["score"] == METRIC + k and run["metrics"]["ok"] is True
    assert run["text"]["report"] == REPORT + str(k)
    np.testing.assert_array_equal(run["arrays"]["weights"], WEIGHTS + k)
    np.testing.assert_array_equal(run["curves"]["loss"], np.linspace(1.0, 0.1, 50) + k)


@pytest.fixture
def good(tmp_path):
    path = str(tmp_path / "good.h5")
    return path, _file(path)


# ---------------------------------------------------------------------------
# a full disk

def _file_with_pending_journal(path, monkeypatch):
    """Run 0 in the file, run 1 only in the pending journal (its writer closed
    while another process's reader held the file); their ids."""
    monkeypatch.setattr(store_mod, "LOCK_WAIT", 0.2)
    s = open_store(path, kind="sweep", recipe=REF)
    first = _write_run(s, 0)
    held = store_mod._read_lock(path)
    second = _write_run(s, 1)
    s.close()
    os.close(held)
    monkeypatch.undo()
    assert os.path.exists(path + ".journal") and list(read_plain(path)) == [first]
    return first, second


def test_a_full_disk_does_not_keep_a_reader_from_reading(tmp_path, monkeypatch, capsys):
    """A reader that can write the file copies a pending journal in before
    reading; when that write fails (a full disk) it used to raise the raw
    OSError. It reads through the journal instead, and the journal stays, so
    the half-done copy costs nothing: the next open with space replays it."""
    from fastnn.cli import main
    path = str(tmp_path / "r.h5")
    ids = _file_with_pending_journal(path, monkeypatch)
    real, writes = os.pwrite, []

    def pwrite(fd, data, offset):            # one page goes in, then the disk is full
        if writes:
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        writes.append(offset)
        return real(fd, data, offset)

    monkeypatch.setattr(store_mod.os, "pwrite", pwrite)
    assert sorted(load(path)["run_id"]) == sorted(ids)
    for k, run_id in enumerate(ids):
        _assert_run(load_run(path, run_id), k)
    assert sorted(load_curves(path, "loss")) == sorted(ids)
    assert main(["show", path]) == 0
    out = capsys.readouterr().out
    assert all(run_id in out for run_id in ids)
    assert writes and os.path.exists(path + ".journal")      # tried, failed, journal kept
    monkeypatch.undo()
    assert recover(path) is True                              # space again: the copy completes
    assert not os.path.exists(path + ".journal")
    assert sorted(read_plain(path)) == sorted(ids)            # plain h5py: every run
    for k, run_id in enumerate(ids):
        _assert_run(load_run(path, run_id), k)


# ---------------------------------------------------------------------------
# wrong arguments

@pytest.mark.parametrize("call, message", [
    (lambda p: load_run(p, 5), r"run_id must be a str, a run id such as .*; got int 5\."),
    (lambda p: load_run(p, None), r"run_id must be a str, a run id .*; got NoneType None\."),
    (lambda p: load_run(p, b"000000000001"), r"run_id must be a str.*; got bytes b'0+1'\."),
    (lambda p: load_curves(p, 5), r"metric must be a str, the name of .*; got int 5\."),
    (lambda p: load_curves(p, None), r"metric must be a str, the name of .*; got NoneType None\."),
])
def test_wrong_type_of_run_id_or_metric_is_a_type_error_not_a_damaged_file(good, call, message):
    """These used to call the healthy file damaged and tell the user to move it away."""
    path, ids = good
    with pytest.raises(TypeError, match=message):
        call(path)
    assert sorted(load(path)["run_id"]) == sorted(ids)


@pytest.mark.parametrize("run_id", ["/", "/runs", "/runs/000000000001", "runs/000000000001",
                                    "000000000001/metrics", "000000000001/", "", ".",
                                    "00000000000A", "0000000000001", "00000000001"])
def test_an_hdf5_path_is_not_a_run_id(good, run_id):
    """'/' was read as a run (the file's root group, status 'running') and
    '/runs/<id>' as the run <id>."""
    path, _ = good
    with pytest.raises(ValueError, match=r"run_id must be a run id: 12 lowercase hexadecimal "
                                         rf"digits, .*; got {re.escape(repr(run_id))}\."):
        load_run(path, run_id)


def test_an_unknown_run_id_is_still_a_key_error(good):
    path, _ = good
    with pytest.raises(KeyError, match=r"no run 'abcdef012345' in .*good\.h5"):
        load_run(path, "abcdef012345")


@pytest.mark.parametrize("metric", ["/runs/000000000001/curves/loss", "curves/loss", "", ".."])
def test_an_hdf5_path_is_not_a_metric(good, metric):
    """An absolute path resolved from each run's curves group: every run
    'had' run 000000000001's curve."""
    path, _ = good
    with pytest.raises(ValueError, match=rf"metric must be a name without '/' .*, not a path; "
                                         rf"got {re.escape(repr(metric))}\."):
        load_curves(path, metric)


# ---------------------------------------------------------------------------
# a path that is not a regular file

def _within(seconds, fn, fifo):
    """``fn()``'s outcome (value or exception) in at most ``seconds``; a reader
    still blocked in open() on ``fifo`` after that is let go (a writer opens and
    closes the pipe) and the test fails."""
    got = {}

    def target():
        try:
            got["value"] = fn()
        except BaseException as err:   # noqa: B902 - handed to the test
            got["error"] = err

    thread = threading.Thread(target=target, daemon=True)
    thread.start()
    thread.join(seconds)
    if thread.is_alive():
        for _ in range(50):
            try:
                os.close(os.open(fifo, os.O_WRONLY | os.O_NONBLOCK))
            except OSError:
                pass
            thread.join(0.1)
            if not thread.is_alive():
                break
        pytest.fail(f"{fn} still waited on the named pipe after {seconds} s")
    return got


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="no named pipes")
def test_a_named_pipe_is_refused_at_once(tmp_path, spec, capsys):
    """``fastnn show fifo.h5`` and ``fastnn plot fifo.h5`` waited forever in open()."""
    from fastnn.cli import main
    fifo = str(tmp_path / "fifo.h5")
    os.mkfifo(fifo)
    refused = r"fifo\.h5 is a named pipe, not a fastnn results file\."
    for read in (load, inspect_file, lambda p: load_run(p, "000000000001"),
                 lambda p: load_curves(p, "loss"), lambda p: open_store(p, mode="r")):
        got = _within(10, lambda: read(fifo), fifo)
        assert isinstance(got.get("error"), StoreError), got
        assert re.search(refused, str(got["error"]))
    for argv in (["show", fifo], ["plot", fifo, "--out", str(tmp_path / "c.png")]):
        got = _within(10, lambda: main(argv), fifo)
        assert got.get("value") == 2, got
        err = capsys.readouterr().err
        assert "fifo.h5" in err and re.search("named pipe|not a regular file", err), err
    got = _within(10, lambda: sweep(spec, out=fifo, progress=False), fifo)
    assert re.search(r"fifo\.h5 is a named pipe, not a fastnn results file; fastnn will not "
                     r"overwrite it", str(got.get("error")))


def test_a_device_is_not_a_results_file():
    with pytest.raises(StoreError, match=r"/dev/null is a character device, not a fastnn "
                                         r"results file\."):
        load("/dev/null")


# ---------------------------------------------------------------------------
# values damaged on disk

def _overwrite(path, old, new):
    """Replace the one occurrence of bytes ``old`` in the file by ``new``."""
    data = open(path, "rb").read()
    assert data.count(old) == 1, data.count(old)
    with open(path, "r+b") as fh:
        fh.seek(data.index(old))
        fh.write(new)


def test_checked_values_are_read_back_as_written(good):
    """The checksums hold for every kind of value a run stores (bool, int, NaN,
    -0.0, str, scalar and empty arrays), as written by begin, finish and fail."""
    path, ids = good
    with open_store(path, kind="sweep", recipe=REF) as s:
        s.begin("0000000000ff", dumps({"recipe": REF, "params": {}, "seed": 9}), REF, 9)
        s.fail("0000000000ff", "ValueError: on purpose", {"wall_seconds": 0.25})
    table = load(path)
    assert sorted(table["run_id"]) == sorted(ids + ["0000000000ff"])
    for k, run_id in enumerate(ids):
        run = load_run(path, run_id)
        _assert_run(run, k)
        assert np.isnan(run["metrics"]["missing"]) and str(run["metrics"]["neg_zero"]) == "-0.0"
        assert run["arrays"]["bias"] == 0.5 + k and run["arrays"]["empty"].shape == (0,)
        assert "checksum" not in run["attrs"]
    assert load_run(path, "0000000000ff")["status"] == "failed"
    with h5py.File(path, "r") as f:                    # what each value is checked by
        g = f["runs"][ids[0]]
        assert "checksum" in g.attrs
        assert g["curves/loss"].fletcher32 and g["arrays/noise"].fletcher32
        for name in ("arrays/weights", "arrays/bias", "text/report"):
            assert not g[name].fletcher32 and "crc32" in g[name].attrs


@pytest.mark.parametrize("what, old, new, reader, message", [
    ("a metric", struct.pack("<d", METRIC), struct.pack("<d", 0.5), load,
     r"the attributes or metrics of run 000000000001 do not match their checksum"),
    ("a run attribute", struct.pack("<q", ORDER), struct.pack("<q", 1), load,
     r"the attributes or metrics of run 000000000001 do not match their checksum"),
    ("a small array", WEIGHTS.tobytes()[8:16], struct.pack("<d", 9.0),
     lambda p: load_run(p, "000000000001"),
     r"array 'weights' of run 000000000001 does not match its checksum"),
    ("a scalar array", struct.pack("<d", 0.5), struct.pack("<d", 0.25),
     lambda p: load_run(p, "000000000001"),
     r"array 'bias' of run 000000000001 does not match its checksum"),
    ("a text", REPORT.encode(), REPORT.upper().encode(), lambda p: load_run(p, "000000000001"),
     r"text 'report' of run 000000000001 does not match its checksum"),
    ("a large array", (np.arange(1000.0))[500:501].tobytes(), struct.pack("<d", -1.0),
     lambda p: load_run(p, "000000000001"), r"HDF5 cannot read its runs"),
], ids=lambda v: v if isinstance(v, str) and v.startswith("a ") else "")
def test_a_damaged_value_is_an_error_not_a_different_number(tmp_path, capsys, what, old, new,
                                                             reader, message):
    """Overwriting the 8 bytes of a stored metric (or of a small array, a run
    attribute, a text) was read back silently as another value, and ``fastnn
    show`` printed it; only gzip-compressed datasets were checked."""
    from fastnn.cli import main
    path = str(tmp_path / "r.h5")
    _file(path, n=1)
    if what == "a large array":                  # compressed: stored without gzip to find it
        _file_uncompressed_noise(path)
    _overwrite(path, old, new)
    with pytest.raises(StoreError, match=rf"r\.h5 is damaged: {message}.* Move it away\."):
        reader(path)
    if reader is load:
        assert main(["show", path]) == 2
        assert re.search(rf"r\.h5 is damaged: {message}", capsys.readouterr().err)


def _file_uncompressed_noise(path):
    """Rewrite run 000000000001's large array chunked with Fletcher-32 but without
    gzip, as the store would without compression, so that its bytes can be found."""
    with h5py.File(path, "r+") as f:
        a = f["runs/000000000001/arrays"]
        data = a["noise"][()]
        del a["noise"]
        a.create_dataset("noise", data=data, chunks=True, fletcher32=True)


def test_files_without_checksums_still_load(tmp_path):
    """Files written before checksums (no checksum, crc32 or Fletcher-32) load
    unchecked."""
    path = str(tmp_path / "old.h5")
    ids = _file(path)
    with h5py.File(path, "r+") as f:               # the layout of the version before
        for run_id in ids:
            g = f["runs"][run_id]
            del g.attrs["checksum"]
            for sub in ("curves", "arrays", "text"):
                for name in list(g[sub]):
                    data = g[sub][name][()]
                    dtype = g[sub][name].dtype
                    del g[sub][name]
                    g[sub].create_dataset(name, data=data, dtype=dtype)
    with h5py.File(path, "r") as f:
        assert not f["runs"][ids[0]]["curves/loss"].fletcher32
    assert sorted(load(path)["run_id"]) == sorted(ids)
    for k, run_id in enumerate(ids):
        _assert_run(load_run(path, run_id), k)
    with open_store(path, kind="sweep", recipe=REF) as s:   # and resume: a new run is checked
        new = _write_run(s, 2)
    assert load_run(path, new)["metrics"]["score"] == METRIC + 2
