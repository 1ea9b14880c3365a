"""MNIST from its four IDX files (LeCun, Cortes and Burges; CC BY-SA 3.0).

The project never ships or downloads MNIST. `find_mnist` looks for the files
where a checkout usually has them; `load_mnist` reads and checks them.
"""
import os
from pathlib import Path

import numpy as np

from .idx import IDXError, read_idx

__all__ = ["MNIST_FILES", "find_mnist", "load_mnist"]

#: The four standard file names, in the order `load_mnist` returns them;
#: each may also carry a ``.gz`` suffix.
MNIST_FILES = (
    "train-images-idx3-ubyte",
    "train-labels-idx1-ubyte",
    "t10k-images-idx3-ubyte",
    "t10k-labels-idx1-ubyte",
)
_IMAGES_MAGIC = 2051  # 0x00000803: uint8, 3 dimensions
_LABELS_MAGIC = 2049  # 0x00000801: uint8, 1 dimension
_PROJECT_ROOT = Path(__file__).resolve().parent.parent.parent


def _locate(directory, stem):
    """The path of ``stem`` or ``stem.gz`` in ``directory`` (plain first), or None."""
    for name in (stem, stem + ".gz"):
        path = directory / name
        if path.is_file():
            return path
    return None


def _holds_mnist(directory):
    return directory.is_dir() and all(_locate(directory, stem) for stem in MNIST_FILES)


def _candidates():
    """Directories `find_mnist` tries, in order."""
    places = []
    env = os.environ.get("FASTNN_DATA")
    if env:
        env = Path(env).expanduser()
        places += [env, env / "mnist"]
    for base in (Path.cwd(), _PROJECT_ROOT):
        places += [base.parent / "shared" / "data" / "mnist", base / "shared" / "data" / "mnist"]
    unique = []
    for place in places:
        place = Path(os.path.abspath(place))
        if place not in unique:
            unique.append(place)
    return unique


def find_mnist():
    """The directory holding the four MNIST files, or None.

    Looked for, in order: the directory in the environment variable
    ``FASTNN_DATA`` or its ``mnist/`` subfolder; then ``../shared/data/mnist``
    and ``shared/data/mnist`` relative to the current directory and to the
    project root (the folder that holds the ``fastnn`` package). A directory
    counts when it has all four files, plain or ``.gz``.

    Returns
    -------
    pathlib.Path or None
    """
    for place in _candidates():
        if _holds_mnist(place):
            return place
    return None


def _magic_text(arr):
    code = {np.dtype(np.uint8): 0x08, np.dtype(np.int8): 0x09, np.dtype(np.int16): 0x0B,
            np.dtype(np.int32): 0x0C, np.dtype(np.float32): 0x0D,
            np.dtype(np.float64): 0x0E}[arr.dtype]
    magic = (code << 8) | arr.ndim
    return f"magic {magic} (0x{magic:08X}: {arr.dtype} with {arr.ndim} dimension{'s' * (arr.ndim != 1)})"


def _read_part(path, images):
    arr = read_idx(path)
    if images:
        ok = arr.dtype == np.uint8 and arr.ndim == 3
        want = f"magic {_IMAGES_MAGIC} (uint8 images, 3 dimensions)"
    else:
        ok = arr.dtype == np.uint8 and arr.ndim == 1
        want = f"magic {_LABELS_MAGIC} (uint8 labels, 1 dimension)"
    if ok:
        return arr
    got = _magic_text(arr)
    if images and arr.dtype == np.uint8 and arr.ndim == 1:
        raise IDXError(f"{path.name}: mislabelled: holds labels ({got}) where images are expected, "
                       f"{want}.")
    if not images and arr.dtype == np.uint8 and arr.ndim == 3:
        raise IDXError(f"{path.name}: mislabelled: holds images ({got}) where labels are expected, "
                       f"{want}.")
    raise IDXError(f"{path.name}: not an MNIST {'image' if images else 'label'} file: {got}, "
                   f"expected {want}.")


def load_mnist(directory=None):
    """Load MNIST's training and test sets.

    Parameters
    ----------
    directory : str, os.PathLike or None
        Folder with ``train-images-idx3-ubyte``, ``train-labels-idx1-ubyte``,
        ``t10k-images-idx3-ubyte`` and ``t10k-labels-idx1-ubyte``, each plain
        or gzipped (``.gz``). None: the folder `find_mnist` finds.

    Returns
    -------
    X_train : ndarray of shape (60000, 28, 28), uint8
    y_train : ndarray of shape (60000,), uint8
    X_test : ndarray of shape (10000, 28, 28), uint8
    y_test : ndarray of shape (10000,), uint8
        Pixels 0-255, labels 0-9. (The shapes are the standard files'; the
        loader checks the format, not the counts.)

    Raises
    ------
    FileNotFoundError
        No directory given and none found, or a file missing.
    IDXError
        A file is malformed, mislabelled (labels where images are expected or
        the reverse), has labels outside 0-9, or images and labels disagree in
        number.
    """
    if directory is None:
        directory = find_mnist()
        if directory is None:
            looked = "\n  ".join(str(p) for p in _candidates())
            raise FileNotFoundError(
                "MNIST not found. Looked for its four IDX files (plain or .gz) in:\n  "
                f"{looked}\nSet the environment variable FASTNN_DATA to the folder that holds "
                "them (or to its parent, with them in mnist/), or pass load_mnist(directory).")
    directory = Path(directory)
    if not directory.is_dir():
        raise FileNotFoundError(f"MNIST directory {str(directory)!r} does not exist.")
    paths = []
    for stem in MNIST_FILES:
        path = _locate(directory, stem)
        if path is None:
            raise FileNotFoundError(f"MNIST file {stem} (or {stem}.gz) not found in {str(directory)!r}.")
        paths.append(path)
    arrays = [_read_part(path, images=(i % 2 == 0)) for i, path in enumerate(paths)]
    for split, (X, y), (x_path, y_path) in zip(("training", "test"),
                                               (arrays[:2], arrays[2:]),
                                               (paths[:2], paths[2:])):
        if len(X) != len(y):
            raise IDXError(f"MNIST {split} set: {x_path.name} has {len(X)} images but "
                           f"{y_path.name} has {len(y)} labels.")
        if y.size and y.max() > 9:
            i = int(np.argmax(y > 9))
            raise IDXError(f"{y_path.name}: labels must be digits 0-9; got {y[i]} at index {i}.")
    return tuple(arrays)
