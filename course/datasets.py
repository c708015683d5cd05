"""Data sets used in the course: the digits images and small 2-D toy sets.

Everything here works offline: the digits ship with scikit-learn and the toy sets are
generated from a seed.
"""
from dataclasses import dataclass

import numpy as np
import sklearn.datasets
from sklearn.model_selection import train_test_split

TOY_NAMES = ("blobs", "xor", "bullseye", "spirals")


@dataclass(frozen=True)
class Split:
    """A data set split into training, validation and test parts.

    Attributes
    ----------
    X_train, X_val, X_test : np.ndarray
        Features, float64 of shape (N_part, D).
    y_train, y_val, y_test : np.ndarray
        Class labels, int64 of shape (N_part,).
    mean, std : np.ndarray
        The (D,) statistics the features were standardized with, computed on the training
        part only, so ``X * std + mean`` gives back the raw features of any part.
    image_shape : tuple of int
        The shape of one image, with ``prod(image_shape) == D``.
    class_names : tuple of str
        The name of class ``c`` is ``class_names[c]``.
    """

    X_train: np.ndarray
    y_train: np.ndarray
    X_val: np.ndarray
    y_val: np.ndarray
    X_test: np.ndarray
    y_test: np.ndarray
    mean: np.ndarray
    std: np.ndarray
    image_shape: tuple
    class_names: tuple


def load_digits(val_fraction=0.15, test_fraction=0.15, standardize=True, seed=0):
    """Load scikit-learn's 8x8 digits (1797 images, 10 classes) as a stratified split.

    Parameters
    ----------
    val_fraction, test_fraction : float
        Shares of the images that go to the validation and test parts; each in (0, 1) and
        together below 1. The training part gets the rest.
    standardize : bool
        Whether to standardize every feature with the training mean and standard deviation.
    seed : int
        Seed of the shuffle; the same seed always gives the same split.

    Returns
    -------
    Split
        Features of shape (N_part, 64) with pixel values 0..16 (before standardization),
        labels of shape (N_part,) in 0..9. Each class has the same share in every part.
        Without standardization ``mean`` is all zeros and ``std`` all ones.
    """
    _check_fractions(val_fraction, test_fraction)
    digits = sklearn.datasets.load_digits()
    X = digits.data.astype(np.float64)
    y = digits.target.astype(np.int64)

    X_rest, X_test, y_rest, y_test = train_test_split(
        X, y, test_size=test_fraction, stratify=y, random_state=seed)
    # val_fraction is a share of all images, so rescale it to a share of what is left.
    X_train, X_val, y_train, y_val = train_test_split(
        X_rest, y_rest, test_size=val_fraction / (1 - test_fraction), stratify=y_rest,
        random_state=seed)

    if standardize:
        mean, std = _standardization_statistics(X_train)
    else:
        mean, std = np.zeros(X.shape[1]), np.ones(X.shape[1])
    return Split(
        X_train=(X_train - mean) / std, y_train=y_train,
        X_val=(X_val - mean) / std, y_val=y_val,
        X_test=(X_test - mean) / std, y_test=y_test,
        mean=mean, std=std, image_shape=(8, 8),
        class_names=tuple(str(name) for name in digits.target_names),
    )


def _check_fractions(val_fraction, test_fraction):
    """Raise ValueError unless both fractions lie in (0, 1) and leave a training part."""
    for name, fraction in (("val_fraction", val_fraction), ("test_fraction", test_fraction)):
        if not 0 < fraction < 1:
            raise ValueError(f"{name} must lie strictly between 0 and 1, got {fraction}")
    if val_fraction + test_fraction >= 1:
        raise ValueError(
            f"val_fraction + test_fraction must be below 1 to leave images for training, "
            f"got {val_fraction} + {test_fraction} = {val_fraction + test_fraction}")


def _standardization_statistics(X_train):
    """Return the (D,) mean and std of X_train, with std 1 where a feature is constant.

    Border pixels of the digits are 0 in every training image; dividing by their zero std
    would give NaN, and with std 1 they simply stay 0 after centring.
    """
    mean = X_train.mean(axis=0)
    std = X_train.std(axis=0)
    return mean, np.where(std > 0, std, 1.0)


def make_toy(name, n_samples=200, noise=0.1, seed=0):
    """Generate a 2-D toy classification set for decision-boundary plots.

    Parameters
    ----------
    name : str
        One of ``TOY_NAMES``:

        - "blobs": 3 classes, round Gaussian clusters (std 0.25) centred on the unit circle;
          linearly separable.
        - "xor": 2 classes, points in [-1, 1]^2; class 1 in the quadrants where x1 and x2
          have the same sign, class 0 in the other two; not linearly separable.
        - "bullseye": 2 classes, class 0 a disc of radius 0.5, class 1 a ring between radii
          0.8 and 1; not linearly separable.
        - "spirals": 3 classes, interleaved spiral arms growing from the centre to radius 1,
          as in CS231n's classic example.
    n_samples : int
        Number of points, shared as evenly as possible among the classes.
    noise : float
        Standard deviation of the Gaussian jitter added to every coordinate.
    seed : int
        Seed of the generator; the same arguments always give the same points.

    Returns
    -------
    X : np.ndarray
        float64 of shape (n_samples, 2), the points in random order.
    y : np.ndarray
        int64 of shape (n_samples,), the class of each point.
    """
    if name not in _TOY_GENERATORS:
        raise ValueError(f"unknown toy set {name!r}; choose one of {', '.join(TOY_NAMES)}")
    generate, n_classes = _TOY_GENERATORS[name]
    if n_samples < n_classes:
        raise ValueError(f"{name!r} has {n_classes} classes, so n_samples must be at least "
                         f"{n_classes}, got {n_samples}")
    if noise < 0:
        raise ValueError(f"noise is a standard deviation and must be >= 0, got {noise}")

    rng = np.random.default_rng(seed)
    # Class c gets n_samples // n_classes points, plus one of the remainder for the first ones.
    counts = [n_samples // n_classes + (c < n_samples % n_classes) for c in range(n_classes)]
    X = np.concatenate([generate(rng, c, count) for c, count in enumerate(counts)])
    y = np.repeat(np.arange(n_classes, dtype=np.int64), counts)
    X = X + rng.normal(scale=noise, size=X.shape)
    # Generated class by class; shuffle so that a slice of the data is not one class only.
    order = rng.permutation(n_samples)
    return X[order], y[order]


def _blob(rng, c, count):
    """Return (count, 2) points of a Gaussian cluster around the c-th of 3 points on a circle."""
    angle = np.pi / 2 + 2 * np.pi * c / 3
    centre = np.array([np.cos(angle), np.sin(angle)])
    return centre + rng.normal(scale=0.25, size=(count, 2))


def _xor_quadrants(rng, c, count):
    """Return (count, 2) points of class c of the xor set (c == 1: x1 * x2 > 0)."""
    magnitudes = rng.uniform(0.05, 1.0, size=(count, 2))
    first_sign = rng.choice([-1.0, 1.0], size=count)
    second_sign = first_sign if c == 1 else -first_sign
    return magnitudes * np.column_stack([first_sign, second_sign])


def _bullseye_part(rng, c, count):
    """Return (count, 2) points of the inner disc (c == 0) or the outer ring (c == 1)."""
    inner, outer = (0.0, 0.5) if c == 0 else (0.8, 1.0)
    # Uniform in r**2 makes the points uniform over the area, not crowded near the centre.
    radius = np.sqrt(rng.uniform(inner**2, outer**2, size=count))
    angle = rng.uniform(0, 2 * np.pi, size=count)
    return radius[:, None] * np.column_stack([np.cos(angle), np.sin(angle)])


def _spiral_arm(rng, c, count):
    """Return (count, 2) points along spiral arm c: radius 0 to 1 while turning 4 radians."""
    radius = np.linspace(0.0, 1.0, count)
    angle = np.linspace(4.0 * c, 4.0 * (c + 1), count)
    return radius[:, None] * np.column_stack([np.sin(angle), np.cos(angle)])


# name -> (function drawing the points of one class, number of classes)
_TOY_GENERATORS = {
    "blobs": (_blob, 3),
    "xor": (_xor_quadrants, 2),
    "bullseye": (_bullseye_part, 2),
    "spirals": (_spiral_arm, 3),
}
