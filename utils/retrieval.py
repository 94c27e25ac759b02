"""Binary codes and retrieval: hash tables, Hamming search, precision@k and mAP.

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
