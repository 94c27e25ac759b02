"""Assignment 5's checkers accept the right answer and reject plausible wrong ones.

Each wrong answer is a mistake students make; the test pins the message they will see.
The few-label check runs on a tiny synthetic data set with a NumPy PCA "encoder", so
the file needs no MNIST and no training.
"""

from __future__ import annotations

import numpy as np
import pytest

keras = pytest.importorskip("keras")

from utils.checkers import a5  # noqa: E402
from utils.grading import CheckFailed  # noqa: E402

# ---------------------------------------------------------------- Task 1: anomaly scores


def _recon(model, x):
    return np.asarray(model.predict(x, verbose=0), np.float64)


def scores_ok(model, x):
    return ((np.asarray(x, np.float64) - _recon(model, x)) ** 2).sum(axis=1)


def test_anomaly_scores_correct(capsys):
    assert a5.check_anomaly_scores(scores_ok) is True
    assert "PASSED  anomaly_scores" in capsys.readouterr().out


@pytest.mark.parametrize("wrong, match", [
    (lambda m, x: ((x - _recon(m, x)) ** 2).mean(axis=1),  # a mean where a sum belongs
     "factor of 784 \\(too small\\).*sums the squared error"),
    (lambda m, x: ((x - _recon(m, x)) ** 2).sum(axis=0),  # wrong reduction axis
     "expected shape \\(6,\\) \\(one score per image\\), got \\(784,\\).*wrong axis"),
    (lambda m, x: ((x - _recon(m, x)) ** 2).sum(), "got \\(\\).*reduce over the batch"),
    (lambda m, x: np.abs(x - _recon(m, x)).sum(axis=1), "absolute error"),
    (lambda m, x: np.sqrt(((x - _recon(m, x)) ** 2).sum(axis=1)), "square root"),
    (lambda m, x: -scores_ok(m, x), "sign is flipped"),
])
def test_anomaly_scores_wrong(wrong, match, capsys):
    with pytest.raises(CheckFailed, match=match):
        a5.check_anomaly_scores(wrong)
    assert "FAILED  anomaly_scores" in capsys.readouterr().out


def test_not_done_is_friendly(capsys):
    def stub(*args):
        raise NotImplementedError()

    assert a5.check_anomaly_scores(stub) is False
    assert a5.check_few_label_classifier(stub, stub, np.zeros((4, 8)), np.zeros((2, 8)),
                                         [0, 1], x_test=np.zeros((2, 8)),
                                         y_test=[0, 1]) is False
    out = capsys.readouterr().out
    assert "NOT DONE  anomaly_scores" in out and "NOT DONE  few_label_classifier" in out


# ---------------------------------------------------------------- Task 2: AUROC


def auroc_ok(labels, scores):
    labels, scores = np.asarray(labels, bool), np.asarray(scores, np.float64)
    pos, neg = scores[labels][:, None], scores[~labels][None, :]
    return float(((pos > neg) + 0.5 * (pos == neg)).mean())


def auroc_rank_ok(labels, scores):
    from scipy.stats import rankdata

    labels = np.asarray(labels, bool)
    ranks = rankdata(scores)
    n_pos, n_neg = labels.sum(), (~labels).sum()
    return float((ranks[labels].sum() - n_pos * (n_pos + 1) / 2) / (n_pos * n_neg))


def _auroc_no_ties(labels, scores):
    # ranks from argsort: tied scores get different ranks
    labels = np.asarray(labels, bool)
    ranks = np.empty(len(scores))
    ranks[np.argsort(scores, kind="stable")] = np.arange(1, len(scores) + 1)
    n_pos, n_neg = labels.sum(), (~labels).sum()
    return float((ranks[labels].sum() - n_pos * (n_pos + 1) / 2) / (n_pos * n_neg))


def _auroc_sklearn(labels, scores):
    from sklearn.metrics import roc_auc_score

    return roc_auc_score(labels, scores)


@pytest.mark.parametrize("ok", [auroc_ok, auroc_rank_ok])
def test_auroc_correct(ok):
    assert a5.check_auroc(ok) is True


@pytest.mark.parametrize("wrong, match", [
    (lambda y, s: auroc_ok(1 - np.asarray(y, int), s), "1 - AUROC.*swap the labels"),  # sign
    (lambda y, s: auroc_ok(y, -np.asarray(s)), "1 - AUROC.*sort descending"),
    (lambda y, s: float(np.mean(np.asarray(s)[:, None] > np.asarray(s)[None, :],
                                where=np.asarray(y, bool)[:, None] & ~np.asarray(y, bool))),
     "ties mishandled.*counted .* as 0; it counts 1/2"),
    (_auroc_no_ties, "ties mishandled on integer scores"),
    (lambda y, s: auroc_ok(y, s) * np.sum(y) * (len(y) - np.sum(y)), "divide by n_pos"),
    (lambda y, s: np.array([auroc_ok(y, s)]), "expected shape \\(\\)"),
    (_auroc_sklearn, "from scratch"),
])
def test_auroc_wrong(wrong, match):
    with pytest.raises(CheckFailed, match=match):
        a5.check_auroc(wrong)


# ---------------------------------------------------------------- Task 3: threshold


def _check_fpr(f):
    if not 0 < f < 1:
        raise ValueError(f"target_fpr must be in (0, 1), got {f}")


def detect_ok(val, test, target_fpr):
    _check_fpr(target_fpr)
    tau = float(np.quantile(val, 1 - target_fpr))
    return tau, np.asarray(test) > tau


def detect_order_statistic(val, test, target_fpr):
    _check_fpr(target_fpr)
    tau = float(np.sort(val)[int((1 - target_fpr) * len(val))])
    return tau, test > tau


def test_detect_correct():
    assert a5.check_detect(detect_ok) is True
    # other quantile conventions (an order statistic) are accepted too
    assert a5.check_detect(detect_order_statistic) is True
    assert a5.check_detect(lambda v, t, f: (lambda tau: (tau, np.asarray(t) >= tau))(
        float(np.percentile(v, 100 * (1 - f))))) is True


def _tuned_on_test(val, test, f):  # a THRESHOLD TUNED ON THE TEST SET
    _check_fpr(f)
    tau = float(np.quantile(test, 1 - f))
    return tau, test > tau


def _tuned_on_both(val, test, f):
    _check_fpr(f)
    tau = float(np.quantile(np.r_[val, test], 1 - f))
    return tau, test > tau


@pytest.mark.parametrize("wrong, match", [
    (_tuned_on_test, "must come from validation data; tuning it on the test set leaks"),
    (_tuned_on_both, "tuning it on the test set leaks the answer"),
    (lambda v, t, f: (float(np.quantile(v, f)), t > np.quantile(v, f)),
     "wrong side.*\\(1 - target_fpr\\) quantile"),
    (lambda v, t, f: (float(np.percentile(v, 1 - f)), t > np.percentile(v, 1 - f)),
     "np.percentile takes percentages"),
    (lambda v, t, f: (detect_ok(v, t, f)[0], t < detect_ok(v, t, f)[0]), "inverted"),
    (lambda v, t, f: (detect_ok(v, t, f)[0], v > detect_ok(v, t, f)[0]), "shape of val_scores"),
    (lambda v, t, f: detect_ok(v, t, f)[0], "return a tuple"),
    (lambda v, t, f: (float(np.quantile(v, min(max(1 - f, 0), 1))),
                      t > np.quantile(v, min(max(1 - f, 0), 1))), "target_fpr=5 should raise"),
])
def test_detect_wrong(wrong, match):
    with pytest.raises(CheckFailed, match=match):
        a5.check_detect(wrong)


# ---------------------------------------------------------------- Task 4: Hamming ball


def ball_ok(db, q, radius):
    return np.flatnonzero((np.asarray(db) != np.asarray(q)).sum(axis=1) <= radius)


def test_hamming_ball_correct():
    assert a5.check_hamming_ball(ball_ok) is True
    assert a5.check_hamming_ball(lambda d, q, r: np.flatnonzero(
        np.count_nonzero(np.bitwise_xor(np.asarray(d, int), np.asarray(q, int)), axis=1)
        <= r).tolist()) is True


@pytest.mark.parametrize("wrong, match", [
    (lambda d, q, r: np.flatnonzero((d != q).sum(axis=1) < r), "used < radius.*use <="),
    (lambda d, q, r: np.flatnonzero((d != q).sum(axis=0) <= r), "wrong axis.*axis=1"),
    (lambda d, q, r: (d != q).sum(axis=1) <= r, "boolean mask"),
    (lambda d, q, r: ball_ok(d, q, r)[::-1], "increasing order"),
    (lambda d, q, r: np.flatnonzero(np.abs(d - q).sum(axis=1) <= r),
     "boolean codes raised TypeError.*compare codes with !="),
    (lambda d, q, r: np.flatnonzero(np.abs(np.asarray(d, int) * 1 - q * 1).sum(axis=1) <= r)
     if d.dtype != np.uint8 else np.flatnonzero(np.abs(d - q).sum(axis=1) <= r),
     "uint8 codes: subtraction wraps around"),
])
def test_hamming_ball_wrong(wrong, match):
    with pytest.raises(CheckFailed, match=match):
        a5.check_hamming_ball(wrong)


# ---------------------------------------------------------------- Task 5: few labels


@pytest.fixture(scope="module")
def blobs():
    """Ten well-separated Gaussian classes in 100-d: unlabelled, 100 labelled, test."""
    rng = np.random.default_rng(0)
    centres = rng.normal(0, 1.0, (10, 100))

    def sample(n):
        y = rng.integers(0, 10, n)
        return (centres[y] + rng.normal(0, 0.5, (n, 100))).astype("float32"), y

    x_u, _ = sample(500)
    y_l = np.repeat(np.arange(10), 10)
    x_l = (centres[y_l] + rng.normal(0, 0.5, (100, 100))).astype("float32")
    x_t, y_t = sample(400)
    return x_u, x_l, y_l, x_t, y_t


def _pretrain_ok(x, k=8, epochs=30):
    """A tiny dense autoencoder trained on the unlabelled points; returns its encoder."""
    keras.utils.set_random_seed(0)
    inputs = keras.Input((x.shape[1],))
    code = keras.layers.Dense(k, name="code")(inputs)
    ae = keras.Model(inputs, keras.layers.Dense(x.shape[1])(code))
    ae.compile(optimizer=keras.optimizers.Adam(1e-2), loss="mse")
    ae.fit(x, x, epochs=epochs, batch_size=100, verbose=0)
    return keras.Model(inputs, code)


class _PCA:
    def __init__(self, x, k=8):
        self.mean = x.mean(axis=0)
        self.vt = np.linalg.svd(x - self.mean, full_matrices=False)[2][:k]

    def predict(self, x, **kwargs):
        return (np.asarray(x) - self.mean) @ self.vt.T


class _Centroids:
    def __init__(self, z, y):
        self.classes = np.unique(y)
        self.c = np.stack([z[y == k].mean(axis=0) for k in self.classes])

    def predict(self, z):
        return self.classes[((z[:, None] - self.c[None]) ** 2).sum(-1).argmin(1)]


def _run(blobs, pretrain, fit, **kw):
    x_u, x_l, y_l, x_t, y_t = blobs
    return a5.check_few_label_classifier(pretrain, fit, x_u, x_l, kw.pop("y_l", y_l),
                                         x_test=x_t, y_test=y_t, target=0.9, **kw)


def test_few_label_correct(blobs, capsys):
    assert _run(blobs, _pretrain_ok, _Centroids) is True
    assert "PASSED  few_label_classifier" in capsys.readouterr().out
    encoder, clf = a5.trained_few_label_model()
    assert isinstance(encoder, keras.Model) and isinstance(clf, _Centroids)


def _pretrain_denoising(x):
    """A denoising autoencoder (noisy images in, clean images out) is pre-training too."""
    keras.utils.set_random_seed(0)
    inputs = keras.Input((x.shape[1],))
    code = keras.layers.Dense(8)(inputs)
    ae = keras.Model(inputs, keras.layers.Dense(x.shape[1])(code))
    ae.compile(optimizer=keras.optimizers.Adam(1e-2), loss="mse")
    noisy = x + np.random.default_rng(0).normal(0, 0.1, x.shape).astype(x.dtype)
    ae.fit(noisy, x, epochs=30, batch_size=100, verbose=0)
    return keras.Model(inputs, code)


def test_few_label_denoising_pretraining_is_accepted(blobs):
    assert _run(blobs, _pretrain_denoising, _Centroids) is True


def _untrained_pooling(x):
    inputs = keras.Input((x.shape[1],))
    pooled = keras.layers.Reshape((10, 10, 1))(inputs)
    pooled = keras.layers.AveragePooling2D(4)(pooled)
    return keras.Model(inputs, keras.layers.Flatten()(pooled))


def _untrained_dense(x):
    inputs = keras.Input((x.shape[1],))
    return keras.Model(inputs, keras.layers.Dense(8)(inputs))


def _supervised_pretraining(x):
    """Trains the encoder on labels (a classifier), not as an autoencoder."""
    inputs = keras.Input((x.shape[1],))
    code = keras.layers.Dense(8)(inputs)
    clf = keras.Model(inputs, keras.layers.Dense(10, activation="softmax")(code))
    clf.compile(optimizer="adam", loss="sparse_categorical_crossentropy")
    clf.fit(x, np.arange(len(x)) % 10, epochs=1, verbose=0)
    return keras.Model(inputs, code)


def _throwaway_ae(x):
    """Trains one autoencoder, returns a different (untrained) encoder."""
    _pretrain_ok(x, epochs=1)
    return _untrained_dense(x)


def test_few_label_wrong(blobs):
    y_global = blobs[2]

    def fit_on_global_labels(z, y):  # ignores `y`, uses labels from the notebook's globals
        return _Centroids(z, y_global)

    with pytest.raises(CheckFailed, match="must learn from the 100 labels it is given"):
        _run(blobs, _pretrain_ok, fit_on_global_labels)
    with pytest.raises(NotImplementedError):
        a5.trained_few_label_model()
    with pytest.raises(CheckFailed, match="below the target 90%"):
        _run(blobs, _pretrain_ok, lambda z, y: type("Const", (), {"predict": lambda s, c:
                                                                   np.zeros(len(c), int)})())
    with pytest.raises(CheckFailed, match="return class labels.*argmax"):
        _run(blobs, _pretrain_ok, lambda z, y: type("Proba", (), {"predict": lambda s, c:
                                                                   np.ones((len(c), 10)) / 10})())
    with pytest.raises(CheckFailed, match="at most 100 labels; 150 were passed"):
        _run(blobs, _pretrain_ok, _Centroids, y_l=np.r_[blobs[2], blobs[2][:50]])


@pytest.mark.parametrize("pretrain, match", [
    (_PCA, "returned a _PCA.*not a pre-trained encoder"),  # PCA passes the accuracy target
    (_untrained_pooling, "no trainable weights"),  # so does 4x4 pooling
    (_untrained_dense, "not trained inside pretrain_encoder"),
    (_throwaway_ae, "not trained inside pretrain_encoder"),
    (_supervised_pretraining, "targets of shape \\(500,\\).*model.fit\\(x, x\\)"),
    (lambda x: keras.Sequential([keras.Input((100,)), keras.layers.Identity()]),
     "no trainable weights"),
])
def test_few_label_structure(blobs, pretrain, match):
    with pytest.raises(CheckFailed, match=match):
        _run(blobs, pretrain, _Centroids)


def test_few_label_no_label_loading(blobs):
    from utils import data

    def fit_with_mnist_labels(z, y):
        data.load_mnist(download=False)  # reaching for labels it was not given
        return _Centroids(z, y)

    with pytest.raises(CheckFailed, match="calls utils.data.load_mnist"):
        _run(blobs, _pretrain_ok, fit_with_mnist_labels)
