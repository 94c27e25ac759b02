"""utils.data: the IDX parser, checksums, search order, download path and array helpers.

Every fixture file is written by the tests themselves; nothing is downloaded. The
download tests talk to a throw-away HTTP server on 127.0.0.1.
"""

from __future__ import annotations

import gzip
import hashlib
import http.server
import threading
from pathlib import Path

import numpy as np
import pytest

from utils import data
from utils.data import DataError

STEMS = list(data.FILES.values())


# --------------------------------------------------------------------------- fixtures
def idx_bytes(array: np.ndarray) -> bytes:
    """Encode a uint8 array in IDX format."""
    header = bytes([0, 0, 0x08, array.ndim]) + b"".join(
        int(n).to_bytes(4, "big") for n in array.shape)
    return header + array.astype(np.uint8).tobytes()


def tiny_dataset(n_train: int = 6, n_test: int = 4, seed: int = 0) -> dict[str, bytes]:
    rng = np.random.default_rng(seed)
    arrays = {
        "train-images-idx3-ubyte": rng.integers(0, 256, (n_train, 28, 28), dtype=np.uint8),
        "train-labels-idx1-ubyte": rng.integers(0, 10, n_train, dtype=np.uint8),
        "t10k-images-idx3-ubyte": rng.integers(0, 256, (n_test, 28, 28), dtype=np.uint8),
        "t10k-labels-idx1-ubyte": rng.integers(0, 10, n_test, dtype=np.uint8),
    }
    return {stem: idx_bytes(a) for stem, a in arrays.items()}


def sha(buffer: bytes) -> str:
    return hashlib.sha256(buffer).hexdigest()


def write_dataset(folder: Path, files: dict[str, bytes], compress: bool = True) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    for stem, buf in files.items():
        if compress:
            (folder / (stem + ".gz")).write_bytes(gzip.compress(buf))
        else:
            (folder / stem).write_bytes(buf)


@pytest.fixture
def isolated(tmp_path, monkeypatch):
    """No env var, and the repository's data/ folder moved into tmp_path."""
    monkeypatch.delenv(data.DATA_ENV_VAR, raising=False)
    repo_data = tmp_path / "repo_data"
    monkeypatch.setattr(data, "REPO_DATA_DIR", repo_data)
    return repo_data


# --------------------------------------------------------------------------- IDX parser
def test_parse_roundtrip_uint8():
    a = np.arange(2 * 3 * 4, dtype=np.uint8).reshape(2, 3, 4)
    out = data.parse_idx(idx_bytes(a))
    assert out.dtype == np.uint8 and out.shape == (2, 3, 4)
    np.testing.assert_array_equal(out, a)


def test_parse_big_endian_int32():
    a = np.array([1, -2, 70000], dtype=">i4")
    buf = bytes([0, 0, 0x0C, 1]) + (3).to_bytes(4, "big") + a.tobytes()
    np.testing.assert_array_equal(data.parse_idx(buf), [1, -2, 70000])


def test_bad_magic_names_file():
    buf = b"\x12\x34\x08\x01" + (1).to_bytes(4, "big") + b"\x00"
    with pytest.raises(DataError, match=r"myfile.*bad IDX magic number 0x12340801"):
        data.parse_idx(buf, "myfile")


def test_unknown_type_code_is_bad_magic():
    with pytest.raises(DataError, match="magic"):
        data.parse_idx(bytes([0, 0, 0x07, 1, 0, 0, 0, 1, 5]))


def test_truncated_data_refused():
    buf = idx_bytes(np.zeros((3, 28, 28), np.uint8))[:-1]
    with pytest.raises(DataError, match=r"f\.idx: truncated.*\(3, 28, 28\).*fetch it again"):
        data.parse_idx(buf, "f.idx")


def test_truncated_header_refused():
    with pytest.raises(DataError, match="header is truncated"):
        data.parse_idx(bytes([0, 0, 8, 3, 0, 0]), "h")


def test_trailing_bytes_refused():
    with pytest.raises(DataError, match="unexpected bytes"):
        data.parse_idx(idx_bytes(np.zeros(4, np.uint8)) + b"\x00", "t")


def test_too_short_refused():
    with pytest.raises(DataError, match="too short"):
        data.parse_idx(b"\x00\x00", "s")


def test_read_idx_gzip_and_raw_agree(tmp_path):
    a = np.arange(20, dtype=np.uint8).reshape(4, 5)
    (tmp_path / "raw").write_bytes(idx_bytes(a))
    (tmp_path / "raw.gz").write_bytes(gzip.compress(idx_bytes(a)))
    raw, packed = data.read_idx(tmp_path / "raw"), data.read_idx(tmp_path / "raw.gz")
    np.testing.assert_array_equal(raw, packed)


def test_read_idx_truncated_gzip_names_file(tmp_path):
    blob = gzip.compress(idx_bytes(np.zeros((50, 28, 28), np.uint8)))
    path = tmp_path / "cut.gz"
    path.write_bytes(blob[:-1])  # one byte cut from a data file
    with pytest.raises(DataError, match=r"cut\.gz.*(truncated|corrupt)"):
        data.read_idx(path)


def test_read_idx_checksum_mismatch(tmp_path):
    buf = idx_bytes(np.ones(3, np.uint8))
    path = tmp_path / "x"
    path.write_bytes(buf)
    data.read_idx(path, sha(buf))  # the right digest passes
    with pytest.raises(DataError, match=r"x: SHA-256.*expected 0000000000000000"):
        data.read_idx(path, "0" * 64)


def test_read_idx_missing_file(tmp_path):
    with pytest.raises(DataError, match="nope.gz: cannot be read"):
        data.read_idx(tmp_path / "nope.gz")


# --------------------------------------------------------------------------- loading
def test_load_dataset_shapes_and_dtypes(isolated):
    files = tiny_dataset()
    write_dataset(isolated / "toy", files)
    sums = {k: sha(v) for k, v in files.items()}
    (x, y), (xt, yt) = data.load_dataset("toy", download=False, checksums=sums)
    assert x.shape == (6, 28, 28) and y.shape == (6,)
    assert xt.shape == (4, 28, 28) and yt.shape == (4,)
    assert {a.dtype for a in (x, y, xt, yt)} == {np.dtype(np.uint8)}


def test_load_dataset_raw_files(isolated):
    files = tiny_dataset()
    write_dataset(isolated / "toy", files, compress=False)
    (x, _), _ = data.load_dataset("toy", download=False, checksums={})
    assert x.shape == (6, 28, 28)


def test_mismatched_counts_refused(isolated):
    files = tiny_dataset()
    files["train-labels-idx1-ubyte"] = idx_bytes(np.zeros(5, np.uint8))
    write_dataset(isolated / "toy", files)
    with pytest.raises(DataError, match=r"6 images but .*train-labels.* 5 labels"):
        data.load_dataset("toy", download=False, checksums={})


def test_wrong_rank_refused(isolated):
    files = tiny_dataset()
    files["t10k-images-idx3-ubyte"] = idx_bytes(np.zeros((4, 784), np.uint8))
    write_dataset(isolated / "toy", files)
    with pytest.raises(DataError, match="expected a 3-d image array"):
        data.load_dataset("toy", download=False, checksums={})


def test_official_checksums_reject_other_files(isolated):
    write_dataset(isolated / "mnist", tiny_dataset())
    with pytest.raises(DataError, match=r"train-images-idx3-ubyte\.gz: SHA-256"):
        data.load_mnist(download=False)


def test_unknown_dataset_needs_checksums():
    with pytest.raises(ValueError, match="unknown dataset 'toy'"):
        data.load_dataset("toy", download=False)


def test_missing_and_offline_is_one_clear_error(isolated):
    with pytest.raises(DataError) as info:
        data.load_dataset("toy", download=False, checksums={})
    msg = str(info.value)
    assert "train-images-idx3-ubyte" in msg and str(isolated / "toy") in msg
    assert data.DATA_ENV_VAR in msg and "Fix" in msg


def test_missing_with_unreachable_mirror(isolated):
    mirror = "http://127.0.0.1:9/"  # the discard port: nothing listens there
    with pytest.raises(DataError) as info:
        data.load_dataset("toy", mirrors=[mirror], checksums={})
    msg = str(info.value)
    assert "could not be downloaded" in msg and mirror in msg and data.DATA_ENV_VAR in msg
    assert not [p for p in isolated.rglob("*") if p.is_file()], "nothing half-written is left"


# --------------------------------------------------------------------------- search order
def test_env_var_comes_before_repo_data(isolated, tmp_path, monkeypatch):
    env_dir = tmp_path / "env"
    write_dataset(env_dir / "toy", tiny_dataset(seed=1))
    write_dataset(isolated / "toy", tiny_dataset(seed=2))
    monkeypatch.setenv(data.DATA_ENV_VAR, str(env_dir))
    assert data.locate("toy", STEMS[0], download=False).parent == env_dir / "toy"
    (x, _), _ = data.load_dataset("toy", download=False, checksums={})
    np.testing.assert_array_equal(x, data.parse_idx(tiny_dataset(seed=1)[STEMS[0]]))


def test_repo_data_used_when_env_folder_lacks_files(isolated, tmp_path, monkeypatch):
    monkeypatch.setenv(data.DATA_ENV_VAR, str(tmp_path / "empty"))
    write_dataset(isolated / "toy", tiny_dataset())
    assert data.locate("toy", STEMS[0], download=False).parent == isolated / "toy"


def test_relative_env_var_resolves_against_repo_root(monkeypatch, tmp_path):
    monkeypatch.setattr(data, "REPO_ROOT", tmp_path)
    monkeypatch.setenv(data.DATA_ENV_VAR, "some/dir")
    assert data.candidate_dirs("mnist")[0] == tmp_path / "some" / "dir" / "mnist"


def test_checkout_detection(tmp_path):
    """A clone has pyproject.toml and notebooks/ beside the package; site-packages has not."""
    site = tmp_path / "site-packages"
    (site / "utils").mkdir(parents=True)
    assert data._checkout_root(site / "utils") is None
    clone = tmp_path / "clone"
    (clone / "utils").mkdir(parents=True)
    (clone / "notebooks").mkdir()
    (clone / "pyproject.toml").write_text("")
    assert data._checkout_root(clone / "utils") == clone
    assert data.REPO_ROOT is not None, "the tests run from a checkout"


@pytest.fixture
def installed(tmp_path, monkeypatch):
    """The package as if installed from a wheel: no checkout, a private cache folder."""
    monkeypatch.setattr(data, "REPO_ROOT", None)
    monkeypatch.setattr(data, "REPO_DATA_DIR", None)
    monkeypatch.delenv(data.DATA_ENV_VAR, raising=False)
    monkeypatch.setattr(data.sys, "platform", "linux")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    return tmp_path / "cache" / "ae-course" / "data"


def test_installed_package_uses_user_cache(installed, server):
    assert data.default_data_dir() == installed == data.download_dir()
    assert data.candidate_dirs("toy") == [installed / "toy"]
    url, handler = server
    files = tiny_dataset()
    _serve_dataset(handler, files)
    data.load_dataset("toy", mirrors=[url + "/good/"], checksums={})
    assert sorted(p.name for p in (installed / "toy").iterdir()) == sorted(s + ".gz" for s in STEMS)


@pytest.mark.parametrize("platform, var, expected", [
    ("win32", "LOCALAPPDATA", ("ae-course", "data")),
    ("darwin", None, ("Library", "Caches", "ae-course", "data")),
])
def test_user_cache_dir_per_platform(monkeypatch, tmp_path, platform, var, expected):
    monkeypatch.setattr(data.sys, "platform", platform)
    monkeypatch.setattr(data.Path, "home", lambda: tmp_path)
    if var:
        monkeypatch.setenv(var, str(tmp_path / "local"))
    got = data.user_cache_dir()
    assert got.parts[-len(expected):] == expected and str(got).startswith(str(tmp_path))


def test_relative_env_var_outside_checkout_uses_cwd(installed, monkeypatch, tmp_path):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv(data.DATA_ENV_VAR, "rel")
    assert data.candidate_dirs("mnist") == [tmp_path / "rel" / "mnist", installed / "mnist"]


def test_download_goes_to_env_folder_when_set(isolated, tmp_path, monkeypatch, server):
    env_dir = tmp_path / "env"
    monkeypatch.setenv(data.DATA_ENV_VAR, str(env_dir))
    assert data.download_dir() == env_dir
    url, handler = server
    _serve_dataset(handler, tiny_dataset())
    data.load_dataset("toy", mirrors=[url + "/good/"], checksums={})
    assert len(list((env_dir / "toy").glob("*.gz"))) == 4
    assert not isolated.exists(), "nothing goes to the repository's data/ then"


def test_env_var_damaged_file_is_not_skipped(isolated, tmp_path, monkeypatch):
    """A bad file where the env var points raises; it never silently falls back."""
    env_dir = tmp_path / "env"
    files = tiny_dataset()
    write_dataset(env_dir / "toy", files)
    write_dataset(isolated / "toy", files)
    blob = (env_dir / "toy" / (STEMS[0] + ".gz")).read_bytes()
    (env_dir / "toy" / (STEMS[0] + ".gz")).write_bytes(blob[:-1])
    monkeypatch.setenv(data.DATA_ENV_VAR, str(env_dir))
    with pytest.raises(DataError, match=str(env_dir / "toy" / STEMS[0])):
        data.load_dataset("toy", download=False, checksums={})


# --------------------------------------------------------------------------- download
class _Handler(http.server.BaseHTTPRequestHandler):
    routes: dict[str, bytes] = {}
    lie_about_length: set[str] = set()

    def do_GET(self):  # noqa: N802 (http.server's API)
        body = self.routes.get(self.path)
        if body is None:
            self.send_error(404)
            return
        self.send_response(200)
        extra = 100 if self.path in self.lie_about_length else 0
        self.send_header("Content-Length", str(len(body) + extra))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


@pytest.fixture
def server():
    class Handler(_Handler):
        routes = {}
        lie_about_length = set()

    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_port}", Handler
    httpd.shutdown()
    httpd.server_close()


def _serve_dataset(handler, files, prefix="/good/"):
    for stem, buf in files.items():
        handler.routes[f"{prefix}{stem}.gz"] = gzip.compress(buf)


def test_download_into_repo_data(isolated, server):
    url, handler = server
    files = tiny_dataset()
    _serve_dataset(handler, files)
    sums = {k: sha(v) for k, v in files.items()}
    (x, _), (xt, _) = data.load_dataset("toy", mirrors=[url + "/good/"], checksums=sums)
    assert x.shape == (6, 28, 28) and xt.shape == (4, 28, 28)
    saved = sorted(p.name for p in (isolated / "toy").iterdir())
    assert saved == sorted(s + ".gz" for s in STEMS), "only complete, verified files remain"
    # A second load finds the files locally and never asks the server.
    handler.routes.clear()
    data.load_dataset("toy", mirrors=[url + "/good/"], checksums=sums)


def test_corrupt_download_is_refused_and_removed(isolated, server):
    url, handler = server
    files = tiny_dataset()
    _serve_dataset(handler, files)
    sums = {k: sha(v) for k, v in files.items()}
    good = handler.routes[f"/good/{STEMS[0]}.gz"]
    handler.routes[f"/good/{STEMS[0]}.gz"] = good[:-8] + b"\x00" * 8  # corrupt one file
    with pytest.raises(DataError, match=STEMS[0]):
        data.load_dataset("toy", mirrors=[url + "/good/"], checksums=sums)
    assert not (isolated / "toy" / (STEMS[0] + ".gz")).exists()
    assert not list((isolated / "toy").glob("*.part")), "no partial file is left behind"


def test_short_download_is_refused(isolated, server):
    url, handler = server
    files = tiny_dataset()
    _serve_dataset(handler, files)
    handler.lie_about_length.add(f"/good/{STEMS[0]}.gz")
    with pytest.raises(DataError, match="could not be downloaded"):
        data.load_dataset("toy", mirrors=[url + "/good/"], checksums={})
    assert not (isolated / "toy" / (STEMS[0] + ".gz")).exists()
    assert not list((isolated / "toy").glob("*.part"))


def test_falls_back_to_second_mirror(isolated, server):
    url, handler = server
    files = tiny_dataset()
    _serve_dataset(handler, files, prefix="/second/")
    sums = {k: sha(v) for k, v in files.items()}
    (x, _), _ = data.load_dataset("toy", mirrors=[url + "/missing/", url + "/second/"],
                                  checksums=sums)
    assert x.shape == (6, 28, 28)


def test_download_file_progress_and_atomic(tmp_path, server):
    url, handler = server
    payload = idx_bytes(np.arange(10, dtype=np.uint8))
    handler.routes["/f.gz"] = gzip.compress(payload)
    calls = []
    dest = data.download_file(url + "/f.gz", tmp_path / "f.gz", sha256=sha(payload),
                              progress=lambda done, total, label: calls.append((done, total)))
    assert dest.read_bytes() == handler.routes["/f.gz"]
    assert calls and calls[-1][0] == calls[-1][1] == len(handler.routes["/f.gz"])


# --------------------------------------------------------------------------- helpers
def test_to_float_range_and_dtype():
    x = np.array([[0, 128, 255]], np.uint8)
    f = data.to_float(x)
    assert f.dtype == np.float32 and f.min() == 0.0 and f.max() == 1.0
    with pytest.raises(ValueError, match="already be scaled"):
        data.to_float(f)


def test_flatten_and_add_channel():
    x = np.zeros((5, 28, 28), np.float32)
    assert data.flatten(x).shape == (5, 784)
    assert data.add_channel(x).shape == (5, 28, 28, 1)
    assert data.add_channel(data.flatten(x)).shape == (5, 28, 28, 1)
    with pytest.raises(ValueError, match="add_channel"):
        data.add_channel(np.zeros((5, 100)))
    with pytest.raises(ValueError, match="flatten"):
        data.flatten(np.zeros(3))


def test_gaussian_noise_clipped_seeded_and_pure():
    x = np.full((50, 28, 28), 0.5, np.float32)
    a = data.gaussian_noise(x, 0.5, seed=1)
    b = data.gaussian_noise(x, 0.5, seed=1)
    c = data.gaussian_noise(x, 0.5, seed=2)
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(a, c)
    assert a.min() == 0.0 and a.max() == 1.0, "clipped to [0, 1], and the clip is reached"
    assert np.all(x == 0.5), "input untouched"
    raw = data.gaussian_noise(x, 0.5, seed=1, clip=False)
    assert raw.min() < 0 and raw.max() > 1
    assert abs(raw.std() - 0.5) < 0.01
    with pytest.raises(ValueError, match="to_float"):
        data.gaussian_noise(np.zeros((2, 2), np.uint8))
    with pytest.raises(ValueError, match="factor"):
        data.gaussian_noise(x, -1.0)


def test_salt_and_pepper_fraction():
    x = np.full((100, 28, 28), 0.5, np.float32)
    y = data.salt_and_pepper(x, amount=0.2, seed=0)
    changed = y != 0.5
    assert abs(changed.mean() - 0.2) < 0.01
    assert set(np.unique(y[changed])) == {0.0, 1.0}
    assert abs((y == 1.0).mean() - 0.1) < 0.01
    np.testing.assert_array_equal(y, data.salt_and_pepper(x, amount=0.2, seed=0))
    with pytest.raises(ValueError, match="amount"):
        data.salt_and_pepper(x, amount=1.5)


def test_mask_pixels_fraction():
    x = np.ones((100, 784), np.float32)
    y = data.mask_pixels(x, fraction=0.3, seed=0)
    assert abs((y == 0).mean() - 0.3) < 0.01 and y.dtype == np.float32


def test_binarise_seeded_bernoulli():
    x = np.full((200, 784), 0.3, dtype=np.float32)
    x[:, :10] = 0.0
    x[:, 10:20] = 1.0
    b = data.binarise(x, seed=1)
    assert b.dtype == np.float32 and b.shape == x.shape
    assert set(np.unique(b).tolist()) == {0.0, 1.0}
    assert (b[:, :10] == 0).all() and (b[:, 10:20] == 1).all()
    assert abs(b[:, 20:].mean() - 0.3) < 0.01
    np.testing.assert_array_equal(b, data.binarise(x, seed=1))
    assert not np.array_equal(b, data.binarise(x, seed=2))
    with pytest.raises(ValueError, match="call to_float"):
        data.binarise(np.zeros((2, 4), np.uint8))
    with pytest.raises(ValueError, match=r"\[0, 1\]"):
        data.binarise(np.full((2, 4), 255.0))


def test_train_val_split_seeded_disjoint():
    x = np.arange(100)
    y = x % 10
    (xt, yt), (xv, yv) = data.train_val_split(x, y, val_fraction=0.2, seed=3)
    assert len(xv) == 20 and len(xt) == 80
    assert set(xt).isdisjoint(xv) and set(xt) | set(xv) == set(range(100))
    np.testing.assert_array_equal(yt, xt % 10)
    again = data.train_val_split(x, y, val_fraction=0.2, seed=3)
    np.testing.assert_array_equal(again[1][0], xv)
    xt2, xv2 = data.train_val_split(x, val_fraction=0.2, seed=4)
    assert not np.array_equal(xv2, xv)
    with pytest.raises(ValueError, match="val_fraction"):
        data.train_val_split(x, val_fraction=1.0)
    with pytest.raises(ValueError, match="rows"):
        data.train_val_split(x, y[:5])


# --------------------------------------------------------------------------- the real files
def _shared_data_available() -> bool:
    return all(data._find(ds, s) is not None for ds in data.CHECKSUMS for s in STEMS)


@pytest.mark.skipif(not _shared_data_available(), reason="set AE_DATA_DIR to the data folder")
def test_real_mnist_matches_keras_layout_and_statistics():
    (x, y), (xt, yt) = data.load_mnist(download=False)
    assert x.shape == (60000, 28, 28) and xt.shape == (10000, 28, 28)
    assert y.shape == (60000,) and yt.shape == (10000,)
    f = x.astype(np.float64) / 255
    assert abs(f.mean() - 0.130660) < 1e-5 and abs(f.std() - 0.308108) < 1e-5
    counts = np.bincount(y)
    assert counts.min() == 5421 and counts.max() == 6742


@pytest.mark.skipif(not _shared_data_available(), reason="set AE_DATA_DIR to the data folder")
def test_real_fashion_statistics_and_report():
    (x, y), _ = data.load_fashion_mnist(download=False)
    f = x.astype(np.float64) / 255
    assert abs(f.mean() - 0.286041) < 1e-5 and abs(f.std() - 0.353024) < 1e-5
    assert (np.bincount(y) == 6000).all()
    assert [status for _, _, status in data.data_report("fashion-mnist")] == ["ok"] * 4


def test_data_report_names_files_without_this_machines_path(monkeypatch):
    shared = Path(__file__).resolve().parents[2] / "shared" / "data"
    if not (shared / "mnist").is_dir():
        pytest.skip("the shared data folder is not beside the repository")
    monkeypatch.setenv(data.DATA_ENV_VAR, str(shared))
    rows = data.data_report("mnist")
    assert [where for where, _, _ in rows] == [
        f"mnist/{stem}.gz (in $AE_DATA_DIR)" for stem in data.FILES.values()]
    assert all(str(shared) not in where for where, _, _ in rows)
