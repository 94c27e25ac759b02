"""Checkers for assignment 5: applications (anomaly detection, retrieval, few labels).

References: NumPy, and scikit-learn's ``roc_auc_score`` for the AUROC. The few-label
classifier is scored on held-out images that the student's code never receives (by
default the 10,000 MNIST test images, loaded here).
"""

from __future__ import annotations

import numpy as np

from utils.grading import call_student as _call
from utils.grading import (
    case_rng,
    checker,
    expect_close,
    expect_shape,
    expect_true,
    expect_unchanged,
    fail,
    record_training,
    snapshot,
    to_numpy,
)

#: The few-label classifier of Task 5 must reach this accuracy on the MNIST test set,
#: trained with at most ``N_LABELS`` labels and codes of at most ``MAX_CODE_DIM`` numbers.
#: Measured: 76.9% with the solution notebook's dense autoencoder and logistic regression.
FEW_LABEL_TARGET = 0.70
N_LABELS = 100
MAX_CODE_DIM = 64

REFERENCES = ("utils.checkers.a5._pair_auc", "utils.checkers.a5._ball",
              "utils.checkers.a5._bracket")
_AUROC_SOLVERS = ("sklearn.metrics.roc_auc_score", "sklearn.metrics.roc_curve",
                  "sklearn.metrics.auc", "sklearn.metrics._ranking._binary_clf_curve",
                  "sklearn.metrics.RocCurveDisplay", "utils.metrics.auroc",
                  "scipy.stats.mannwhitneyu", "tensorflow.keras.metrics.AUC",
                  "keras.metrics.AUC")
_LABEL_SOURCES = ("utils.data.load_mnist", "utils.data.load_fashion_mnist",
                  "utils.data.load_dataset", "utils.data.read_idx",
                  "keras.datasets.mnist.load_data", "keras.datasets.fashion_mnist.load_data")

_LEAK = ("the threshold must come from validation data; tuning it on the test set leaks "
         "the answer (use only val_scores)")


# ---------------------------------------------------------------- Task 1: anomaly scores


def _toy_model(d: int, seed: int):
    """A one-layer sigmoid 'autoencoder' with known weights, and its NumPy twin."""
    import keras

    rng = np.random.default_rng(seed)
    w = (0.8 * np.eye(d) + rng.normal(0.0, 0.05, (d, d))).astype("float32")
    b = rng.uniform(-0.5, 0.0, d).astype("float32")
    model = keras.Sequential([keras.Input((d,)), keras.layers.Dense(d, activation="sigmoid")],
                             name=f"toy_autoencoder_{d}")
    model.layers[-1].set_weights([w, b])

    def reconstruct(x):
        return 1.0 / (1.0 + np.exp(-(np.asarray(x, np.float64) @ w + b)))

    return model, reconstruct


@checker("anomaly_scores", forbid=("utils.metrics.squared_error_per_image",))
def check_anomaly_scores(anomaly_scores) -> None:
    """``anomaly_scores(model, x)``: squared reconstruction error summed over pixels, (n,)."""
    rng = np.random.default_rng(0)
    extra = case_rng(51)
    cases = [(6, 784, "float32"), (1, 784, "float32"), (5, 20, "float32"),
             (int(extra.integers(3, 9)), int(extra.integers(10, 60)), "float64")]
    for n, d, dtype in cases:
        model, reconstruct = _toy_model(d, seed=d)
        x = ((rng.random((n, d)) < 0.3) * rng.random((n, d))).astype(dtype)
        case = f" ({n} image{'s' if n > 1 else ''} of {d} pixels, {dtype})"
        x_hat = reconstruct(x)
        ref = ((x - x_hat) ** 2).sum(axis=1)  # computed before the student sees x
        (before,) = snapshot(x)
        got = expect_shape("scores", _call(anomaly_scores, "anomaly_scores(model, x)", model, x),
                           (n,), "(one score per image)")
        expect_unchanged("x", x, before)
        if np.allclose(got, np.abs(x - x_hat).sum(axis=1), rtol=1e-4):
            fail(f"scores{case}: this is the absolute error; square the differences")
        if np.allclose(got, np.sqrt(ref), rtol=1e-4) and not np.allclose(ref, 1.0):
            fail(f"scores{case}: this is the square root of the score; do not take a root")
        hint = (f"the score sums the squared error over the {d} pixels; "
                "a mean divides it by the number of pixels")
        expect_close("scores", got, ref, rtol=1e-4, atol=1e-5,
                     factors={float(d): hint}, case=case)


# ---------------------------------------------------------------- Task 2: AUROC


def _pair_auc(labels, scores, tie: float) -> float:
    """Fraction of (positive, negative) pairs ranked right, a tie counting ``tie``."""
    labels, scores = np.asarray(labels).astype(bool), np.asarray(scores, np.float64)
    pos, neg = scores[labels][:, None], scores[~labels][None, :]
    return float(((pos > neg) + tie * (pos == neg)).mean())


def _auroc_cases():
    rng = np.random.default_rng(2)
    y = rng.permutation(np.r_[np.zeros(40, int), np.ones(30, int)])
    yield "random scores", y, rng.normal(0, 1, 70) + 1.0 * y
    y = rng.integers(0, 2, 60)
    yield "integer scores with many ties", y, rng.integers(0, 5, 60) + y
    y = np.r_[np.zeros(97, int), np.ones(3, int)]
    yield "97 normal, 3 anomalous", y, rng.normal(0, 1, 100) + 2.0 * y
    yield "labels [0, 1], scores [0.1, 0.9]", np.array([0, 1]), np.array([0.1, 0.9])
    yield "labels [0, 1], scores [0.9, 0.1]", np.array([0, 1]), np.array([0.9, 0.1])
    yield "labels [1, 0], equal scores", np.array([1, 0]), np.array([0.3, 0.3])
    y = rng.random(50) < 0.4
    yield "boolean labels", y, rng.normal(0, 1, 50) + 0.5 * y
    r = case_rng(52)
    n = int(r.integers(30, 200))
    y = (r.random(n) < r.uniform(0.1, 0.5)).astype(int)
    y[:2] = [0, 1]
    yield "random scores rounded to 1 decimal (ties)", y, np.round(r.normal(0, 1, n) + y, 1)


@checker("auroc", forbid=_AUROC_SOLVERS)
def check_auroc(auroc) -> None:
    """``auroc(labels, scores)``: area under the ROC curve (label 1 = anomaly), from scratch.

    Calling scikit-learn's ROC functions, SciPy's Mann-Whitney test or the course's
    ``metrics.auroc`` (under any name) fails the check.
    """
    from sklearn.metrics import roc_auc_score

    flipped, results = [], []
    for name, labels, scores in _auroc_cases():
        ref = roc_auc_score(labels, scores)
        hint = (" (convert the labels with np.asarray(labels, dtype=bool))"
                if labels.dtype == bool else "")
        given = (labels.copy(), scores.copy())
        value = _call(auroc, f"auroc on {name}", *given, hint=hint)
        expect_unchanged("labels", given[0], labels)
        expect_unchanged("scores", given[1], scores)
        got = float(expect_shape("auroc", value, (), "(one number)"))
        results.append((name, labels, scores, ref, got))
        flipped.append(abs(ref - 0.5) > 0.05 and np.isclose(got, 1.0 - ref, atol=1e-6))
    if sum(flipped) >= 2 and all(f or np.isclose(g, r, atol=1e-6)
                                 for f, (_, _, _, r, g) in zip(flipped, results, strict=True)):
        fail("you computed 1 - AUROC: did you swap the labels or sort descending? Label 1 "
             "is the anomaly and a higher score must mean 'more anomalous'")
    for name, labels, scores, ref, got in results:
        if np.isclose(got, ref, atol=1e-6):
            continue
        if np.isclose(got, 1.0 - ref, atol=1e-6):
            fail(f"on {name}: you returned 1 - AUROC ({got:.6f} instead of {ref:.6f}): did "
                 "you swap the labels or sort descending?")
        n_pos, n_neg = int(np.sum(labels)), int(len(labels) - np.sum(labels))
        if np.isclose(got, ref * n_pos * n_neg, rtol=1e-6):
            fail(f"on {name}: you returned the count of correctly ranked pairs ({got:g}); "
                 f"divide by n_pos * n_neg = {n_pos * n_neg}")
        has_ties = len(np.unique(scores)) < len(scores)
        if has_ties:
            for tie, word in ((0.0, "0"), (1.0, "1")):
                if np.isclose(got, _pair_auc(labels, scores, tie), atol=1e-6):
                    fail(f"ties mishandled on {name}: you counted a (normal, anomalous) pair "
                         f"with equal scores as {word}; it counts 1/2 (expected {ref:.6f}, "
                         f"got {got:.6f})")
            fail(f"ties mishandled on {name}: expected {ref:.6f}, got {got:.6f}; equal scores "
                 "form one threshold (one step of the ROC curve), or count tied pairs as 1/2")
        fail(f"on {name}: expected AUROC {ref:.6f}, got {got:.6f}")


# ---------------------------------------------------------------- Task 3: threshold


def _bracket(sample, q: float) -> tuple[float, float]:
    """Order statistics around the ``q`` quantile: any threshold between them is accepted."""
    s = np.sort(np.asarray(sample, np.float64))
    pos = q * (len(s) - 1)
    lo, hi = max(int(np.floor(pos)) - 1, 0), min(int(np.ceil(pos)) + 1, len(s) - 1)
    return float(s[lo]), float(s[hi])


def _inside(value: float, sample, q: float) -> bool:
    lo, hi = _bracket(sample, q)
    return lo - 1e-9 <= value <= hi + 1e-9


def _detect_cases():
    rng = np.random.default_rng(3)
    # validation: normal data only; test: a shifted, wider normal part plus anomalies
    val = rng.normal(0.0, 1.0, 2000)
    test = rng.permutation(np.r_[rng.normal(0.7, 1.4, 600), rng.normal(4.0, 1.0, 400)])
    for fpr in (0.01, 0.05, 0.2):
        yield val, test, fpr
    yield rng.gamma(2.0, 1.0, 150), rng.gamma(2.0, 2.0, 80), 0.1


@checker("detect", forbid=())
def check_detect(detect) -> None:
    """``detect(val_scores, test_scores, target_fpr)`` -> ``(threshold, flags)``.

    The threshold is the ``1 - target_fpr`` quantile of the validation scores (normal
    data only); ``flags = test_scores > threshold``. Validation and test sets come from
    different distributions, so a threshold computed from the test set is caught.
    """
    cases = []
    for val, test, fpr in _detect_cases():
        call = f"detect(val_scores, test_scores, target_fpr={fpr})"
        given = (val.copy(), test.copy())
        result = _call(detect, call, *given, fpr)
        expect_unchanged("val_scores", given[0], val)
        expect_unchanged("test_scores", given[1], test)
        if not isinstance(result, tuple) or len(result) != 2:
            fail(f"{call}: return a tuple (threshold, flags)")
        tau = float(expect_shape("threshold", result[0], (), "(one number)"))
        cases.append((call, val, test, fpr, tau, result[1]))
    # which rule explains the thresholds of *every* case?
    rules = [
        ("right", lambda v, t, f, tau: _inside(tau, v, 1 - f)),
        ("leak", lambda v, t, f, tau: _inside(tau, t, 1 - f) or _inside(tau, t, f)
         or _inside(tau, np.r_[v, t], 1 - f)),
        ("side", lambda v, t, f, tau: _inside(tau, v, f)),
        ("percent", lambda v, t, f, tau: _inside(tau, v, (1 - f) / 100)
         or _inside(tau, v, f / 100)),
    ]
    rule = next((name for name, test_rule in rules
                 if all(test_rule(v, t, f, tau) for _, v, t, f, tau, _ in cases)), None)
    if rule != "right":
        call, val, test, fpr, tau, _ = next(c for c in cases if not _inside(c[4], c[1], 1 - c[3]))
        ref = float(np.quantile(val, 1 - fpr))
        got = f"{call}: threshold {tau:.4f}, but the validation quantile is {ref:.4f}"
        if rule == "leak":
            fail(f"{got}: {_LEAK}")
        if rule == "side":
            fail(f"{got}: you took the target_fpr quantile, on the wrong side; flag the top "
                 "target_fpr of normal scores, i.e. use the (1 - target_fpr) quantile")
        if rule == "percent":
            fail(f"{got}: your threshold is near the smallest validation score; "
                 "np.percentile takes percentages (0-100), np.quantile fractions (0-1)")
        fail(f"{got}: the threshold must be the (1 - target_fpr) quantile of val_scores")
    for call, val, test, _, tau, raw in cases:
        raw = np.asarray(raw)
        if raw.shape == val.shape and val.shape != test.shape:
            fail(f"{call}: flags have the shape of val_scores {val.shape}; flag test_scores")
        flags = expect_shape("flags", raw, test.shape, "(one flag per test score)")
        expect_true(np.isin(flags, (0, 1)).all(), "flags must be booleans (True = anomaly)")
        flags = flags.astype(bool)
        clear = test != tau  # a score exactly at the threshold may go either way
        if np.array_equal(flags[clear], (test < tau)[clear]):
            fail(f"{call}: flags are inverted: an anomaly is a score above the threshold")
        if not np.array_equal(flags[clear], (test > tau)[clear]):
            wrong = int((flags[clear] != (test > tau)[clear]).sum())
            fail(f"{call}: {wrong} flags disagree with test_scores > threshold")
    for bad in (5, 1.5, -0.1):
        try:
            detect(val.copy(), test.copy(), bad)
        except ValueError:
            continue
        except NotImplementedError:
            raise
        except Exception as exc:  # noqa: BLE001
            fail(f"target_fpr={bad} raised {type(exc).__name__}; raise a ValueError that "
                 "says target_fpr must be a fraction between 0 and 1")
        fail(f"target_fpr={bad} should raise ValueError: a false-positive rate is a fraction "
             "between 0 and 1 (5% is 0.05)")


# ---------------------------------------------------------------- Task 4: Hamming ball


def _ball(db, q, radius: int, axis: int = 1, strict: bool = False) -> np.ndarray:
    dist = (np.asarray(db).astype(np.int64) != np.asarray(q).astype(np.int64)).sum(axis=axis)
    return np.flatnonzero(dist < radius if strict else dist <= radius)


def _hamming_cases():
    rng = np.random.default_rng(4)
    db = rng.integers(0, 2, (300, 12))
    q = db[7].copy()
    for r in (0, 1, 2, 3):
        yield f"radius {r}", db, q, r
    yield "radius 12 = number of bits (every code)", db, q, 12
    yield "radius 20 > number of bits (every code)", db, q, 20
    absent = 1 - db[0]
    small = db[(db != absent).sum(axis=1) >= 2][:40]
    yield "radius 1 with no code that close (an empty result)", small, absent, 1
    yield "boolean codes", db.astype(bool), q.astype(bool), 2
    yield "uint8 codes", db.astype(np.uint8), q.astype(np.uint8), 2


@checker("hamming_ball", forbid=("utils.retrieval.hamming_distances",
                                 "scipy.spatial.distance.cdist", "scipy.spatial.distance.hamming"))
def check_hamming_ball(hamming_ball) -> None:
    """``hamming_ball(db_codes, query_code, radius)``: sorted ids within distance <= radius."""
    results = []
    for name, db, q, r in _hamming_cases():
        hint = (" (compare codes with != instead of subtracting them)"
                if db.dtype == bool else "")
        given = (db.copy(), q.copy())
        out = _call(hamming_ball, f"hamming_ball on {name}", *given, r, hint=hint)
        expect_unchanged("db_codes", given[0], db)
        expect_unchanged("query_code", given[1], q)
        raw = np.asarray(to_numpy(out, "ids") if out is None else out)
        if raw.dtype == bool and raw.shape == (len(db),):
            fail(f"on {name}: you returned a boolean mask; return the indices "
                 "(np.flatnonzero(mask))")
        if raw.ndim == 2 and 1 in raw.shape:
            raw = raw.ravel()
        got = expect_shape("ids", raw, (raw.size,), "(a 1-d array of indices)")
        results.append((name, db, q, r, got))

    def all_match(**kw):
        return all(np.array_equal(np.sort(g), _ball(d, q, r, **kw)) for _, d, q, r, g in results)

    if all_match(strict=True):
        fail("you used < radius: the ball includes the codes at distance exactly radius "
             "(use <=; radius 0 must return the exact matches)")
    if all_match(axis=0):
        fail("distances over the wrong axis: sum the mismatches over the bits (axis=1) to "
             "get one distance per database code")
    for name, db, q, r, got in results:
        ref = _ball(db, q, r)
        if np.array_equal(np.sort(got), ref):
            expect_true(np.array_equal(got, ref), f"on {name}: right indices, but return "
                        "them in increasing order (np.sort or np.flatnonzero)")
            continue
        if name == "uint8 codes":
            fail("uint8 codes: subtraction wraps around (0 - 1 = 255); compare codes with "
                 "!= (or XOR) instead of subtracting")
        fail(f"on {name}: expected {len(ref)} indices {ref[:6].tolist()}..., got {len(got)} "
             f"{got[:6].astype(int).tolist()}...")


# ---------------------------------------------------------------- Task 5: few labels

_TRAINED: dict = {}


def trained_few_label_model():
    """``(encoder, classifier)`` from the last passing :func:`check_few_label_classifier`."""
    if "model" not in _TRAINED:
        raise NotImplementedError("few_label_classifier is not done yet: pass its check first")
    return _TRAINED["model"]


def _encode(encoder, x, what: str) -> np.ndarray:
    out = _call(encoder.predict, f"{what}.predict", x, batch_size=2048, verbose=0)
    codes = to_numpy(out, "codes")
    if codes.ndim != 2 or len(codes) != len(x):
        fail(f"codes: expected shape ({len(x)}, code size), got {codes.shape}")
    if codes.shape[1] == x.shape[1]:
        fail(f"the encoder returns {codes.shape[1]} numbers per image, as many as the input: "
             "these look like reconstructions; return the encoder, not the autoencoder")
    expect_true(codes.shape[1] <= MAX_CODE_DIM, f"codes of {codes.shape[1]} numbers; this task "
                f"asks for a code of at most {MAX_CODE_DIM}")
    return codes


def _predict(clf, codes, what: str) -> np.ndarray:
    fn = clf.predict if hasattr(clf, "predict") else clf
    if not callable(fn):
        fail(f"fit_classifier should return a classifier with .predict, got "
             f"{type(clf).__name__}")
    pred = to_numpy(_call(fn, what, codes), "predictions")
    if pred.ndim == 2 and pred.shape[0] == len(codes) and pred.shape[1] > 1:
        fail(f"predictions have shape {pred.shape}: return class labels, one per image "
             "(the argmax of the probabilities)")
    return expect_shape("predictions", pred.ravel() if pred.ndim == 2 else pred,
                        (len(codes),), "(one label per image)")


def _check_pretrained(encoder, log, x_unlabelled, keras) -> None:
    """The encoder is a Keras model trained, as part of an autoencoder, on the images."""
    expect_true(isinstance(encoder, keras.Model | keras.layers.Layer),
                f"pretrain_encoder returned a {type(encoder).__name__}; this task asks for "
                "the encoder of an autoencoder you train on x_unlabelled, a keras.Model "
                "(PCA, pooling or a fixed projection is not a pre-trained encoder)")
    own = encoder.trainable_weights
    expect_true(len(own) > 0, "the encoder has no trainable weights: return the encoder of "
                "the autoencoder you trained, not a fixed transformation")
    calls = [c for c in log.trained(encoder) if c["changed"]]
    expect_true(calls, "the encoder's weights were not trained inside pretrain_encoder: fit "
                "an autoencoder (encoder + decoder) on x_unlabelled and return its encoder")
    fitted = set().union(*(c["weight_ids"] for c in calls))
    untrained = [w.name for w in own if id(w) not in fitted]
    expect_true(not untrained, f"some encoder weights ({', '.join(untrained[:3])}) were not "
                "part of the autoencoder you trained; return the trained encoder itself")
    for c in calls:
        x, y = c["x"], c["y"]
        if not isinstance(x, np.ndarray) or y is None:
            continue  # a dataset or generator: nothing to compare
        y = np.asarray(y) if not isinstance(y, np.ndarray) else y
        if y.shape != x.shape:  # images as targets (a denoising AE is fine), not labels
            fail(f"the encoder was trained with targets of shape {y.shape} for inputs of "
                 f"shape {x.shape}: an autoencoder is fit with its inputs as targets "
                 "(model.fit(x, x)), on the unlabelled images only, with no labels")
        if x.ndim >= 2 and x.shape[1:] == x_unlabelled.shape[1:] and len(x) > len(
                x_unlabelled):
            fail(f"the autoencoder was trained on {len(x):,} images, more than the "
                 f"{len(x_unlabelled):,} unlabelled images it was given; train on "
                 "x_unlabelled only")


@checker("few_label_classifier", forbid=_LABEL_SOURCES)
def check_few_label_classifier(pretrain_encoder, fit_classifier, x_unlabelled, x_labelled,
                               y_labelled, x_test=None, y_test=None,
                               target=FEW_LABEL_TARGET, max_labels=N_LABELS) -> None:
    """Pre-train on ``x_unlabelled``, fit on the labelled codes, score on held-out data.

    ``pretrain_encoder(x_unlabelled)`` sees images only and returns an encoder (images to
    codes of at most ``MAX_CODE_DIM`` numbers); ``fit_classifier(codes, labels)`` sees only
    the codes and labels of the ``x_labelled`` images and returns a classifier with
    ``predict(codes) -> labels``. Accuracy is measured here on ``x_test, y_test`` (default:
    the 10,000 MNIST test images, which the student's functions never receive). Refitting
    with the labels renamed must rename the predictions too, so a classifier that uses any
    labels other than those it is given is caught.
    """
    import time

    _TRAINED.pop("model", None)
    y_labelled = np.asarray(y_labelled).astype(np.int64)
    x_labelled = np.asarray(x_labelled, dtype=np.float32)
    expect_true(len(y_labelled) <= max_labels, f"this task allows at most {max_labels} "
                f"labels; {len(y_labelled)} were passed")
    expect_true(len(y_labelled) == len(x_labelled), f"{len(x_labelled)} labelled images but "
                f"{len(y_labelled)} labels")
    if x_test is None:
        from utils import data

        (_, _), (x_u8, y_test) = data.load_mnist()
        x_test = data.flatten(data.to_float(x_u8))
    x_test, y_test = np.asarray(x_test, np.float32), np.asarray(y_test).astype(np.int64)

    import keras

    x_unlabelled = np.asarray(x_unlabelled, dtype=np.float32)
    start = time.perf_counter()
    with record_training() as log:
        encoder = pretrain_encoder(x_unlabelled)
    seconds = time.perf_counter() - start
    expect_true(encoder is not None, "pretrain_encoder returned None; return the encoder")
    _check_pretrained(encoder, log, x_unlabelled, keras)
    codes = _encode(encoder, x_labelled, "encoder")
    codes_test = _encode(encoder, x_test, "encoder")
    clf = _call(fit_classifier, "fit_classifier(codes, labels)", codes.copy(),
                y_labelled.copy())
    expect_true(clf is not None, "fit_classifier returned None; return the classifier")
    pred = _predict(clf, codes_test, "classifier.predict(codes)")
    acc = float(np.mean(pred == y_test))
    print(f"test accuracy {acc:.1%} on {len(y_test):,} held-out images (target >= "
          f"{target:.0%}); {len(y_labelled)} labels, codes of {codes.shape[1]} numbers; "
          f"pre-training {seconds:.0f} s")
    expect_true(acc >= target, f"test accuracy {acc:.1%} is below the target {target:.0%}: "
                "train the autoencoder for more epochs, standardise the codes before a "
                "linear classifier, or use a larger code")

    # rename the classes (c -> the next class): a classifier fit on the labels it is given
    # predicts the renamed classes; one that looks up labels elsewhere does not
    classes = np.unique(y_labelled)
    rename = dict(zip(classes.tolist(), np.roll(classes, -1).tolist(), strict=True))
    renamed = np.array([rename[c] for c in y_labelled.tolist()])
    clf2 = _call(fit_classifier, "fit_classifier(codes, renamed labels)", codes.copy(), renamed)
    pred2 = _predict(clf2, codes_test, "classifier.predict(codes)")
    y_test_renamed = np.array([rename.get(c, -1) for c in y_test.tolist()])
    acc_true, acc_renamed = float(np.mean(pred2 == y_test)), float(np.mean(pred2 == y_test_renamed))
    expect_true(acc_true < 0.5 * acc and acc_renamed > 0.8 * acc,
                f"after the labels given to fit_classifier were renamed, the classifier "
                f"matched the renamed labels on {acc_renamed:.0%} and the true ones on "
                f"{acc_true:.0%} of the test images: fit_classifier must learn from the "
                f"{len(y_labelled)} labels it is given, and no others")
    _TRAINED["model"] = (encoder, clf)
