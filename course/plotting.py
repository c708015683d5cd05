"""Plots used in the notebooks: decision boundaries, weight templates and training curves.

Every function draws on the Axes or Figure it is given (or a new one) and returns it; none
calls ``plt.show()``, so the caller decides when and where the plot appears.
"""
import matplotlib.pyplot as plt
import numpy as np
from matplotlib.colors import ListedColormap

# Colors of classes 0, 1, 2, ...: the same in the filled regions and in the points.
CLASS_COLORS = plt.get_cmap("tab10").colors
TEMPLATES_PER_ROW = 10


def plot_decision_boundary(predict, X, y, ax=None, resolution=200, padding=0.5, title=None):
    """Fill the plane with the class a classifier predicts, and scatter the data on top.

    Parameters
    ----------
    predict : callable
        Maps an (M, 2) float array to M integer class labels.
    X : array_like, shape (N, 2)
        The points.
    y : array_like, shape (N,)
        Their integer classes, which pick the point colors.
    ax : matplotlib Axes, optional
        Where to draw; a new figure's Axes when None.
    resolution : int
        Number of grid points along each axis at which ``predict`` is evaluated.
    padding : float
        How far the plotted region extends beyond the points on every side.
    title : str, optional

    Returns
    -------
    matplotlib Axes
        The Axes drawn on.
    """
    X, y = np.asarray(X, dtype=float), np.asarray(y)
    if X.ndim != 2 or X.shape[1] != 2:
        raise ValueError(f"X must have shape (N, 2), got {X.shape}")
    ax = ax if ax is not None else plt.figure().add_subplot()

    grid_x, grid_y = np.meshgrid(
        np.linspace(X[:, 0].min() - padding, X[:, 0].max() + padding, resolution),
        np.linspace(X[:, 1].min() - padding, X[:, 1].max() + padding, resolution))
    grid_points = np.column_stack([grid_x.ravel(), grid_y.ravel()])
    regions = np.asarray(predict(grid_points)).reshape(grid_x.shape)

    n_classes = int(max(regions.max(), y.max())) + 1
    colors = ListedColormap(CLASS_COLORS[:n_classes])
    # One level boundary halfway between consecutive labels, so each class is one color band.
    levels = np.arange(n_classes + 1) - 0.5
    ax.contourf(grid_x, grid_y, regions, levels=levels, cmap=colors, alpha=0.3)
    ax.scatter(X[:, 0], X[:, 1], c=y, cmap=colors, vmin=-0.5, vmax=n_classes - 0.5,
               edgecolors="black", linewidths=0.5, s=20)
    ax.set_xlabel("$x_1$")
    ax.set_ylabel("$x_2$")
    if title is not None:
        ax.set_title(title)
    return ax


def show_weight_templates(W, image_shape=(8, 8), class_names=None, fig=None):
    """Show each column of a linear classifier's weights as an image, one per class.

    Parameters
    ----------
    W : array_like, shape (D, C) or (D + 1, C)
        One column of weights per class, D = prod(image_shape). A last row of biases
        (the "bias trick") is dropped.
    image_shape : tuple of int
        The shape of one input image.
    class_names : sequence of str, optional
        C titles; the class indices when None.
    fig : matplotlib Figure, optional
        Where to draw; a new Figure when None.

    Returns
    -------
    matplotlib Figure
        The Figure, with one image Axes per class. Red pixels push an image towards the
        class, blue ones away from it; all templates share one color scale.
    """
    templates = _weights_without_bias(W, image_shape)
    n_classes = templates.shape[1]
    class_names = _class_names(class_names, n_classes)

    n_columns = min(n_classes, TEMPLATES_PER_ROW)
    n_rows = -(-n_classes // n_columns)  # ceiling division
    if fig is None:
        fig = plt.figure(figsize=(1.4 * n_columns, 1.6 * n_rows))
    # One symmetric scale for all classes: weights compare across templates, and 0 is white.
    largest = np.abs(templates).max()
    limit = largest if largest > 0 else 1.0
    for c in range(n_classes):
        ax = fig.add_subplot(n_rows, n_columns, c + 1)
        ax.imshow(templates[:, c].reshape(image_shape), cmap="RdBu_r", vmin=-limit, vmax=limit)
        ax.set_title(class_names[c])
        ax.axis("off")
    return fig


def _weights_without_bias(W, image_shape):
    """Return W as a float (D, C) array, dropping a final bias row; ValueError otherwise."""
    W = np.asarray(W, dtype=float)
    n_pixels = int(np.prod(image_shape))
    if W.ndim != 2 or W.shape[0] not in (n_pixels, n_pixels + 1):
        raise ValueError(
            f"W must have shape (D, C) with D = prod({tuple(image_shape)}) = {n_pixels}, "
            f"or ({n_pixels + 1}, C) with a bias row, got {W.shape}")
    return W[:n_pixels]


def _class_names(class_names, n_classes):
    """Return n_classes titles: the given names, or the class indices as strings."""
    if class_names is None:
        return [str(c) for c in range(n_classes)]
    if len(class_names) != n_classes:
        raise ValueError(f"W has {n_classes} classes but {len(class_names)} class_names "
                         f"were given")
    return list(class_names)


def plot_loss_curve(losses, ax=None, smooth=None, label=None, xlabel="step", ylabel="loss",
                    log_y=False):
    """Plot a loss per step, optionally with its moving average on top.

    Parameters
    ----------
    losses : sequence of float, length T
        One loss per step (or epoch).
    ax : matplotlib Axes, optional
        Where to draw; a new figure's Axes when None. Calling again with the same Axes
        overlays another curve.
    smooth : int, optional
        Window of a trailing moving average drawn over a light raw curve; at most T is
        used. None draws the raw curve only.
    label : str, optional
        Legend entry of this curve.
    xlabel, ylabel : str
        Axis labels.
    log_y : bool
        Whether to use a logarithmic loss axis (losses must then be positive).

    Returns
    -------
    matplotlib Axes
        The Axes drawn on: one line without smoothing, two with it.
    """
    losses = np.asarray(losses, dtype=float).ravel()
    if losses.size == 0:
        raise ValueError("losses is empty: there is no curve to plot")
    if smooth is not None and smooth < 1:
        raise ValueError(f"smooth is a window length and must be at least 1, got {smooth}")
    ax = ax if ax is not None else plt.figure().add_subplot()

    steps = np.arange(losses.size)
    if smooth is None:
        ax.plot(steps, losses, label=label)
    else:
        # A leading underscore keeps the raw curve out of the legend.
        (raw,) = ax.plot(steps, losses, alpha=0.3, label="_raw")
        window = min(int(smooth), losses.size)
        averages = np.convolve(losses, np.ones(window) / window, mode="valid")
        # Each average covers the `window` steps ending at the step it is drawn at.
        ax.plot(steps[window - 1:], averages, color=raw.get_color(), label=label)

    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    if log_y:
        ax.set_yscale("log")
    if label is not None:
        ax.legend()
    return ax


def plot_accuracy_curves(history, ax=None):
    """Plot one accuracy curve per name, e.g. training against validation accuracy.

    Parameters
    ----------
    history : dict of str to sequence of float
        Name -> accuracies in [0, 1], one after each epoch (the first is drawn at epoch 1).
    ax : matplotlib Axes, optional
        Where to draw; a new figure's Axes when None.

    Returns
    -------
    matplotlib Axes
        The Axes drawn on, with one labelled line per name and the y axis spanning [0, 1].
    """
    ax = ax if ax is not None else plt.figure().add_subplot()
    for name, accuracies in history.items():
        accuracies = np.asarray(accuracies, dtype=float).ravel()
        if accuracies.size and not (0 <= accuracies.min() and accuracies.max() <= 1):
            raise ValueError(f"accuracies must be fractions in [0, 1]; {name!r} ranges from "
                             f"{accuracies.min()} to {accuracies.max()} (percentages?)")
        ax.plot(np.arange(1, accuracies.size + 1), accuracies, marker=".", label=name)
    ax.set_xlabel("epoch")
    ax.set_ylabel("accuracy")
    ax.set_ylim(0, 1)
    if history:
        ax.legend()
    return ax
