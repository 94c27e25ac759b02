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
