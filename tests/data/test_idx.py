"""IDX files (plain and gzipped) and MNIST loading."""
import gzip
import os
import tempfile

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp
from numpy.testing import assert_array_equal

import fastnn.data.mnist as mnist_module
from fastnn.data import IDXError, find_mnist, load_mnist, read_idx, write_idx

IDX_DTYPES = {0x08: np.uint8, 0x09: np.int8, 0x0B: np.int16, 0x0C: np.int32,
              0x0D: np.float32, 0x0E: np.float64}


def _write_bytes(path, content, gz=False):
    with open(path, "wb") as f:
        f.write(gzip.compress(content) if gz else content)
    return path


def _same_bits(a, b):
    """Equal dtype, shape and bytes (so NaN payloads and -0.0 count too)."""
    return a.dtype == b.dtype and a.shape == b.shape and a.tobytes() == b.tobytes()


# --- round trip -------------------------------------------------------------

@st.composite
def idx_arrays(draw):
    code = draw(st.sampled_from(sorted(IDX_DTYPES)))
    dtype = np.dtype(IDX_DTYPES[code])
    if draw(st.booleans()):  # either byte order goes in; native comes out
        dtype = dtype.newbyteorder(">")
    shape = draw(hnp.array_shapes(min_dims=1, max_dims=4, min_side=0, max_side=5))
    return draw(hnp.arrays(dtype, shape))


@settings(max_examples=150, deadline=None)
@given(arr=idx_arrays(), gz=st.booleans())
def test_write_read_round_trip(arr, gz):
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "a.idx.gz" if gz else "a.idx")
        write_idx(path, arr)
        with open(path, "rb") as f:
            assert (f.read(2) == b"\x1f\x8b") == gz
        back = read_idx(path)
    native = arr.astype(arr.dtype.newbyteorder("="))
    assert back.dtype.isnative and back.flags.c_contiguous and back.flags.writeable
    assert _same_bits(back, native)


@pytest.mark.parametrize("code", sorted(IDX_DTYPES))
@pytest.mark.parametrize("gz", [False, True])
def test_round_trip_every_type_code_and_1_to_4_dims(tmp_path, code, gz):
    dtype = IDX_DTYPES[code]
    for ndim in range(1, 5):
        shape = (3, 2, 4, 1)[:ndim]
        arr = (np.arange(np.prod(shape)) - 5).astype(dtype).reshape(shape)
        path = tmp_path / f"a{ndim}.idx{'.gz' if gz else ''}"
        write_idx(path, arr)
        raw = gzip.decompress(path.read_bytes()) if gz else path.read_bytes()
        assert raw[:4] == bytes([0, 0, code, ndim])
        assert _same_bits(read_idx(path), arr)


def test_header_and_data_are_big_endian(tmp_path):
    path = tmp_path / "x.idx"
    write_idx(path, np.array([[1, -2, 258]], dtype=np.int16))
    assert path.read_bytes() == (b"\x00\x00\x0b\x02" b"\x00\x00\x00\x01" b"\x00\x00\x00\x03"
                                 b"\x00\x01" b"\xff\xfe" b"\x01\x02")


def test_gzip_detected_by_content_not_name(tmp_path):
    arr = np.arange(12, dtype=np.uint8).reshape(3, 4)
    write_idx(tmp_path / "a.gz", arr)
    os.rename(tmp_path / "a.gz", tmp_path / "gzipped-without-suffix")
    assert_array_equal(read_idx(tmp_path / "gzipped-without-suffix"), arr)
    write_idx(tmp_path / "plain", arr)
    os.rename(tmp_path / "plain", tmp_path / "plain-with-suffix.gz")
    assert_array_equal(read_idx(str(tmp_path / "plain-with-suffix.gz")), arr)


def test_read_returns_writable_arrays(tmp_path):
    for name in ("a.idx", "a.idx.gz"):
        write_idx(tmp_path / name, np.ones((2, 3), np.float32))
        arr = read_idx(tmp_path / name)
        arr += 1  # must not raise "assignment destination is read-only"
        assert_array_equal(arr, 2)


@pytest.mark.parametrize("array, error, message", [
    (np.zeros(3, np.int64), TypeError,
     r"array must have an IDX dtype \(uint8, int8, int16, int32, float32, float64\); got int64"),
    (np.zeros(3, bool), TypeError, r"got bool"),
    (np.zeros(3, np.uint16), TypeError, r"got uint16"),
    (np.zeros(3, np.complex64), TypeError, r"got complex64"),
    (np.float64(1.0), ValueError, r"array must have 1 to 255 dimensions; got 0"),
])
def test_write_idx_rejects(tmp_path, array, error, message):
    with pytest.raises(error, match=message):
        write_idx(tmp_path / "x.idx", array)
    assert not (tmp_path / "x.idx").exists()


# --- malformed files ----------------------------------------------------------

U8_3x2x2 = b"\x00\x00\x08\x03" + (3).to_bytes(4, "big") + (2).to_bytes(4, "big") + (2).to_bytes(4, "big")

BAD_FILES = [
    (b"", r"^x\.idx: too short for an IDX file: the file has 0 bytes, the magic number alone needs 4\.$"),
    (b"\x00\x00\x08", r"too short for an IDX file: the file has 3 bytes"),
    (b"\x01\x00\x08\x01\x00\x00\x00\x00", r"^x\.idx: not an IDX file: magic number 0x01000801 must "
                                          r"start with two zero bytes\.$"),
    (b"PK\x03\x04", r"not an IDX file: magic number 0x504B0304"),
    (gzip.compress(gzip.compress(b"\x00\x00\x08\x01\x00\x00\x00\x00")),
     r"it looks gzipped twice"),
    (b"\x00\x00\x0a\x01\x00\x00\x00\x00", r"^x\.idx: unknown IDX type code 0x0A in magic number "
                                          r"0x00000A01; expected one of 0x08 uint8, 0x09 int8, "
                                          r"0x0B int16, 0x0C int32, 0x0D float32, 0x0E float64\.$"),
    (b"\x00\x00\x08\x00", r"^x\.idx: magic number 0x00000800 declares 0 dimensions; an IDX file "
                          r"has at least 1\.$"),
    (U8_3x2x2[:10], r"^x\.idx: truncated header: magic number 0x00000803 declares 3 dimensions "
                    r"\(12 bytes\), the file has 6 bytes after it\.$"),
    (U8_3x2x2 + bytes(5), r"^x\.idx: truncated: header says 3x2x2 uint8 \(12 bytes of data\), "
                          r"file has 5 bytes of data\.$"),
    (U8_3x2x2 + bytes(15), r"^x\.idx: 3 trailing bytes: header says 3x2x2 uint8 \(12 bytes of "
                           r"data\), file has 15 bytes of data\.$"),
    (b"\x00\x00\x0e\x01\x00\x00\x00\x02" + bytes(15),
     r"truncated: header says 2 float64 \(16 bytes of data\), file has 15 bytes"),
    (b"\x00\x00\x08\x41" + bytes([0, 0, 0, 1]) * 65 + b"\x07",
     r"^x\.idx: header says 1x1x1x.*x1 uint8 \(1 bytes of data\), which is no NumPy array shape: "
     r"maximum supported dimension"),
    (b"\x00\x00\x08\x03" + b"\xff" * 8 + bytes(4),
     r"^x\.idx: header says 4294967295x4294967295x0 uint8 \(0 bytes of data\), which is no NumPy "
     r"array shape"),
    (b"\x00\x00\x08\x03" + b"\xff" * 12, r"truncated: header says 4294967295x4294967295x4294967295 "
                                         r"uint8 \(79228162458924105385300197375 bytes of data\)"),
]


BAD_FILE_IDS = ["empty", "3-bytes", "nonzero-magic", "zip-file", "gzipped-twice", "unknown-type",
                "0-dims", "truncated-header", "truncated-data", "trailing-bytes", "float64-short",
                "65-dims", "empty-but-absurd", "huge-dims"]


@pytest.mark.parametrize("content, message", BAD_FILES, ids=BAD_FILE_IDS)
def test_malformed_file_raises_idx_error(tmp_path, content, message):
    with pytest.raises(IDXError, match=message):
        read_idx(_write_bytes(tmp_path / "x.idx", content))


@pytest.mark.parametrize("content, message", [
    (U8_3x2x2 + bytes(5), r"^x\.idx\.gz: truncated: header says 3x2x2 uint8 \(12 bytes of data\), "
                          r"decompressed file has 5 bytes of data\.$"),
    (U8_3x2x2 + bytes(13), r"^x\.idx\.gz: 1 trailing bytes: header says 3x2x2 uint8 \(12 bytes of "
                           r"data\), decompressed file has 13 bytes of data\.$"),
    (b"\x00\x00", r"^x\.idx\.gz: too short for an IDX file: the decompressed file has 2 bytes"),
    # a header promising far more than the compressed file could inflate to
    (b"\x00\x00\x08\x03" + (60000).to_bytes(4, "big") + (28).to_bytes(4, "big") * 2,
     r"^x\.idx\.gz: truncated: header says 60000x28x28 uint8 \(47040000 bytes of data\), more "
     r"than a \d+-byte gzip file can hold\.$"),
], ids=["truncated-data", "trailing-bytes", "2-bytes", "forged-huge-header"])
def test_malformed_gzipped_file_raises_idx_error(tmp_path, content, message):
    with pytest.raises(IDXError, match=message):
        read_idx(_write_bytes(tmp_path / "x.idx.gz", content, gz=True))


def _valid_gz(tmp_path):
    path = tmp_path / "v.idx.gz"
    write_idx(path, np.arange(300, dtype=np.int32).reshape(3, 100))
    return path.read_bytes()


def test_cut_gzip_stream_raises_idx_error(tmp_path):
    content = _valid_gz(tmp_path)
    with pytest.raises(IDXError, match=r"^x\.gz: corrupt or truncated gzip stream: Compressed file "
                                       r"ended before the end-of-stream marker was reached"):
        read_idx(_write_bytes(tmp_path / "x.gz", content[:-10]))


def test_gzip_crc_mismatch_raises_idx_error(tmp_path):
    content = bytearray(_valid_gz(tmp_path))
    content[-6] ^= 0xFF  # inside the CRC-32 trailer
    with pytest.raises(IDXError, match=r"^x\.gz: corrupt or truncated gzip stream: CRC check failed"):
        read_idx(_write_bytes(tmp_path / "x.gz", bytes(content)))


def test_garbage_after_gzip_stream_raises_idx_error(tmp_path):
    content = _valid_gz(tmp_path) + b"garbage"
    with pytest.raises(IDXError, match=r"^x\.gz: corrupt or truncated gzip stream: Not a gzipped file"):
        read_idx(_write_bytes(tmp_path / "x.gz", content))


def test_idx_error_is_a_value_error_and_missing_file_is_file_not_found(tmp_path):
    assert issubclass(IDXError, ValueError)
    with pytest.raises(FileNotFoundError):
        read_idx(tmp_path / "absent.idx")


# --- fuzz ---------------------------------------------------------------------

def _valid_files():
    rng = np.random.default_rng(0)
    plain = []
    with tempfile.TemporaryDirectory() as tmp:
        for code, dtype in IDX_DTYPES.items():
            arr = (rng.random((3, 5, 2)) * 100).astype(dtype)
            path = os.path.join(tmp, "f.idx")
            write_idx(path, arr)
            with open(path, "rb") as f:
                plain.append(f.read())
    return plain


VALID_PLAIN = _valid_files()


@st.composite
def mangled_files(draw):
    kind = draw(st.sampled_from(["random", "forged-header", "forged-dims", "truncated",
                                 "bit-flipped"]))
    if kind == "random":
        content = draw(st.binary(max_size=64))
    elif kind == "forged-header":  # a plausible magic number, then anything
        magic = bytes([0, 0, draw(st.sampled_from(sorted(IDX_DTYPES))), draw(st.integers(0, 5))])
        content = magic + draw(st.binary(max_size=40))
    elif kind == "forged-dims":  # many, empty or huge dimensions, then a few bytes
        ndim = draw(st.sampled_from([1, 2, 3, 32, 33, 64, 65, 255]))
        dims = draw(st.lists(st.sampled_from([0, 1, 2, 2**31, 2**32 - 1]), min_size=ndim,
                             max_size=ndim))
        content = (bytes([0, 0, draw(st.sampled_from(sorted(IDX_DTYPES))), ndim])
                   + np.asarray(dims, ">u4").tobytes() + draw(st.binary(max_size=8)))
    else:
        content = draw(st.sampled_from(VALID_PLAIN))
    gz = draw(st.booleans())
    if gz:
        content = gzip.compress(content, mtime=0)
    if kind == "truncated":
        content = content[:draw(st.integers(0, len(content)))]
    elif kind == "bit-flipped":
        content = bytearray(content)
        for _ in range(draw(st.integers(1, 4))):
            i = draw(st.integers(0, len(content) - 1))
            content[i] ^= 1 << draw(st.integers(0, 7))
        content = bytes(content)
    return content


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(content=mangled_files())
def test_fuzz_read_idx_returns_array_or_raises_idx_error(content):
    """Whatever the bytes, read_idx returns an array or raises IDXError: no other exception."""
    with tempfile.TemporaryDirectory() as tmp:
        path = _write_bytes(os.path.join(tmp, "fuzz"), content)
        try:
            arr = read_idx(path)
        except IDXError as exc:
            assert str(exc).startswith("fuzz: ")
        else:
            assert isinstance(arr, np.ndarray) and arr.ndim >= 1
            assert arr.dtype in {np.dtype(t) for t in IDX_DTYPES.values()}


# --- MNIST --------------------------------------------------------------------

def _fake_mnist(directory, n_train=20, n_test=7, gz=(True, True, False, False)):
    rng = np.random.default_rng(1)
    arrays = (rng.integers(0, 256, (n_train, 28, 28), dtype=np.uint8),
              rng.integers(0, 10, n_train, dtype=np.uint8),
              rng.integers(0, 256, (n_test, 28, 28), dtype=np.uint8),
              rng.integers(0, 10, n_test, dtype=np.uint8))
    os.makedirs(directory, exist_ok=True)
    for stem, arr, z in zip(mnist_module.MNIST_FILES, arrays, gz):
        write_idx(os.path.join(directory, stem + (".gz" if z else "")), arr)
    return arrays


@pytest.fixture
def fake_mnist(tmp_path):
    return tmp_path / "mnist", _fake_mnist(tmp_path / "mnist")


def test_load_mnist_reads_plain_and_gzipped(fake_mnist):
    directory, expected = fake_mnist
    got = load_mnist(directory)
    assert len(got) == 4
    for g, e in zip(got, expected):
        assert _same_bits(g, e)
    assert_array_equal(load_mnist(str(directory))[3], expected[3])


@pytest.fixture
def nowhere(tmp_path, monkeypatch):
    """No MNIST anywhere find_mnist looks: empty cwd, project root moved, no FASTNN_DATA."""
    empty = tmp_path / "nowhere" / "deeper"
    empty.mkdir(parents=True)
    monkeypatch.chdir(empty)
    monkeypatch.setattr(mnist_module, "_PROJECT_ROOT", empty)
    monkeypatch.delenv("FASTNN_DATA", raising=False)
    return empty


def test_find_mnist_none_and_load_mnist_says_where_it_looked(nowhere):
    assert find_mnist() is None
    with pytest.raises(FileNotFoundError, match=r"(?s)MNIST not found\. Looked for its four IDX "
                                                r"files.*shared.data.mnist.*Set the environment "
                                                r"variable FASTNN_DATA"):
        load_mnist()


def test_find_mnist_uses_fastnn_data_dir_or_its_mnist_subfolder(nowhere, fake_mnist, monkeypatch):
    directory, expected = fake_mnist
    monkeypatch.setenv("FASTNN_DATA", str(directory))
    assert find_mnist() == directory
    monkeypatch.setenv("FASTNN_DATA", str(directory.parent))
    assert find_mnist() == directory
    assert_array_equal(load_mnist()[1], expected[1])


def test_find_mnist_looks_in_shared_data_next_to_cwd(nowhere, monkeypatch):
    _fake_mnist(nowhere.parent / "shared" / "data" / "mnist")
    assert find_mnist() == nowhere.parent / "shared" / "data" / "mnist"


def test_find_mnist_ignores_incomplete_directory(nowhere, monkeypatch):
    directory = nowhere / "shared" / "data" / "mnist"
    _fake_mnist(directory)
    os.remove(directory / "t10k-labels-idx1-ubyte")
    monkeypatch.setenv("FASTNN_DATA", str(directory))
    assert find_mnist() is None


def test_load_mnist_missing_file(fake_mnist):
    directory, _ = fake_mnist
    os.remove(directory / "t10k-labels-idx1-ubyte")
    with pytest.raises(FileNotFoundError, match=r"MNIST file t10k-labels-idx1-ubyte \(or "
                                                r"t10k-labels-idx1-ubyte\.gz\) not found in"):
        load_mnist(directory)


def test_load_mnist_missing_directory(tmp_path):
    with pytest.raises(FileNotFoundError, match=r"MNIST directory '.*absent' does not exist"):
        load_mnist(tmp_path / "absent")


def test_load_mnist_labels_where_images_expected(fake_mnist):
    directory, _ = fake_mnist
    write_idx(directory / "train-images-idx3-ubyte.gz", np.zeros(20, np.uint8))
    with pytest.raises(IDXError, match=r"^train-images-idx3-ubyte\.gz: mislabelled: holds labels "
                                       r"\(magic 2049 \(0x00000801: uint8 with 1 dimension\)\) where "
                                       r"images are expected, magic 2051 \(uint8 images, 3 "
                                       r"dimensions\)\.$"):
        load_mnist(directory)


def test_load_mnist_images_where_labels_expected(fake_mnist):
    directory, _ = fake_mnist
    write_idx(directory / "t10k-labels-idx1-ubyte", np.zeros((7, 28, 28), np.uint8))
    with pytest.raises(IDXError, match=r"^t10k-labels-idx1-ubyte: mislabelled: holds images "
                                       r"\(magic 2051 .*\) where labels are expected, magic 2049"):
        load_mnist(directory)


def test_load_mnist_wrong_type(fake_mnist):
    directory, _ = fake_mnist
    write_idx(directory / "t10k-images-idx3-ubyte", np.zeros((7, 28, 28), np.float32))
    with pytest.raises(IDXError, match=r"^t10k-images-idx3-ubyte: not an MNIST image file: magic "
                                       r"3331 \(0x00000D03: float32 with 3 dimensions\), expected "
                                       r"magic 2051"):
        load_mnist(directory)


def test_load_mnist_count_mismatch(fake_mnist):
    directory, _ = fake_mnist
    write_idx(directory / "train-labels-idx1-ubyte.gz", np.zeros(19, np.uint8))
    with pytest.raises(IDXError, match=r"^MNIST training set: train-images-idx3-ubyte\.gz has 20 "
                                       r"images but train-labels-idx1-ubyte\.gz has 19 labels\.$"):
        load_mnist(directory)


def test_load_mnist_label_out_of_range(fake_mnist):
    directory, _ = fake_mnist
    labels = np.zeros(7, np.uint8)
    labels[3] = 12
    write_idx(directory / "t10k-labels-idx1-ubyte", labels)
    with pytest.raises(IDXError, match=r"^t10k-labels-idx1-ubyte: labels must be digits 0-9; got 12 "
                                       r"at index 3\.$"):
        load_mnist(directory)


def test_load_mnist_truncated_file(fake_mnist):
    directory, _ = fake_mnist
    path = directory / "t10k-images-idx3-ubyte"
    path.write_bytes(path.read_bytes()[:1016])
    with pytest.raises(IDXError, match=r"^t10k-images-idx3-ubyte: truncated: header says 7x28x28 "
                                       r"uint8 \(5488 bytes of data\), file has 1000 bytes of data\.$"):
        load_mnist(directory)


MNIST_DIR = find_mnist()


@pytest.mark.skipif(MNIST_DIR is None, reason="MNIST files not found (set FASTNN_DATA or put them "
                                              "in ../shared/data/mnist)")
def test_real_mnist():
    X_train, y_train, X_test, y_test = load_mnist(MNIST_DIR)
    assert X_train.shape == (60000, 28, 28) and y_train.shape == (60000,)
    assert X_test.shape == (10000, 28, 28) and y_test.shape == (10000,)
    for arr in (X_train, y_train, X_test, y_test):
        assert arr.dtype == np.uint8 and arr.flags.c_contiguous
    assert set(np.unique(y_train)) == set(range(10)) == set(np.unique(y_test))
    assert y_train[0] == 5 and y_test[0] == 7
    assert X_train.max() == 255 and X_train.min() == 0
    assert np.bincount(y_train)[1] == 6742 and np.bincount(y_test)[1] == 1135
