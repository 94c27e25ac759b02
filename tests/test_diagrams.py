"""utils.diagrams: every schematic renders headless, says what it should, and stays legible.

Set AE_DIAGRAM_DIR=/some/folder to also save each lesson's diagram there as a PNG.
"""

from __future__ import annotations

import os
from pathlib import Path

import matplotlib.pyplot as plt
import pytest
from matplotlib.figure import Figure
from matplotlib.text import Text

from utils import diagrams

# Labels each lesson's diagram must show (a label matches a text that contains it).
EXPECTED = {
    "01": ["input $x$", "autoencoder", "Gaussian, fixed", "Bernoulli", "binary cross-entropy",
           "mean squared error (MSE)", "loss $= -\\log p(x \\mid \\hat{x})$"],
    "02": ["pixel space", "code space", "data manifold", "encoder $f$", "decoder $g$",
           "off the manifold"],
    "03": ["784", "32", "encoder", "code", "decoder"],
    "04": ["stage 1", "stage 3", "784", "128", "64", "32", "stack, then fine-tune"],
    "05": ["28×28", "14×14", "7×7", "max-pool 2", "upsample ×2", "stride 2", "transposed"],
    "06": ["clean $x$", "training only", "encoder $f$", "decoder $g$", "no noise added",
           "target: the clean $x$", "inference", "training"],
    "07": ["PCA: linear subspace", "autoencoder: nonlinear manifold", "mean squared error"],
    "08": ["$\\mu$", "$\\log\\sigma^2$", "$z = \\mu + \\sigma \\odot \\varepsilon$",
           "$\\varepsilon \\sim \\mathcal{N}(0, I)$", "reparameterisation", "gradient flows back",
           "no gradient into $\\varepsilon$", "ELBO"],
    "09": ["normal input", "anomalous input", "threshold $\\tau$", "score",
           "normal data only"],
    "10": ["0110", "1110", "0010", "0111", "0100", "Hamming ball of radius r = 1",
           "1 + 4 = 5 buckets", "encoder", "hash table"],
    "11": ["pre-train", "frozen", "fine-tuned", "classifier head", "decoder set aside",
           "reuse the pre-trained encoder"],
    "12": ["plain bottleneck", "U-Net", "skip: concatenate", "28×28", "14×14", "7×7", "64"],
    "13": ["teacher forcing", "greedy decoding", "GRU", "encoder", "<", ">", "s", "n"],
}


def _texts(fig: Figure) -> list[str]:
    return [t.get_text() for t in fig.findobj(Text) if t.get_text().strip()]


def _has(texts: list[str], label: str) -> bool:
    return any(label == t or label in t for t in texts)


def _missing(fig: Figure, labels: list[str]) -> list[str]:
    texts = _texts(fig)
    return [label for label in labels if not _has(texts, label)]


def _overlaps(fig: Figure) -> list[str]:
    """Pairs of texts whose drawn boxes intersect, and texts that leave the figure."""
    fig.canvas.draw()
    renderer = fig.canvas.get_renderer()
    boxes = [(t.get_text(), t.get_window_extent(renderer))
             for t in fig.findobj(Text) if t.get_text().strip() and t.get_visible()]
    problems = []
    for text, b in boxes:
        if b.x0 < -1 or b.y0 < -1 or b.x1 > fig.bbox.width + 1 or b.y1 > fig.bbox.height + 1:
            problems.append(f"{text!r} leaves the figure")
    for i, (ta, a) in enumerate(boxes):
        for tb, b in boxes[i + 1:]:
            if min(a.x1, b.x1) - max(a.x0, b.x0) > 1 and min(a.y1, b.y1) - max(a.y0, b.y0) > 1:
                problems.append(f"{ta!r} overlaps {tb!r}")
    return problems


def test_one_diagram_per_lesson():
    assert sorted(diagrams.LESSON_DIAGRAMS) == [f"{i:02d}" for i in range(1, 14)]
    assert set(EXPECTED) == set(diagrams.LESSON_DIAGRAMS)
    for func in diagrams.LESSON_DIAGRAMS.values():
        assert func.__doc__ and "lesson" in func.__doc__.lower(), func.__name__


@pytest.mark.parametrize("lesson", sorted(diagrams.LESSON_DIAGRAMS))
def test_diagram_renders_with_its_labels(lesson):
    fig = diagrams.LESSON_DIAGRAMS[lesson]()
    assert isinstance(fig, Figure)
    assert fig.dpi == 72
    assert _missing(fig, EXPECTED[lesson]) == []
    assert _overlaps(fig) == []
    out = os.environ.get("AE_DIAGRAM_DIR")
    if out:
        Path(out).mkdir(parents=True, exist_ok=True)
        name = diagrams.LESSON_DIAGRAMS[lesson].__name__
        fig.savefig(Path(out) / f"{lesson}_{name}.png")


@pytest.mark.parametrize("lesson", sorted(diagrams.LESSON_DIAGRAMS))
def test_diagram_draws_into_a_given_ax(lesson):
    fig, (left, right) = plt.subplots(1, 2, figsize=(12, 4))
    out = diagrams.LESSON_DIAGRAMS[lesson](ax=right)
    assert out is fig
    assert not left.texts and not left.patches  # nothing leaks into the other axes
    assert len(right.texts) >= 3
    assert _missing(fig, EXPECTED[lesson]) == []


def test_diagrams_never_call_show(monkeypatch):
    def boom(*a, **k):
        raise AssertionError("plt.show() was called")

    monkeypatch.setattr(plt, "show", boom)
    for func in diagrams.LESSON_DIAGRAMS.values():
        func()


# ------------------------------------------------------------------ the hourglass
def test_hourglass_from_a_list():
    fig = diagrams.hourglass([784, 128, 64, 32, 64, 128, 784], title="deep")
    texts = _texts(fig)
    assert texts.count("784") == 2 and texts.count("128") == 2 and texts.count("32") == 1
    assert {"encoder", "decoder", "code", "deep"} <= set(texts)
    fig = diagrams.hourglass([(28, 28, 1), 32, (28, 28, 1)])
    assert _texts(fig).count("28×28×1") == 2
    assert _overlaps(fig) == []


def test_hourglass_code_index_and_encoder_only():
    fig = diagrams.hourglass([784, 256, 300], code_index=1)
    texts = _texts(fig)
    assert "encoder" in texts and "decoder" in texts
    fig = diagrams.hourglass([784, 128, 16])  # an encoder alone: no decoder label
    texts = _texts(fig)
    assert "encoder" in texts and "decoder" not in texts


@pytest.fixture(scope="module")
def keras_models():
    from utils import models

    dense = models.dense_autoencoder(24, hidden=(100, 50))[0]
    conv = models.conv_autoencoder(20)[0]
    return dense, conv


def test_hourglass_reads_a_keras_model(keras_models):
    dense, conv = keras_models
    sizes = [s for _, s in diagrams.layer_sizes(dense)]
    assert sizes == [(784,), (100,), (50,), (24,), (50,), (100,), (784,)]
    fig = diagrams.hourglass(dense, show_names=True)
    texts = _texts(fig)
    for size in ("784", "100", "50", "24"):
        assert size in texts, size
    assert "code" in texts and dense.name in texts  # the model's name is the title
    assert texts.count("100") == 2

    pairs = diagrams.layer_sizes(conv)
    assert pairs[0] == ("input", (28, 28, 1))
    assert (20,) in [s for _, s in pairs]
    fig = diagrams.hourglass(conv)
    texts = _texts(fig)
    for size in ("28×28×1", "14×14×32", "7×7×64", "20"):
        assert size in texts, size
    bold = [t.get_text() for t in fig.findobj(Text) if t.get_weight() == "bold"]
    assert "20" in bold  # the code is the narrowest layer


def test_hourglass_rejects_bad_input():
    with pytest.raises(ValueError, match="sizes: expected a list"):
        diagrams.hourglass("784-32-784")
    with pytest.raises(ValueError, match="sizes: every size must be a positive integer"):
        diagrams.hourglass([784, -3, 784])
    with pytest.raises(ValueError, match="sizes: every size"):
        diagrams.hourglass([784, 2.5, 784])
    with pytest.raises(ValueError, match="sizes: need at least 2"):
        diagrams.hourglass([784])
    with pytest.raises(ValueError, match="code_index"):
        diagrams.hourglass([784, 32, 784], code_index=3)
    with pytest.raises(ValueError, match="model: expected a Keras model"):
        diagrams.layer_sizes([784, 32])


# ------------------------------------------------------- sizes computed, not typed
def test_conv_size_formulas_match_keras():
    import keras

    for n, k, s, pad in [(28, 3, 2, "same"), (28, 3, 2, "valid"), (27, 5, 3, "valid"),
                         (7, 3, 2, "same"), (14, 2, 2, "valid"), (9, 1, 3, "valid")]:
        conv = keras.layers.Conv2D(1, k, strides=s, padding=pad)
        assert conv.compute_output_shape((None, n, n, 1))[1] == diagrams.conv_output_size(
            n, k, s, pad), (n, k, s, pad)
        deconv = keras.layers.Conv2DTranspose(1, k, strides=s, padding=pad)
        assert deconv.compute_output_shape((None, n, n, 1))[1] == \
            diagrams.conv_transpose_output_size(n, k, s, pad), (n, k, s, pad)


def test_conv_resampling_sizes_follow_the_arguments():
    texts = _texts(diagrams.conv_resampling(32, steps=3))
    for size in ("32×32", "16×16", "8×8", "4×4"):
        assert size in texts, size
    texts = _texts(diagrams.conv_resampling(28, kernel=3, stride=2, padding="valid"))
    assert "13×13" in texts and "6×6" in texts and "27×27" in texts  # valid: 28 -> 27
    for size in ("5×5", "8×8", "14×14"):  # pooling row: conv 26, pool 13, 11, 5; 10, 8, 16, 14
        assert size in texts, size
    assert _overlaps(diagrams.conv_resampling(32, steps=3)) == []


def test_conv_resampling_rejects_bad_input():
    with pytest.raises(ValueError, match="padding"):
        diagrams.conv_resampling(padding="full")
    with pytest.raises(ValueError, match="input_size"):
        diagrams.conv_resampling(input_size=0)
    with pytest.raises(ValueError, match="stride"):
        diagrams.conv_resampling(stride=1)
    with pytest.raises(ValueError, match="steps"):
        diagrams.conv_resampling(steps=7)
    with pytest.raises(ValueError, match="steps: 4 downsampling steps"):
        diagrams.conv_resampling(input_size=12, steps=4, padding="valid")
    with pytest.raises(ValueError, match="kernel"):
        diagrams.conv_output_size(4, kernel=5, padding="valid")


# --------------------------------------------------------------- the other knobs
def test_semantic_hashing_follows_its_code():
    fig = diagrams.semantic_hashing("10110", radius=2)
    texts = _texts(fig)
    assert "10110" in texts and "00110" in texts and "01110" in texts  # d = 1 and d = 2
    assert _has(texts, "1 + 5 + 10 = 16 buckets")
    assert _overlaps(fig) == []
    assert _has(_texts(diagrams.semantic_hashing("01", radius=0)), "= 1 buckets")
    with pytest.raises(ValueError, match="bits"):
        diagrams.semantic_hashing("0121")
    with pytest.raises(ValueError, match="bits"):
        diagrams.semantic_hashing("0" * 9)
    with pytest.raises(ValueError, match="radius"):
        diagrams.semantic_hashing("0110", radius=3)


def test_teacher_forcing_spells_the_word():
    fig = diagrams.teacher_forcing("forty-two")
    texts = _texts(fig)
    assert texts.count("GRU") == 2 * len("forty-two>")
    assert texts.count("-") >= 2 and texts.count(">") == 2
    assert _overlaps(fig) == []
    with pytest.raises(ValueError, match="word"):
        diagrams.teacher_forcing("Seven!")


def test_greedy_pretraining_stages_follow_the_sizes():
    fig = diagrams.greedy_pretraining([784, 1000, 500, 250, 30])
    texts = _texts(fig)
    assert "stage 4" in texts and "stage 5" not in texts and "1000" in texts
    assert _overlaps(fig) == []
    with pytest.raises(ValueError, match="sizes"):
        diagrams.greedy_pretraining([784])
    with pytest.raises(ValueError, match="sizes"):
        diagrams.greedy_pretraining([784, 0])


def test_other_arguments_are_checked():
    with pytest.raises(ValueError, match="threshold"):
        diagrams.anomaly_detection(threshold=2)
    with pytest.raises(ValueError, match="n_points"):
        diagrams.manifold(n_points=2)
    with pytest.raises(ValueError, match="n_points"):
        diagrams.pca_vs_autoencoder(n_points=10_000)
    with pytest.raises(ValueError, match="code_size"):
        diagrams.unet_vs_bottleneck(code_size=0)
    texts = _texts(diagrams.unet_vs_bottleneck(input_size=32, code_size=16))
    assert "32×32" in texts and "16×16" in texts and "8×8" in texts and "16" in texts
