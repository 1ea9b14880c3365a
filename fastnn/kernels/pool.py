"""Max pooling that remembers where each maximum came from, and its backward.

A map ``a`` of shape (n_maps, rows, cols) is cut into ``p x p`` blocks; block
``(r, c)`` of map ``f`` gives ``out[f, r, c] = max(a[f, p*r:p*r+p, p*c:p*c+p])``
and ``arg[f, r, c]``, the flat index ``row * cols + col`` of that maximum in
``a[f]`` (the article keeps a 0/1 matrix of the same positions). Ties go to the
first maximum in row-major order, every time. Rows or columns beyond the last
whole block are ignored (the model rejects sizes the pool does not divide).

The backward pass sends each pooled gradient to its argmax only; every other
position of the map gets zero.
"""
from numba import njit, prange


@njit(cache=True)
def max_pool_image(a, p, out, arg):
    """Pool one image's maps.

    Parameters
    ----------
    a : ndarray (n_maps, rows, cols)
    p : int, the block size.
    out : ndarray (n_maps, rows // p, cols // p), written.
    arg : int64 ndarray of out's shape, written: flat index of each maximum in ``a[f]``.
    """
    n_maps = out.shape[0]
    ph = out.shape[1]
    pw = out.shape[2]
    cols = a.shape[2]
    for f in range(n_maps):
        for r in range(ph):
            for c in range(pw):
                best = a[f, p * r, p * c]
                at = (p * r) * cols + p * c
                for i in range(p):
                    for j in range(p):
                        v = a[f, p * r + i, p * c + j]
                        if v > best:  # strict: the first maximum wins ties
                            best = v
                            at = (p * r + i) * cols + p * c + j
                out[f, r, c] = best
                arg[f, r, c] = at


@njit(cache=True)
def max_pool_backward_image(delta_out, arg, delta_in):
    """Route one image's pooled gradients to their argmax positions.

    ``delta_out`` and ``arg`` (n_maps, ph, pw); ``delta_in`` (n_maps, rows, cols)
    is overwritten: zero everywhere except at the argmax of each block.
    """
    n_maps = delta_in.shape[0]
    rows = delta_in.shape[1]
    cols = delta_in.shape[2]
    for f in range(n_maps):
        for r in range(rows):
            for c in range(cols):
                delta_in[f, r, c] = 0.0
        for r in range(delta_out.shape[1]):
            for c in range(delta_out.shape[2]):
                at = arg[f, r, c]
                delta_in[f, at // cols, at % cols] = delta_out[f, r, c]


def _max_pool(a, p, out, arg):
    """Max pooling of a minibatch, parallel over images.

    ``a`` (n, n_maps, rows, cols); ``out`` and ``arg`` (n, n_maps, rows // p,
    cols // p), written (see ``max_pool_image``).
    """
    for n in prange(a.shape[0]):
        max_pool_image(a[n], p, out[n], arg[n])


max_pool = njit(parallel=True, cache=True)(_max_pool)
max_pool_serial = njit(_max_pool)  # never cache a twin (numba#6845)


def _max_pool_backward(delta_out, arg, delta_in):
    """Backward of ``max_pool`` on a minibatch, parallel over images.

    ``delta_out``, ``arg`` (n, n_maps, ph, pw); ``delta_in`` (n, n_maps, rows,
    cols), overwritten with the gradients routed to the argmax positions.
    """
    for n in prange(delta_out.shape[0]):
        max_pool_backward_image(delta_out[n], arg[n], delta_in[n])


max_pool_backward = njit(parallel=True, cache=True)(_max_pool_backward)
max_pool_backward_serial = njit(_max_pool_backward)
