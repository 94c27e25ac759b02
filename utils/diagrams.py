"""Schematic figures of the course's central ideas, drawn by code.

One function per lesson (see :data:`LESSON_DIAGRAMS`): boxes, arrows and text drawn
with matplotlib, no image files. Like :mod:`utils.plotting`, every function takes an
optional ``ax``, returns the :class:`matplotlib.figure.Figure` and never calls
``plt.show()``; assign the result in a notebook (``fig = diagrams.hourglass(...)``).
Figures are made at the course's 72 dpi. Numbers in a diagram are computed from the
arguments (layer sizes, kernel and stride, code bits, ...), never typed in twice, and
:func:`hourglass` reads its sizes from a Keras model, so the picture cannot disagree
with the code. Bad arguments raise :class:`ValueError` naming the argument.
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from itertools import combinations
from typing import Any

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.axes import Axes
from matplotlib.colors import to_rgb
from matplotlib.figure import Figure
from matplotlib.patches import Circle, FancyArrowPatch, FancyBboxPatch, Polygon, Rectangle

from utils.plotting import COURSE_STYLE

__all__ = [
    "LESSON_DIAGRAMS",
    "anomaly_detection",
    "conv_output_size",
    "conv_resampling",
    "conv_transpose_output_size",
    "denoising_pipeline",
    "greedy_pretraining",
    "hourglass",
    "layer_sizes",
    "manifold",
    "maximum_likelihood",
    "pca_vs_autoencoder",
    "pretraining_finetuning",
    "semantic_hashing",
    "teacher_forcing",
    "unet_vs_bottleneck",
    "vae_graph",
]

# One colour per role, used the same way in every diagram.
COLORS = {
    "data": "#555555",     # inputs, outputs, images
    "enc": "#3B6FB6",      # encoder
    "code": "#2E8B57",     # code / latent / context
    "dec": "#D9822B",      # decoder
    "loss": "#C0392B",     # losses, scores, gradients
    "noise": "#7B52AB",    # noise, corruption, randomness
    "head": "#8E6C3A",     # classifier heads, other networks
    "grey": "#9A9A9A",     # inactive, frozen, out of range
}
FONT = 11       # body text, in points (1 data unit = 1 inch, so sizes read the same)
SMALL = 9.5     # annotations
TITLE = 12.5    # panel titles


# --------------------------------------------------------------------------- helpers
def _tint(color: str, amount: float = 0.18) -> tuple[float, float, float]:
    """Mix ``color`` with white: ``amount`` = 0 is white, 1 is the colour itself."""
    r, g, b = to_rgb(color)
    return (1 - amount + amount * r, 1 - amount + amount * g, 1 - amount + amount * b)


def _canvas(ax: Axes | None, width: float, height: float) -> tuple[Figure, Axes]:
    """A blank drawing area ``width`` x ``height`` in data units (inches on a new figure)."""
    if ax is None:
        fig, ax = plt.subplots(figsize=(width, height), dpi=COURSE_STYLE["figure.dpi"])
        fig.subplots_adjust(left=0, right=1, bottom=0, top=1)
    else:
        fig = ax.figure
    ax.set_xlim(0, width)
    ax.set_ylim(0, height)
    ax.set_aspect("equal")
    ax.axis("off")
    return fig, ax


def _box(ax: Axes, center: tuple[float, float], w: float, h: float, text: str = "",
         role: str = "data", fontsize: float = FONT, ls: str = "-", fill: float = 0.16,
         lw: float = 1.5, weight: str = "normal", color: str | None = None,
         hatch: str | None = None) -> FancyBboxPatch:
    """A rounded box centred at ``center`` with ``text`` in it."""
    edge = color or COLORS[role]
    x, y = center
    patch = FancyBboxPatch((x - w / 2, y - h / 2), w, h,
                           boxstyle=f"round,pad=0,rounding_size={min(0.08, w / 4, h / 4)}",
                           fc=_tint(edge, fill), ec=edge, lw=lw, ls=ls, zorder=2, hatch=hatch)
    ax.add_patch(patch)
    if text:
        ax.text(x, y, text, ha="center", va="center", fontsize=fontsize, zorder=4,
                weight=weight, linespacing=1.25)
    return patch


def _arrow(ax: Axes, start: tuple[float, float], end: tuple[float, float],
           color: str = "#333333", lw: float = 1.5, ls: str = "-", rad: float = 0.0,
           head: float = 13, zorder: float = 3) -> FancyArrowPatch:
    """An arrow from ``start`` to ``end`` (optionally curved by ``rad``)."""
    arrow = FancyArrowPatch(start, end, arrowstyle="-|>", mutation_scale=head, color=color,
                            lw=lw, linestyle=ls, shrinkA=0, shrinkB=0, zorder=zorder,
                            connectionstyle=f"arc3,rad={rad}")
    ax.add_patch(arrow)
    return arrow


def _text(ax: Axes, xy: tuple[float, float], text: str, fontsize: float = SMALL,
          ha: str = "center", va: str = "center", color: str = "#222222", **kw: Any):
    return ax.text(xy[0], xy[1], text, fontsize=fontsize, ha=ha, va=va, color=color,
                   zorder=5, linespacing=1.25, **kw)


def _check_int(name: str, value: Any, low: int, high: int | None = None) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
        raise ValueError(f"{name}: expected an integer, got {value!r}")
    if value < low or (high is not None and value > high):
        bound = f">= {low}" if high is None else f"between {low} and {high}"
        raise ValueError(f"{name}: expected an integer {bound}, got {value}")
    return int(value)


def _fmt_size(size: int | tuple[int, ...]) -> str:
    if isinstance(size, tuple):
        return "×".join(str(s) for s in size) if len(size) > 1 else str(size[0])
    return str(size)


def _numel(size: int | tuple[int, ...]) -> int:
    return int(np.prod(size)) if isinstance(size, tuple) else int(size)


# ------------------------------------------------------------------- 03 the hourglass
_SIZED_LAYER = re.compile(r"Dense|Conv|Pool|UpSampling")


def layer_sizes(model: Any) -> list[tuple[str, tuple[int, ...]]]:
    """``(name, output shape without the batch axis)`` of a Keras model's sized layers.

    The list starts with the model's input, then every Dense, convolution, transposed
    convolution, pooling and upsampling layer in order, looking inside nested models
    (an autoencoder built as ``Model(x, decoder(encoder(x)))``). Reshapes, flattens,
    noise and normalisation layers do not change what the picture should show and are
    left out.
    """
    if not hasattr(model, "layers") or not hasattr(model, "inputs"):
        raise ValueError(f"model: expected a Keras model with .layers and .inputs, got "
                         f"{type(model).__name__}")
    if len(model.inputs) != 1:
        raise ValueError(f"model: expected a model with one input, got {len(model.inputs)}")
    out: list[tuple[str, tuple[int, ...]]] = [("input", tuple(model.inputs[0].shape[1:]))]

    def walk(m: Any) -> None:
        for layer in m.layers:
            if hasattr(layer, "layers") and hasattr(layer, "inputs"):  # a nested model
                walk(layer)
            elif _SIZED_LAYER.search(type(layer).__name__):
                try:
                    shape = layer.output.shape
                except (AttributeError, ValueError):
                    shape = layer._inbound_nodes[0].output_tensors[0].shape
                out.append((layer.name, tuple(int(s) for s in shape[1:])))

    walk(model)
    if len(out) < 2:
        raise ValueError("model: found no Dense, convolution, pooling or upsampling layer")
    return out


def hourglass(
    sizes: Sequence[int | tuple[int, ...]] | Any = (784, 32, 784),
    ax: Axes | None = None,
    code_index: int | None = None,
    title: str | None = None,
    show_names: bool = False,
) -> Figure:
    """Encoder -> code -> decoder, one bar per layer, labelled with its size (lessons 03-04).

    ``sizes`` is a list of layer widths (``[784, 128, 64, 32, 64, 128, 784]``; a tuple
    such as ``(28, 28, 1)`` is drawn as ``28×28×1``) or a Keras model, whose sizes are
    read from its layers by :func:`layer_sizes`. Bar heights grow with the log of the
    number of values. The code is the narrowest layer unless ``code_index`` says
    otherwise; layers before it form the encoder, layers after it the decoder.
    ``show_names`` writes each Keras layer's name under its size.
    """
    names: list[str] | None = None
    if hasattr(sizes, "layers"):
        pairs = layer_sizes(sizes)
        names = [n for n, _ in pairs]
        dims: list[int | tuple[int, ...]] = [s if len(s) > 1 else int(s[0]) for _, s in pairs]
        if title is None:
            title = getattr(sizes, "name", None)
    else:
        if isinstance(sizes, (str, bytes)) or not isinstance(sizes, Sequence):
            raise ValueError(f"sizes: expected a list of layer sizes or a Keras model, got "
                             f"{type(sizes).__name__}")
        dims = []
        for s in sizes:
            if isinstance(s, tuple) and s and all(isinstance(v, (int, np.integer)) and v > 0
                                                  for v in s):
                dims.append(tuple(int(v) for v in s))
            elif isinstance(s, (int, np.integer)) and not isinstance(s, bool) and s > 0:
                dims.append(int(s))
            else:
                raise ValueError(f"sizes: every size must be a positive integer or a tuple "
                                 f"of them, got {s!r}")
    if len(dims) < 2:
        raise ValueError(f"sizes: need at least 2 layers (input and code), got {len(dims)}")
    numel = [_numel(d) for d in dims]
    if code_index is None:
        code_index = int(np.argmin(numel))
    code_index = _check_int("code_index", code_index, 0, len(dims) - 1)

    n = len(dims)
    step = 1.25 if any(isinstance(d, tuple) for d in dims) else 1.05
    width = max(6.0, 1.2 + step * (n - 1) + 1.2)
    height = 4.4 if show_names else 4.1
    fig, ax = _canvas(ax, width, height)
    x0 = (width - step * (n - 1)) / 2
    xs = [x0 + i * step for i in range(n)]
    yc = 2.25 if show_names else 2.1
    logs = np.log(np.asarray(numel, dtype=float))
    span = logs.max() - logs.min()
    heights = 0.45 + 2.15 * ((logs - logs.min()) / span if span > 0 else np.ones(n))
    bar_w = 0.36

    def role(i: int) -> str:
        return "code" if i == code_index else ("enc" if i < code_index else "dec")

    for i in range(n - 1):  # shaded trapezoids between consecutive layers
        x1, x2 = xs[i] + bar_w / 2, xs[i + 1] - bar_w / 2
        h1, h2 = heights[i] / 2, heights[i + 1] / 2
        c = COLORS["enc" if i < code_index else "dec"]
        ax.add_patch(Polygon([(x1, yc - h1), (x2, yc - h2), (x2, yc + h2), (x1, yc + h1)],
                             closed=True, fc=_tint(c, 0.10), ec="none", zorder=1))
    for i, (x, h) in enumerate(zip(xs, heights, strict=True)):
        r = role(i)
        ax.add_patch(Rectangle((x - bar_w / 2, yc - h / 2), bar_w, h, fc=_tint(COLORS[r], 0.45),
                               ec=COLORS[r], lw=1.5, zorder=2))
        _text(ax, (x, yc - heights.max() / 2 - 0.22), _fmt_size(dims[i]), fontsize=FONT,
              weight="bold" if i == code_index else "normal")
        if show_names and names is not None:
            _text(ax, (x, yc - heights.max() / 2 - 0.5), names[i], fontsize=8.5, color="#555555")
    top = yc + heights.max() / 2 + 0.25
    if code_index > 0:
        _text(ax, ((xs[0] + xs[code_index]) / 2, top), "encoder", fontsize=FONT,
              color=COLORS["enc"], weight="bold")
    if code_index < n - 1:
        _text(ax, ((xs[code_index] + xs[-1]) / 2, top), "decoder", fontsize=FONT,
              color=COLORS["dec"], weight="bold")
    _text(ax, (xs[code_index], yc + heights[code_index] / 2 + 0.2), "code", fontsize=FONT,
          color=COLORS["code"], weight="bold")
    _text(ax, (xs[0] - 0.45, yc), "$x$", fontsize=TITLE)
    if code_index < n - 1:
        _text(ax, (xs[-1] + 0.45, yc), r"$\hat{x}$", fontsize=TITLE)
    if title:
        _text(ax, (width / 2, height - 0.25), title, fontsize=TITLE, weight="bold")
    return fig


# ------------------------------------------------------------ 01 maximum likelihood
def maximum_likelihood(ax: Axes | None = None) -> Figure:
    """The network's output parameterises a distribution; the loss is -log p(x | x̂) (lesson 01).

    A Gaussian with fixed σ gives mean squared error, a Bernoulli per pixel gives
    binary cross-entropy.
    """
    fig, ax = _canvas(ax, 10.6, 3.9)
    y = 1.75
    _box(ax, (0.7, y), 1.05, 0.75, "input $x$", "data")
    _box(ax, (2.45, y), 1.65, 0.9, "autoencoder\n$\\hat{x} = g(f(x))$", "enc")
    _box(ax, (4.3, y), 1.3, 0.85, "output $\\hat{x}$\n(parameters)", "code", fontsize=10)
    _arrow(ax, (1.23, y), (1.62, y))
    _arrow(ax, (3.28, y), (3.65, y))
    _text(ax, (5.2, 3.6), "loss $= -\\log p(x \\mid \\hat{x})$: how probable is the input under "
          "the distribution that the output describes?", fontsize=FONT, weight="bold")
    rows = [(2.65, "Gaussian, fixed $\\sigma$", "$p(x \\mid \\hat{x}) = "
             "\\mathcal{N}(x;\\ \\hat{x},\\ \\sigma^2 I)$",
             "$\\dfrac{\\mathrm{MSE}}{2\\sigma^2}$ + const", "mean squared error (MSE)"),
            (0.85, "Bernoulli, one per pixel", "$p(x_d \\mid \\hat{x}_d) = "
             "\\hat{x}_d^{\\,x_d}\\,(1-\\hat{x}_d)^{1-x_d}$",
             "binary cross-entropy", "BCE (needs targets in [0, 1])")]
    bx = 6.55
    for i, (yy, name, formula, loss, note) in enumerate(rows):
        _box(ax, (bx, yy), 2.95, 1.1, "", "noise")
        _text(ax, (bx + 0.35, yy + 0.24), name, fontsize=10.5)
        _text(ax, (bx + 0.35, yy - 0.2), formula, fontsize=10)
        _arrow(ax, (4.95, y + (0.15 if i == 0 else -0.15)), (5.07, yy), rad=0.0)
        _box(ax, (9.35, yy), 2.1, 0.8, loss, "loss", fontsize=10.5)
        _arrow(ax, (8.03, yy), (8.3, yy))
        _text(ax, (9.35, yy - 0.56), note, fontsize=8.8, color=COLORS["loss"])
        # a glyph at the left of each distribution box: a bell curve, or two bars
        gx = bx - 1.2
        if i == 0:
            t = np.linspace(-1, 1, 60)
            ax.plot(gx + 0.28 * t, yy - 0.3 + 0.55 * np.exp(-(t * 2.4) ** 2),
                    color=COLORS["noise"], lw=1.6, zorder=3)
            ax.plot([gx - 0.3, gx + 0.3], [yy - 0.3, yy - 0.3], color="#777777", lw=0.8,
                    zorder=3)
        else:
            for off, h, lab in ((-0.13, 0.2, "0"), (0.13, 0.45, "1")):
                ax.add_patch(Rectangle((gx + off - 0.08, yy - 0.25), 0.16, h, zorder=3,
                                       fc=_tint(COLORS["noise"], 0.5), ec=COLORS["noise"]))
                _text(ax, (gx + off, yy - 0.38), lab, fontsize=8)
    return fig


# ------------------------------------------------------------------ 02 the manifold
def manifold(ax: Axes | None = None, n_points: int = 60, seed: int = 0) -> Figure:
    """Data on a curved low-dimensional sheet inside a high-dimensional space (lesson 02).

    Left: a curved 2-D sheet in a 3-D box (drawn in oblique projection) with data points
    on it and one random point off it. Right: the sheet's own flat coordinates, the code
    space, with the encoder and decoder mapping between the two.
    """
    n_points = _check_int("n_points", n_points, 5, 500)
    fig, ax = _canvas(ax, 10.0, 4.6)
    rng = np.random.default_rng(seed)

    def proj(u: np.ndarray, v: np.ndarray, w: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        # oblique projection of the box [0,1]^3 onto the page, lower-left at (0.6, 0.6)
        return 0.6 + 3.0 * u + 1.1 * v, 0.6 + 2.6 * w + 0.8 * v

    def sheet(s: np.ndarray, t: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        # a curved sheet: height is a wave along s; the sheet is 2-D (coordinates s, t)
        u, v = s, t
        w = 0.45 + 0.28 * np.sin(2 * np.pi * s * 0.9) * (0.6 + 0.4 * t)
        return proj(u, v, w)

    # the ambient box
    corners = {k: np.array(k, dtype=float) for k in
               [(a, b, c) for a in (0, 1) for b in (0, 1) for c in (0, 1)]}
    for a, b in combinations(corners, 2):
        if sum(x != y for x, y in zip(a, b, strict=True)) == 1:
            p, q = corners[a], corners[b]
            xs, ys = proj(np.array([p[0], q[0]]), np.array([p[1], q[1]]),
                          np.array([p[2], q[2]]))
            ax.plot(xs, ys, color="#BBBBBB", lw=1, ls=":" if 0 in (a[1], b[1]) and
                    (a[1] != b[1]) else "-", zorder=1)
    # the sheet as a mesh
    g = np.linspace(0, 1, 25)
    for t in np.linspace(0, 1, 6):
        xs, ys = sheet(g, np.full_like(g, t))
        ax.plot(xs, ys, color=COLORS["code"], lw=1.1, alpha=0.8, zorder=2)
    for s in np.linspace(0, 1, 9):
        xs, ys = sheet(np.full_like(g, s), g)
        ax.plot(xs, ys, color=COLORS["code"], lw=0.8, alpha=0.5, zorder=2)
    s_pts, t_pts = rng.uniform(0.05, 0.95, n_points), rng.uniform(0.05, 0.95, n_points)
    px, py = sheet(s_pts, t_pts)
    ax.scatter(px, py, s=14, color=COLORS["enc"], zorder=3)
    rx, ry = proj(np.array([0.82]), np.array([0.3]), np.array([0.95]))
    ax.scatter(rx, ry, s=40, marker="x", color=COLORS["loss"], zorder=3, lw=2)
    _text(ax, (rx[0] - 0.1, ry[0] + 0.28), "random pixels:\noff the manifold", fontsize=SMALL,
          color=COLORS["loss"], ha="right")
    _text(ax, (2.4, 4.3), "pixel space $\\mathbb{R}^{784}$ (high-dimensional)", fontsize=FONT,
          weight="bold")
    _text(ax, (2.6, 0.25), "data manifold: a curved, low-dimensional sheet",
          fontsize=SMALL, color=COLORS["code"])
    # the flat code space
    cx0, cy0, cw, ch = 6.9, 1.0, 2.6, 2.4
    ax.add_patch(Rectangle((cx0, cy0), cw, ch, fc=_tint(COLORS["code"], 0.08),
                           ec=COLORS["code"], lw=1.4, zorder=1))
    for t in np.linspace(0, 1, 6):
        ax.plot([cx0, cx0 + cw], [cy0 + t * ch] * 2, color=COLORS["code"], lw=0.6, alpha=0.5)
    for s in np.linspace(0, 1, 9):
        ax.plot([cx0 + s * cw] * 2, [cy0, cy0 + ch], color=COLORS["code"], lw=0.6, alpha=0.5)
    ax.scatter(cx0 + s_pts * cw, cy0 + t_pts * ch, s=14, color=COLORS["enc"], zorder=3)
    _text(ax, (cx0 + cw / 2, 4.3), "code space $\\mathbb{R}^{d}$, $d \\ll 784$",
          fontsize=FONT, weight="bold")
    _text(ax, (cx0 + cw / 2, 0.6), "coordinates on the manifold", fontsize=SMALL,
          color=COLORS["code"])
    _arrow(ax, (5.25, 3.1), (6.75, 3.1), color=COLORS["enc"], rad=-0.25)
    _text(ax, (6.0, 3.62), "encoder $f$", fontsize=SMALL, color=COLORS["enc"])
    _arrow(ax, (6.75, 1.7), (5.25, 1.7), color=COLORS["dec"], rad=-0.25)
    _text(ax, (6.0, 1.15), "decoder $g$", fontsize=SMALL, color=COLORS["dec"])
    return fig


# ------------------------------------------------------- 04 greedy layer-wise training
def greedy_pretraining(sizes: Sequence[int] = (784, 128, 64, 32),
                       ax: Axes | None = None) -> Figure:
    """Greedy layer-wise pre-training: one shallow autoencoder per layer, then stack (lesson 04).

    ``sizes`` are the encoder's widths from input to code. Stage k trains a
    ``sizes[k-1] -> sizes[k] -> sizes[k-1]`` autoencoder on the codes of stage k-1; the
    encoders and decoders are then stacked into one deep autoencoder and fine-tuned.
    """
    if isinstance(sizes, (str, bytes)) or not isinstance(sizes, Sequence) or len(sizes) < 2:
        raise ValueError(f"sizes: expected at least 2 layer widths (input and code), got "
                         f"{sizes!r}")
    for s in sizes:
        _check_int("sizes", s, 1)
    sizes = [int(s) for s in sizes]
    k = len(sizes) - 1
    stage_w = 2.1
    width = 0.5 + stage_w * k + 0.6 + 3.9
    fig, ax = _canvas(ax, width, 4.5)
    y = 2.35
    for i in range(k):
        x = 0.5 + stage_w * i + stage_w / 2 - 0.1
        _text(ax, (x, 4.05), f"stage {i + 1}", fontsize=FONT, weight="bold")
        a, b = sizes[i], sizes[i + 1]
        _box(ax, (x - 0.55, y), 0.42, 1.9, str(a), "data" if i == 0 else "code", fontsize=9.5)
        _box(ax, (x, y), 0.42, 0.95, str(b), "code", fontsize=9.5, weight="bold")
        _box(ax, (x + 0.55, y), 0.42, 1.9, str(a), "dec", fontsize=9.5)
        _arrow(ax, (x - 0.34, y), (x - 0.21, y), color=COLORS["enc"], head=9)
        _arrow(ax, (x + 0.21, y), (x + 0.34, y), color=COLORS["dec"], head=9)
        inp = "the images" if i == 0 else f"the codes\nof stage {i}"
        _text(ax, (x, 0.75), f"trained on {inp}", fontsize=SMALL, va="top")
        if i < k - 1:
            _arrow(ax, (x + 0.05, 1.3), (x + stage_w - 0.6, 1.3), color="#777777", ls="--",
                   rad=0.35, head=10)
    # the stacked model
    x0 = 0.5 + stage_w * k + 0.6
    _text(ax, (x0 + 1.8, 4.05), "stack, then fine-tune end to end", fontsize=FONT,
          weight="bold")
    deep = sizes + sizes[-2::-1]
    xs = np.linspace(x0 + 0.1, x0 + 3.5, len(deep))
    hs = 0.5 + 1.6 * (np.log(deep) - math.log(min(deep))) / max(
        math.log(max(deep)) - math.log(min(deep)), 1e-9)
    for i, (x, h, s) in enumerate(zip(xs, hs, deep, strict=True)):
        r = "code" if i == k else ("enc" if i < k else "dec")
        ax.add_patch(Rectangle((x - 0.12, y - h / 2), 0.24, h, fc=_tint(COLORS[r], 0.45),
                               ec=COLORS[r], lw=1.3, zorder=2))
        _text(ax, (x, y - hs.max() / 2 - 0.22), str(s), fontsize=8.5)
    _text(ax, (x0 + 1.8, 0.75), f"encoders 1..{k}, then decoders {k}..1", fontsize=SMALL,
          va="top")
    _arrow(ax, (x0 - 0.45, y), (x0 - 0.1, y), color="#333333")
    return fig


# ------------------------------------------------ 05 pooling against strided convolution
def conv_output_size(n: int, kernel: int = 3, stride: int = 1, padding: str = "same") -> int:
    """Output side of a convolution or pooling window: Keras's formula for ``padding``."""
    n = _check_int("n", n, 1)
    kernel = _check_int("kernel", kernel, 1)
    stride = _check_int("stride", stride, 1)
    if padding == "same":
        return -(-n // stride)
    if padding == "valid":
        if n < kernel:
            raise ValueError(f"kernel: {kernel} is larger than the input side {n}")
        return (n - kernel) // stride + 1
    raise ValueError(f"padding: expected 'same' or 'valid', got {padding!r}")


def conv_transpose_output_size(n: int, kernel: int = 3, stride: int = 2,
                               padding: str = "same") -> int:
    """Output side of a transposed convolution (Keras's ``Conv2DTranspose``)."""
    n = _check_int("n", n, 1)
    kernel = _check_int("kernel", kernel, 1)
    stride = _check_int("stride", stride, 1)
    if padding == "same":
        return n * stride
    if padding == "valid":
        return (n - 1) * stride + max(kernel, stride)
    raise ValueError(f"padding: expected 'same' or 'valid', got {padding!r}")


def conv_resampling(input_size: int = 28, kernel: int = 3, stride: int = 2, steps: int = 2,
                    padding: str = "same", ax: Axes | None = None) -> Figure:
    """Pooling + upsampling against strided + transposed convolution (lesson 05).

    Every side length is computed from ``input_size``, ``kernel``, ``stride`` and
    ``padding`` with Keras's formulas (:func:`conv_output_size`,
    :func:`conv_transpose_output_size`): the default draws 28 → 14 → 7 and back.
    The pooling row convolves at full resolution and then pools with a ``stride`` x
    ``stride`` window; the strided row only computes the positions it keeps.
    """
    input_size = _check_int("input_size", input_size, 2)
    kernel = _check_int("kernel", kernel, 1)
    stride = _check_int("stride", stride, 2)
    steps = _check_int("steps", steps, 1, 4)
    if padding not in ("same", "valid"):
        raise ValueError(f"padding: expected 'same' or 'valid', got {padding!r}")
    down, pooled = [input_size], [input_size]
    try:
        for _ in range(steps):
            down.append(conv_output_size(down[-1], kernel, stride, padding))
            full = conv_output_size(pooled[-1], kernel, 1, padding)  # stride-1 conv, then pool
            pooled.append(-(-full // stride) if padding == "same" else full // stride)
            if pooled[-1] < 1:
                raise ValueError("pooled to nothing")
    except ValueError as err:
        raise ValueError(f"steps: {steps} downsampling steps with kernel {kernel} and stride "
                         f"{stride} shrink a side of {input_size} to nothing ({err})") from None
    up, ups = [down[-1]], [pooled[-1]]
    for _ in range(steps):
        up.append(conv_transpose_output_size(up[-1], kernel, stride, padding))
        ups.append(conv_output_size(ups[-1] * stride, kernel, 1, padding))  # upsample, conv

    n_maps = 2 * steps + 1
    gap = 1.45
    width = 1.6 + gap * (n_maps - 1) + 0.9
    fig, ax = _canvas(ax, width, 6.2)
    biggest = max(down + up + pooled + ups)

    def side(n: int) -> float:
        return 0.28 + 0.82 * math.sqrt(n / biggest)

    def draw_row(y: float, seq: Sequence[int], labels: Sequence[str], title: str,
                 colors: Sequence[str]) -> None:
        _text(ax, (0.15, y + 1.45), title, fontsize=FONT, weight="bold", ha="left")
        xs = [1.3 + gap * i for i in range(len(seq))]
        for i, (x, n) in enumerate(zip(xs, seq, strict=True)):
            s = side(n)
            r = "data" if i in (0, len(seq) - 1) else ("code" if i == steps else
                                                        ("enc" if i < steps else "dec"))
            ax.add_patch(Rectangle((x - s / 2, y - s / 2), s, s, fc=_tint(COLORS[r], 0.3),
                                   ec=COLORS[r], lw=1.4, zorder=2))
            _text(ax, (x, y - 0.72), f"{n}×{n}", fontsize=FONT)
        for i in range(len(seq) - 1):
            a = xs[i] + side(seq[i]) / 2 + 0.05
            b = xs[i + 1] - side(seq[i + 1]) / 2 - 0.05
            _arrow(ax, (a, y), (b, y), color=colors[i], head=11)
            _text(ax, ((xs[i] + xs[i + 1]) / 2, y + 0.62), labels[i], fontsize=8.8,
                  color=colors[i], va="bottom")

    k = f"{kernel}×{kernel}"
    pool_labels = [f"conv {k}, s=1\n+ max-pool {stride}"] * steps + \
                  [f"upsample ×{stride}\n+ conv {k}"] * steps
    stride_labels = [f"conv {k}\nstride {stride}"] * steps + \
                    [f"transposed\nconv, stride {stride}"] * steps
    colors = [COLORS["enc"]] * steps + [COLORS["dec"]] * steps
    draw_row(4.45, pooled + ups[1:], pool_labels, "pooling + upsampling (the notes' design)",
             colors)
    draw_row(1.75, down + up[1:], stride_labels, "strided + transposed convolution", colors)
    _text(ax, (width / 2, 0.55),
          f"pooling computes {stride * stride}× the positions and keeps 1 in {stride * stride}"
          f"; a stride-{stride} convolution computes only the positions it keeps",
          fontsize=SMALL, color="#444444")
    pad = "same" if padding == "same" else "valid"
    _text(ax, (width / 2, 0.2), f"sizes from Keras's formulas, padding='{pad}': "
          f"out = {'⌈n / s⌉' if pad == 'same' else '⌊(n − k) / s⌋ + 1'} down, "
          f"{'n·s' if pad == 'same' else '(n − 1)·s + k'} up", fontsize=8.8, color="#555555")
    return fig


# ----------------------------------------------------------------- 06 denoising
def denoising_pipeline(ax: Axes | None = None) -> Figure:
    """Training: clean x → corrupt → encoder → decoder → compare with clean x; inference: no noise.

    Lesson 06. The corruption step exists only during training, and the loss compares
    the output with the *clean* input.
    """
    fig, ax = _canvas(ax, 10.6, 5.0)
    y1, y2 = 3.05, 0.95
    _text(ax, (0.15, 4.7), "training", fontsize=TITLE, weight="bold", ha="left")
    _box(ax, (0.8, y1), 1.05, 0.75, "clean $x$", "data")
    _box(ax, (2.55, y1), 1.6, 0.85, "corrupt\n$\\tilde{x} \\sim q(\\tilde{x} \\mid x)$",
         "noise", fontsize=10.5)
    _text(ax, (2.55, y1 - 0.65), "training only", fontsize=SMALL, color=COLORS["noise"],
          weight="bold")
    _box(ax, (4.3, y1), 0.95, 0.75, "noisy $\\tilde{x}$", "noise", fill=0.08)
    _box(ax, (5.75, y1), 1.05, 0.75, "encoder $f$", "enc")
    _box(ax, (7.2, y1), 1.05, 0.75, "decoder $g$", "dec")
    _box(ax, (8.55, y1), 0.75, 0.75, "$\\hat{x}$", "data")
    _box(ax, (9.85, y1), 1.2, 0.95, "loss\n$L(x, \\hat{x})$", "loss")
    for a, b in ((1.33, 1.75), (3.35, 3.82), (4.78, 5.22), (6.28, 6.67), (7.73, 8.17),
                 (8.93, 9.25)):
        _arrow(ax, (a, y1), (b, y1))
    # the clean target goes around, over the top, to the loss
    ax.plot([0.8, 0.8, 9.85], [y1 + 0.38, 4.25, 4.25], color=COLORS["data"], lw=1.5,
            ls="--", zorder=2)
    _arrow(ax, (9.85, 4.25), (9.85, y1 + 0.48), color=COLORS["data"], ls="--")
    _text(ax, (5.3, 4.45), "target: the clean $x$, not the noisy $\\tilde{x}$",
          fontsize=SMALL, color="#333333")
    ax.plot([0.15, 10.45], [2.0, 2.0], color="#CCCCCC", lw=1)
    _text(ax, (0.15, 1.75), "inference", fontsize=TITLE, weight="bold", ha="left")
    _box(ax, (1.45, y2), 2.0, 0.75, "a noisy image\nfrom the world", "noise", fill=0.08,
         fontsize=10)
    _text(ax, (3.55, y2 + 0.55), "no noise added", fontsize=SMALL, color=COLORS["noise"],
          weight="bold")
    _box(ax, (5.75, y2), 1.05, 0.75, "encoder $f$", "enc")
    _box(ax, (7.2, y2), 1.05, 0.75, "decoder $g$", "dec")
    _box(ax, (8.9, y2), 1.45, 0.75, "clean estimate\n$\\hat{x}$", "data", fontsize=10)
    for a, b in ((2.45, 5.22), (6.28, 6.67), (7.73, 8.17)):
        _arrow(ax, (a, y2), (b, y2))
    return fig


# ----------------------------------------------------------- 07 PCA against an AE
def pca_vs_autoencoder(ax: Axes | None = None, n_points: int = 40, seed: int = 0) -> Figure:
    """PCA projects onto a line (a linear subspace); an autoencoder onto a curve (lesson 07).

    The same points, scattered around a curved arc, are reconstructed by an orthogonal
    projection onto the best line (left) and by the nearest point of a curved manifold
    (right). The short segments are the reconstruction errors.
    """
    n_points = _check_int("n_points", n_points, 5, 500)
    fig, ax = _canvas(ax, 10.0, 4.6)
    rng = np.random.default_rng(seed)
    t = np.sort(rng.uniform(-1, 1, n_points))
    curve = lambda s: np.stack([1.9 * s, 1.6 * (1 - s ** 2) - 0.6], axis=-1)  # noqa: E731
    pts = curve(t) + rng.normal(0, 0.12, (n_points, 2))
    panels = [(2.6, "PCA: linear subspace", "projection onto the best line"),
              (7.4, "autoencoder: nonlinear manifold", "nearest point of a learned curve")]
    mean = pts.mean(axis=0)
    u, _, vt = np.linalg.svd(pts - mean, full_matrices=False)
    direction = vt[0]
    dense = curve(np.linspace(-1.08, 1.08, 400))
    for cx, title, note in panels:
        off = np.array([cx, 2.2])
        if cx < 5:
            proj = mean + np.outer((pts - mean) @ direction, direction)
            along = (pts - mean) @ direction
            ends = mean + np.outer([along.min() - 0.15, along.max() + 0.15], direction)
            ax.plot(*(ends + off).T, color=COLORS["enc"], lw=2.2, zorder=2)
            rec = proj
        else:
            ax.plot(*(dense + off).T, color=COLORS["code"], lw=2.2, zorder=2)
            idx = np.argmin(((pts[:, None, :] - dense[None]) ** 2).sum(-1), axis=1)
            rec = dense[idx]
        for p, r in zip(pts, rec, strict=True):
            ax.plot([p[0] + off[0], r[0] + off[0]], [p[1] + off[1], r[1] + off[1]],
                    color=COLORS["loss"], lw=0.9, zorder=1)
        ax.scatter(*(pts + off).T, s=16, color="#333333", zorder=3)
        err = float(((pts - rec) ** 2).sum(axis=1).mean())
        _text(ax, (cx, 4.35), title, fontsize=TITLE, weight="bold")
        _text(ax, (cx, 0.62), note, fontsize=SMALL)
        _text(ax, (cx, 0.25), f"mean squared error {err:.3f}", fontsize=SMALL,
              color=COLORS["loss"])
    ax.plot([5.0, 5.0], [0.4, 4.4], color="#DDDDDD", lw=1)
    return fig


# --------------------------------------------------------------------- 08 the VAE
def vae_graph(ax: Axes | None = None) -> Figure:
    """The VAE's computation graph and the reparameterisation path (lesson 08).

    x → encoder → μ, log σ² → z = μ + σ ⊙ ε → decoder → x̂, with ε ~ N(0, I) as a side
    input. Red dashed arrows show where the gradient flows back; ε receives none (it is
    a constant input), which is what makes sampling differentiable.
    """
    fig, ax = _canvas(ax, 11.0, 5.6)
    y = 2.9
    ax.add_patch(FancyBboxPatch((3.6, 0.95), 3.45, 3.0,
                                boxstyle="round,pad=0,rounding_size=0.15",
                                fc=_tint(COLORS["noise"], 0.06), ec=COLORS["noise"], lw=1.2,
                                ls="--", zorder=0))
    _text(ax, (6.35, 3.62), "reparameterisation\ntrick", fontsize=SMALL, weight="bold",
          color=COLORS["noise"])
    _box(ax, (0.6, y), 0.8, 0.75, "$x$", "data", fontsize=TITLE)
    _box(ax, (2.25, y), 1.5, 0.9, "encoder\n$q_\\phi(z \\mid x)$", "enc", fontsize=10.5)
    _box(ax, (4.3, y + 0.6), 0.9, 0.6, "$\\mu$", "enc", fontsize=TITLE)
    _box(ax, (4.3, y - 0.6), 0.9, 0.6, "$\\log\\sigma^2$", "enc", fontsize=10.5)
    _box(ax, (6.15, y), 1.3, 0.75, "$z = \\mu + \\sigma \\odot \\varepsilon$", "code",
         fontsize=10.5)
    _box(ax, (5.95, 1.45), 1.3, 0.62, "$\\varepsilon \\sim \\mathcal{N}(0, I)$", "noise",
         fontsize=10.5)
    _box(ax, (8.15, y), 1.5, 0.9, "decoder\n$p_\\theta(x \\mid z)$", "dec", fontsize=10.5)
    _box(ax, (10.1, y), 1.3, 0.75, "$\\hat{x}$ (pixel\nprobabilities)", "data", fontsize=9.5)
    _box(ax, (4.3, 4.75), 1.85, 0.62, "KL$(q_\\phi(z \\mid x) \\,\\|\\, p(z))$", "loss",
         fontsize=10)
    _box(ax, (10.1, 4.75), 1.5, 0.62, "recon $-\\log p_\\theta(x \\mid z)$", "loss",
         fontsize=9.5)
    _text(ax, (7.2, 4.75), "loss $= -$ELBO $=$ recon $+$ KL", fontsize=FONT,
          color=COLORS["loss"], weight="bold")
    # forward arrows
    _arrow(ax, (1.0, y), (1.5, y))
    _arrow(ax, (3.0, y + 0.15), (3.85, y + 0.6))
    _arrow(ax, (3.0, y - 0.15), (3.85, y - 0.6))
    _arrow(ax, (4.75, y + 0.6), (5.5, y + 0.15))
    _arrow(ax, (4.75, y - 0.6), (5.5, y - 0.15))
    _arrow(ax, (5.95, 1.76), (5.95, y - 0.375), color=COLORS["noise"])
    _arrow(ax, (6.8, y), (7.4, y))
    _arrow(ax, (8.9, y), (9.45, y))
    _arrow(ax, (4.3, y + 0.9), (4.3, 4.44), color="#555555")
    _arrow(ax, (10.1, y + 0.375), (10.1, 4.44), color="#555555")
    # gradient flow: back along the deterministic path, never into ε
    g = dict(color=COLORS["loss"], ls="--", lw=1.3, head=10)
    _arrow(ax, (9.45, y - 0.65), (8.9, y - 0.65), **g)
    _arrow(ax, (7.4, y - 0.65), (6.8, y - 0.65), **g)
    _arrow(ax, (5.55, y + 0.5), (4.8, y + 0.95), **g)
    _arrow(ax, (5.55, y - 0.5), (4.8, y - 0.95), **g)
    _arrow(ax, (3.8, y + 0.95), (3.0, y + 0.6), **g)
    _arrow(ax, (3.8, y - 0.95), (3.0, y - 0.6), **g)
    _text(ax, (8.15, y - 0.95), "gradient flows back", fontsize=SMALL, color=COLORS["loss"])
    _text(ax, (2.25, y - 1.0), "…into the encoder", fontsize=SMALL, color=COLORS["loss"])
    _arrow(ax, (6.5, y - 0.42), (6.5, 1.8), **g)
    _text(ax, (6.5, 2.13), "✗", fontsize=15, color=COLORS["loss"], weight="bold",
          bbox=dict(fc="white", ec="none", pad=0.5))
    _text(ax, (7.25, 1.3), "no gradient into $\\varepsilon$:\na constant input",
          fontsize=SMALL, color=COLORS["loss"], ha="left")
    # legend
    _arrow(ax, (0.2, 0.35), (0.75, 0.35), head=10)
    _text(ax, (0.85, 0.35), "forward pass", fontsize=SMALL, ha="left")
    _arrow(ax, (2.4, 0.35), (2.95, 0.35), **g)
    _text(ax, (3.05, 0.35), "gradient (backpropagation)", fontsize=SMALL, ha="left",
          color=COLORS["loss"])
    return fig


# ----------------------------------------------------------- 09 anomaly detection
def anomaly_detection(threshold: float = 0.6, ax: Axes | None = None) -> Figure:
    """Score by reconstruction error; flag inputs whose score exceeds a threshold (lesson 09).

    ``threshold`` is the position of τ on the schematic score axis, in (0, 1); it is
    chosen from normal validation data only (a percentile of their scores).
    """
    if not isinstance(threshold, (int, float)) or not 0.05 <= threshold <= 0.95:
        raise ValueError(f"threshold: expected a number between 0.05 and 0.95, got "
                         f"{threshold!r}")
    fig, ax = _canvas(ax, 10.8, 4.8)
    rows = [(3.55, "normal input\n(a digit)", "small error", COLORS["enc"]),
            (1.65, "anomalous input\n(a garment)", "large error", COLORS["loss"])]
    _box(ax, (3.15, 2.6), 1.6, 2.9, "", "enc", fill=0.06)
    _text(ax, (3.15, 4.12), "autoencoder, trained\non normal data only", fontsize=SMALL,
          color=COLORS["enc"], va="bottom", weight="bold")
    for y, label, err, col in rows:
        _box(ax, (1.0, y), 1.5, 0.8, label, "data", fontsize=9.5)
        _box(ax, (3.15, y - 0.2), 1.25, 0.55, "$\\hat{x} = g(f(x))$", "dec", fontsize=10)
        _arrow(ax, (1.75, y - 0.1), (2.52, y - 0.2))
        _box(ax, (5.35, y), 1.85, 0.8, "score\n$s(x) = \\|x - \\hat{x}\\|^2$", "loss",
             fontsize=9.5)
        _arrow(ax, (3.78, y - 0.2), (4.42, y - 0.05))
        _text(ax, (5.35, y - 0.6), err, fontsize=SMALL, color=col)
    # schematic score axis with the two groups and the threshold
    x0, x1, yb = 7.0, 10.5, 1.2
    ax.plot([x0, x1], [yb, yb], color="#333333", lw=1.2)
    _arrow(ax, (x1 - 0.05, yb), (x1 + 0.1, yb), color="#333333", head=10)
    _text(ax, ((x0 + x1) / 2, yb - 0.3), "score $s(x)$ →", fontsize=SMALL)
    s = np.linspace(0, 1, 200)
    for mu, col, lab in ((0.25, COLORS["enc"], "normal"), (0.78, COLORS["loss"],
                                                           "anomalous")):
        dens = np.exp(-0.5 * ((s - mu) / 0.09) ** 2)
        xs = x0 + s * (x1 - x0)
        ax.fill_between(xs, yb, yb + 1.9 * dens, color=_tint(col, 0.35), zorder=1)
        ax.plot(xs, yb + 1.9 * dens, color=col, lw=1.3, zorder=2)
        _text(ax, (x0 + mu * (x1 - x0), yb + 2.15), lab, fontsize=SMALL, color=col)
    xt = x0 + threshold * (x1 - x0)
    ax.plot([xt, xt], [yb, yb + 2.55], color="#222222", lw=1.4, ls="--", zorder=3)
    _text(ax, (xt, yb + 2.8), "threshold $\\tau$", fontsize=SMALL, weight="bold")
    _text(ax, ((x0 + x1) / 2, 0.4), "flag as anomalous if $s(x) > \\tau$;\n"
          "$\\tau$ from normal validation data", fontsize=SMALL)
    return fig


# ----------------------------------------------------------- 10 semantic hashing
def semantic_hashing(bits: str = "0110", radius: int = 1, ax: Axes | None = None) -> Figure:
    """image → encoder → bits → bucket of a hash table → Hamming ball of radius r (lesson 10).

    ``bits`` is the query's code (2 to 5 bits, so that every bucket can be drawn);
    the buckets at Hamming distance 1 and 2 are drawn on two rings, and those within
    ``radius`` (0, 1 or 2) are highlighted: they are the buckets a lookup probes.
    """
    if not isinstance(bits, str) or not re.fullmatch(r"[01]{2,5}", bits):
        raise ValueError(f"bits: expected a string of 2 to 5 characters '0'/'1', got {bits!r}")
    radius = _check_int("radius", radius, 0, 2)
    b = len(bits)
    fig, ax = _canvas(ax, 11.0, 5.6)
    y = 2.8
    _box(ax, (0.7, y), 1.0, 1.0, "image", "data")
    _box(ax, (2.2, y), 1.15, 0.75, "encoder", "enc")
    _arrow(ax, (1.2, y), (1.62, y))
    _arrow(ax, (2.78, y), (3.25, y))
    cell = 0.36
    x_bits = 3.35
    for i, ch in enumerate(bits):
        _box(ax, (x_bits + cell / 2 + i * cell, y), cell, 0.5, ch, "code", fontsize=FONT,
             weight="bold", fill=0.35 if ch == "1" else 0.08)
    _text(ax, (x_bits + b * cell / 2, y + 0.52), f"{b}-bit code", fontsize=SMALL,
          color=COLORS["code"])
    _text(ax, (x_bits + b * cell / 2, y - 0.55), "noise before the\nsigmoid, then round",
          fontsize=8.5, color="#555555", va="top")
    x_end = x_bits + b * cell
    # the hash table: the query's bucket
    _arrow(ax, (x_end + 0.08, y), (x_end + 0.55, y))
    _text(ax, (x_end + 0.3, y + 0.25), "lookup", fontsize=8.5)
    # the Hamming ball, drawn as rings of buckets around the query's bucket
    cx, cy = 8.3, 2.75
    r1, r2 = 1.05, 2.2
    for r, dist in ((r1, 1), (r2, 2)):
        inside = dist <= radius
        ax.add_patch(Circle((cx, cy), r, fc="none", ec=COLORS["code"] if inside else "#CCCCCC",
                            lw=1.0, ls="-" if inside else ":", zorder=1))
    if radius > 0:
        ax.add_patch(Circle((cx, cy), (r1 if radius == 1 else r2) + 0.32,
                            fc=_tint(COLORS["code"], 0.07), ec=COLORS["code"], lw=1.6,
                            zorder=0))
    _text(ax, (cx, cy + r2 + 0.45), f"Hamming ball of radius r = {radius}", fontsize=FONT,
          weight="bold", color=COLORS["code"])

    def flip(code: str, idx: Sequence[int]) -> str:
        return "".join(("1" if c == "0" else "0") if i in idx else c
                       for i, c in enumerate(code))

    node_w, node_h = 0.62, 0.34
    fs = 9 if b <= 4 else 8
    _box(ax, (cx, cy), node_w + 0.1, node_h + 0.05, bits, "code", fontsize=fs, weight="bold",
         fill=0.45)
    shells = {1: [flip(bits, (i,)) for i in range(b)],
              2: [flip(bits, c) for c in combinations(range(b), 2)]}
    for dist, rad in ((1, r1), (2, r2)):
        codes = shells[dist]
        for j, code in enumerate(codes):
            ang = np.pi / 2 + 2 * np.pi * (j + (0.5 if dist == 2 else 0)) / len(codes)
            inside = dist <= radius
            _box(ax, (cx + rad * np.cos(ang), cy + rad * np.sin(ang)), node_w, node_h, code,
                 "code" if inside else "grey", fontsize=fs, fill=0.25 if inside else 0.05)
    probes = sum(math.comb(b, i) for i in range(radius + 1))
    _text(ax, (0.2, 0.95), "each box is a bucket of the hash table\n(code → list of image "
          "ids); similar images share or\nneighbour buckets", fontsize=SMALL, ha="left",
          va="top")
    _text(ax, (0.2, 4.95), "probes: " + " + ".join(str(math.comb(b, i))
                                                     for i in range(radius + 1))
          + f" = {probes} buckets,\nwhatever the size of the database", fontsize=SMALL,
          ha="left", va="top", color=COLORS["code"])
    _text(ax, (0.2, 4.25), "inner ring: buckets 1 bit away\nouter ring: buckets 2 bits away",
          fontsize=SMALL, ha="left", va="top", color="#555555")
    return fig


# ------------------------------------------------- 11 pre-training and fine-tuning
def pretraining_finetuning(ax: Axes | None = None) -> Figure:
    """Pre-train an autoencoder without labels, then reuse its encoder with a head (lesson 11).

    Row 1: unsupervised pre-training on all images. Rows 2-3: the decoder is set aside,
    a classifier head reads the code and is trained on few labels, with the encoder
    frozen (only the head learns) or fine-tuned (the encoder learns too, slowly).
    """
    fig, ax = _canvas(ax, 10.6, 5.6)
    rows = [(4.55, "1. pre-train on all images, no labels"),
            (2.75, "2a. frozen encoder"),
            (0.95, "2b. fine-tuned encoder")]
    for y, title in rows:
        _text(ax, (0.15, y + 0.72), title, fontsize=FONT, weight="bold", ha="left")
    y = rows[0][0]
    _box(ax, (0.75, y), 0.9, 0.7, "$x$", "data", fontsize=TITLE)
    _box(ax, (2.45, y), 1.5, 0.75, "encoder $f_\\theta$", "enc")
    _box(ax, (4.05, y), 0.9, 0.7, "code $z$", "code", fontsize=10)
    _box(ax, (5.65, y), 1.5, 0.75, "decoder $g_\\psi$", "dec")
    _box(ax, (7.35, y), 0.9, 0.7, "$\\hat{x}$", "data", fontsize=TITLE)
    _box(ax, (9.2, y), 1.9, 0.7, "reconstruction\nloss", "loss", fontsize=10)
    for a, b in ((1.2, 1.7), (3.2, 3.6), (4.5, 4.9), (6.4, 6.9), (7.8, 8.25)):
        _arrow(ax, (a, y), (b, y))
    for y, frozen in ((rows[1][0], True), (rows[2][0], False)):
        _box(ax, (0.75, y), 0.9, 0.7, "$x$", "data", fontsize=TITLE)
        if frozen:
            _box(ax, (2.45, y), 1.5, 0.75, "encoder $f_\\theta$\nfrozen", "grey", fontsize=10,
                 hatch="//", fill=0.1)
            note = "only the head learns\n(the encoder's weights are fixed)"
        else:
            _box(ax, (2.45, y), 1.5, 0.75, "encoder $f_\\theta$\nfine-tuned", "enc",
                 fontsize=10, fill=0.3)
            note = "head and encoder learn\n(small learning rate)"
        _box(ax, (4.05, y), 0.9, 0.7, "code $z$", "code", fontsize=10)
        _box(ax, (5.65, y), 1.5, 0.75, "classifier head\n(softmax)", "head", fontsize=10)
        _box(ax, (7.35, y), 0.9, 0.7, "label $y$", "data", fontsize=10)
        _box(ax, (9.2, y), 1.9, 0.7, "cross-entropy\non few labels", "loss", fontsize=10)
        for a, b in ((1.2, 1.7), (3.2, 3.6), (4.5, 4.9), (6.4, 6.9), (7.8, 8.25)):
            _arrow(ax, (a, y), (b, y))
        _text(ax, (5.65, y - 0.62), note, fontsize=8.8, color="#444444", va="top")
        xa = 2.75 if frozen else 3.05
        _arrow(ax, (xa, rows[0][0] - 0.375), (xa, y + 0.375), color=COLORS["enc"], ls="--",
               head=10, zorder=1)
    _text(ax, (3.2, 3.62), "reuse the pre-trained encoder", fontsize=8.8,
          color=COLORS["enc"], ha="left")
    _text(ax, (5.65, 4.0), "decoder set aside", fontsize=8.8, color=COLORS["dec"])
    return fig


# ------------------------------------------------------------ 12 U-Net skip
def unet_vs_bottleneck(input_size: int = 28, code_size: int = 64,
                       ax: Axes | None = None) -> Figure:
    """A plain bottleneck against a U-Net-style skip connection (lesson 12).

    Both networks halve the side twice (``input_size`` → /2 → /4), squeeze through a
    dense code of ``code_size`` numbers and grow back. The U-Net also concatenates the
    encoder's half-resolution map to the decoder's, so detail bypasses the bottleneck.
    """
    input_size = _check_int("input_size", input_size, 4)
    code_size = _check_int("code_size", code_size, 1)
    s1 = conv_output_size(input_size, 3, 2)
    s2 = conv_output_size(s1, 3, 2)
    fig, ax = _canvas(ax, 11.0, 5.0)
    for x0, title, skip in ((0.2, "plain bottleneck", False),
                            (5.7, "U-Net-style skip connection", True)):
        _text(ax, (x0 + 2.55, 4.7), title, fontsize=TITLE, weight="bold")
        levels = [(4.0, input_size), (2.85, s1), (1.7, s2)]
        xs_enc = [x0 + 0.55, x0 + 1.25, x0 + 1.95]
        xs_dec = [x0 + 4.55, x0 + 3.85, x0 + 3.15]
        for (y, n), xe, xd in zip(levels, xs_enc, xs_dec, strict=True):
            h = 0.25 + 0.55 * n / input_size
            ax.add_patch(Rectangle((xe - 0.17, y - h / 2), 0.34, h,
                                   fc=_tint(COLORS["enc"], 0.35), ec=COLORS["enc"], lw=1.3))
            ax.add_patch(Rectangle((xd - 0.17, y - h / 2), 0.34, h,
                                   fc=_tint(COLORS["dec"], 0.35), ec=COLORS["dec"], lw=1.3))
            _text(ax, (xe - 0.25, y), f"{n}×{n}", fontsize=9, ha="right")
            _text(ax, (xd + 0.25, y), f"{n}×{n}", fontsize=9, ha="left")
        for i in range(2):
            _arrow(ax, (xs_enc[i] + 0.05, levels[i][0] - 0.35),
                   (xs_enc[i + 1] - 0.05, levels[i + 1][0] + 0.3), color=COLORS["enc"],
                   head=10)
            _arrow(ax, (xs_dec[i + 1] + 0.05, levels[i + 1][0] + 0.3),
                   (xs_dec[i] - 0.05, levels[i][0] - 0.35), color=COLORS["dec"], head=10)
        _box(ax, (x0 + 2.55, 0.8), 0.9, 0.5, str(code_size), "code", fontsize=FONT,
             weight="bold", fill=0.4)
        _text(ax, (x0 + 2.55, 0.3), f"dense bottleneck: {code_size} numbers", fontsize=SMALL,
              color=COLORS["code"])
        _arrow(ax, (xs_enc[2], 1.4), (x0 + 2.1, 0.85), color=COLORS["enc"], head=10)
        _arrow(ax, (x0 + 3.0, 0.85), (xs_dec[2], 1.4), color=COLORS["dec"], head=10)
        _text(ax, (xs_enc[0] - 0.25, 3.72), "input", fontsize=8.8, ha="right",
              color="#555555")
        _text(ax, (xs_dec[0] + 0.25, 3.72), "output", fontsize=8.8, ha="left",
              color="#555555")
        if skip:
            _arrow(ax, (xs_enc[1] + 0.2, 2.85), (xs_dec[1] - 0.2, 2.85), color=COLORS["code"],
                   lw=2.2, head=14)
            _text(ax, (x0 + 2.55, 3.12), "skip: concatenate", fontsize=SMALL,
                  color=COLORS["code"], weight="bold")
            _text(ax, (x0 + 2.55, 2.25), "detail bypasses\nthe bottleneck", fontsize=8.8,
                  color=COLORS["code"])
        else:
            _text(ax, (x0 + 2.55, 2.6), "everything must\npass the code", fontsize=8.8,
                  color="#444444")
    ax.plot([5.5, 5.5], [0.2, 4.9], color="#DDDDDD", lw=1)
    return fig


# -------------------------------------------------------------- 13 seq2seq decoding
def teacher_forcing(word: str = "seven", ax: Axes | None = None) -> Figure:
    """An encoder-decoder trained with teacher forcing and run with greedy decoding (lesson 13).

    Top: in training the decoder is fed the *true* previous character at every step.
    Bottom: at inference it is fed its *own* previous prediction, starting from the
    start symbol ``<``; the end symbol is ``>``.
    """
    if not isinstance(word, str) or not re.fullmatch(r"[a-z\-]{1,9}", word):
        raise ValueError(f"word: expected 1 to 9 lower-case letters or '-', got {word!r}")
    steps = len(word) + 1
    inputs_true = ["<"] + list(word)
    outputs = list(word) + [">"]
    cell_gap = 1.0
    x_first = 3.55
    width = max(8.5, x_first + cell_gap * (steps - 1) + 0.7)
    fig, ax = _canvas(ax, width, 6.2)
    for y, title, feed in ((4.25, "training: teacher forcing", "true"),
                           (1.35, "inference: greedy decoding", "own")):
        _text(ax, (0.15, y + 1.6), title, fontsize=TITLE, weight="bold", ha="left")
        _box(ax, (0.65, y), 0.9, 0.8, "image", "data", fontsize=10)
        _box(ax, (1.85, y), 0.95, 0.65, "encoder", "enc", fontsize=10)
        _box(ax, (2.75, y + 0.75), 0.5, 0.42, "$c$", "code", fontsize=FONT, fill=0.35)
        _text(ax, (2.75, y + 1.13), "context", fontsize=8, color=COLORS["code"])
        _arrow(ax, (1.1, y), (1.37, y))
        _arrow(ax, (2.32, y + 0.2), (2.5, y + 0.6), head=10)
        xs = [x_first + cell_gap * t for t in range(steps)]
        for t, x in enumerate(xs):
            _box(ax, (x, y), 0.6, 0.5, "GRU", "dec", fontsize=8.5)
            if t == 0:
                _arrow(ax, (3.0, y + 0.7), (x - 0.3, y + 0.1), head=9, color=COLORS["code"])
            else:
                _arrow(ax, (xs[t - 1] + 0.3, y), (x - 0.3, y), head=9)
            _text(ax, (x, y + 1.0), outputs[t], fontsize=FONT, weight="bold",
                  color=COLORS["dec"])
            _arrow(ax, (x, y + 0.25), (x, y + 0.8), head=9, color=COLORS["dec"])
            _arrow(ax, (x, y - 0.78), (x, y - 0.25), head=9)
            if feed == "true":
                _text(ax, (x, y - 0.95), inputs_true[t], fontsize=FONT,
                      color=COLORS["enc"], weight="bold")
            else:
                lab = "<" if t == 0 else outputs[t - 1]
                _text(ax, (x, y - 0.95), lab, fontsize=FONT, weight="bold",
                      color=COLORS["loss"] if t else "#333333")
                if t > 0:
                    _arrow(ax, (xs[t - 1] + 0.15, y + 0.9), (x - 0.17, y - 0.85),
                           color=COLORS["loss"], ls=":", head=8, lw=1.2)
        if feed == "true":
            note = "fed the true previous\ncharacter: all steps in\none parallel pass"
        else:
            note = "fed its own previous\nprediction, one step\nat a time"
        _text(ax, (0.15, y - 0.6), note, fontsize=SMALL, ha="left", va="top",
              color=COLORS["enc"] if feed == "true" else COLORS["loss"])
    return fig


LESSON_DIAGRAMS = {
    "01": maximum_likelihood,
    "02": manifold,
    "03": hourglass,
    "04": greedy_pretraining,
    "05": conv_resampling,
    "06": denoising_pipeline,
    "07": pca_vs_autoencoder,
    "08": vae_graph,
    "09": anomaly_detection,
    "10": semantic_hashing,
    "11": pretraining_finetuning,
    "12": unet_vs_bottleneck,
    "13": teacher_forcing,
}
"""The diagram that introduces each lesson's central idea, by lesson number."""
