"""Binary codes and retrieval: hash tables, Hamming search, precision@k and mAP.

Also the hashing baselines that need no neural network: random-projection LSH
(:func:`random_projection_lsh`), the sign of PCA (:func:`pca_sign_hash`) and ITQ
(:func:`itq_hash`, Gong & Lazebnik 2011).

Used by lesson 10 (semantic hashing) and reusable by any lesson that ranks a
database against queries. Bit codes are ``(N, n_bits)`` arrays of 0/1 (any
integer or boolean dtype); ``n_bits`` is at most 64 so that a code fits one
Python ``int`` key.

Conventions:

* a *ranking* of the database for a query sorts it by increasing distance, and
  ties are broken by database index (a stable sort), so results are reproducible;
* an item is *relevant* to a query when both carry the same label.
"""

from __future__ import annotations

import numpy as np

MAX_BITS = 64


def _check_bits(bits, name: str = "bits") -> np.ndarray:
    b = np.asarray(bits)
    if b.ndim != 2:
        raise ValueError(f"{name}: expected a 2-d array (N, n_bits) of 0/1, got shape {b.shape}")
    if not 1 <= b.shape[1] <= MAX_BITS:
        raise ValueError(f"{name}: n_bits must be between 1 and {MAX_BITS}, got {b.shape[1]}")
    if b.size and not np.isin(b, (0, 1)).all():
        raise ValueError(f"{name}: expected only 0/1 values; round or threshold the codes first")
    return b.astype(np.uint8)


def to_bits(codes, threshold: float = 0.5) -> np.ndarray:
    """Round real-valued codes to bits: ``1`` where ``code > threshold``, else ``0``."""
    c = np.asarray(codes, dtype=np.float64)
    if c.ndim != 2:
        raise ValueError(f"to_bits: codes must be 2-d (N, n_bits), got shape {c.shape}")
    return (c > threshold).astype(np.uint8)


def pack_bits(bits) -> np.ndarray:
    """Pack each row of bits into one unsigned integer (first column = most significant bit).

    Returns a ``uint64`` array of length N; these integers are the hash keys.
    """
    b = _check_bits(bits, "pack_bits")
    weights = np.uint64(1) << np.arange(b.shape[1] - 1, -1, -1, dtype=np.uint64)
    return (b.astype(np.uint64) * weights).sum(axis=1, dtype=np.uint64)


def build_hash_table(bits) -> dict[int, np.ndarray]:
    """A hash table from bit pattern (packed as an ``int``) to the ids of the rows holding it."""
    keys = pack_bits(bits)
    order = np.argsort(keys, kind="stable")
    sorted_keys = keys[order]
    starts = np.flatnonzero(np.r_[True, sorted_keys[1:] != sorted_keys[:-1]])
    ends = np.r_[starts[1:], len(keys)]
    return {int(sorted_keys[s]): order[s:e] for s, e in zip(starts, ends, strict=True)}


def flip_masks(n_bits: int, radius: int) -> list[int]:
    """All XOR masks of ``n_bits`` bits with at most ``radius`` ones, ordered by popcount.

    Probing ``key ^ mask`` for each mask visits every bucket within Hamming distance
    ``radius`` of ``key``: there are ``sum_{r<=radius} C(n_bits, r)`` of them.
    """
    from itertools import combinations

    if not 1 <= n_bits <= MAX_BITS:
        raise ValueError(f"flip_masks: n_bits must be between 1 and {MAX_BITS}, got {n_bits}")
    if radius < 0:
        raise ValueError(f"flip_masks: radius must be >= 0, got {radius}")
    masks = []
    for r in range(min(radius, n_bits) + 1):
        for pos in combinations(range(n_bits), r):
            m = 0
            for p in pos:
                m |= 1 << p
            masks.append(m)
    return masks


def hamming_ball_lookup(table: dict[int, np.ndarray], key: int, masks) -> np.ndarray:
    """Ids in every bucket ``key ^ mask`` of ``table`` (see :func:`flip_masks`), nearest first.

    With ``masks=[0]`` this is an exact-bucket lookup. Returns an empty int array
    when every probed bucket is empty.
    """
    found = [table[k] for k in (int(key) ^ m for m in masks) if k in table]
    return np.concatenate(found) if found else np.empty(0, dtype=np.int64)


def hamming_distances(query_bits, db_bits) -> np.ndarray:
    """Hamming distances between every query and every database code, shape (Q, N), int16.

    Computed as ``(n_bits - s_q . s_d) / 2`` with the codes mapped to signs ``s = 2b - 1``,
    which is one float32 matrix product.
    """
    q = _check_bits(query_bits, "hamming_distances(query_bits)")
    d = _check_bits(db_bits, "hamming_distances(db_bits)")
    if q.shape[1] != d.shape[1]:
        raise ValueError(f"hamming_distances: queries have {q.shape[1]} bits but the database "
                         f"has {d.shape[1]}")
    sq = 2.0 * q.astype(np.float32) - 1.0
    sd = 2.0 * d.astype(np.float32) - 1.0
    return np.rint((q.shape[1] - sq @ sd.T) / 2.0).astype(np.int16)


def _check_ranking_inputs(distances, query_labels, db_labels, fn: str):
    dist = np.asarray(distances)
    ql = np.asarray(query_labels)
    dl = np.asarray(db_labels)
    if dist.ndim != 2:
        raise ValueError(f"{fn}: distances must be 2-d (queries, database), got {dist.shape}")
    if ql.shape != (dist.shape[0],) or dl.shape != (dist.shape[1],):
        raise ValueError(f"{fn}: distances {dist.shape} need query_labels of shape "
                         f"({dist.shape[0]},) and db_labels of shape ({dist.shape[1]},); got "
                         f"{ql.shape} and {dl.shape}")
    return dist, ql, dl


def relevance_ranking(distances, query_labels, db_labels) -> np.ndarray:
    """Boolean (Q, N): is the r-th nearest database item (stable ranking) relevant to query q."""
    dist, ql, dl = _check_ranking_inputs(distances, query_labels, db_labels, "relevance_ranking")
    order = np.argsort(dist, axis=1, kind="stable")
    return dl[order] == ql[:, None]


def precision_at_k(distances, query_labels, db_labels, k: int) -> float:
    """Mean over queries of the fraction of the ``k`` nearest database items sharing the label."""
    rel = relevance_ranking(distances, query_labels, db_labels)
    return scores_from_relevance(rel, ks=(k,), with_map=False)[f"P@{k}"]


def mean_average_precision(distances, query_labels, db_labels) -> float:
    """Mean over queries of the average precision of the full ranking of the database.

    ``AP = (1/R) sum_r P@r * rel(r)`` over the ranks ``r`` of the ``R`` relevant items.
    Queries with no relevant item in the database are skipped.
    """
    rel = relevance_ranking(distances, query_labels, db_labels)
    return scores_from_relevance(rel, ks=())["mAP"]


def scores_from_relevance(rel, ks=(10, 100), with_map: bool = True) -> dict[str, float]:
    """``P@k`` for each ``k`` in ``ks`` and (optionally) ``mAP`` from one relevance ranking.

    ``rel`` is the boolean (Q, N) output of :func:`relevance_ranking`. Sorting the database is
    the expensive step, so sort once and read every score from the same ranking: this gives
    exactly what :func:`precision_at_k` and :func:`mean_average_precision` return.
    """
    rel = np.asarray(rel)
    if rel.ndim != 2 or rel.dtype != bool:
        raise ValueError("scores_from_relevance: rel must be the boolean (Q, N) array from "
                         f"relevance_ranking, got dtype {rel.dtype} and shape {rel.shape}")
    scores = {}
    for k in ks:
        if not 1 <= k <= rel.shape[1]:
            raise ValueError(f"precision_at_k: k must be in [1, {rel.shape[1]}], got {k}")
        scores[f"P@{k}"] = float(rel[:, :k].mean())
    if with_map:
        n_rel = rel.sum(axis=1)
        keep = n_rel > 0
        if not keep.any():
            raise ValueError(
                "mean_average_precision: no query has a relevant item in the database")
        hits = np.cumsum(rel, axis=1)
        ranks = np.arange(1, rel.shape[1] + 1)
        ap = (np.where(rel, hits / ranks, 0.0).sum(axis=1)[keep]) / n_rel[keep]
        scores["mAP"] = float(ap.mean())
    return scores


def precision_of_ids(ids, query_label, db_labels) -> float:
    """Fraction of the retrieved ``ids`` whose label equals ``query_label`` (NaN if none)."""
    ids = np.asarray(ids, dtype=np.int64)
    if ids.size == 0:
        return float("nan")
    return float((np.asarray(db_labels)[ids] == query_label).mean())


def random_projection_lsh(x_fit, n_bits: int, seed: int = 0):
    """Random-projection LSH (Charikar 2002): ``bits = [ (x - mean) @ W > 0 ]``, ``W ~ N(0, 1)``.

    Fits only the mean on ``x_fit`` (N, D) and draws ``W`` (D, n_bits) with ``seed``.
    Returns a function mapping an (M, D) array to (M, n_bits) bits.
    """
    x_fit = np.asarray(x_fit, dtype=np.float64)
    if x_fit.ndim != 2:
        raise ValueError(f"random_projection_lsh: x_fit must be 2-d (N, D), got {x_fit.shape}")
    if not 1 <= n_bits <= MAX_BITS:
        raise ValueError(f"random_projection_lsh: n_bits must be in [1, {MAX_BITS}], got {n_bits}")
    mean = x_fit.mean(axis=0)
    w = np.random.default_rng(seed).standard_normal((x_fit.shape[1], n_bits))

    def encode(x) -> np.ndarray:
        x = np.asarray(x, dtype=np.float64)
        if x.ndim != 2 or x.shape[1] != mean.shape[0]:
            raise ValueError(f"LSH encode: expected shape (M, {mean.shape[0]}), got {x.shape}")
        return ((x - mean) @ w > 0).astype(np.uint8)

    return encode


# ---------------------------------------------------------------------------------------------
# Data-dependent hashing baselines: sign of PCA and ITQ (Gong & Lazebnik 2011).
# ---------------------------------------------------------------------------------------------


def _check_count(value, name: str, fn: str, low: int) -> int:
    """``value`` as an ``int`` >= ``low``; a ValueError naming ``name`` otherwise."""
    if isinstance(value, bool) or not isinstance(value, int | np.integer):
        raise ValueError(f"{fn}: {name} must be an int, got {type(value).__name__} {value!r}")
    if value < low:
        raise ValueError(f"{fn}: {name} must be >= {low}, got {value}")
    return int(value)


def _check_data(x, name: str, fn: str, n_features: int | None = None) -> np.ndarray:
    """``x`` as a finite float64 (N, D) array; a ValueError naming ``name`` otherwise."""
    a = np.asarray(x)
    if a.dtype.kind not in "biuf":
        raise ValueError(f"{fn}: {name} must hold real numbers (bool, int or float), got dtype "
                         f"{a.dtype}")
    if a.ndim != 2 or a.shape[0] == 0:
        want = "(N, D)" if n_features is None else f"(M, {n_features})"
        raise ValueError(f"{fn}: {name} must be a non-empty 2-d array {want}, got shape {a.shape}")
    if n_features is not None and a.shape[1] != n_features:
        raise ValueError(f"{fn}: {name} must have shape (M, {n_features}) like the data the "
                         f"hash was fitted on, got {a.shape}")
    a = a.astype(np.float64)
    if not np.isfinite(a).all():
        raise ValueError(f"{fn}: {name} contains NaN or infinite values")
    return a


class PCAHash:
    """Sign-of-PCA hash: ``bits = [ (x - mean) @ W > 0 ]`` with ``W`` the top principal axes.

    ``fit(x)`` centres the training data and finds its top ``n_bits`` principal components
    with scikit-learn's :class:`~sklearn.decomposition.PCA` (unwhitened); ``codes(x)`` (or
    calling the object) returns the (M, n_bits) ``uint8`` 0/1 bits that
    :func:`hamming_distances`, :func:`pack_bits` and :func:`build_hash_table` take. No
    training beyond PCA, no random numbers: the usual data-dependent baseline for learned
    hash codes, and the starting point of ITQ (:class:`ITQHash`).

    Encoding one point costs ``D * n_bits`` multiply-adds, like random-projection LSH.

    Attributes (after ``fit``): ``mean_`` (D,), ``components_`` (n_bits, D) the principal
    axes (rows, as in scikit-learn), ``explained_variance_`` (n_bits,).

    ``svd_solver`` is passed to scikit-learn's PCA; its ``"randomized"`` solver (which
    ``"auto"`` may pick for large inputs) is seeded with ``random_state=0`` so codes are
    reproducible.
    """

    _name = "PCAHash"

    def __init__(self, n_bits: int, *, svd_solver: str = "auto") -> None:
        self.n_bits = _check_count(n_bits, "n_bits", self._name, 1)
        if self.n_bits > MAX_BITS:
            raise ValueError(f"{self._name}: n_bits must be <= {MAX_BITS} so that a code fits "
                             f"one hash key, got {self.n_bits}")
        self.svd_solver = svd_solver

    def _fit_pca(self, x_fit) -> np.ndarray:
        """Fit the PCA; return the training data projected on it, shape (N, n_bits)."""
        from sklearn.decomposition import PCA

        x = _check_data(x_fit, "x_fit", f"{self._name}.fit")
        n, d = x.shape
        if self.n_bits > d:
            raise ValueError(f"{self._name}.fit: n_bits={self.n_bits} is larger than the data "
                             f"dimension D={d} of x_fit; use at most {d} bits")
        if self.n_bits > n - 1:
            raise ValueError(f"{self._name}.fit: n_bits={self.n_bits} needs at least "
                             f"{self.n_bits + 1} training points (centred data spans at most "
                             f"N - 1 directions), x_fit has N={n}")
        pca = PCA(n_components=self.n_bits, whiten=False, svd_solver=self.svd_solver,
                  random_state=0).fit(x)
        self.mean_ = pca.mean_
        self.components_ = pca.components_
        self.explained_variance_ = pca.explained_variance_
        return (x - self.mean_) @ self.components_.T

    def fit(self, x_fit) -> PCAHash:
        """Fit the mean and the top ``n_bits`` principal axes on ``x_fit`` (N, D); returns self."""
        self._fit_pca(x_fit)
        return self

    def _check_fitted(self) -> None:
        if not hasattr(self, "components_"):
            from sklearn.exceptions import NotFittedError

            raise NotFittedError(f"{self._name}: call fit(x_fit) before codes(x)")

    def project(self, x) -> np.ndarray:
        """Real-valued projections (M, n_bits) whose signs are the bits."""
        self._check_fitted()
        x = _check_data(x, "x", f"{self._name}.codes", n_features=self.mean_.shape[0])
        return (x - self.mean_) @ self.components_.T

    def codes(self, x) -> np.ndarray:
        """Bits (M, n_bits) of ``x`` (M, D) as ``uint8`` 0/1: ``1`` where the projection > 0."""
        return (self.project(x) > 0).astype(np.uint8)

    def __call__(self, x) -> np.ndarray:
        """Same as :meth:`codes`, so a fitted hash is used like :func:`random_projection_lsh`."""
        return self.codes(x)


class ITQHash(PCAHash):
    """Iterative quantisation (ITQ): PCA, then a rotation that makes the signs lose the least.

    Gong, Y. & Lazebnik, S. (2011), "Iterative quantization: a Procrustean approach to
    learning binary codes", CVPR 2011, pp. 817-824 (the unsupervised PCA-ITQ variant).

    ``fit(x)`` centres the data and projects it on its top ``n_bits`` principal axes
    (unwhitened) to get ``V`` (N, n_bits), then looks for an orthogonal ``R`` (n_bits, n_bits)
    and codes ``B`` in {-1, +1} minimising the quantisation loss

        ``Q(B, R) = ||B - V R||_F^2``   (summed over all N codes and bits).

    From a random orthogonal ``R`` (Haar-distributed, drawn with ``seed``) it alternates
    ``n_iter`` times: ``B = sign(V R)`` (best codes for this ``R``), then the ``R`` that
    minimises ``||V R - B||_F`` (the orthogonal Procrustes problem, solved by one SVD of
    ``V^T B`` with :func:`scipy.linalg.orthogonal_procrustes`). Neither step can increase
    ``Q``. ``codes(x)`` returns the bits ``[ (x - mean) @ W R > 0 ]`` as ``uint8`` 0/1.

    Encoding one point costs ``D * n_bits + n_bits**2`` multiply-adds (the rotation can be
    folded into ``W``); fitting costs one PCA plus ``2 N n_bits**2`` per iteration.

    Attributes (after ``fit``), besides those of :class:`PCAHash`:

    * ``initial_rotation_`` (n_bits, n_bits): the random starting ``R``;
    * ``rotation_`` (n_bits, n_bits): the final ``R`` (orthogonal);
    * ``quantisation_loss_`` (n_iter + 1,): ``Q(sign(V R_t), R_t)`` for the starting
      rotation ``t = 0`` and after each of the ``n_iter`` updates. It never increases;
      divide by ``N`` for a per-code value. ``quantisation_loss_[-1]`` belongs to the
      rotation the codes use.
    """

    _name = "ITQHash"

    def __init__(self, n_bits: int, *, n_iter: int = 50, seed: int = 0,
                 svd_solver: str = "auto") -> None:
        super().__init__(n_bits, svd_solver=svd_solver)
        self.n_iter = _check_count(n_iter, "n_iter", self._name, 1)
        self.seed = seed

    def fit(self, x_fit) -> ITQHash:
        """Fit the PCA and the ITQ rotation on ``x_fit`` (N, D); returns self."""
        from scipy.linalg import orthogonal_procrustes
        from scipy.stats import ortho_group

        v = self._fit_pca(x_fit)
        rng = np.random.default_rng(self.seed)
        if self.n_bits == 1:  # ortho_group needs dim >= 2; O(1) is {-1, +1}
            r = np.array([[rng.choice((-1.0, 1.0))]])
        else:
            r = ortho_group.rvs(self.n_bits, random_state=rng)
        self.initial_rotation_ = r
        losses = []
        for it in range(self.n_iter + 1):
            z = v @ r
            b = np.where(z > 0, 1.0, -1.0)  # sign(V R); same bits as codes()
            losses.append(float(((b - z) ** 2).sum()))
            if it < self.n_iter:
                r, _ = orthogonal_procrustes(v, b)
        self.rotation_ = r
        self.quantisation_loss_ = np.asarray(losses)
        return self

    def project(self, x) -> np.ndarray:
        """Rotated projections ``(x - mean) @ W R``, shape (M, n_bits), whose signs are the bits."""
        return super().project(x) @ self.rotation_


def pca_sign_hash(x_fit, n_bits: int, *, svd_solver: str = "auto") -> PCAHash:
    """Sign-of-PCA hash fitted on ``x_fit`` (N, D): call the result on (M, D) to get bits.

    ``pca_sign_hash(x_train, 32)(x_test)`` gives (M, 32) ``uint8`` bits, used like
    :func:`random_projection_lsh`. See :class:`PCAHash`.
    """
    return PCAHash(n_bits, svd_solver=svd_solver).fit(x_fit)


def itq_hash(x_fit, n_bits: int, *, n_iter: int = 50, seed: int = 0,
             svd_solver: str = "auto") -> ITQHash:
    """ITQ hash (Gong & Lazebnik 2011) fitted on ``x_fit`` (N, D): call the result for bits.

    ``itq = itq_hash(x_train, 32, seed=s)``; ``itq(x_test)`` gives (M, 32) ``uint8`` bits and
    ``itq.quantisation_loss_`` the loss per iteration. See :class:`ITQHash`.
    """
    return ITQHash(n_bits, n_iter=n_iter, seed=seed, svd_solver=svd_solver).fit(x_fit)
