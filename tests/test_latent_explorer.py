"""utils.latent_explorer: the widgets update headless, the static twins draw the same."""

from __future__ import annotations

import sys
import types

import numpy as np
import pytest
from matplotlib.figure import Figure

from utils import latent_explorer as lx


@pytest.fixture
def ipywidgets():
    return pytest.importorskip("ipywidgets")

W = np.random.default_rng(0).normal(size=(2, 784)).astype(np.float32)
B = np.linspace(-1, 1, 784, dtype=np.float32)


def decoder(z):
    """A fixed, deterministic 'decoder': a sigmoid of an affine map of the code."""
    return 1.0 / (1.0 + np.exp(-(np.asarray(z, np.float32) @ W + B)))


def encoder(x):
    """A fixed 'VAE encoder': [mean, log-variance], the mean from two pixel averages."""
    x = np.asarray(x, np.float32).reshape(len(x), -1)
    mean = np.stack([x[:, :392].mean(1) * 4 - 1, x[:, 392:].mean(1) * 4 - 1], axis=1)
    return [mean, np.zeros_like(mean)]


X_A = np.zeros(784, np.float32)
X_B = np.ones(784, np.float32) * 0.5


def expected(z):
    return decoder(np.asarray(z, np.float32)[None])[0].reshape(28, 28)


# --------------------------------------------------------------------------- helpers
def test_decode_grid_point_is_decoder_of_one_code():
    img = lx.decode_grid_point(decoder, [0.5, -1.0], latent_dim=2)
    assert img.shape == (28, 28)
    np.testing.assert_array_equal(img, expected([0.5, -1.0]))


def test_decode_points_accepts_image_layouts():
    z = np.zeros((3, 2), np.float32)
    for shaped in (lambda z: decoder(z), lambda z: decoder(z).reshape(-1, 28, 28),
                   lambda z: decoder(z).reshape(-1, 28, 28, 1)):
        assert lx.decode_points(shaped, z).shape == (3, 28, 28)


def test_interpolate_codes_endpoints_and_midpoint():
    za, zb = np.array([0.0, 2.0]), np.array([4.0, -2.0])
    path = lx.interpolate_codes(za, zb, [0.0, 0.5, 1.0])
    np.testing.assert_allclose(path, [[0, 2], [2, 0], [4, -2]])


def test_encode_codes_uses_the_mean_of_a_vae_encoder():
    codes = lx.encode_codes(encoder, np.stack([X_A, X_B]))
    np.testing.assert_allclose(codes, [[-1, -1], [1, 1]])
    plain = lx.encode_codes(lambda x: encoder(x)[0], np.stack([X_A, X_B]))
    np.testing.assert_array_equal(codes, plain)


# --------------------------------------------------------------------------- widgets
def test_latent_explorer_sliders_update_the_image(ipywidgets):
    w = lx.latent_explorer(decoder, limits=(-3, 3))
    assert isinstance(w, ipywidgets.VBox)
    assert [s.description for s in w.sliders] == ["z1", "z2"]
    assert (w.sliders[0].min, w.sliders[0].max) == (-3, 3)
    np.testing.assert_array_equal(w.current_image, expected([0, 0]))
    png_before = w.image.value
    w.sliders[0].value = 1.5
    w.sliders[1].value = -2.0
    np.testing.assert_array_equal(w.current_code, [1.5, -2.0])
    np.testing.assert_array_equal(w.current_image, expected([1.5, -2.0]))
    assert w.image.value[:8] == b"\x89PNG\r\n\x1a\n" and w.image.value != png_before


def test_interpolation_explorer_ends_are_the_two_codes(ipywidgets):
    w = lx.interpolation_explorer(encoder, decoder, X_A, X_B)
    z_a, z_b = w.codes
    np.testing.assert_allclose(w.current_image, expected(z_a), atol=1e-6)
    w.slider.value = 1.0
    np.testing.assert_allclose(w.current_image, expected(z_b), atol=1e-6)
    w.slider.value = 0.5
    np.testing.assert_allclose(w.current_code, (z_a + z_b) / 2, atol=1e-6)
    w.slider.value = 0.0
    np.testing.assert_allclose(w.current_image, expected(z_a), atol=1e-6)


def test_widgets_work_with_a_keras_model(ipywidgets):
    keras = pytest.importorskip("keras")
    dec = keras.Sequential([keras.Input((2,)), keras.layers.Dense(8, activation="relu"),
                            keras.layers.Dense(784, activation="sigmoid")])
    w = lx.latent_explorer(dec)
    w.sliders[1].value = 1.0
    want = keras.ops.convert_to_numpy(dec(np.array([[0.0, 1.0]], np.float32)))
    np.testing.assert_allclose(w.current_image, want.reshape(28, 28), atol=1e-6)


def test_missing_ipywidgets_says_how_to_install(monkeypatch):
    monkeypatch.setitem(sys.modules, "ipywidgets", None)  # `import ipywidgets` now fails
    with pytest.raises(ImportError, match="pip install ipywidgets"):
        lx.latent_explorer(decoder)
    with pytest.raises(ImportError, match="pip install ipywidgets"):
        lx.interpolation_explorer(encoder, decoder, X_A, X_B)
    assert isinstance(lx.latent_explorer_figure(decoder), Figure), "figures need no widgets"


def test_import_does_not_load_ipywidgets():
    import subprocess

    code = ("import sys; import utils.latent_explorer; "
            "sys.exit(int('ipywidgets' in sys.modules))")
    assert subprocess.run([sys.executable, "-c", code]).returncode == 0


# --------------------------------------------------------------------------- bad input
def test_bad_input_names_the_argument():
    with pytest.raises(ValueError, match="z: expected codes of 2 numbers, got 3"):
        lx.decode_grid_point(decoder, [0.0, 0.0, 0.0], latent_dim=2)
    with pytest.raises(ValueError, match="value: .*2-D latent"):
        lx.latent_explorer(decoder, value=(0.0, 0.0, 0.0))
    with pytest.raises(ValueError, match="value: .*outside limits"):
        lx.latent_explorer(decoder, value=(5.0, 0.0))
    with pytest.raises(ValueError, match="limits"):
        lx.latent_explorer(decoder, limits=(3, -3))
    with pytest.raises(ValueError, match=r"t: expected values in \[0, 1\]"):
        lx.interpolate_codes([0.0, 0.0], [1.0, 1.0], 1.5)
    with pytest.raises(ValueError, match=r"t: expected values in \[0, 1\]"):
        lx.interpolation_explorer(encoder, decoder, X_A, X_B, t=-0.1)
    with pytest.raises(ValueError, match="z_b: expected a code of the same size"):
        lx.interpolate_codes([0.0, 0.0], [1.0, 1.0, 1.0], 0.5)
    with pytest.raises(ValueError, match="x_b: expected an image of the same shape"):
        lx.interpolation_figure(encoder, decoder, X_A, X_B[:100])
    with pytest.raises(ValueError, match="decoder: expected a callable"):
        lx.latent_explorer(np.zeros(3))
    with pytest.raises(ValueError, match="encoder: expected a callable"):
        lx.interpolation_explorer("encoder", decoder, X_A, X_B)
    with pytest.raises(ValueError, match="decoder: expected a callable"):
        lx.latent_explorer_figure(None)
    with pytest.raises(ValueError, match="decoder: returned 1 images for 21 codes"):
        lx.latent_explorer_figure(lambda z: decoder(z[:1]))


# --------------------------------------------------------------------------- figures
def test_latent_explorer_figure_shows_the_slider_positions():
    fig = lx.latent_explorer_figure(decoder, limits=(-3, 3), n=7)
    assert isinstance(fig, Figure)
    ax = fig.axes[0]
    fig.canvas.draw()
    assert ax.get_xlabel() == "slider $z_1$" and ax.get_ylabel() == "slider $z_2$"
    assert [t.get_text() for t in ax.get_xticklabels()] == ["-3", "-2", "-1", "0", "1", "2", "3"]
    assert [t.get_text() for t in ax.get_yticklabels()] == ["1.5", "0", "-1.5"]
    canvas = ax.images[0].get_array()
    assert canvas.shape == (3 * 28, 7 * 28)
    # row 1 (z2 = 0), column 4 (z1 = 0) is what the sliders show at (0, 0)
    np.testing.assert_array_equal(canvas[28:56, 3 * 28:4 * 28], expected([0, 0]))


def test_interpolation_figure_on_a_given_ax():
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(2, 1)
    out = lx.interpolation_figure(encoder, decoder, X_A, X_B, n=5, ax=axes[1])
    assert out is fig and not axes[0].images and len(axes[1].images) == 1
    fig.canvas.draw()
    labels = [t.get_text() for t in axes[1].get_xticklabels()]
    assert labels == ["input a", "t=0", "t=0.25", "t=0.5", "t=0.75", "t=1", "input b"]
    assert axes[1].get_xlabel().startswith("slider t") and axes[1].get_ylabel()
    canvas = axes[1].images[0].get_array()
    gap = 4
    np.testing.assert_allclose(canvas[:, 28 + gap:56 + gap], expected([-1, -1]), atol=1e-6)
    np.testing.assert_allclose(canvas[:, 5 * (28 + gap):5 * (28 + gap) + 28], expected([1, 1]),
                               atol=1e-6)


# --------------------------------------------------------------------------- front end
def _fake_ipython(monkeypatch, parent):
    kernel = types.SimpleNamespace(get_parent=lambda: parent)
    shell = types.SimpleNamespace(kernel=kernel)
    monkeypatch.setitem(sys.modules, "IPython", types.SimpleNamespace(get_ipython=lambda: shell))


def test_live_frontend(monkeypatch):
    monkeypatch.delitem(sys.modules, "google.colab", raising=False)
    assert not lx.live_frontend(), "plain Python (pytest) is no front end"
    _fake_ipython(monkeypatch, {"content": {"allow_stdin": False}})
    assert not lx.live_frontend(), "nbclient / nbval run cells with allow_stdin=False"
    _fake_ipython(monkeypatch, {"content": {"allow_stdin": True}})
    assert lx.live_frontend(), "JupyterLab sends allow_stdin=True"
    _fake_ipython(monkeypatch, {})
    monkeypatch.setitem(sys.modules, "google.colab", types.ModuleType("google.colab"))
    assert lx.live_frontend(), "Colab"
