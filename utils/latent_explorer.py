"""Sliders over a 2-D latent space, and the static figures that show the same thing.

Two interactive views (``ipywidgets``, which JupyterLab, Notebook, VS Code and Colab
display):

- :func:`latent_explorer`: two sliders ``z1``, ``z2`` and the image ``decoder(z)``;
- :func:`interpolation_explorer`: one slider ``t`` in [0, 1] and the image decoded from
  ``(1 - t) z_a + t z_b``, where ``z_a``, ``z_b`` are the codes of two images.

Each has a static twin that draws what the sliders would show, for a notebook read on
GitHub or run in a batch (nbconvert, nbval): :func:`latent_explorer_figure` and
:func:`interpolation_figure`. Widgets and figures share the pure helpers
:func:`decode_grid_point`, :func:`encode_codes` and :func:`interpolate_codes`.

``ipywidgets`` is imported only when a widget is built, so ``import utils`` and the
figures never need it; without it the widget functions raise an :class:`ImportError`
that says how to install it. Building a widget needs no display: the decoded image is
kept in ``widget.current_image`` (and the code in ``widget.current_code``), which is what
the tests check. :func:`live_frontend` tells a cell whether anyone can move the sliders.

A *decoder* is any callable mapping an (M, d) float32 array of codes to M images with
values in [0, 1], as (M, H*W), (M, H, W) or (M, H, W, 1): for lesson 08's VAE,
``lambda z: decode_probs(vae2, z)``. An *encoder* maps (N, ...) images to (N, d) codes; an
encoder that returns a list or tuple, such as a Keras VAE encoder's
``[z_mean, z_log_var]``, is used through its first output, the posterior mean.
"""

from __future__ import annotations

import io
import sys
from collections.abc import Callable, Sequence
from typing import Any

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from utils.plotting import _new_ax, tile_images

Decoder = Callable[[np.ndarray], Any]
Encoder = Callable[[np.ndarray], Any]

INSTALL_HINT = ("the interactive explorers need ipywidgets: `pip install ipywidgets` "
                "(or `pip install -r requirements.txt`, which pins it; Colab has it already), "
                "then restart the kernel. The static figures (latent_explorer_figure, "
                "interpolation_figure) work without it.")


# --------------------------------------------------------------------------- checks
def _check_callable(fn: Any, name: str) -> None:
    if not callable(fn):
        raise ValueError(f"{name}: expected a callable (a function or a Keras model), "
                         f"got {type(fn).__name__}")


def _check_limits(limits: Sequence[float]) -> tuple[float, float]:
    try:
        lo, hi = (float(v) for v in limits)
    except (TypeError, ValueError):
        raise ValueError(f"limits: expected two numbers (low, high), got {limits!r}") from None
    if not (np.isfinite(lo) and np.isfinite(hi) and lo < hi):
        raise ValueError(f"limits: expected finite low < high, got {limits!r}")
    return lo, hi


def _check_t(t: Any, name: str = "t") -> np.ndarray:
    arr = np.atleast_1d(np.asarray(t, dtype=np.float64))
    if arr.ndim != 1 or arr.size == 0:
        raise ValueError(f"{name}: expected a number or a 1-d array of numbers, got shape "
                         f"{arr.shape}")
    if not np.all((arr >= 0.0) & (arr <= 1.0)):
        raise ValueError(f"{name}: expected values in [0, 1], got {np.asarray(t).tolist()}")
    return arr


def _to_numpy(out: Any, name: str) -> np.ndarray:
    """A NumPy array from a callable's output (NumPy, TensorFlow, JAX, CPU torch)."""
    if hasattr(out, "detach"):  # torch
        out = out.detach().cpu()
    try:
        return np.asarray(out, dtype=np.float32)
    except (TypeError, ValueError) as err:
        raise ValueError(f"{name}: returned {type(out).__name__}, not an array ({err})") from None


def _images(out: Any, n: int, name: str) -> np.ndarray:
    """Coerce a decoder's output for ``n`` codes to (n, H, W)."""
    arr = _to_numpy(out, name)
    if arr.ndim == 4 and arr.shape[-1] == 1:
        arr = arr[..., 0]
    if arr.ndim == 2:
        side = int(round(np.sqrt(arr.shape[1])))
        if side * side != arr.shape[1]:
            raise ValueError(f"{name}: flat images must have a square number of pixels, "
                             f"got shape {arr.shape}")
        arr = arr.reshape(len(arr), side, side)
    if arr.ndim != 3:
        raise ValueError(f"{name}: expected (M, H*W), (M, H, W) or (M, H, W, 1) images, "
                         f"got shape {arr.shape}")
    if len(arr) != n:
        raise ValueError(f"{name}: returned {len(arr)} images for {n} codes")
    return arr


# --------------------------------------------------------------------------- pure helpers
def decode_points(decoder: Decoder, z, latent_dim: int | None = None) -> np.ndarray:
    """Decode an (M, d) array of codes in one call; return (M, H, W) float32 images.

    ``latent_dim``, when given, is checked against ``d`` (a clear error instead of a
    shape error deep inside the model).
    """
    _check_callable(decoder, "decoder")
    codes = np.asarray(z, dtype=np.float32)
    if codes.ndim != 2 or codes.shape[0] == 0:
        raise ValueError(f"z: expected an (M, d) array of codes, got shape {codes.shape}")
    if latent_dim is not None and codes.shape[1] != latent_dim:
        raise ValueError(f"z: expected codes of {latent_dim} numbers, got {codes.shape[1]}")
    return _images(decoder(codes), len(codes), "decoder")


def decode_grid_point(decoder: Decoder, z, latent_dim: int | None = None) -> np.ndarray:
    """Decode ONE code ``z`` (d numbers); return its (H, W) image.

    This is what the sliders of :func:`latent_explorer` show for a slider position.
    """
    code = np.asarray(z, dtype=np.float32)
    if code.ndim != 1 or code.size == 0:
        raise ValueError(f"z: expected one code, a 1-d array of d numbers, got shape "
                         f"{code.shape}")
    return decode_points(decoder, code[None, :], latent_dim)[0]


def encode_codes(encoder: Encoder, x) -> np.ndarray:
    """Codes of images ``x`` (N images) as an (N, d) float32 array.

    An encoder returning a list or tuple (a VAE's ``[z_mean, z_log_var]``) is read
    through its first output, the posterior mean.
    """
    _check_callable(encoder, "encoder")
    images = np.asarray(x, dtype=np.float32)
    if images.ndim < 2 or images.shape[0] == 0:
        raise ValueError(f"x: expected a batch of images (N, ...), got shape {images.shape}")
    out = encoder(images)
    if isinstance(out, (list, tuple)):
        out = out[0]
    codes = _to_numpy(out, "encoder")
    if codes.ndim != 2 or len(codes) != len(images):
        raise ValueError(f"encoder: expected ({len(images)}, d) codes, got shape {codes.shape}")
    return codes


def interpolate_codes(z_a, z_b, t) -> np.ndarray:
    """Points ``(1 - t) z_a + t z_b`` on the segment between two codes, one row per ``t``.

    ``t`` is a number or a 1-d array of numbers in [0, 1]; returns (len(t), d) float32.
    """
    a = np.asarray(z_a, dtype=np.float64)
    b = np.asarray(z_b, dtype=np.float64)
    if a.ndim != 1 or a.size == 0:
        raise ValueError(f"z_a: expected one code (a 1-d array), got shape {a.shape}")
    if b.shape != a.shape:
        raise ValueError(f"z_b: expected a code of the same size as z_a ({a.size}), "
                         f"got shape {b.shape}")
    ts = _check_t(t)[:, None]
    return ((1.0 - ts) * a + ts * b).astype(np.float32)


def _pair_codes(encoder: Encoder, x_a, x_b) -> tuple[np.ndarray, np.ndarray]:
    a, b = np.asarray(x_a, dtype=np.float32), np.asarray(x_b, dtype=np.float32)
    if a.ndim not in (1, 2, 3) or a.size == 0:
        raise ValueError(f"x_a: expected ONE image, (H*W,), (H, W) or (H, W, 1), got shape "
                         f"{a.shape}")
    if b.shape != a.shape:
        raise ValueError(f"x_b: expected an image of the same shape as x_a {a.shape}, "
                         f"got {b.shape}")
    codes = encode_codes(encoder, np.stack([a, b]))
    return codes[0], codes[1]


def live_frontend() -> bool:
    """Whether this code runs in a notebook that a person drives, so widgets can be used.

    True on Colab and in a kernel whose current cell was sent by an interactive front
    end (JupyterLab, Notebook, VS Code: they accept ``input()``, ``allow_stdin``); False in
    plain Python and in batch runs (nbconvert, nbclient, nbval send ``allow_stdin=False``).
    """
    if "google.colab" in sys.modules:
        return True
    ipython = sys.modules.get("IPython")
    get_ipython = getattr(ipython, "get_ipython", None)
    shell = get_ipython() if get_ipython else None
    kernel = getattr(shell, "kernel", None)
    if kernel is None or not hasattr(kernel, "get_parent"):
        return False
    try:
        parent = kernel.get_parent()
    except Exception:  # noqa: BLE001 (an unusual kernel: say no rather than fail)
        return False
    content = parent.get("content", {}) if isinstance(parent, dict) else {}
    return bool(content.get("allow_stdin", False))


# --------------------------------------------------------------------------- widgets
def _ipywidgets():
    try:
        import ipywidgets
    except ImportError as err:
        raise ImportError(INSTALL_HINT) from err
    return ipywidgets


def image_png(image: np.ndarray, scale: int = 5) -> bytes:
    """PNG bytes of a grey image with values in [0, 1], each pixel drawn ``scale`` x ``scale``."""
    if scale < 1:
        raise ValueError(f"scale: expected an integer >= 1, got {scale}")
    img = np.clip(np.asarray(image, dtype=np.float32), 0.0, 1.0)
    big = np.kron(img, np.ones((int(scale), int(scale)), dtype=np.float32))
    buf = io.BytesIO()
    plt.imsave(buf, big, cmap="gray", vmin=0.0, vmax=1.0, format="png")
    return buf.getvalue()


def latent_explorer(
    decoder: Decoder,
    limits: Sequence[float] = (-3.0, 3.0),
    value: Sequence[float] = (0.0, 0.0),
    step: float = 0.05,
    scale: int = 5,
    continuous_update: bool = True,
):
    """Two sliders over a 2-D latent space and the image ``decoder([[z1, z2]])``.

    Returns an ``ipywidgets.VBox`` (display it, or let it be a cell's last value) with
    extra attributes: ``sliders`` (the z1 and z2 ``FloatSlider``), ``image`` (the
    ``Image`` widget), ``current_code`` (a (2,) array) and ``current_image`` ((H, W)
    array), kept up to date as the sliders move. Needs ipywidgets, imported here.
    """
    _check_callable(decoder, "decoder")
    lo, hi = _check_limits(limits)
    start = np.asarray(value, dtype=np.float64).ravel()
    if start.size != 2:
        raise ValueError(f"value: the explorer is for a 2-D latent space; expected 2 "
                         f"numbers (z1, z2), got {start.size}")
    if not np.all((start >= lo) & (start <= hi)):
        raise ValueError(f"value: {start.tolist()} lies outside limits ({lo}, {hi})")
    if not step > 0:
        raise ValueError(f"step: expected a number > 0, got {step}")
    widgets = _ipywidgets()
    first = decode_grid_point(decoder, start, latent_dim=2)  # fail now, not on a drag
    sliders = [widgets.FloatSlider(value=float(v), min=lo, max=hi, step=step,
                                   description=name, continuous_update=continuous_update,
                                   readout_format=".2f")
               for name, v in zip(("z1", "z2"), start, strict=True)]
    image = widgets.Image(value=image_png(first, scale), format="png")
    caption = widgets.Label()
    box = widgets.VBox([widgets.HBox([widgets.VBox(sliders), image]), caption])
    box.sliders, box.image = sliders, image

    def update(_change=None, img: np.ndarray | None = None) -> None:
        code = np.array([s.value for s in sliders], dtype=np.float32)
        img = decode_grid_point(decoder, code, latent_dim=2) if img is None else img
        box.current_code, box.current_image = code, img
        image.value = image_png(img, scale)
        caption.value = f"decoder(z) at z = ({code[0]:.2f}, {code[1]:.2f})"

    update(img=first)
    for slider in sliders:
        slider.observe(update, names="value")
    return box


def interpolation_explorer(
    encoder: Encoder,
    decoder: Decoder,
    x_a,
    x_b,
    t: float = 0.0,
    step: float = 0.02,
    scale: int = 5,
    continuous_update: bool = True,
):
    """A slider ``t`` in [0, 1] and the image decoded from ``(1 - t) z_a + t z_b``.

    ``z_a``, ``z_b`` are ``encoder``'s codes of the single images ``x_a``, ``x_b`` (the
    posterior means for a VAE encoder returning ``[z_mean, z_log_var]``); the two inputs
    are shown beside the decoded image. Returns an ``ipywidgets.VBox`` with ``slider``,
    ``image``, ``codes`` ((2, d): z_a and z_b), ``current_code`` and ``current_image``.
    """
    _check_callable(encoder, "encoder")
    _check_callable(decoder, "decoder")
    if np.ndim(t) != 0:
        raise ValueError(f"t: expected one number in [0, 1], got {t!r}")
    t0 = float(_check_t(t)[0])
    if not 0 < step <= 1:
        raise ValueError(f"step: expected a number in (0, 1], got {step}")
    widgets = _ipywidgets()
    z_a, z_b = _pair_codes(encoder, x_a, x_b)
    first = decode_points(decoder, interpolate_codes(z_a, z_b, t0), latent_dim=z_a.size)[0]
    side = first.shape

    def as_image(x) -> np.ndarray:
        arr = np.asarray(x, dtype=np.float32).reshape(-1)
        return arr.reshape(side) if arr.size == first.size else np.zeros(side, np.float32)

    slider = widgets.FloatSlider(value=t0, min=0.0, max=1.0, step=step, description="t",
                                 continuous_update=continuous_update, readout_format=".2f")
    image = widgets.Image(value=image_png(first, scale), format="png")
    ends = [widgets.VBox([widgets.Image(value=image_png(as_image(x), scale), format="png"),
                          widgets.Label(label)])
            for x, label in ((x_a, "input a (t = 0)"), (x_b, "input b (t = 1)"))]
    middle = widgets.VBox([image, widgets.Label("decoded (1 - t) z_a + t z_b")])
    box = widgets.VBox([slider, widgets.HBox([ends[0], middle, ends[1]])])
    box.slider, box.image, box.codes = slider, image, np.stack([z_a, z_b])

    def update(_change=None, img: np.ndarray | None = None) -> None:
        code = interpolate_codes(z_a, z_b, slider.value)
        img = decode_points(decoder, code, latent_dim=z_a.size)[0] if img is None else img
        box.current_code, box.current_image = code[0], img
        image.value = image_png(img, scale)

    update(img=first)
    slider.observe(update, names="value")
    return box


# --------------------------------------------------------------------------- static twins
def latent_explorer_figure(
    decoder: Decoder,
    limits: Sequence[float] = (-3.0, 3.0),
    n: int = 7,
    z2_values: Sequence[float] | None = None,
    ax: Axes | None = None,
    title: str | None = "what the sliders show: decoder(z) along $z_1$, at three $z_2$",
) -> Figure:
    """The static twin of :func:`latent_explorer`: rows of decoded images along ``z1``.

    Columns are ``n`` slider positions of z1 evenly spread over ``limits``; rows are the
    z2 positions ``z2_values`` (default: a quarter, half and three quarters of the way
    between the limits, top row highest). Tick labels give each slider position.
    """
    _check_callable(decoder, "decoder")
    lo, hi = _check_limits(limits)
    if n < 2:
        raise ValueError(f"n: need at least 2 positions of z1, got {n}")
    z1 = np.linspace(lo, hi, n)
    z2 = (lo + (hi - lo) * np.array([0.75, 0.5, 0.25]) if z2_values is None
          else np.asarray(z2_values, dtype=np.float64).ravel())
    if z2.size == 0:
        raise ValueError("z2_values: expected at least one value")
    codes = np.array([[a, b] for b in z2 for a in z1], dtype=np.float32)
    imgs = decode_points(decoder, codes, latent_dim=2)
    h, w = imgs.shape[1:3]
    fig, ax = _new_ax(ax, figsize=(1.0 + 0.9 * n, 0.8 + 0.9 * len(z2)))
    ax.imshow(tile_images(imgs, len(z2), n), cmap="gray", vmin=0, vmax=1)
    ax.set_xticks(np.arange(n) * w + w / 2, [f"{v:.2g}" for v in z1])
    ax.set_yticks(np.arange(len(z2)) * h + h / 2, [f"{v:.2g}" for v in z2])
    ax.set_xlabel("slider $z_1$")
    ax.set_ylabel("slider $z_2$")
    if title:
        ax.set_title(title)
    return fig


def interpolation_figure(
    encoder: Encoder,
    decoder: Decoder,
    x_a,
    x_b,
    n: int = 9,
    ax: Axes | None = None,
    title: str | None = "what the slider t shows: decoder((1 - t) $z_a$ + t $z_b$)",
) -> Figure:
    """The static twin of :func:`interpolation_explorer`: the path at ``n`` values of t.

    The strip shows input a, the images decoded at t = 0, 1/(n-1), ..., 1, then input b;
    tick labels give t.
    """
    _check_callable(encoder, "encoder")
    _check_callable(decoder, "decoder")
    if n < 2:
        raise ValueError(f"n: need at least 2 values of t, got {n}")
    z_a, z_b = _pair_codes(encoder, x_a, x_b)
    ts = np.linspace(0.0, 1.0, n)
    path = decode_points(decoder, interpolate_codes(z_a, z_b, ts), latent_dim=z_a.size)
    ends = []
    for x in (x_a, x_b):
        arr = np.asarray(x, dtype=np.float32).reshape(-1)
        ends.append(arr.reshape(path.shape[1:]) if arr.size == path[0].size
                    else np.zeros(path.shape[1:], np.float32))
    strip = np.concatenate([ends[0][None], path, ends[1][None]])
    h, w = path.shape[1:3]
    gap = max(2, w // 7)
    fig, ax = _new_ax(ax, figsize=(1.0 + 0.9 * (n + 2), 1.9))
    ax.imshow(tile_images(strip, 1, n + 2, gap=gap), cmap="gray", vmin=0, vmax=1)
    labels = ["input a", *[f"t={v:.2g}" for v in ts], "input b"]
    ax.set_xticks(np.arange(n + 2) * (w + gap) + w / 2, labels, fontsize=8)
    ax.set_yticks([])
    ax.set_xlabel("slider t (the ends: the two input images)")
    ax.set_ylabel(f"{h} x {w} image")
    if title:
        ax.set_title(title)
    return fig
