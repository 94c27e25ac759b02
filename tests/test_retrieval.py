"""Unit tests for utils.retrieval: bit packing, hash tables, Hamming search and metrics."""

from __future__ import annotations

import numpy as np
import pytest

from utils import retrieval as R


def test_to_bits_and_pack():
    bits = R.to_bits(np.array([[0.9, 0.1, 0.6], [0.2, 0.2, 0.2]]))
    assert bits.tolist() == [[1, 0, 1], [0, 0, 0]]
    assert R.pack_bits(bits).tolist() == [5, 0]
    assert R.pack_bits(np.ones((1, 64), dtype=np.uint8))[0] == np.uint64(2**64 - 1)


@pytest.mark.parametrize("bad", [np.zeros(3), np.zeros((2, 0)), np.zeros((2, 65)),
                                 np.full((2, 3), 2)])
def test_pack_bits_rejects_bad_input(bad):
    with pytest.raises(ValueError, match="pack_bits"):
        R.pack_bits(bad)


def test_hash_table_groups_ids():
    bits = np.array([[1, 0], [0, 1], [1, 0], [1, 1]])
    table = R.build_hash_table(bits)
    assert set(table) == {1, 2, 3}
    assert table[2].tolist() == [0, 2]
    assert table[1].tolist() == [1]


def test_flip_masks_count_and_order():
    masks = R.flip_masks(5, 2)
    assert len(masks) == 1 + 5 + 10
    assert masks[0] == 0
    pops = [bin(m).count("1") for m in masks]
    assert pops == sorted(pops) and max(pops) == 2
    with pytest.raises(ValueError, match="radius"):
        R.flip_masks(5, -1)


def test_hamming_ball_lookup_matches_brute_force():
    rng = np.random.default_rng(0)
    bits = rng.integers(0, 2, size=(300, 8))
    table = R.build_hash_table(bits)
    query = bits[:1]
    key = int(R.pack_bits(query)[0])
    d = R.hamming_distances(query, bits)[0]
    for radius in (0, 1, 2):
        got = np.sort(R.hamming_ball_lookup(table, key, R.flip_masks(8, radius)))
        assert got.tolist() == np.flatnonzero(d <= radius).tolist()
    assert R.hamming_ball_lookup({}, key, [0]).size == 0


def test_hamming_distances():
    q = np.array([[0, 0, 0, 0], [1, 1, 1, 1]])
    d = np.array([[0, 0, 0, 0], [1, 0, 1, 0], [1, 1, 1, 1]])
    assert R.hamming_distances(q, d).tolist() == [[0, 2, 4], [4, 2, 0]]
    with pytest.raises(ValueError, match="bits"):
        R.hamming_distances(q, d[:, :3])


def test_precision_and_map_by_hand():
    # one query of label 1; database ranked by distance: labels 1, 0, 1, 0
    dist = np.array([[0, 1, 2, 3]])
    ql = np.array([1])
    dl = np.array([1, 0, 1, 0])
    assert R.precision_at_k(dist, ql, dl, 1) == 1.0
    assert R.precision_at_k(dist, ql, dl, 2) == 0.5
    # AP = (1/2) * (1/1 + 2/3)
    assert R.mean_average_precision(dist, ql, dl) == pytest.approx((1 + 2 / 3) / 2)
    # ties are broken by database index (stable)
    assert R.precision_at_k(np.zeros((1, 4)), ql, dl, 1) == 1.0
    with pytest.raises(ValueError, match="k must be"):
        R.precision_at_k(dist, ql, dl, 5)
    with pytest.raises(ValueError, match="query_labels"):
        R.precision_at_k(dist, np.array([1, 2]), dl, 1)


def test_perfect_codes_give_map_one():
    labels = np.repeat(np.arange(4), 5)
    bits = np.eye(4, dtype=np.uint8)[labels]
    d = R.hamming_distances(bits, bits)
    assert R.mean_average_precision(d, labels, labels) == pytest.approx(1.0)
    assert R.precision_at_k(d, labels, labels, 5) == 1.0


def test_scores_from_relevance_match_the_single_metrics():
    rng = np.random.default_rng(0)
    dist = rng.integers(0, 5, size=(7, 40))  # many ties: the stable order matters
    ql, dl = rng.integers(0, 3, 7), rng.integers(0, 3, 40)
    rel = R.relevance_ranking(dist, ql, dl)
    scores = R.scores_from_relevance(rel, ks=(1, 10))
    assert scores == {"P@1": R.precision_at_k(dist, ql, dl, 1),
                      "P@10": R.precision_at_k(dist, ql, dl, 10),
                      "mAP": R.mean_average_precision(dist, ql, dl)}
    assert R.scores_from_relevance(rel, ks=(3,), with_map=False).keys() == {"P@3"}
    with pytest.raises(ValueError, match="k must be in"):
        R.scores_from_relevance(rel, ks=(41,))
    with pytest.raises(ValueError, match="boolean"):
        R.scores_from_relevance(rel.astype(int))
    with pytest.raises(ValueError, match="no query has a relevant item"):
        R.scores_from_relevance(np.zeros((2, 5), dtype=bool), ks=(5,))


def test_precision_of_ids():
    assert R.precision_of_ids([0, 1], 1, np.array([1, 0, 1])) == 0.5
    assert np.isnan(R.precision_of_ids([], 1, np.array([1])))


def test_random_projection_lsh():
    rng = np.random.default_rng(1)
    x = rng.normal(size=(50, 6))
    enc = R.random_projection_lsh(x, 16, seed=3)
    b = enc(x)
    assert b.shape == (50, 16) and set(np.unique(b)) <= {0, 1}
    assert (enc(x) == R.random_projection_lsh(x, 16, seed=3)(x)).all()
    # sign codes: the negated centred point gets the complementary code
    mean = x.mean(axis=0)
    assert (enc(2 * mean - x[:1]) == 1 - b[:1]).all()
    with pytest.raises(ValueError, match="n_bits"):
        R.random_projection_lsh(x, 0)
    with pytest.raises(ValueError, match="expected shape"):
        enc(np.zeros((2, 5)))


# --- sign-of-PCA and ITQ hashing baselines -------------------------------------------------


def _anisotropic(n=200, d=12, seed=0):
    """Gaussian data with clearly separated variances, so principal axes are well defined."""
    rng = np.random.default_rng(seed)
    return rng.normal(size=(n, d)) * np.linspace(3.0, 0.5, d) + 1.0


def _sign_bits_from_sklearn_pca(x_fit, x, n_bits):
    from sklearn.decomposition import PCA

    pca = PCA(n_components=n_bits, svd_solver="full").fit(x_fit)
    return ((x - pca.mean_) @ pca.components_.T > 0).astype(np.uint8)


def _pca_projection_numpy(x_fit, n_bits):
    """Centred data on its top right singular vectors (numpy SVD, signs arbitrary)."""
    xc = x_fit - x_fit.mean(axis=0)
    _, _, vt = np.linalg.svd(xc, full_matrices=False)
    return xc @ vt[:n_bits].T


def test_pca_sign_hash_matches_independent_pca():
    x = _anisotropic()
    x_new = _anisotropic(n=30, seed=1)
    h = R.pca_sign_hash(x, 5)
    assert isinstance(h, R.PCAHash)
    for data in (x, x_new):
        bits = h(data)
        assert bits.dtype == np.uint8 and bits.shape == (len(data), 5)
        assert (bits == _sign_bits_from_sklearn_pca(x, data, 5)).all()
        assert (h.codes(data) == bits).all()
    # numpy SVD (another algorithm): same bits up to flipping each principal axis
    ref = _pca_projection_numpy(x, 5) > 0
    bits = h(x).astype(bool)
    for j in range(5):
        assert (bits[:, j] == ref[:, j]).all() or (bits[:, j] == ~ref[:, j]).all()
    # the bits plug into the existing hash-table tools
    assert sum(len(ids) for ids in R.build_hash_table(bits).values()) == len(x)


def test_itq_loss_decreases_and_rotation_stays_orthogonal():
    x = _anisotropic()
    itq = R.itq_hash(x, 6, n_iter=30, seed=4)
    loss = itq.quantisation_loss_
    assert loss.shape == (31,)
    assert (np.diff(loss) <= 1e-9 * loss[0]).all(), f"loss increased: {np.diff(loss).max()}"
    # ends below the loss of the random starting rotation (here by about 3%: most of the
    # loss, N * n_bits + ||V||^2, does not depend on R; 1.4-6% over seeds 0-29)
    assert loss[-1] < (1 - 1e-3) * loss[0], f"{loss[0]:.2f} -> {loss[-1]:.2f}"
    for rot in (itq.rotation_, itq.initial_rotation_):
        assert np.abs(rot.T @ rot - np.eye(6)).max() < 1e-10
    # the reported final loss is the loss of the codes' own rotation, with V from numpy
    v = _pca_projection_numpy(x, 6)
    z = itq.project(x)
    b = np.where(z > 0, 1.0, -1.0)
    assert loss[-1] == pytest.approx(((b - z) ** 2).sum(), rel=1e-9)
    # V R is a rotation of the PCA projection: ITQ keeps the PCA subspace
    assert np.abs((z**2).sum(axis=1) - (v**2).sum(axis=1)).max() < 1e-8
    assert (itq(x) == (z > 0)).all() and itq(x).dtype == np.uint8


def test_itq_one_iteration_matches_the_definition():
    from scipy.stats import ortho_group
    from sklearn.decomposition import PCA

    x = _anisotropic(n=150, d=10, seed=2)
    n_bits, seed = 4, 7
    itq = R.itq_hash(x, n_bits, n_iter=1, seed=seed)
    pca = PCA(n_components=n_bits, svd_solver="full").fit(x)
    v = (x - pca.mean_) @ pca.components_.T
    # starting rotation: Haar-random from the seeded generator
    r0 = ortho_group.rvs(n_bits, random_state=np.random.default_rng(seed))
    assert np.allclose(itq.initial_rotation_, r0, atol=1e-12)
    b0 = np.where(v @ r0 > 0, 1.0, -1.0)
    # orthogonal Procrustes by hand: argmin_R ||V R - B||_F with V^T B = U S W^T is U W^T
    u, _, wt = np.linalg.svd(v.T @ b0)
    r1 = u @ wt
    assert np.allclose(itq.rotation_, r1, atol=1e-8)
    b1 = np.where(v @ r1 > 0, 1.0, -1.0)
    expected = [((b0 - v @ r0) ** 2).sum(), ((b1 - v @ r1) ** 2).sum()]
    assert itq.quantisation_loss_ == pytest.approx(expected, rel=1e-9)
    assert (itq(x) == (v @ r1 > 0)).all()


def test_itq_is_deterministic_given_the_seed():
    x = _anisotropic(n=120, d=8)
    a, b = R.itq_hash(x, 5, seed=3), R.itq_hash(x, 5, seed=3)
    assert (a(x) == b(x)).all()
    assert np.array_equal(a.rotation_, b.rotation_)
    assert np.array_equal(a.quantisation_loss_, b.quantisation_loss_)
    assert not np.allclose(a.initial_rotation_, R.itq_hash(x, 5, seed=4).initial_rotation_)
    # one bit: the rotation is +-1 and the codes are the sign-PCA codes up to a flip
    one = R.itq_hash(x, 1, n_iter=2, seed=0)
    assert abs(one.rotation_[0, 0]) == 1.0
    pca1 = R.pca_sign_hash(x, 1)(x)
    assert (one(x) == pca1).all() or (one(x) == 1 - pca1).all()


def _blobs(seed, n=400, d=20, k=5, sep=1.5):
    rng = np.random.default_rng(seed)
    y = rng.integers(0, k, n)
    return rng.normal(scale=sep, size=(k, d))[y] + rng.normal(size=(n, d)), y


def _map(encode, x, y, n_queries=100):
    b = encode(x)
    d = R.hamming_distances(b[:n_queries], b[n_queries:])
    rel = R.relevance_ranking(d, y[:n_queries], y[n_queries:])
    return R.scores_from_relevance(rel, ks=(10,))["mAP"]


def test_itq_and_pca_codes_retrieve_clusters():
    n_bits, scores = 8, {"ITQ": [], "PCA": [], "LSH": [], "chance": []}
    for seed in (0, 1, 2):
        x, y = _blobs(seed)
        x_db, y_db = x[100:], y[100:]  # queries x[:100] are not in the fitted data
        scores["ITQ"].append(_map(R.itq_hash(x_db, n_bits, seed=seed), x, y))
        scores["PCA"].append(_map(R.pca_sign_hash(x_db, n_bits), x, y))
        scores["LSH"].append(_map(R.random_projection_lsh(x_db, n_bits, seed=seed), x, y))
        # a random ranking: AP is about the fraction of the database sharing the label
        scores["chance"].append(np.mean([np.mean(y_db == q) for q in y[:100]]))
    m = {k: float(np.mean(v)) for k, v in scores.items()}
    assert m["PCA"] > m["chance"] + 0.15, m
    assert m["ITQ"] > m["chance"] + 0.15, m
    assert m["ITQ"] >= m["LSH"], m


def test_pca_and_itq_reject_bad_input():
    x = _anisotropic(n=20, d=6)
    cases = [
        (lambda: R.pca_sign_hash(x, 7), "n_bits=7 is larger than the data dimension D=6"),
        (lambda: R.itq_hash(x[:5], 5), "n_bits=5 needs at least 6 training points"),
        (lambda: R.pca_sign_hash(x, 0), "n_bits must be >= 1"),
        (lambda: R.PCAHash(65), "n_bits must be <= 64"),
        (lambda: R.pca_sign_hash(x, 2.0), "n_bits must be an int"),
        (lambda: R.itq_hash(x, True), "n_bits must be an int"),
        (lambda: R.itq_hash(x, 2, n_iter=0), "n_iter must be >= 1"),
        (lambda: R.ITQHash(2, n_iter=1.5), "n_iter must be an int"),
        (lambda: R.pca_sign_hash(x.astype(str), 2), "x_fit must hold real numbers"),
        (lambda: R.itq_hash(x + 0j, 2), "x_fit must hold real numbers"),
        (lambda: R.pca_sign_hash(x[0], 2), r"x_fit must be a non-empty 2-d array \(N, D\)"),
        (lambda: R.pca_sign_hash(x[None], 2), "x_fit must be a non-empty 2-d array"),
        (lambda: R.pca_sign_hash(np.where(x > 2, np.nan, x), 2), "x_fit contains NaN"),
        (lambda: R.itq_hash(x, 2)(x[:, :5]), r"x must have shape \(M, 6\)"),
        (lambda: R.pca_sign_hash(x, 2).codes(x[0]), r"x must be a non-empty 2-d array \(M, 6\)"),
    ]
    for make, message in cases:
        with pytest.raises(ValueError, match=message):
            make()
    with pytest.raises(ValueError, match="call fit"):  # NotFittedError is a ValueError
        R.ITQHash(2).codes(x)
    # integer and boolean data are accepted (cast to float)
    assert R.pca_sign_hash(np.rint(x).astype(int), 2)(x).shape == (20, 2)
