"""Part E of the article: a convolutional network trained one image at a time.

One convolution layer (10 filters of 5x5, sigmoid), 2x2 max pooling, 128
sigmoid hidden units and a softmax output, trained by per-image SGD on MNIST
(LeCun, Cortes and Burges; CC BY-SA 3.0), the error printed every 50 steps as
the article prints it, then the test accuracy and a picture of the learned
filters with one test image's maps after convolution and after pooling.

    python scripts/part_e_cnn.py                       # the full run (4 epochs)
    python scripts/part_e_cnn.py --n-train 5000 --epochs 1 --print-every 50
    python scripts/part_e_cnn.py --data path/to/mnist --out part_e.png

Without the MNIST files (``--data``, ``FASTNN_DATA`` or ``../shared/data/mnist``)
it runs on scikit-learn's 8x8 digits with 3x3 filters instead.
"""
import argparse
import time

import numpy as np


def load(data_dir, n_train, n_test):
    from fastnn.data import find_mnist, load_mnist, load_digits

    directory = data_dir or find_mnist()
    if directory is not None:
        X_train, y_train, X_test, y_test = load_mnist(directory)
        return (X_train[:n_train] / 255.0, y_train[:n_train].astype(np.int64),
                X_test[:n_test] / 255.0, y_test[:n_test].astype(np.int64), "MNIST", 5)
    from sklearn.model_selection import train_test_split
    X, y = load_digits()
    X_train, X_test, y_train, y_test = train_test_split(X.reshape(-1, 8, 8), y, test_size=0.25,
                                                        random_state=0, stratify=y)
    return X_train, y_train, X_test, y_test, "digits (MNIST not found)", 3


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", default="", help="folder with the MNIST IDX files")
    parser.add_argument("--n-train", type=int, default=60000)
    parser.add_argument("--n-test", type=int, default=10000)
    parser.add_argument("--epochs", type=int, default=4)
    parser.add_argument("--learning-rate", type=float, default=0.1)
    parser.add_argument("--decay", type=float, default=0.5,
                        help="learning rate of epoch e: lr / (1 + decay * e)")
    parser.add_argument("--print-every", type=int, default=0,
                        help="print the mean error of every N steps (the article: 50)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", default="part_e_feature_maps.png")
    args = parser.parse_args(argv)

    from fastnn.models.cnn import ConvNetClassifier

    X_train, y_train, X_test, y_test, source, k = load(args.data, args.n_train, args.n_test)
    print(f"data: {source}, {len(X_train)} training and {len(X_test)} test images")
    model = ConvNetClassifier(n_filters=10, filter_size=k, pool_size=2, conv_activation="sigmoid",
                              hidden_layer_sizes=(128,), activation="sigmoid", batch_size=1,
                              learning_rate_init=args.learning_rate,
                              learning_rate_decay=args.decay, max_iter=args.epochs, tol=None,
                              verbose=args.print_every if args.print_every > 1 else False,
                              random_state=args.seed)
    t0 = time.perf_counter()
    model.fit(X_train, y_train)
    seconds = time.perf_counter() - t0
    accuracy = model.score(X_test, y_test)
    print(f"epoch losses: {np.round(model.loss_curve_, 4).tolist()}")
    print(f"test accuracy {accuracy:.2%} after {model.n_iter_} epochs, {seconds:.1f} s "
          f"({model.t_ / seconds:.0f} images/s, compile time included)")
    try:
        from fastnn.plots_cnn import feature_maps
    except ImportError:
        return
    try:
        feature_maps(model, X_test[0], args.out,
                     title=f"part E: filters, convolution and pooled maps (label {y_test[0]})")
    except ImportError as err:
        print(f"no picture: {err}")
    else:
        print(f"feature maps written to {args.out}")


if __name__ == "__main__":
    main()
