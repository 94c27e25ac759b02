"""Figures shared by the notebooks.

Every function takes arrays (and an optional ``ax`` or ``figsize``), returns the
:class:`matplotlib.figure.Figure`, and never calls ``plt.show()``. In a notebook,
assign the result (``fig = show_images(...)``) so the figure is drawn once.
Wrong shapes raise :class:`ValueError` saying what was expected.
"""

from __future__ import annotations

import textwrap
from collections.abc import Callable, Mapping, Sequence

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator

COURSE_STYLE = {
    "figure.dpi": 72,
    "savefig.dpi": 72,
    "figure.figsize": (6.0, 4.0),
    "axes.grid": False,
    "image.cmap": "gray",
}


def use_course_style() -> None:
    """Apply the course's matplotlib settings (a modest dpi keeps notebooks small)."""
    plt.rcParams.update(COURSE_STYLE)


def _as_images(images, name: str = "images") -> np.ndarray:
    """Coerce (N, H*W), (N, H, W), (N, H, W, 1) or (N, H, W, 3) to displayable images."""
    arr = np.asarray(images)
    if arr.ndim == 2:
        side = int(round(np.sqrt(arr.shape[1])))
        if side * side != arr.shape[1]:
            raise ValueError(f"{name}: flat images must have a square number of pixels, "
                             f"got shape {arr.shape}; pass (N, H, W) instead")
        return arr.reshape(len(arr), side, side)
    if arr.ndim == 3:
        return arr
    if arr.ndim == 4 and arr.shape[-1] == 1:
        return arr[..., 0]
    if arr.ndim == 4 and arr.shape[-1] == 3:
        return arr
    raise ValueError(f"{name}: expected (N, H*W), (N, H, W), (N, H, W, 1) or (N, H, W, 3), "
                     f"got shape {arr.shape}")


def _new_ax(ax: Axes | None, figsize=None) -> tuple[Figure, Axes]:
    if ax is None:
        fig, ax = plt.subplots(figsize=figsize)
        return fig, ax
    return ax.figure, ax


def _wrap(label: str, width: int) -> str:
    """Break a label into lines of at most ``width`` characters (long words stay whole)."""
    return "\n".join(textwrap.wrap(str(label), width, break_long_words=False)) or str(label)


def _show(ax: Axes, image: np.ndarray, vmin=0.0, vmax=1.0, cmap="gray") -> None:
    if image.ndim == 3:
        ax.imshow(np.clip(image, 0, 1) if image.dtype.kind == "f" else image)
    else:
        ax.imshow(image, cmap=cmap, vmin=vmin, vmax=vmax if image.dtype.kind == "f" else 255)
    ax.set_xticks([])
    ax.set_yticks([])


def show_images(
    images,
    titles: Sequence[str] | None = None,
    ncols: int = 10,
    figsize: tuple[float, float] | None = None,
    suptitle: str | None = None,
    cmap: str = "gray",
    vmin: float = 0.0,
    vmax: float = 1.0,
) -> Figure:
    """A grid of images, with an optional title above each.

    ``images`` is (N, H, W), (N, H*W) with a square H*W, (N, H, W, 1) or RGB
    (N, H, W, 3). Float images are shown on [vmin, vmax], uint8 on [0, 255]. Long titles
    are wrapped to the width of their column, so they do not run into their neighbours.
    """
    imgs = _as_images(images)
    n = len(imgs)
    if n == 0:
        raise ValueError("images: got an empty array; pass at least one image")
    if titles is not None and len(titles) != n:
        raise ValueError(f"titles: expected {n} titles (one per image), got {len(titles)}")
    if ncols < 1:
        raise ValueError(f"ncols: expected a positive integer, got {ncols}")
    ncols = min(ncols, n)
    nrows = int(np.ceil(n / ncols))
    if figsize is None:
        figsize = (1.1 * ncols, 1.25 * nrows + (0.3 if suptitle else 0))
    # a title is wrapped to the width of its column (about 0.07 inch per character at 8 pt)
    title_chars = max(6, int(figsize[0] / ncols / 0.07))
    fig, axes = plt.subplots(nrows, ncols, figsize=figsize, squeeze=False)
    for i, ax in enumerate(axes.flat):
        if i < n:
            _show(ax, imgs[i], vmin, vmax, cmap)
            if titles is not None:
                ax.set_title(_wrap(titles[i], title_chars), fontsize=8)
        else:
            ax.axis("off")
    if suptitle:
        fig.suptitle(suptitle)
    fig.tight_layout()
    return fig


def show_reconstructions(
    original,
    reconstructed,
    noisy=None,
    n: int | None = None,
    row_titles: Sequence[str] | None = None,
    figsize: tuple[float, float] | None = None,
) -> Figure:
    """Rows of original / (noisy) / reconstructed images, ``n`` columns.

    All arrays must hold the same number of images of the same size. ``n`` defaults to the
    first 10 images (or all of them, if there are fewer); an explicit ``n`` larger than the
    number of images is an error. Each row's label (``row_titles``, wrapped at 16
    characters) sits left of the row in a margin added to the figure's width, so it
    neither overlaps the images nor shrinks them.
    """
    rows = [_as_images(original, "original")]
    names = ["original"]
    if noisy is not None:
        rows.append(_as_images(noisy, "noisy"))
        names.append("noisy input")
    rows.append(_as_images(reconstructed, "reconstructed"))
    names.append("reconstruction")
    if row_titles is not None:
        if len(row_titles) != len(rows):
            raise ValueError(f"row_titles: expected {len(rows)} titles, got {len(row_titles)}")
        names = list(row_titles)
    shape0 = rows[0].shape[1:]
    if n is None:
        n = min(10, len(rows[0]))
    for name, row in zip(names, rows, strict=True):
        if row.shape[1:] != shape0:
            raise ValueError(f"{name}: image shape {row.shape[1:]} does not match the "
                             f"original's {shape0}")
        if len(row) < n:
            raise ValueError(f"{name}: has {len(row)} images but n={n} columns were asked for")
    names = [_wrap(name, 16) for name in names]
    longest = max(len(line) for name in names for line in name.split("\n"))
    margin = 0.25 + 0.075 * longest  # inches for the labels (about 0.075 inch a character)
    if figsize is None:
        figsize = (1.1 * n + margin, 1.2 * len(rows))
    fig, axes = plt.subplots(len(rows), n, figsize=figsize, squeeze=False)
    for r, (name, row) in enumerate(zip(names, rows, strict=True)):
        for c in range(n):
            _show(axes[r, c], row[c])
        axes[r, 0].set_ylabel(name, rotation=0, ha="right", va="center", fontsize=9,
                              labelpad=6)
    fig.tight_layout()
    return fig


def plot_history(
    history,
    keys: Sequence[str] | None = None,
    ax: Axes | None = None,
    logy: bool = False,
    ylabel: str = "loss",
    title: str | None = None,
) -> Figure:
    """Training curves from a Keras ``History`` or a dict of per-epoch lists.

    ``keys`` picks the curves (default: all). Axes are labelled epoch / ``ylabel``, and the
    epoch axis has integer ticks. Epochs are numbered from 1, or, for a ``History`` from
    ``fit(..., initial_epoch=k)``, from k + 1, so a continued run plots where it belongs.
    """
    hist = getattr(history, "history", history)
    epochs_run = getattr(history, "epoch", None)
    first = int(epochs_run[0]) + 1 if epochs_run else 1
    if not isinstance(hist, Mapping) or not hist:
        raise ValueError("history: expected a keras History or a non-empty dict of lists, "
                         f"got {type(history).__name__}")
    keys = list(hist) if keys is None else list(keys)
    missing = [k for k in keys if k not in hist]
    if missing:
        raise ValueError(f"keys: {missing} not in the history; available: {sorted(hist)}")
    fig, ax = _new_ax(ax)
    for key in keys:
        values = np.asarray(hist[key], dtype=float)
        if values.ndim != 1:
            raise ValueError(f"history[{key!r}]: expected one value per epoch, got shape "
                             f"{values.shape}")
        ax.plot(np.arange(first, first + len(values)), values,
                marker="." if len(values) < 30 else None, label=key)
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax.set_xlabel("epoch")
    ax.set_ylabel(ylabel)
    if logy:
        ax.set_yscale("log")
    if title:
        ax.set_title(title)
    ax.legend()
    return fig


def plot_latent_scatter(
    codes,
    labels,
    class_names: Sequence[str] | None = None,
    ax: Axes | None = None,
    s: float = 3.0,
    title: str | None = None,
    xlabel: str = "$z_1$",
    ylabel: str = "$z_2$",
) -> Figure:
    """A 2-D scatter of codes, coloured by label, with a legend of class names."""
    codes = np.asarray(codes)
    labels = np.asarray(labels)
    if codes.ndim != 2 or codes.shape[1] != 2:
        raise ValueError(f"codes: expected shape (N, 2), got {codes.shape}")
    if labels.shape != (len(codes),):
        raise ValueError(f"labels: expected shape ({len(codes)},), got {labels.shape}")
    classes = np.unique(labels)
    if class_names is not None and len(class_names) <= int(classes.max()):
        raise ValueError(f"class_names: has {len(class_names)} names but labels go up to "
                         f"{int(classes.max())}")
    fig, ax = _new_ax(ax, figsize=(6, 5))
    cmap = plt.get_cmap("tab10" if len(classes) <= 10 else "tab20")
    for i, c in enumerate(classes):
        sel = labels == c
        name = class_names[int(c)] if class_names is not None else str(c)
        ax.scatter(codes[sel, 0], codes[sel, 1], s=s, color=cmap(i % cmap.N), label=name)
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    if title:
        ax.set_title(title)
    ax.legend(markerscale=4 / max(s, 0.1) * 2, fontsize=8, loc="best", framealpha=0.7)
    return fig


def tile_images(images: np.ndarray, nrows: int, ncols: int, gap: int = 0,
                fill: float = 1.0) -> np.ndarray:
    """One canvas of ``nrows`` x ``ncols`` images (N, H, W), row by row, ``gap`` pixels apart.

    Slots without an image and the gaps are ``fill``. Used by the latent-space figures.
    """
    images = np.asarray(images)
    if len(images) > nrows * ncols:
        raise ValueError(f"images: {len(images)} images do not fit {nrows} x {ncols} slots")
    h, w = images.shape[1:3]
    canvas = np.full((nrows * h, ncols * (w + gap) - gap), fill, dtype=np.float32)
    for k, img in enumerate(images):
        r, c = divmod(k, ncols)
        canvas[r * h:(r + 1) * h, c * (w + gap):c * (w + gap) + w] = img
    return canvas


def latent_grid(n: int = 15, quantiles: bool = True, limit: float = 2.0) -> np.ndarray:
    """1-D grid of ``n`` latent values: Normal quantiles (0.05..0.95) or linear in ±limit."""
    if n < 2:
        raise ValueError(f"n: need at least 2 grid points, got {n}")
    if quantiles:
        from scipy.stats import norm

        return norm.ppf(np.linspace(0.05, 0.95, n))
    return np.linspace(-limit, limit, n)


def plot_latent_manifold(
    decode: Callable[[np.ndarray], np.ndarray],
    n: int = 15,
    grid_x: np.ndarray | None = None,
    grid_y: np.ndarray | None = None,
    quantiles: bool = True,
    ax: Axes | None = None,
    title: str | None = None,
) -> Figure:
    """Decode a regular grid of 2-D codes and tile the images into one picture.

    ``decode`` maps an (M, 2) array of codes to M images, (M, H*W) or (M, H, W[, 1]),
    for example ``decoder.predict``. The grid defaults to Normal quantiles, the
    classic view of a VAE's latent space.
    """
    gx = latent_grid(n, quantiles) if grid_x is None else np.asarray(grid_x, dtype=float)
    gy = latent_grid(n, quantiles) if grid_y is None else np.asarray(grid_y, dtype=float)
    if gx.ndim != 1 or gy.ndim != 1:
        raise ValueError(f"grid_x, grid_y: expected 1-d arrays, got {gx.shape} and {gy.shape}")
    zz = np.array([[x, y] for y in gy[::-1] for x in gx], dtype=np.float32)
    imgs = _as_images(decode(zz), "decode(z)")
    if len(imgs) != len(zz):
        raise ValueError(f"decode: returned {len(imgs)} images for {len(zz)} codes")
    h, w = imgs.shape[1:3]
    fig, ax = _new_ax(ax, figsize=(6, 6))
    ax.imshow(tile_images(imgs, len(gy), len(gx)), cmap="gray", vmin=0, vmax=1)
    ax.set_xticks(np.arange(len(gx)) * w + w / 2, [f"{v:.1f}" for v in gx], fontsize=7)
    ax.set_yticks(np.arange(len(gy)) * h + h / 2, [f"{v:.1f}" for v in gy[::-1]], fontsize=7)
    ax.set_xlabel("$z_1$")
    ax.set_ylabel("$z_2$")
    if title:
        ax.set_title(title)
    return fig


def plot_error_histograms(
    errors_a,
    errors_b,
    labels: tuple[str, str] = ("normal", "anomalous"),
    threshold: float | None = None,
    bins: int = 60,
    ax: Axes | None = None,
    xlabel: str = "reconstruction error",
    log_x: bool = False,
) -> Figure:
    """Overlaid, density-normalised histograms of a score for two groups."""
    a = np.asarray(errors_a, dtype=float)
    b = np.asarray(errors_b, dtype=float)
    for name, arr in (("errors_a", a), ("errors_b", b)):
        if arr.ndim != 1 or arr.size == 0:
            raise ValueError(f"{name}: expected a non-empty 1-d array of per-sample scores, "
                             f"got shape {arr.shape}")
        if not np.all(np.isfinite(arr)):
            raise ValueError(f"{name}: contains NaN or infinite values")
    fig, ax = _new_ax(ax)
    lo, hi = min(a.min(), b.min()), max(a.max(), b.max())
    if log_x:
        lo = max(lo, 1e-12)
        edges = np.geomspace(lo, hi, bins + 1)
        ax.set_xscale("log")
    else:
        edges = np.linspace(lo, hi, bins + 1)
    ax.hist(a, bins=edges, alpha=0.6, density=True, label=labels[0])
    ax.hist(b, bins=edges, alpha=0.6, density=True, label=labels[1])
    if threshold is not None:
        ax.axvline(threshold, color="k", linestyle="--", label=f"threshold = {threshold:.4g}")
    ax.set_xlabel(xlabel)
    ax.set_ylabel("density")
    ax.legend()
    return fig


def plot_roc(y_true, scores, ax: Axes | None = None, label: str | None = None) -> Figure:
    """ROC curve of ``scores`` (higher = more anomalous / positive), with its AUC in the legend."""
    from sklearn.metrics import roc_auc_score, roc_curve

    y = np.asarray(y_true)
    s = np.asarray(scores, dtype=float)
    if y.ndim != 1 or s.shape != y.shape:
        raise ValueError(f"y_true and scores: expected two 1-d arrays of equal length, got "
                         f"{y.shape} and {s.shape}")
    if set(np.unique(y).tolist()) - {0, 1} or len(np.unique(y)) != 2:
        raise ValueError("y_true: expected binary labels with both classes (0 and 1) present")
    fpr, tpr, _ = roc_curve(y, s)
    auc = roc_auc_score(y, s)
    fig, ax = _new_ax(ax, figsize=(4.5, 4.5))
    ax.plot(fpr, tpr, label=f"{label + ': ' if label else ''}AUC = {auc:.4f}")
    if not any(line.get_label() == "chance" for line in ax.get_lines()):  # once per axes
        ax.plot([0, 1], [0, 1], color="grey", linestyle=":", label="chance")
    ax.set_xlabel("false positive rate")
    ax.set_ylabel("true positive rate")
    ax.set_xlim(0, 1)
    ax.set_ylim(0, 1.01)
    ax.legend(loc="lower right")
    return fig
