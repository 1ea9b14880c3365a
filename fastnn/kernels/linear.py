"""Part G's linear classifier: a line through the origin, moved by a fraction of the error."""
from numba import njit


@njit(cache=True)
def train_slope(X, above, slope, learning_rate, margin, n_epochs, history):
    """Train the slope ``A`` of the dividing line ``y = A x``; return the final slope.

    For each sample in order the target is the point's own height moved
    ``margin`` past it (below the point when the sample must lie above the
    line, above it otherwise), the error is ``E = target - A x`` and the
    update is ``dA = learning_rate * E / x`` (the article's moderated update).
    ``history`` (n_epochs * n_samples,) receives the slope after every step.
    """
    n = X.shape[0]
    step = 0
    for _ in range(n_epochs):
        for i in range(n):
            x = X[i, 0]
            target = X[i, 1] - margin if above[i] else X[i, 1] + margin
            error = target - slope * x
            slope += learning_rate * error / x
            history[step] = slope
            step += 1
    return slope
