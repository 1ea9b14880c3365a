"""Picture of the RBM's learned components (folded into fastnn.plots later)."""
import numpy as np

from ._validation import check_int
from .plots import _pyplot


def rbm_components(components, out_png, image_shape=(8, 8), n_cols=10, title=None):
    """Draw each learned component (a row of ``components_``) as a small grey image.

    Parameters
    ----------
    components : array_like of shape (n_components, n_pixels)
        ``BernoulliRBM.components_`` (100 components of 8x8 digits by default).
    out_png : str or path
        Where to write the PNG.
    image_shape : tuple of 2 ints
    n_cols : int >= 1
        Tiles a row.
    title : str, optional

    Returns
    -------
    str : the path written.
    """
    plt = _pyplot()

    n_cols = check_int(n_cols, "n_cols", low=1)
    comps = np.asarray(components, dtype=np.float64)
    h, w = image_shape
    if comps.ndim != 2 or comps.shape[1] != h * w:
        raise ValueError(f"components must have shape (n_components, {h * w}); got {comps.shape}.")
    n = comps.shape[0]
    if n == 0:
        raise ValueError(f"components must hold at least one component (a row); got shape "
                         f"{comps.shape}.")
    n_rows = -(-n // n_cols)
    fig, axes = plt.subplots(n_rows, n_cols, figsize=(n_cols * 0.42, n_rows * 0.42 + (0.4 if title else 0)))
    for ax in np.ravel(axes):
        ax.set_xticks(())
        ax.set_yticks(())
        ax.axis("off")
    for i, comp in enumerate(comps):
        ax = np.ravel(axes)[i]
        ax.imshow(comp.reshape(h, w), cmap=plt.cm.gray_r, interpolation="nearest")
    fig.suptitle(title or f"{n} components extracted by RBM", fontsize=9)
    fig.subplots_adjust(left=0.02, right=0.98, bottom=0.02, top=0.9 if title or True else 0.98,
                        wspace=0.08, hspace=0.08)
    fig.savefig(out_png, dpi=110)
    plt.close(fig)
    return str(out_png)
