"""Loading MNIST and Fashion-MNIST from their IDX files, plus small array helpers.

The loaders return ``(x_train, y_train), (x_test, y_test)`` as ``uint8`` arrays,
shaped exactly like ``keras.datasets.mnist.load_data()``, so code written against
Keras's loader ports with a one-line change.

Where the files are looked for, in order (:func:`candidate_dirs`):

1. the folder named by the environment variable ``AE_DATA_DIR`` (CI sets it to
   ``../shared/data``), as ``$AE_DATA_DIR/<dataset>/<file>``; a relative path is
   taken relative to the repository root in a checkout (wherever the code runs
   from), and relative to the current folder when the package is installed;
2. the default folder (:func:`default_data_dir`): this repository's ``data/`` in a
   checkout (a clone, an editable install), otherwise a per-user cache folder
   (``~/.cache/ae-course/data`` on Linux, ``~/Library/Caches/ae-course/data`` on
   macOS, ``%LOCALAPPDATA%\\ae-course\\data`` on Windows), never the installed package;
3. a download from a public mirror (only when ``download=True``, the default) into
   ``$AE_DATA_DIR`` when it is set, otherwise into the default folder
   (:func:`download_dir`).

Every file is checked against the SHA-256 of its *decompressed* bytes before it is
used, and every problem raises :class:`DataError` with the file's path and a fix.
"""

from __future__ import annotations

import gzip
import hashlib
import os
import sys
import tempfile
import urllib.error
import urllib.request
import zlib
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path

import numpy as np

DATA_ENV_VAR = "AE_DATA_DIR"
"""Environment variable naming a folder that holds ``mnist/`` and ``fashion-mnist/``."""

CACHE_DIR_NAME = "ae-course"
"""The folder name used in the per-user cache folder when the package is installed."""


def _checkout_root(package_dir: Path) -> Path | None:
    """The repository root when ``package_dir`` sits in a checkout, else ``None``.

    An installed wheel sits in ``site-packages``, which has no ``pyproject.toml`` and
    no ``notebooks/`` beside it; a clone or an editable install has both.
    """
    root = package_dir.parent
    if (root / "pyproject.toml").is_file() and (root / "notebooks").is_dir():
        return root
    return None


REPO_ROOT: Path | None = _checkout_root(Path(__file__).resolve().parent)
"""The repository's root folder in a checkout (``None`` when the package is installed);
a relative ``AE_DATA_DIR`` is resolved against it."""

REPO_DATA_DIR: Path | None = None if REPO_ROOT is None else REPO_ROOT / "data"
"""The repository's own ``data/`` folder in a checkout (never committed, apart from its
README); ``None`` when the package is installed."""


def user_cache_dir() -> Path:
    """The per-user folder for the data when the package is installed (not a checkout)."""
    if sys.platform == "win32":
        base = Path(os.environ.get("LOCALAPPDATA") or Path.home() / "AppData" / "Local")
    elif sys.platform == "darwin":
        base = Path.home() / "Library" / "Caches"
    else:
        base = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
    return base / CACHE_DIR_NAME / "data"


def env_data_dir() -> Path | None:
    """The folder named by ``$AE_DATA_DIR``, resolved, or ``None`` when it is unset."""
    env = os.environ.get(DATA_ENV_VAR)
    if not env:
        return None
    root = Path(env).expanduser()
    if not root.is_absolute():
        base = REPO_ROOT if REPO_ROOT is not None else Path.cwd()
        root = Path(os.path.normpath(base / root))  # not the cwd in a checkout: notebooks/
    return root


def default_data_dir() -> Path:
    """The repository's ``data/`` in a checkout, otherwise :func:`user_cache_dir`."""
    return REPO_DATA_DIR if REPO_DATA_DIR is not None else user_cache_dir()


def download_dir() -> Path:
    """Where downloads go: ``$AE_DATA_DIR`` when it is set, else :func:`default_data_dir`."""
    return env_data_dir() or default_data_dir()


FILES = {
    "train_images": "train-images-idx3-ubyte",
    "train_labels": "train-labels-idx1-ubyte",
    "test_images": "t10k-images-idx3-ubyte",
    "test_labels": "t10k-labels-idx1-ubyte",
}

# SHA-256 of the decompressed IDX files (the values in shared/data/README.md).
CHECKSUMS: dict[str, dict[str, str]] = {
    "mnist": {
        "train-images-idx3-ubyte": "ba891046e6505d7aadcbbe25680a0738ad16aec93bde7f9b65e87a2fc25776db",  # noqa: E501
        "train-labels-idx1-ubyte": "65a50cbbf4e906d70832878ad85ccda5333a97f0f4c3dd2ef09a8a9eef7101c5",  # noqa: E501
        "t10k-images-idx3-ubyte": "0fa7898d509279e482958e8ce81c8e77db3f2f8254e26661ceb7762c4d494ce7",  # noqa: E501
        "t10k-labels-idx1-ubyte": "ff7bcfd416de33731a308c3f266cc351222c34898ecbeaf847f06e48f7ec33f2",  # noqa: E501
    },
    "fashion-mnist": {
        "train-images-idx3-ubyte": "c59f468a2f672dc815687fe0f83887768d799fd8a3f3276145d20f83aa44d888",  # noqa: E501
        "train-labels-idx1-ubyte": "bad3541b69d912435c50bb6ba87bec294ff4f6a2e1246121d8633921760443d9",  # noqa: E501
        "t10k-images-idx3-ubyte": "5b4141f0afbad91edebe8549f8fcffe087ea10ca49f1dbef5c9a5cd8815ce37b",  # noqa: E501
        "t10k-labels-idx1-ubyte": "0402a96d92fd2663957122ceb108a494c5af83dab82d92729df917d7dec38c34",  # noqa: E501
    },
}

# Public mirrors that serve the canonical gzip files (``<mirror><file>.gz``).
MIRRORS: dict[str, list[str]] = {
    "mnist": [
        "https://storage.googleapis.com/cvdf-datasets/mnist/",
        "https://ossci-datasets.s3.amazonaws.com/mnist/",
    ],
    "fashion-mnist": [
        "https://storage.googleapis.com/tensorflow/tf-keras-datasets/",
        "http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/",
    ],
}

MNIST_CLASS_NAMES = [str(d) for d in range(10)]
FASHION_CLASS_NAMES = [
    "T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
    "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot",
]

# IDX type codes -> big-endian numpy dtypes.
_IDX_DTYPES = {
    0x08: np.dtype(">u1"),
    0x09: np.dtype(">i1"),
    0x0B: np.dtype(">i2"),
    0x0C: np.dtype(">i4"),
    0x0D: np.dtype(">f4"),
    0x0E: np.dtype(">f8"),
}


class DataError(RuntimeError):
    """A data file is missing, damaged or does not match what the course expects."""


# --------------------------------------------------------------------------- IDX parsing
def _read_bytes(path: Path) -> bytes:
    """Return the file's decompressed bytes (gzip is detected by its magic number)."""
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise DataError(f"{path}: cannot be read ({exc}). Check the path and permissions.") from exc
    if raw[:2] == b"\x1f\x8b":
        try:
            return gzip.decompress(raw)
        except (EOFError, OSError, zlib.error) as exc:
            raise DataError(
                f"{path}: the gzip stream is truncated or corrupt ({exc}). "
                "Delete the file and fetch it again."
            ) from exc
    return raw


def parse_idx(buffer: bytes, name: str = "<bytes>") -> np.ndarray:
    """Parse the bytes of one IDX file into an array.

    The format: two zero bytes, a type code, the number of dimensions, then one
    big-endian ``uint32`` size per dimension, then the data in C order.
    """
    if len(buffer) < 4:
        raise DataError(f"{name}: only {len(buffer)} bytes, too short to be an IDX file. "
                        "Delete it and fetch it again.")
    if buffer[0] != 0 or buffer[1] != 0 or buffer[2] not in _IDX_DTYPES:
        magic = int.from_bytes(buffer[:4], "big")
        raise DataError(
            f"{name}: bad IDX magic number 0x{magic:08x} (expected 0x000008NN). "
            "This is not an IDX file: check that the right file is in place."
        )
    dtype = _IDX_DTYPES[buffer[2]]
    ndim = buffer[3]
    header = 4 + 4 * ndim
    if len(buffer) < header:
        raise DataError(f"{name}: the header is truncated. Delete the file and fetch it again.")
    shape = tuple(int.from_bytes(buffer[4 + 4 * i: 8 + 4 * i], "big") for i in range(ndim))
    expected = int(np.prod(shape, dtype=np.int64)) * dtype.itemsize
    actual = len(buffer) - header
    if actual < expected:
        raise DataError(
            f"{name}: truncated: the header promises shape {shape} ({expected} data bytes) "
            f"but only {actual} are present. Delete the file and fetch it again."
        )
    if actual > expected:
        raise DataError(
            f"{name}: {actual - expected} unexpected bytes after the data for shape {shape}. "
            "The file is corrupt: delete it and fetch it again."
        )
    array = np.frombuffer(buffer, dtype=dtype, count=int(np.prod(shape)), offset=header)
    return array.reshape(shape).astype(dtype.newbyteorder("="))


def read_idx(path: str | os.PathLike, sha256: str | None = None) -> np.ndarray:
    """Read one IDX file, raw or gzip-compressed; optionally verify its SHA-256.

    ``sha256`` is the digest of the *decompressed* bytes. A mismatch raises
    :class:`DataError` naming the file.
    """
    path = Path(path)
    buffer = _read_bytes(path)
    if sha256 is not None:
        digest = hashlib.sha256(buffer).hexdigest()
        if digest != sha256:
            raise DataError(
                f"{path}: SHA-256 of the decompressed data is {digest[:16]}..., "
                f"expected {sha256[:16]}... The file is damaged or is not the official "
                "release: delete it and fetch it again."
            )
    return parse_idx(buffer, str(path))


# --------------------------------------------------------------------------- finding files
def candidate_dirs(dataset: str) -> list[Path]:
    """Folders searched for ``dataset``'s files, in order (the env var first)."""
    dirs = []
    env = env_data_dir()
    if env is not None:
        dirs.append(env / dataset)
    default = default_data_dir() / dataset
    if default not in dirs:
        dirs.append(default)
    return dirs


def _find(dataset: str, stem: str) -> Path | None:
    for folder in candidate_dirs(dataset):
        for name in (stem + ".gz", stem):
            if (folder / name).is_file():
                return folder / name
    return None


def _progress(done: int, total: int | None, label: str) -> None:
    width = 30
    if total:
        frac = min(done / total, 1.0)
        bar = "#" * int(frac * width)
        sys.stderr.write(f"\r{label} [{bar:<{width}}] {frac:6.1%} of {total / 1e6:.1f} MB")
    else:
        sys.stderr.write(f"\r{label} {done / 1e6:.1f} MB")
    sys.stderr.flush()


def download_file(
    url: str,
    dest: str | os.PathLike,
    sha256: str | None = None,
    timeout: float = 30.0,
    progress: Callable[[int, int | None, str], None] | None = _progress,
) -> Path:
    """Download ``url`` to ``dest`` through a temporary file, verifying before use.

    The data go to a temporary file in the destination folder. Only when the
    download is complete and (if ``sha256`` is given) the decompressed bytes hash
    to the expected value is the file renamed into place; on any failure the
    temporary file is removed, so no partial file is ever left for a later run.
    """
    dest = Path(dest)
    dest.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(prefix=dest.name + ".", suffix=".part", dir=dest.parent)
    tmp = Path(tmp_name)
    try:
        with os.fdopen(fd, "wb") as out, urllib.request.urlopen(url, timeout=timeout) as resp:
            total = resp.headers.get("Content-Length")
            total = int(total) if total else None
            done = 0
            while chunk := resp.read(1 << 16):
                out.write(chunk)
                done += len(chunk)
                if progress:
                    progress(done, total, dest.name)
        if progress:
            sys.stderr.write("\n")
        if total is not None and done != total:
            raise DataError(f"{url}: download stopped after {done} of {total} bytes. Try again.")
        if sha256 is not None:
            read_idx(tmp, sha256)  # raises DataError if truncated or wrong
        os.replace(tmp, dest)
        return dest
    except DataError as exc:
        raise DataError(f"download of {url} failed the check: {exc}") from exc
    finally:
        if tmp.exists():
            tmp.unlink()


def _download(dataset: str, stem: str, mirrors: Sequence[str], checksum: str | None) -> Path:
    dest = download_dir() / dataset / (stem + ".gz")
    errors = []
    for mirror in mirrors:
        url = mirror + stem + ".gz"
        try:
            return download_file(url, dest, sha256=checksum)
        except (urllib.error.URLError, OSError, DataError) as exc:
            errors.append(f"  {url}: {exc}")
    searched = "\n".join(f"  {d}" for d in candidate_dirs(dataset))
    raise DataError(
        f"{stem}.gz for {dataset} was not found and could not be downloaded.\n"
        f"Looked in:\n{searched}\nDownload attempts:\n" + "\n".join(errors) + "\n"
        f"Fix: set {DATA_ENV_VAR} to a folder holding '{dataset}/{stem}.gz' "
        f"(for example {DATA_ENV_VAR}=../shared/data), copy the files into "
        f"{download_dir() / dataset}, or connect to the internet and run again."
    )


def locate(
    dataset: str,
    stem: str,
    download: bool = True,
    mirrors: Sequence[str] | None = None,
    checksums: Mapping[str, str] | None = None,
) -> Path:
    """Return the path of one data file, downloading it if allowed and needed."""
    found = _find(dataset, stem)
    if found is not None:
        return found
    if not download:
        searched = "\n".join(f"  {d}" for d in candidate_dirs(dataset))
        raise DataError(
            f"{stem}(.gz) for {dataset} was not found. Looked in:\n{searched}\n"
            f"Fix: set {DATA_ENV_VAR} to a folder holding '{dataset}/{stem}.gz' "
            "(for example ../shared/data), or call the loader with download=True."
        )
    checksums = CHECKSUMS.get(dataset, {}) if checksums is None else checksums
    mirrors = MIRRORS.get(dataset, []) if mirrors is None else mirrors
    return _download(dataset, stem, mirrors, checksums.get(stem))


def load_dataset(
    dataset: str,
    download: bool = True,
    mirrors: Sequence[str] | None = None,
    checksums: Mapping[str, str] | None = None,
) -> tuple[tuple[np.ndarray, np.ndarray], tuple[np.ndarray, np.ndarray]]:
    """Load an MNIST-style data set: ``(x_train, y_train), (x_test, y_test)``.

    ``checksums`` maps file stems to SHA-256 digests of the decompressed files;
    by default the official values for ``dataset`` are used. Pass ``{}`` to skip
    verification (only for your own files).
    """
    if checksums is None:
        if dataset not in CHECKSUMS:
            raise ValueError(f"unknown dataset {dataset!r}; expected one of {sorted(CHECKSUMS)} "
                             "or pass checksums={...} for your own files")
        checksums = CHECKSUMS[dataset]
    arrays = {}
    paths = {}
    for key, stem in FILES.items():
        path = locate(dataset, stem, download=download, mirrors=mirrors, checksums=checksums)
        arrays[key] = read_idx(path, checksums.get(stem))
        paths[key] = path
    for split in ("train", "test"):
        images, labels = arrays[f"{split}_images"], arrays[f"{split}_labels"]
        if images.ndim != 3:
            raise DataError(f"{paths[f'{split}_images']}: expected a 3-d image array "
                            f"(count, rows, cols), got shape {images.shape}.")
        if labels.ndim != 1:
            raise DataError(f"{paths[f'{split}_labels']}: expected a 1-d label array, "
                            f"got shape {labels.shape}.")
        if len(images) != len(labels):
            raise DataError(
                f"{paths[f'{split}_images']} holds {len(images)} images but "
                f"{paths[f'{split}_labels']} holds {len(labels)} labels. The pair does not "
                "match: fetch both files again from the same release."
            )
    return (
        (arrays["train_images"].astype(np.uint8), arrays["train_labels"].astype(np.uint8)),
        (arrays["test_images"].astype(np.uint8), arrays["test_labels"].astype(np.uint8)),
    )


def load_mnist(download: bool = True):
    """MNIST digits as ``(x_train, y_train), (x_test, y_test)``, uint8, like Keras's loader."""
    return load_dataset("mnist", download=download)


def load_fashion_mnist(download: bool = True):
    """Fashion-MNIST as ``(x_train, y_train), (x_test, y_test)``, uint8, like Keras's loader."""
    return load_dataset("fashion-mnist", download=download)


def data_report(dataset: str) -> list[tuple[str, str, str]]:
    """For each of ``dataset``'s files: (where it was found, decompressed SHA-256, status).

    Use it to show where the course found its data. "Where" names the file relative to
    the folder it was found in, and that folder by its role (``$AE_DATA_DIR``, or the
    data folder), not by this machine's absolute path, so a printed report reads the
    same on every machine. Files are located without downloading; a missing file is
    reported, not raised.
    """
    env = env_data_dir()
    rows = []
    for stem in FILES.values():
        path = _find(dataset, stem)
        if path is None:
            rows.append((f"{dataset}/{stem}", "-", "missing"))
            continue
        digest = hashlib.sha256(_read_bytes(path)).hexdigest()
        ok = digest == CHECKSUMS[dataset][stem]
        root = f"${DATA_ENV_VAR}" if env is not None and path.parent == env / dataset else "data"
        where = f"{path.parent.name}/{path.name} (in {root})"
        rows.append((where, digest, "ok" if ok else "CHECKSUM MISMATCH"))
    return rows


# --------------------------------------------------------------------------- array helpers
def to_float(x: np.ndarray) -> np.ndarray:
    """Scale uint8 pixels in [0, 255] to float32 in [0, 1]."""
    x = np.asarray(x)
    if x.dtype != np.uint8:
        raise ValueError(f"to_float: expected uint8 pixels in [0, 255], got dtype {x.dtype}; "
                         "the array may already be scaled")
    return x.astype(np.float32) / 255.0


def flatten(x: np.ndarray) -> np.ndarray:
    """(N, 28, 28) or (N, 28, 28, 1) -> (N, 784)."""
    x = np.asarray(x)
    if x.ndim < 2:
        raise ValueError(f"flatten: expected at least 2 dimensions (N, ...), got shape {x.shape}")
    return x.reshape(len(x), -1)


def add_channel(x: np.ndarray, side: int = 28) -> np.ndarray:
    """(N, 784) or (N, 28, 28) -> (N, 28, 28, 1), for convolutional layers."""
    x = np.asarray(x)
    if x.ndim == 2 and x.shape[1] == side * side:
        return x.reshape(len(x), side, side, 1)
    if x.ndim == 3:
        return x[..., np.newaxis]
    if x.ndim == 4 and x.shape[-1] == 1:
        return x
    raise ValueError(f"add_channel: expected (N, {side * side}), (N, H, W) or (N, H, W, 1), "
                     f"got shape {x.shape}")


def _check_unit_range(x: np.ndarray, fn: str) -> np.ndarray:
    x = np.asarray(x)
    if not np.issubdtype(x.dtype, np.floating):
        raise ValueError(f"{fn}: expected float pixels in [0, 1], got dtype {x.dtype}; "
                         "call to_float first")
    return x


def gaussian_noise(x: np.ndarray, factor: float = 0.5, seed: int | None = 0,
                   clip: bool = True) -> np.ndarray:
    """Return ``x + factor * N(0, 1)``, clipped to [0, 1] unless ``clip=False``.

    The same ``seed`` gives the same noise; the input is not modified.
    """
    x = _check_unit_range(x, "gaussian_noise")
    if factor < 0:
        raise ValueError(f"gaussian_noise: factor must be >= 0, got {factor}")
    rng = np.random.default_rng(seed)
    noisy = x + factor * rng.standard_normal(x.shape).astype(x.dtype)
    return np.clip(noisy, 0.0, 1.0) if clip else noisy


def salt_and_pepper(x: np.ndarray, amount: float = 0.1, seed: int | None = 0) -> np.ndarray:
    """Set a fraction ``amount`` of pixels to 0 or 1 (half each, on average)."""
    x = _check_unit_range(x, "salt_and_pepper")
    if not 0.0 <= amount <= 1.0:
        raise ValueError(f"salt_and_pepper: amount must be in [0, 1], got {amount}")
    rng = np.random.default_rng(seed)
    u = rng.random(x.shape)
    out = x.copy()
    out[u < amount / 2] = 0.0
    out[(u >= amount / 2) & (u < amount)] = 1.0
    return out


def mask_pixels(x: np.ndarray, fraction: float = 0.25, seed: int | None = 0) -> np.ndarray:
    """Masking noise: set a random ``fraction`` of pixels to 0."""
    x = _check_unit_range(x, "mask_pixels")
    if not 0.0 <= fraction <= 1.0:
        raise ValueError(f"mask_pixels: fraction must be in [0, 1], got {fraction}")
    rng = np.random.default_rng(seed)
    return np.where(rng.random(x.shape) < fraction, 0.0, x).astype(x.dtype)


def binarise(x: np.ndarray, seed: int | None = 0) -> np.ndarray:
    """One fixed Bernoulli draw per pixel: 1 with probability equal to its grey level.

    Likelihood papers on MNIST (and the VAE lesson) model binarised digits; the same
    ``seed`` gives the same binary images. Returns float32 zeros and ones.
    """
    x = _check_unit_range(x, "binarise")
    if x.size and (x.min() < 0.0 or x.max() > 1.0):
        raise ValueError(f"binarise: pixels must lie in [0, 1] (probabilities), got "
                         f"[{x.min():.3g}, {x.max():.3g}]; call to_float first")
    rng = np.random.default_rng(seed)
    return (rng.random(x.shape) < x).astype("float32")


def train_val_split(x: np.ndarray, y: np.ndarray | None = None, val_fraction: float = 0.1,
                    seed: int = 0):
    """Shuffle with ``seed`` and split off a validation set.

    Returns ``(x_train, x_val)`` or, with labels, ``(x_train, y_train), (x_val, y_val)``.
    """
    x = np.asarray(x)
    if not 0.0 < val_fraction < 1.0:
        raise ValueError(f"train_val_split: val_fraction must be in (0, 1), got {val_fraction}")
    if y is not None and len(y) != len(x):
        raise ValueError(f"train_val_split: x has {len(x)} rows but y has {len(y)}")
    order = np.random.default_rng(seed).permutation(len(x))
    n_val = int(round(len(x) * val_fraction))
    val, train = order[:n_val], order[n_val:]
    if y is None:
        return x[train], x[val]
    y = np.asarray(y)
    return (x[train], y[train]), (x[val], y[val])


def main(argv: Sequence[str] | None = None) -> int:
    """``python -m utils.data``: find (or download) both data sets and report them."""
    import argparse

    parser = argparse.ArgumentParser(description=main.__doc__)
    parser.add_argument("--no-download", action="store_true", help="fail instead of downloading")
    args = parser.parse_args(argv)
    for dataset in ("mnist", "fashion-mnist"):
        try:
            (x, _), (xt, _) = load_dataset(dataset, download=not args.no_download)
        except DataError as exc:
            print(f"ERROR: {exc}", file=sys.stderr)
            return 1
        print(f"{dataset}: {len(x)} train + {len(xt)} test images, checksums ok")
        for path, _digest, status in data_report(dataset):
            print(f"  {status:4}  {path}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
