"""utils.plotting: each figure renders headless with the right axes, images and labels."""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import pytest
from matplotlib.figure import Figure

from utils import plotting

RNG = np.random.default_rng(0)


def _images(n=12, flat=False):
    x = RNG.random((n, 28, 28)).astype(np.float32)
    return x.reshape(n, 784) if flat else x


def _n_images(fig):
    return sum(len(ax.images) for ax in fig.axes)


def _render(fig):
    fig.canvas.draw()  # raises if anything cannot be drawn


def test_use_course_style_sets_modest_dpi():
    plotting.use_course_style()
    assert plt.rcParams["figure.dpi"] <= 80 and plt.rcParams["savefig.dpi"] <= 80


@pytest.mark.parametrize("shape", [(12, 28, 28), (12, 784), (12, 28, 28, 1), (12, 8, 8, 3)])
def test_show_images_accepts_layouts(shape):
    fig = plotting.show_images(RNG.random(shape), ncols=5)
    assert isinstance(fig, Figure)
    assert len(fig.axes) == 15 and _n_images(fig) == 12  # 3 rows x 5, last 3 blank
    _render(fig)


def test_show_images_titles_and_suptitle():
    fig = plotting.show_images(_images(3), titles=["a", "b", "c"], suptitle="grid")
    assert [ax.get_title() for ax in fig.axes] == ["a", "b", "c"]
    assert fig._suptitle.get_text() == "grid"


def test_show_images_errors():
    with pytest.raises(ValueError, match="titles: expected 3"):
        plotting.show_images(_images(3), titles=["a"])
    with pytest.raises(ValueError, match="square number of pixels"):
        plotting.show_images(RNG.random((3, 783)))
    with pytest.raises(ValueError, match=r"images: expected .* got shape \(3,\)"):
        plotting.show_images(RNG.random(3))
    with pytest.raises(ValueError, match="empty"):
        plotting.show_images(np.zeros((0, 28, 28)))


def test_show_reconstructions_rows():
    x = _images(10)
    fig = plotting.show_reconstructions(x, x * 0.5, noisy=x, n=6)
    assert len(fig.axes) == 18 and _n_images(fig) == 18
    labels = [ax.get_ylabel() for ax in fig.axes if ax.get_ylabel()]
    assert labels == ["original", "noisy input", "reconstruction"]
    fig = plotting.show_reconstructions(x, x.reshape(10, 784), n=4)
    assert len(fig.axes) == 8
    _render(fig)
    # default n: the first 10 images, or all of them when there are fewer
    assert len(plotting.show_reconstructions(x, x).axes) == 20
    assert len(plotting.show_reconstructions(x[:3], x[:3]).axes) == 6


def _overlaps(a, b) -> bool:
    return a.x0 < b.x1 and b.x0 < a.x1 and a.y0 < b.y1 and b.y0 < a.y1


def _inside(a, fig) -> bool:
    w, h = fig.canvas.get_width_height()
    return a.x0 >= -0.5 and a.y0 >= -0.5 and a.x1 <= w + 0.5 and a.y1 <= h + 0.5


@pytest.mark.parametrize("n", [2, 4, 10])
def test_show_reconstructions_row_titles_are_readable(n):
    # long labels, few columns: labels must lie inside the figure and clear of every image
    x = _images(10)
    titles = ["original", "pre-trained encoder", "fine-tuned encoder (all labels)"]
    fig = plotting.show_reconstructions(x, x, noisy=x, n=n, row_titles=titles)
    fig.canvas.draw()
    renderer = fig.canvas.get_renderer()
    labels = [ax.yaxis.label for ax in fig.axes if ax.get_ylabel()]
    assert [t.get_text().replace("\n", " ") for t in labels] == titles
    boxes = [ax.get_window_extent(renderer) for ax in fig.axes]
    for text in labels:
        box = text.get_window_extent(renderer)
        assert _inside(box, fig), f"row title {text.get_text()!r} is clipped"
        assert not any(_overlaps(box, b) for b in boxes), f"{text.get_text()!r} overlaps"
    # the images keep a useful size: at least 0.6 inch wide each
    dpi = fig.dpi
    assert min(b.width for b in boxes) / dpi > 0.6


def test_show_images_long_titles_do_not_collide():
    titles = ["Gaussian blur (sigma 0.75)", "median filter (3x3)", "DAE (re-sampled noise)", "x"]
    fig = plotting.show_images(_images(4), titles=titles, ncols=4)
    fig.canvas.draw()
    renderer = fig.canvas.get_renderer()
    boxes = [ax.title.get_window_extent(renderer) for ax in fig.axes]
    for i, a in enumerate(boxes):
        assert _inside(a, fig), f"title {i} is clipped"
        assert not any(_overlaps(a, b) for j, b in enumerate(boxes) if j != i)
        assert not any(_overlaps(a, ax.get_window_extent(renderer)) for ax in fig.axes)


def test_show_reconstructions_errors():
    x = _images(10)
    with pytest.raises(ValueError, match="does not match"):
        plotting.show_reconstructions(x, RNG.random((10, 14, 14)), n=4)
    with pytest.raises(ValueError, match="n=20"):
        plotting.show_reconstructions(x, x, n=20)
    with pytest.raises(ValueError, match="row_titles"):
        plotting.show_reconstructions(x, x, n=4, row_titles=["one"])


def test_plot_history_from_dict_and_keras_like():
    hist = {"loss": [0.3, 0.2, 0.1], "val_loss": [0.35, 0.25, 0.2]}
    fig = plotting.plot_history(hist, logy=True)
    ax = fig.axes[0]
    assert len(ax.lines) == 2 and ax.get_xlabel() == "epoch" and ax.get_ylabel() == "loss"
    assert ax.get_yscale() == "log"
    np.testing.assert_array_equal(ax.lines[0].get_xdata(), [1, 2, 3])

    class FakeHistory:
        history = hist

    fig, ax = plt.subplots()
    out = plotting.plot_history(FakeHistory(), keys=["val_loss"], ax=ax)
    assert out is fig and len(ax.lines) == 1


def test_plot_history_errors():
    with pytest.raises(ValueError, match="non-empty dict"):
        plotting.plot_history({})
    with pytest.raises(ValueError, match=r"\['acc'\] not in the history"):
        plotting.plot_history({"loss": [1.0]}, keys=["acc"])


def test_plot_latent_scatter_legend_and_labels():
    codes = RNG.normal(size=(300, 2))
    labels = np.repeat(np.arange(3), 100)
    fig = plotting.plot_latent_scatter(codes, labels, class_names=["a", "b", "c"])
    ax = fig.axes[0]
    assert len(ax.collections) == 3
    assert [t.get_text() for t in ax.get_legend().get_texts()] == ["a", "b", "c"]
    assert ax.get_xlabel() and ax.get_ylabel()
    _render(fig)


def test_plot_latent_scatter_errors():
    with pytest.raises(ValueError, match=r"codes: expected shape \(N, 2\)"):
        plotting.plot_latent_scatter(RNG.normal(size=(10, 3)), np.zeros(10))
    with pytest.raises(ValueError, match=r"labels: expected shape \(10,\)"):
        plotting.plot_latent_scatter(RNG.normal(size=(10, 2)), np.zeros(9))
    with pytest.raises(ValueError, match="class_names"):
        plotting.plot_latent_scatter(RNG.normal(size=(10, 2)), np.arange(10), class_names=["a"])


def test_latent_grid_quantiles_symmetric():
    g = plotting.latent_grid(5)
    np.testing.assert_allclose(g, -g[::-1], atol=1e-12)
    assert abs(g[-1] - 1.6448536) < 1e-6  # the 95% Normal quantile
    with pytest.raises(ValueError, match="at least 2"):
        plotting.latent_grid(1)


def test_plot_latent_manifold_tiles_decoded_images():
    seen = []

    def decode(z):
        seen.append(z.shape)
        return np.tile(z[:, :1], (1, 784)) * 0 + 0.5  # (M, 784) flat images

    fig = plotting.plot_latent_manifold(decode, n=4)
    ax = fig.axes[0]
    assert seen == [(16, 2)]
    assert ax.images[0].get_array().shape == (4 * 28, 4 * 28)
    assert ax.get_xlabel() == "$z_1$" and ax.get_ylabel() == "$z_2$"
    with pytest.raises(ValueError, match="returned 3 images for 16 codes"):
        plotting.plot_latent_manifold(lambda z: np.zeros((3, 28, 28)), n=4)


def test_plot_error_histograms():
    a, b = RNG.random(200), RNG.random(100) + 1
    fig = plotting.plot_error_histograms(a, b, labels=("mnist", "fashion"), threshold=1.0)
    ax = fig.axes[0]
    assert len(ax.patches) == 2 * 60
    legend = [t.get_text() for t in ax.get_legend().get_texts()]
    assert {"mnist", "fashion", "threshold = 1"} == set(legend)
    assert ax.get_xlabel() == "reconstruction error" and ax.get_ylabel() == "density"
    fig = plotting.plot_error_histograms(a + 0.1, b, log_x=True)
    assert fig.axes[0].get_xscale() == "log"
    with pytest.raises(ValueError, match="errors_b: expected a non-empty 1-d"):
        plotting.plot_error_histograms(a, np.zeros((3, 3)))
    with pytest.raises(ValueError, match="NaN"):
        plotting.plot_error_histograms(a, np.array([np.nan, 1.0]))


def test_plot_roc_reports_auc():
    y = np.r_[np.zeros(50), np.ones(50)]
    scores = np.r_[np.zeros(50), np.ones(50)]  # perfect separation
    fig = plotting.plot_roc(y, scores, label="ae")
    ax = fig.axes[0]
    assert "AUC = 1.0000" in ax.get_legend().get_texts()[0].get_text()
    assert ax.get_xlabel() == "false positive rate" and ax.get_ylabel() == "true positive rate"
    # a second curve on the same axes adds its own line but not a second chance line
    plotting.plot_roc(y, scores[::-1], ax=ax, label="flipped")
    labels = [line.get_label() for line in ax.get_lines()]
    assert labels.count("chance") == 1 and len(labels) == 3
    with pytest.raises(ValueError, match="both classes"):
        plotting.plot_roc(np.zeros(5), np.arange(5))
    with pytest.raises(ValueError, match="equal length"):
        plotting.plot_roc(y, scores[:10])


def test_functions_never_call_show(monkeypatch):
    def boom(*a, **k):
        raise AssertionError("plt.show() was called")

    monkeypatch.setattr(plt, "show", boom)
    x = _images(4)
    plotting.show_images(x)
    plotting.show_reconstructions(x, x, n=4)
    plotting.plot_history({"loss": [1, 2]})
    plotting.plot_latent_scatter(RNG.normal(size=(4, 2)), np.arange(4))
    plotting.plot_latent_manifold(lambda z: np.zeros((len(z), 28, 28)), n=3)
    plotting.plot_error_histograms(np.arange(3.0), np.arange(3.0))
    plotting.plot_roc(np.array([0, 1, 0, 1]), np.arange(4.0))


def test_plot_history_has_integer_epoch_ticks_and_continues_after_initial_epoch():
    class Continued:  # what fit(..., initial_epoch=3, epochs=6) returns
        history = {"loss": [0.5, 0.4, 0.3]}
        epoch = [3, 4, 5]

    fig = plotting.plot_history(Continued())
    ax = fig.axes[0]
    assert list(ax.lines[0].get_xdata()) == [4, 5, 6]
    ticks = [t for t in ax.get_xticks() if ax.get_xlim()[0] <= t <= ax.get_xlim()[1]]
    assert ticks and all(float(t).is_integer() for t in ticks)
    fresh = plotting.plot_history({"loss": [1.0, 0.5]})
    assert list(fresh.axes[0].lines[0].get_xdata()) == [1, 2]


def test_tile_images_places_each_image_and_fills_gaps():
    imgs = np.stack([np.full((2, 3), v, dtype=np.float32) for v in (0.1, 0.2, 0.3)])
    canvas = plotting.tile_images(imgs, 2, 2, gap=1, fill=1.0)
    assert canvas.shape == (4, 7)
    np.testing.assert_allclose(canvas[:2, :3], 0.1)
    np.testing.assert_allclose(canvas[:2, 4:], 0.2)
    np.testing.assert_allclose(canvas[2:, :3], 0.3)
    np.testing.assert_allclose(canvas[:, 3], 1.0)  # the gap column
    np.testing.assert_allclose(canvas[2:, 4:], 1.0)  # the empty slot
    with pytest.raises(ValueError, match="images"):
        plotting.tile_images(imgs, 1, 2)
