"""Pictures of the convolutional network (optional matplotlib).

To be folded into ``fastnn.plots``; matplotlib is imported inside the
function, with the Agg backend, so importing this module stays light.
"""
import numpy as np

from .plots import _pyplot


def feature_maps(model, image, out_png, title=None):
    """Draw a fitted ConvNetClassifier's filters and one image's feature maps.

    Three rows, one column per filter, as the article shows them: the learned
    filters (the first input channel, unflipped), the image's maps after the
    convolution and its activation, and the maps after max pooling. The image
    itself is drawn at the left of the first row.

    Parameters
    ----------
    model : fitted ``fastnn.ConvNetClassifier``
    image : array_like
        One image: (C, H, W), a flat row of C * H * W values, or, for a
        one-channel model, (H, W).
    out_png : str or path-like
        Where to write the PNG.
    title : str or None

    Returns
    -------
    out_png : the path written.
    """
    from sklearn.utils.validation import check_is_fitted
    _pyplot()  # matplotlib present, before any work

    check_is_fitted(model)
    image = np.asarray(image)
    shape = tuple(int(v) for v in model.image_shape_)
    c, h, w = shape
    if image.shape == shape or image.shape == (c * h * w,) or (c == 1 and image.shape == (h, w)):
        batch = image.reshape((1,) + shape)
    else:
        forms = (f"of shape {(h, w)}, {shape} or a flat row of {c * h * w} values" if c == 1 else
                 f"of shape {shape} or a flat row of {c * h * w} values (an (H, W) image only "
                 f"for a one-channel model; this one has {c} channels)")
        raise ValueError(f"image must be one image {forms}; got shape {image.shape}.")
    maps, pooled = model.feature_maps(batch)
    shown = np.asarray(batch[0], dtype=np.float64)[0]
    return feature_maps_arrays(shown, model.filters_, maps[0], pooled[0], out_png, title)


def feature_maps_arrays(image, filters, maps, pooled, out_png, title=None):
    """The picture of ``feature_maps`` from stored arrays (as a recipe keeps them):
    ``image`` (H, W) or (C, H, W), ``filters`` (F, C, k, k), ``maps`` and
    ``pooled`` (F, h, w)."""
    plt = _pyplot()
    shown = np.asarray(image, dtype=np.float64)
    if shown.ndim == 3:
        shown = shown[0]
    filters = np.asarray(filters)[:, 0]
    n_f = filters.shape[0]

    fig, axes = plt.subplots(3, n_f + 1, figsize=(1.3 * (n_f + 1), 4.2), squeeze=False)
    for ax in axes.ravel():
        ax.set_xticks([])
        ax.set_yticks([])
    axes[0, 0].imshow(shown, cmap="gray_r")
    axes[0, 0].set_title("image", fontsize=8)
    axes[1, 0].axis("off")
    axes[2, 0].axis("off")
    labels = ("filter", "conv", "pooled")
    for f in range(n_f):
        for row, data in enumerate((filters[f], maps[f], pooled[f])):
            axes[row, f + 1].imshow(data, cmap="gray")
            if f == 0:
                axes[row, f + 1].set_ylabel(labels[row], fontsize=8)
        axes[0, f + 1].set_title(str(f), fontsize=8)
    if title:
        fig.suptitle(title, fontsize=9)
    fig.tight_layout()
    fig.savefig(out_png, dpi=100)
    plt.close(fig)
    return out_png
