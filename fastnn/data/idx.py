"""IDX files: the format MNIST is distributed in, plain or gzipped.

An IDX file is a big-endian header followed by the data, big-endian, in
C order::

    magic    4 bytes: 0x00 0x00 <type code> <number of dimensions>
    dims     4 bytes each, unsigned, one per dimension
    data     prod(dims) items of the type code's size

Type codes: 0x08 uint8, 0x09 int8, 0x0B int16, 0x0C int32, 0x0D float32,
0x0E float64. MNIST's image files have magic 2051 (0x00000803: uint8, three
dimensions) and its label files 2049 (0x00000801: uint8, one dimension).

`read_idx` checks all of it (the magic number, the dimensions and that the
file holds exactly the data the header announces) and raises `IDXError`,
naming the file and what is wrong, for anything else, including a corrupt
gzip stream.
"""
import gzip
import os
import zlib

import numpy as np

__all__ = ["IDXError", "read_idx", "write_idx", "TYPE_CODES"]

#: IDX type code -> big-endian NumPy dtype.
TYPE_CODES = {
    0x08: np.dtype(">u1"),
    0x09: np.dtype(">i1"),
    0x0B: np.dtype(">i2"),
    0x0C: np.dtype(">i4"),
    0x0D: np.dtype(">f4"),
    0x0E: np.dtype(">f8"),
}
_CODE_OF = {(dt.kind, dt.itemsize): code for code, dt in TYPE_CODES.items()}

_GZIP_MAGIC = b"\x1f\x8b"
# Deflate cannot expand data more than about 1032:1, so a header that promises
# more than this many bytes per compressed byte describes a truncated file.
# Checking it first keeps a forged header from making the reader allocate or
# inflate without bound.
_MAX_GZIP_RATIO = 1100
_CHUNK = 1 << 24


class IDXError(ValueError):
    """An IDX file is malformed: bad magic number, dimensions, length or gzip stream."""


def _shape_text(dims):
    return "x".join(str(d) for d in dims)


def _read_upto(f, n):
    """Read up to ``n`` bytes from ``f`` in bounded chunks; fewer only at end of file."""
    if n <= _CHUNK:
        first = f.read(n)
        if len(first) == n or not first:
            return first
        chunks, got = [first], len(first)
    else:
        chunks, got = [], 0
    while got < n:
        chunk = f.read(min(_CHUNK, n - got))
        if not chunk:
            break
        chunks.append(chunk)
        got += len(chunk)
    return bytearray().join(chunks)


def _count_rest(f):
    """Number of bytes left in ``f`` (read and discarded in chunks)."""
    n = 0
    while True:
        chunk = f.read(_CHUNK)
        if not chunk:
            return n
        n += len(chunk)


def _parse(f, name, file_size, gzipped):
    """Read one IDX array from the open stream ``f``.

    ``file_size`` is the size on disk; for a plain file it is the length of
    the stream, for a gzipped one it bounds how much the stream can inflate to.
    """
    where = "decompressed file" if gzipped else "file"
    magic = _read_upto(f, 4)
    if len(magic) < 4:
        raise IDXError(f"{name}: too short for an IDX file: the {where} has {len(magic)} bytes, "
                       f"the magic number alone needs 4.")
    magic_int = int.from_bytes(magic, "big")
    if magic[0] != 0 or magic[1] != 0:
        hint = ""
        if magic[:2] == _GZIP_MAGIC:
            hint = " (it looks gzipped twice)"
        raise IDXError(f"{name}: not an IDX file: magic number 0x{magic_int:08X} must start "
                       f"with two zero bytes{hint}.")
    code, ndim = magic[2], magic[3]
    if code not in TYPE_CODES:
        codes = ", ".join(f"0x{c:02X} {dt.name}" for c, dt in TYPE_CODES.items())
        raise IDXError(f"{name}: unknown IDX type code 0x{code:02X} in magic number "
                       f"0x{magic_int:08X}; expected one of {codes}.")
    if ndim == 0:
        raise IDXError(f"{name}: magic number 0x{magic_int:08X} declares 0 dimensions; "
                       f"an IDX file has at least 1.")
    header = _read_upto(f, 4 * ndim)
    if len(header) < 4 * ndim:
        raise IDXError(f"{name}: truncated header: magic number 0x{magic_int:08X} declares {ndim} "
                       f"dimensions ({4 * ndim} bytes), the {where} has {len(header)} bytes after it.")
    dims = tuple(int(d) for d in np.frombuffer(header, dtype=">u4"))
    dtype = TYPE_CODES[code]
    n_items = 1
    for d in dims:
        n_items *= d
    n_bytes = n_items * dtype.itemsize
    header_len = 4 + 4 * ndim
    what = f"header says {_shape_text(dims)} {dtype.name} ({n_bytes} bytes of data)"

    if gzipped:
        if n_bytes > _MAX_GZIP_RATIO * file_size + 1024:
            raise IDXError(f"{name}: truncated: {what}, more than a {file_size}-byte gzip file "
                           f"can hold.")
        data = _read_upto(f, n_bytes)
        if len(data) < n_bytes:
            raise IDXError(f"{name}: truncated: {what}, {where} has {len(data)} bytes of data.")
        extra = _count_rest(f)
    else:
        have = file_size - header_len
        if have < n_bytes:
            raise IDXError(f"{name}: truncated: {what}, file has {have} bytes of data.")
        extra = have - n_bytes
    if extra:
        raise IDXError(f"{name}: {extra} trailing bytes: {what}, {where} has {n_bytes + extra} "
                       f"bytes of data.")

    native = dtype.newbyteorder("=")
    if gzipped:
        arr = np.frombuffer(data, dtype=dtype)  # writable: ``data`` is a bytearray (or empty)
        if dtype.itemsize > 1 or not arr.flags.writeable:
            arr = arr.astype(native)
    else:
        arr = np.empty(n_items, dtype=native)
        buf = arr.view(np.uint8)
        got = f.readinto(buf) if n_bytes else 0
        if got != n_bytes:  # the file changed under us
            raise IDXError(f"{name}: truncated: {what}, could read only {got} bytes of data.")
        if native != dtype:  # little-endian machine: swap the big-endian bytes in place
            arr.byteswap(inplace=True)
    try:
        return arr.reshape(dims)
    except ValueError as exc:  # more dimensions than NumPy allows, or an empty one of absurd size
        raise IDXError(f"{name}: {what}, which is no NumPy array shape: {exc}.") from None


def read_idx(path):
    """Read an IDX file, plain or gzipped, into a NumPy array.

    Gzip is recognised by the file's first two bytes (1f 8b), whatever its name.

    Parameters
    ----------
    path : str or os.PathLike

    Returns
    -------
    ndarray
        Writable, C-contiguous, native byte order; dtype from the type code
        (uint8, int8, int16, int32, float32 or float64) and shape from the
        header's dimensions.

    Raises
    ------
    IDXError
        A malformed file: bad magic number, header, length (truncated or
        trailing bytes) or gzip stream. The message names the file.
    FileNotFoundError, PermissionError
        As ``open`` raises them.
    """
    path = os.fspath(path)
    name = os.path.basename(path) or path
    with open(path, "rb") as raw:
        file_size = os.fstat(raw.fileno()).st_size
        if raw.read(2) != _GZIP_MAGIC:
            raw.seek(0)
            return _parse(raw, name, file_size, gzipped=False)
        raw.seek(0)
        try:
            with gzip.GzipFile(fileobj=raw, mode="rb") as f:
                return _parse(f, name, file_size, gzipped=True)
        except (gzip.BadGzipFile, zlib.error, EOFError) as exc:
            raise IDXError(f"{name}: corrupt or truncated gzip stream: {exc}") from exc


def write_idx(path, array, compresslevel=6):
    """Write ``array`` to an IDX file, gzipped when ``path`` ends in ``.gz``.

    Parameters
    ----------
    path : str or os.PathLike
    array : array_like
        1 to 255 dimensions, each below 2**32, of dtype uint8, int8, int16,
        int32, float32 or float64 (any byte order). Other dtypes are refused
        rather than converted: convert explicitly, e.g. ``array.astype(np.int32)``.
    compresslevel : int
        gzip level, used for ``.gz`` paths only.

    Returns
    -------
    None
    """
    arr = np.asarray(array)
    code = _CODE_OF.get((arr.dtype.kind, arr.dtype.itemsize))
    if code is None:
        names = ", ".join(dt.name for dt in TYPE_CODES.values())
        raise TypeError(f"array must have an IDX dtype ({names}); got {arr.dtype}. "
                        f"Convert it first, e.g. array.astype(np.int32) or array.astype(np.float64).")
    if not 1 <= arr.ndim <= 255:
        raise ValueError(f"array must have 1 to 255 dimensions; got {arr.ndim} (shape {arr.shape}).")
    if max(arr.shape) >= 2**32:
        raise ValueError(f"array dimensions must each be below 2**32; got shape {arr.shape}.")
    data = np.ascontiguousarray(arr, dtype=TYPE_CODES[code])
    header = bytes([0, 0, code, arr.ndim]) + np.asarray(arr.shape, dtype=">u4").tobytes()
    path = os.fspath(path)
    if path.endswith(".gz"):
        opener = gzip.open(path, "wb", compresslevel=compresslevel)
    else:
        opener = open(path, "wb")
    with opener as f:
        f.write(header)
        if data.size:
            f.write(data.reshape(-1).view(np.uint8))
