"""Patterns for Hopfield networks, and the probes made from them.

- ``letters``: 10x10 bitmaps of a dozen capital letters, drawn below as text.
- ``digits``: scikit-learn's 8x8 digits, binarised (the class mean, or one
  example per class), optionally enlarged.
- ``random_patterns``: independent random units, the patterns of capacity
  theory.
- ``flip``: probes with a given fraction of units flipped; ``occlude``:
  partial probes with part of the image hidden; ``overlap``: how close two
  sets of states are.

Patterns are int8 arrays of shape (n_patterns, n_units) in {-1, +1}; ``flip``
and ``occlude`` also take {0, 1} and answer in the alphabet they were given.
"""
import numpy as np

from .._validation import check_binary_states, check_float, check_int, check_option

__all__ = ["LETTERS", "LETTER_SHAPE", "letters", "digits", "random_patterns", "flip",
           "occlude", "overlap"]

#: The letters, "#" for +1 and "." for -1, 10 rows of 10.
LETTERS = {
    "A": """
....##....
...####...
..##..##..
.##....##.
.##....##.
.########.
.##....##.
.##....##.
.##....##.
..........""",
    "B": """
.######...
.##...##..
.##...##..
.######...
.##...##..
.##....##.
.##....##.
.##...##..
.######...
..........""",
    "C": """
...#####..
..##...##.
.##.......
.##.......
.##.......
.##.......
.##.......
..##...##.
...#####..
..........""",
    "D": """
.#####....
.##..##...
.##...##..
.##....##.
.##....##.
.##....##.
.##...##..
.##..##...
.#####....
..........""",
    "E": """
.########.
.##.......
.##.......
.######...
.##.......
.##.......
.##.......
.##.......
.########.
..........""",
    "F": """
.########.
.##.......
.##.......
.######...
.##.......
.##.......
.##.......
.##.......
.##.......
..........""",
    "H": """
.##....##.
.##....##.
.##....##.
.##....##.
.########.
.##....##.
.##....##.
.##....##.
.##....##.
..........""",
    "J": """
....#####.
.......##.
.......##.
.......##.
.......##.
.......##.
.##....##.
.##....##.
..######..
..........""",
    "L": """
.##.......
.##.......
.##.......
.##.......
.##.......
.##.......
.##.......
.##.......
.########.
..........""",
    "T": """
.########.
....##....
....##....
....##....
....##....
....##....
....##....
....##....
....##....
..........""",
    "X": """
.##....##.
.##....##.
..##..##..
...####...
....##....
...####...
..##..##..
.##....##.
.##....##.
..........""",
    "Z": """
.########.
.......##.
......##..
.....##...
....##....
...##.....
..##......
.##.......
.########.
..........""",
}

LETTER_SHAPE = (10, 10)


def _bitmap(text):
    rows = [line for line in text.strip("\n").splitlines()]
    return np.array([[1 if c == "#" else -1 for c in row] for row in rows], dtype=np.int8)


def letters(names="ABCDEFHJLTXZ"):
    """Letter bitmaps as patterns.

    Parameters
    ----------
    names : str or sequence of str, default="ABCDEFHJLTXZ"
        Letters among ``LETTERS``.

    Returns
    -------
    patterns : ndarray of shape (len(names), 100), int8 in {-1, +1}
    shape : (10, 10)
        The image shape of a pattern (row-major).
    """
    if isinstance(names, str):
        names = list(names)
    if len(names) == 0:
        raise ValueError("names must name at least one letter; got none.")
    for name in names:
        if name not in LETTERS:
            raise ValueError(f"names must be letters among {''.join(sorted(LETTERS))!r}; "
                             f"got {name!r}.")
    patterns = np.stack([_bitmap(LETTERS[name]).ravel() for name in names])
    return np.ascontiguousarray(patterns), LETTER_SHAPE


def digits(classes=tuple(range(10)), kind="mean", threshold=0.5, upscale=1):
    """scikit-learn's 8x8 digits as binary patterns, one per class.

    Parameters
    ----------
    classes : sequence of int, default=(0, 1, ..., 9)
    kind : {'mean', 'first'}, default='mean'
        'mean': the class's mean image (pixels scaled to [0, 1]) above
        ``threshold`` is +1; 'first': the first example of the class.
    threshold : float in (0, 1), default=0.5
    upscale : int >= 1, default=1
        Each pixel becomes an ``upscale`` x ``upscale`` block (more units).

    Returns
    -------
    patterns : ndarray of shape (len(classes), 64 * upscale**2), int8 in {-1, +1}
    shape : (8 * upscale, 8 * upscale)
    """
    from .digits import load_digits

    check_option(kind, "kind", ("mean", "first"))
    threshold = check_float(threshold, "threshold", low=0.0, high=1.0, low_inclusive=False,
                            high_inclusive=False)
    upscale = check_int(upscale, "upscale", low=1)
    classes = [check_int(c, "classes", low=0, high=9) for c in np.ravel(classes).tolist()] \
        if np.size(classes) else []
    if not classes:
        raise ValueError("classes must hold at least one digit; got none.")
    X, y = load_digits()
    images = []
    for c in classes:
        rows = X[y == c]
        image = rows.mean(axis=0) if kind == "mean" else rows[0]
        image = np.where(image > threshold, 1, -1).astype(np.int8).reshape(8, 8)
        images.append(np.kron(image, np.ones((upscale, upscale), dtype=np.int8)).ravel())
    side = 8 * upscale
    return np.ascontiguousarray(np.stack(images), dtype=np.int8), (side, side)


def random_patterns(n_patterns, n_units, p=0.5, random_state=None):
    """Independent random patterns: each unit is +1 with probability ``p``.

    Returns
    -------
    ndarray of shape (n_patterns, n_units), int8 in {-1, +1}
    """
    n_patterns = check_int(n_patterns, "n_patterns", low=1)
    n_units = check_int(n_units, "n_units", low=1)
    p = check_float(p, "p", low=0.0, high=1.0)
    rng = np.random.default_rng(random_state)
    return np.where(rng.random((n_patterns, n_units)) < p, 1, -1).astype(np.int8)


def _from_bipolar(states, alphabet):
    if alphabet == (0, 1):
        return ((states + 1) // 2).astype(np.int8)
    return states


def flip(patterns, fraction, random_state=None):
    """Noisy probes: exactly ``round(fraction * n_units)`` units of each row
    flipped, chosen at random without replacement.

    Parameters
    ----------
    patterns : array-like of shape (n_patterns, n_units), {-1, +1} or {0, 1}
    fraction : float in [0, 1]
    random_state : int, numpy Generator or None

    Returns
    -------
    ndarray of shape (n_patterns, n_units), int8, in the alphabet of ``patterns``
    """
    states, alphabet = check_binary_states(patterns, "patterns")
    fraction = check_float(fraction, "fraction", low=0.0, high=1.0)
    rng = np.random.default_rng(random_state)
    n_patterns, n = states.shape
    k = int(round(fraction * n))
    out = states.copy()
    for r in range(n_patterns):
        out[r, rng.choice(n, size=k, replace=False)] *= -1
    return _from_bipolar(out, alphabet)


def occlude(patterns, fraction, region="bottom", fill="low", random_state=None):
    """Partial probes: a fraction of each row's units hidden.

    Parameters
    ----------
    patterns : array-like of shape (n_patterns, n_units), {-1, +1} or {0, 1}
    fraction : float in [0, 1]
        Units hidden: ``round(fraction * n_units)``.
    region : {'bottom', 'top', 'random'}, default='bottom'
        'bottom': the last units (the bottom of a row-major image); 'top': the
        first; 'random': units drawn at random for each row.
    fill : {'low', 'high', 'random'}, default='low'
        What the hidden units become: the low value (-1 or 0), the high value
        (+1 or 1), or random values.
    random_state : int, numpy Generator or None

    Returns
    -------
    ndarray of shape (n_patterns, n_units), int8, in the alphabet of ``patterns``
    """
    states, alphabet = check_binary_states(patterns, "patterns")
    fraction = check_float(fraction, "fraction", low=0.0, high=1.0)
    check_option(region, "region", ("bottom", "top", "random"))
    check_option(fill, "fill", ("low", "high", "random"))
    rng = np.random.default_rng(random_state)
    n_patterns, n = states.shape
    k = int(round(fraction * n))
    out = states.copy()
    for r in range(n_patterns):
        if region == "bottom":
            hidden = np.arange(n - k, n)
        elif region == "top":
            hidden = np.arange(k)
        else:
            hidden = rng.choice(n, size=k, replace=False)
        if fill == "random":
            out[r, hidden] = np.where(rng.random(k) < 0.5, 1, -1)
        else:
            out[r, hidden] = -1 if fill == "low" else 1
    return _from_bipolar(out, alphabet)


def overlap(states, patterns):
    """The overlap ``m = (1/n) sum_i s_i x_i`` of each row of ``states`` with the
    same row of ``patterns`` (both mapped to {-1, +1}): 1 for equal rows, -1
    for opposite ones, about 0 for unrelated ones.

    Returns
    -------
    ndarray of shape (n_rows,), float64
    """
    s, _ = check_binary_states(states, "states")
    x, _ = check_binary_states(patterns, "patterns")
    if s.shape != x.shape:
        raise ValueError(f"states and patterns must have the same shape; got {s.shape} and "
                         f"{x.shape}.")
    return (s.astype(np.int64) * x).sum(axis=1) / s.shape[1]
