"""The course's helper package: data splits, toy sets and plots."""
import matplotlib

matplotlib.use("Agg")  # draw off-screen; must happen before pyplot is imported

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402
import sklearn.datasets  # noqa: E402
from sklearn.linear_model import LogisticRegression  # noqa: E402

from course.datasets import TOY_NAMES, Split, load_digits, make_toy  # noqa: E402
from course.plotting import (  # noqa: E402
    plot_accuracy_curves,
    plot_decision_boundary,
    plot_loss_curve,
    show_weight_templates,
)

N_DIGITS = 1797
TOY_CLASSES = {"blobs": 3, "xor": 2, "bullseye": 2, "spirals": 3}


@pytest.fixture(scope="module")
def digits():
    return load_digits()


@pytest.fixture(autouse=True)
def close_figures():
    yield
    plt.close("all")


def parts(split):
    """The (X, y) pairs of the training, validation and test parts."""
    return [(split.X_train, split.y_train), (split.X_val, split.y_val),
            (split.X_test, split.y_test)]


def test_digits_parts_have_the_requested_sizes(digits):
    sizes = [len(y) for _, y in parts(digits)]
    assert sum(sizes) == N_DIGITS
    assert sizes[1] == pytest.approx(0.15 * N_DIGITS, abs=2)
    assert sizes[2] == pytest.approx(0.15 * N_DIGITS, abs=2)
    for X, y in parts(digits):
        assert X.shape == (len(y), 64) and X.dtype == np.float64 and y.dtype == np.int64
    assert digits.image_shape == (8, 8)
    assert digits.class_names == tuple("0123456789")


def test_digits_parts_are_stratified(digits):
    all_labels = np.concatenate([y for _, y in parts(digits)])
    overall_share = np.bincount(all_labels, minlength=10) / N_DIGITS
    for _, y in parts(digits):
        share = np.bincount(y, minlength=10) / len(y)
        assert np.abs(share - overall_share).max() < 0.02


def test_digits_parts_partition_the_data_set(digits):
    # Undo the standardization and compare the rows with scikit-learn's raw data: the parts
    # together hold every (image, label) exactly once, so no image is in two parts.
    rows = np.concatenate([np.column_stack([X * digits.std + digits.mean, y])
                           for X, y in parts(digits)])
    raw = sklearn.datasets.load_digits()
    expected = np.column_stack([raw.data, raw.target])
    np.testing.assert_allclose(np.unique(rows.round(9), axis=0), np.unique(expected, axis=0))
    assert len(rows) == len(expected)


def test_digits_split_is_deterministic_per_seed(digits):
    again, other = load_digits(seed=0), load_digits(seed=1)
    for (X, y), (X_again, y_again) in zip(parts(digits), parts(again), strict=True):
        np.testing.assert_array_equal(X, X_again)
        np.testing.assert_array_equal(y, y_again)
    assert not np.array_equal(digits.y_test, other.y_test)


def test_digits_standardized_with_training_statistics(digits):
    constant = digits.std == 1.0
    assert constant.any()  # some border pixels are 0 in every training image
    assert np.all(digits.X_train[:, constant] == 0)
    np.testing.assert_allclose(digits.X_train.mean(axis=0), 0, atol=1e-12)
    np.testing.assert_allclose(digits.X_train[:, ~constant].std(axis=0), 1)
    for X, _ in parts(digits):
        assert np.isfinite(X).all()


def test_digits_without_standardization_are_raw_pixels():
    split = load_digits(standardize=False)
    assert isinstance(split, Split)
    assert split.X_train.min() == 0 and split.X_train.max() == 16
    np.testing.assert_array_equal(split.mean, 0)
    np.testing.assert_array_equal(split.std, 1)


@pytest.mark.parametrize(("val_fraction", "test_fraction", "problem"), [
    (0.0, 0.15, "val_fraction"),
    (0.15, 1.0, "test_fraction"),
    (-0.1, 0.15, "val_fraction"),
    (0.5, 0.5, "below 1"),
])
def test_digits_rejects_invalid_fractions(val_fraction, test_fraction, problem):
    with pytest.raises(ValueError, match=problem):
        load_digits(val_fraction=val_fraction, test_fraction=test_fraction)


@pytest.mark.parametrize("name", TOY_NAMES)
def test_toy_sets_have_balanced_classes_and_the_right_types(name):
    X, y = make_toy(name, n_samples=101)
    n_classes = TOY_CLASSES[name]
    assert X.shape == (101, 2) and X.dtype == np.float64
    assert y.shape == (101,) and y.dtype == np.int64
    counts = np.bincount(y)
    assert len(counts) == n_classes and counts.max() - counts.min() <= 1
    assert np.isfinite(X).all()


@pytest.mark.parametrize("name", TOY_NAMES)
def test_toy_sets_are_deterministic_per_seed(name):
    X, y = make_toy(name, seed=3)
    X_again, y_again = make_toy(name, seed=3)
    X_other, _ = make_toy(name, seed=4)
    np.testing.assert_array_equal(X, X_again)
    np.testing.assert_array_equal(y, y_again)
    assert not np.array_equal(X, X_other)


def linear_training_accuracy(name):
    X, y = make_toy(name)
    return LogisticRegression().fit(X, y).score(X, y)


@pytest.mark.parametrize("name", ["xor", "bullseye"])
def test_xor_and_bullseye_are_not_linearly_separable(name):
    assert linear_training_accuracy(name) < 0.8


def test_blobs_are_linearly_separable():
    assert linear_training_accuracy("blobs") > 0.95


def test_toy_rejects_unknown_names_and_too_few_samples():
    with pytest.raises(ValueError, match="blobs, xor, bullseye, spirals"):
        make_toy("moons")
    with pytest.raises(ValueError, match="at least 3"):
        make_toy("spirals", n_samples=2)
    with pytest.raises(ValueError, match="noise"):
        make_toy("xor", noise=-1)


def test_decision_boundary_fills_regions_and_scatters_every_point():
    X, y = make_toy("blobs", n_samples=60)
    model = LogisticRegression().fit(X, y)
    ax = plot_decision_boundary(model.predict, X, y, resolution=30, title="blobs")
    assert ax.get_title() == "blobs"
    assert len(ax.collections) >= 2  # the filled regions, then the scattered points
    assert len(ax.collections[-1].get_offsets()) == 60


def test_decision_boundary_rejects_points_that_are_not_2d():
    with pytest.raises(ValueError, match=r"\(N, 2\)"):
        plot_decision_boundary(lambda P: np.zeros(len(P)), np.zeros((5, 3)), np.zeros(5))


@pytest.mark.parametrize("bias_rows", [0, 1])
def test_weight_templates_draw_one_image_per_class(bias_rows):
    W = np.random.default_rng(0).normal(size=(64 + bias_rows, 10))
    fig = show_weight_templates(W, class_names=[f"digit {c}" for c in range(10)])
    image_axes = [ax for ax in fig.axes if ax.images]
    assert len(image_axes) == 10
    assert image_axes[3].get_title() == "digit 3"
    np.testing.assert_array_equal(image_axes[3].images[0].get_array(), W[:64, 3].reshape(8, 8))
    low, high = image_axes[0].images[0].get_clim()
    assert low == -high  # the diverging colormap is centred at 0


def test_weight_templates_reject_a_wrong_number_of_pixels():
    with pytest.raises(ValueError, match="64"):
        show_weight_templates(np.zeros((63, 10)))


def test_loss_curves_overlay_with_smoothing_and_legend():
    losses = np.linspace(2.0, 0.5, 50)
    ax = plot_loss_curve(losses, label="sgd")
    plot_loss_curve(losses * 0.9, ax=ax, smooth=10, label="momentum", log_y=True)
    assert len(ax.lines) == 3  # raw sgd, then raw and smoothed momentum
    assert len(ax.lines[2].get_xdata()) == 50 - 10 + 1
    np.testing.assert_allclose(ax.lines[2].get_ydata()[0], np.mean(losses[:10] * 0.9))
    assert [text.get_text() for text in ax.get_legend().get_texts()] == ["sgd", "momentum"]
    assert ax.get_yscale() == "log"


def test_accuracy_curves_draw_one_line_per_name_within_0_and_1():
    ax = plot_accuracy_curves({"train": [0.5, 0.8, 0.9], "val": [0.4, 0.7, 0.75]})
    assert [line.get_label() for line in ax.lines] == ["train", "val"]
    assert ax.get_ylim() == (0, 1)
    with pytest.raises(ValueError, match="percentages"):
        plot_accuracy_curves({"train": [50, 80]})
