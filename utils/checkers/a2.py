"""Checkers for assignment 2: building and training autoencoders (Keras 3).

References are computed here with NumPy from the layers' own weights, after the check has
set every weight and bias to random values (a zero bias hides a bias that is never added).
The convolutional autoencoder is checked for its structure (a spatial bottleneck that
every path goes through) and for its training (a ``fit`` on the model, inputs as targets),
and its training budget counts work, not seconds, so the grade does not depend on the
machine.
"""

from __future__ import annotations

import contextlib
import time
import warnings

import numpy as np

from utils.grading import call_student as _call
from utils.grading import (
    case_rng,
    checker,
    expect_close,
    expect_shape,
    expect_true,
    fail,
    record_training,
    to_numpy,
)

#: The convolutional autoencoder of Task 3 must reach this validation BCE (nats per pixel)
#: within this much training work: multiply-adds of one forward pass of one image, times
#: the number of images trained on. Our reference (strided 32/64 filters, 4 epochs over
#: 12,000 images) uses 6.6 M x 48,000 = 0.32 x 10^12 and reaches 0.064.
CONV_TARGET_BCE = 0.070
CONV_BUDGET_MACS = 2.5e12
#: The encoder must bring the 28 x 28 image down to at most this side (7 x 7: two
#: stride-2 steps), and the decoder must rebuild the image from that alone.
BOTTLENECK_SIDE = 7
#: A freshly built model is far from the target (ours: 0.69 nats per pixel); one that is
#: already below this was trained inside build(), outside the budget.
UNTRAINED_MIN_BCE = 0.2

REFERENCES = ()
_MODEL_HELPERS = ("utils.models.dense_autoencoder", "utils.models.conv_autoencoder")


@contextlib.contextmanager
def _quiet():
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=r".*does not have a `build\(\)` method")
        warnings.filterwarnings("ignore", message=r".*build\(\) was called.*")
        yield


def _dense_layers(model):
    import keras

    return [layer for layer in model._flatten_layers(include_self=False, recursive=True)
            if isinstance(layer, keras.layers.Dense)]


def _expected_params(sizes):
    return sum(a * b + b for a, b in zip(sizes[:-1], sizes[1:], strict=True))


_ACTS = {
    "relu": lambda h: np.maximum(h, 0.0),
    "linear": lambda h: h,
    "sigmoid": lambda h: 1.0 / (1.0 + np.exp(-h)),
    "tanh": np.tanh,
}


def _forward(x, weights, hidden_act, code_act, out_act, code_index):
    h = np.asarray(x, np.float64)
    for i, (w, b) in enumerate(weights):
        act = out_act if i == len(weights) - 1 else code_act if i == code_index else hidden_act
        h = _ACTS[act](h @ w + b)
    return h


@checker("build_deep_autoencoder", forbid=_MODEL_HELPERS)
def check_build_deep_autoencoder(build_deep_autoencoder) -> None:
    """``build_deep_autoencoder(input_dim, hidden, code_dim)`` -> a mirrored dense AE."""
    with _quiet():
        _check_deep(build_deep_autoencoder)


def _check_deep(build_deep_autoencoder) -> None:
    import keras

    r = case_rng(21)
    for input_dim, hidden, code in ((784, [128, 64], 16), (100, [40], 8), (50, [], 4),
                                    (int(r.integers(30, 60)), [int(r.integers(12, 20))], 3)):
        call = f"build_deep_autoencoder({input_dim}, {hidden}, {code})"
        model = _call(build_deep_autoencoder, call, input_dim, list(hidden), code)
        expect_true(isinstance(model, keras.Model), f"{call} should return a keras.Model, "
                    f"got {type(model).__name__}")
        x = np.random.default_rng(0).normal(0, 50, (3, input_dim)).astype("float32")
        out = expect_shape("output", _call(model.predict, "model.predict", x, verbose=0),
                           (3, input_dim))  # also builds a subclassed model
        dense = _dense_layers(model)
        units = [layer.units for layer in dense]
        want = [*hidden, code, *hidden[::-1], input_dim]
        expect_true(units == want, f"{call}: Dense layer widths {units}, expected {want} "
                    "(the decoder mirrors the encoder and ends at input_dim)")
        expect_true(model.count_params() == _expected_params([input_dim, *want]),
                    f"{call}: {model.count_params()} parameters, expected "
                    f"{_expected_params([input_dim, *want])}; every Dense layer has a bias")
        expect_true(out.min() >= 0.0 and out.max() <= 1.0,
                    f"{call}: outputs in [{out.min():.2f}, {out.max():.2f}]; pixels are in "
                    "[0, 1], so the last layer needs a sigmoid activation")
        # random weights and biases: the model must compute the mirrored network exactly
        weights = []
        for layer in dense:
            fan_in = layer.kernel.shape[0]
            w = r.normal(0, 1.5 / np.sqrt(fan_in), (fan_in, layer.units)).astype("float32")
            b = r.normal(0, 0.5, layer.units).astype("float32")
            layer.kernel.assign(w)
            layer.bias.assign(b)
            weights.append((w.astype(np.float64), b.astype(np.float64)))
        xr = r.random((4, input_dim)).astype("float32")
        got = to_numpy(_call(model.predict, "model.predict", xr, verbose=0), "output")
        code_index = len(hidden)
        if not np.allclose(got, _forward(xr, weights, "relu", "linear", "sigmoid", code_index),
                           rtol=1e-3, atol=1e-4):
            for hid, cod, why in (
                    ("relu", "relu", "the code layer has a ReLU; make it linear "
                                     "(Dense(code_dim) with no activation)"),
                    ("sigmoid", "linear", "the hidden layers use a sigmoid; use ReLU"),
                    ("tanh", "linear", "the hidden layers use tanh; use ReLU"),
                    ("linear", "linear", "the hidden layers have no activation; use ReLU"),
                    ("sigmoid", "sigmoid", "use ReLU in the hidden layers and a linear code")):
                if np.allclose(got, _forward(xr, weights, hid, cod, "sigmoid", code_index),
                               rtol=1e-3, atol=1e-4):
                    fail(f"{call}: {why}")
            fail(f"{call}: with random weights and biases the output is not the mirrored "
                 "network's (Dense+ReLU for each hidden width, a linear code, the mirror, "
                 "then a sigmoid Dense(input_dim)); check the order and that every layer "
                 "feeds the next")
    for bad in ((784, [128], 0), (784, [128, 256], 16), (784, [128], -3), (784, [784], 16),
                (100, [40], 40), (50, [], 50)):
        try:
            build_deep_autoencoder(bad[0], list(bad[1]), bad[2])
        except ValueError:
            continue
        except NotImplementedError:
            raise
        except Exception as exc:  # noqa: BLE001
            fail(f"build_deep_autoencoder{bad} raised {type(exc).__name__}; raise a "
                 "ValueError that names the bad argument")
        fail(f"build_deep_autoencoder{bad} should raise ValueError (code_dim must be >= 1 "
             "and the widths [input_dim, *hidden, code_dim] must strictly shrink)")


def _tied_case(DenseTied, d, k, activation, rng, label):  # noqa: N803
    import keras

    encoder = keras.layers.Dense(k)
    encoder.build((None, d))
    encoder.kernel.assign(rng.normal(0, 0.5, (d, k)).astype("float32"))
    kwargs = {} if activation is None else {"activation": activation}
    shown = "" if activation is None else f", activation={activation!r}"
    layer = _call(DenseTied, f"DenseTied(encoder{shown})", encoder, **kwargs)
    z = rng.normal(size=(4, k)).astype("float32")
    out = expect_shape("output", _call(layer, f"calling the layer on codes of shape (4, {k})",
                                       z), (4, d),
                       f"(codes of width {k} decoded back to the encoder's input, {d})")
    shared = {id(encoder.kernel), id(encoder.bias)}
    mine = [w for w in layer.trainable_weights if id(w) not in shared]
    own = [tuple(w.shape) for w in mine]
    if any(s == (k, d) or s == (d, k) for s in own):
        fail(f"the layer created its own kernel (trainable weights {own}); it must reuse "
             "tied_to.kernel, transposed, and own only a bias")
    expect_true(own == [(d,)], f"trainable weights {own}, expected one bias of shape ({d},)")
    bias = rng.normal(0, 0.5, d).astype("float32")  # a zero bias would hide a missing `+ b`
    mine[0].assign(bias)
    out = to_numpy(_call(layer, "calling the layer", z), "output")
    w = keras.ops.convert_to_numpy(encoder.kernel).astype(np.float64)
    pre = z @ w.T + bias
    act = _ACTS["linear" if activation is None else activation]
    if not np.allclose(out, act(pre), rtol=1e-4, atol=1e-5):
        if np.allclose(out, act(z @ w.T), rtol=1e-4, atol=1e-5):
            fail(f"{label}: the output ignores the bias; add it: activation(z @ W.T + b)")
        for name, fn in _ACTS.items():
            if name != ("linear" if activation is None else activation) and np.allclose(
                    out, fn(pre), rtol=1e-4, atol=1e-5):
                fail(f"{label}: the layer applied {name} instead of the activation it was "
                     f"given ({activation!r}); store keras.activations.get(activation)")
        if d == k and np.allclose(out, act(z @ w + bias), rtol=1e-4, atol=1e-5):
            fail(f"{label}: you multiplied by W, not its transpose W.T")
        expect_close("output", out, act(pre), rtol=1e-4, atol=1e-5,
                     case=f" ({label}: act(z @ W.T + b))")
    return encoder, layer, z, bias


@checker("DenseTied")
def check_dense_tied(DenseTied) -> None:  # noqa: N803 (the student's class)
    """``DenseTied(tied_to, activation=None)``: y = act(z @ W.T + b), W the encoder's kernel."""
    import keras

    rng = case_rng(22)
    encoder, layer, z, bias = _tied_case(DenseTied, 30, 16, "sigmoid", rng,
                                         "activation='sigmoid'")
    w = keras.ops.convert_to_numpy(encoder.kernel).astype(np.float64)
    encoder.kernel.assign(encoder.kernel * 2.0)
    out2 = to_numpy(layer(z), "output")
    expect_true(np.allclose(out2, 1 / (1 + np.exp(-(z @ (2 * w).T + bias))), rtol=1e-4,
                            atol=1e-5),
                "after the encoder's kernel changed, the layer's output did not follow; read "
                "tied_to.kernel in call(), do not copy it in build()")
    _tied_case(DenseTied, 30, 16, None, rng, "activation=None must be linear")
    _tied_case(DenseTied, 12, 5, "tanh", rng, "activation='tanh', a 12 -> 5 encoder")
    _tied_case(DenseTied, 8, 8, "relu", rng, "activation='relu', a square 8 -> 8 encoder")
    # inside a functional model (symbolic inputs with an unknown batch size)
    enc = keras.layers.Dense(6, activation="relu")
    inputs = keras.Input((20,))
    tied = _call(DenseTied, "DenseTied(encoder, activation='sigmoid')", enc,
                 activation="sigmoid")
    model = _call(lambda: keras.Model(inputs, tied(enc(inputs))),
                  "keras.Model(inputs, DenseTied(encoder)(encoder(inputs)))")
    x = rng.random((3, 20)).astype("float32")
    expect_shape("output", _call(model.predict, "predict on a tied autoencoder", x, verbose=0),
                 (3, 20), "(a tied 20-6-20 autoencoder)")
    expect_true(model.count_params() == 20 * 6 + 6 + 20,
                f"a tied 20-6-20 autoencoder has {model.count_params()} parameters, "
                f"expected {20 * 6 + 6 + 20} (the decoder adds only a bias)")


# --------------------------------------------------------------------------- conv AE
def _trace(model, x, replace=None):
    """Run ``model(x)`` recording each inner layer's input and output shapes.

    ``replace=(layer, tensor)`` makes that layer return ``tensor`` instead (to test that
    the output depends on the input only through it). Returns ``(output, records)``.
    """
    records = []
    inner = list(model._flatten_layers(include_self=False, recursive=True))

    def wrap(layer):
        original = layer.call

        def call(*args, **kwargs):
            out = original(*args, **kwargs)
            if replace is not None and layer is replace[0]:
                out = replace[1]
            ins = [tuple(a.shape) for a in args if hasattr(a, "shape")]
            records.append((layer, ins, tuple(out.shape) if hasattr(out, "shape") else None,
                            out))
            return out

        layer.call = call

    for layer in inner:
        wrap(layer)
    try:
        out = model(x, training=False)
    finally:
        for layer in inner:
            with contextlib.suppress(AttributeError):
                del layer.call
    return out, records


def _macs(records) -> int:
    """Multiply-adds of one forward pass of one image (conv, transposed conv, dense)."""
    import keras

    total = 0
    for layer, ins, out, _ in records:
        if not ins or out is None:
            continue
        if isinstance(layer, keras.layers.Conv2DTranspose):
            kh, kw = layer.kernel_size
            total += int(np.prod(ins[0][1:3])) * kh * kw * ins[0][-1] * layer.filters
        elif isinstance(layer, keras.layers.Conv2D):
            kh, kw = layer.kernel_size
            total += (int(np.prod(out[1:3])) * kh * kw * ins[0][-1] * layer.filters
                      // max(getattr(layer, "groups", 1), 1))
        elif isinstance(layer, keras.layers.Dense):
            total += int(np.prod(ins[0][1:])) * layer.units
    return total


def _bce(x, out) -> float:
    p = np.clip(np.asarray(out, np.float64), 1e-7, 1 - 1e-7)
    x = np.asarray(x, np.float64)
    return float(-(x * np.log(p) + (1 - x) * np.log(1 - p)).mean())


_TRAINED: dict = {}


def trained_conv_autoencoder():
    """The model trained by the last passing :func:`check_conv_autoencoder` run."""
    if "model" not in _TRAINED:
        raise NotImplementedError("conv_autoencoder is not done yet: pass its check first")
    return _TRAINED["model"]


@checker("conv_autoencoder", forbid=_MODEL_HELPERS)
def check_conv_autoencoder(build, train, x_train, x_val, target_bce=CONV_TARGET_BCE,
                           budget_macs=CONV_BUDGET_MACS) -> None:
    """Build with ``build()``, train with ``train(model, x_train)``, then check the result.

    Checks: a ``keras.Model`` with convolutional layers whose encoder brings the image down
    to at most 7 x 7 and whose output depends on the input only through that bottleneck (no
    skip connection around it); training that really fits this model, inputs as targets,
    within ``budget_macs`` (multiply-adds per image times images trained on, independent of
    the machine); output shape and range; the validation BCE (nats per pixel) below
    ``target_bce``.
    """
    with _quiet():
        _check_conv(build, train, x_train, x_val, target_bce, budget_macs)


def _check_conv(build, train, x_train, x_val, target_bce, budget_macs) -> None:
    import keras

    _TRAINED.pop("model", None)
    with record_training() as build_log:
        model = _call(build, "build_conv_autoencoder()")
    expect_true(isinstance(model, keras.Model), f"build_conv_autoencoder() should return a "
                f"keras.Model, got {type(model).__name__}")
    x_val = np.asarray(x_val, dtype=np.float32)
    probe = x_val[:2]
    _call(model, "calling your model on two images", probe)  # builds a subclassed model
    out, records = _call(_trace, "calling your model on two images", model, probe)
    expect_shape("output", out, probe.shape, "(the same shape as the input images)")
    convs = [rec for rec in records
             if isinstance(rec[0], keras.layers.Conv2D | keras.layers.Conv2DTranspose)]
    expect_true(len(convs) >= 2, f"found {len(convs)} convolutional layers; this task asks "
                "for a convolutional encoder and decoder")
    maps = [rec for rec in records if rec[2] is not None and len(rec[2]) == 4]
    smallest = min((max(rec[2][1:3]) for rec in maps), default=probe.shape[1])
    expect_true(smallest <= BOTTLENECK_SIDE,
                f"the smallest feature map inside your model is {smallest} x {smallest}; the "
                f"encoder must bring the 28 x 28 image down to {BOTTLENECK_SIDE} x "
                f"{BOTTLENECK_SIDE} or less (strides or pooling), and the decoder rebuild it "
                "from there: without a bottleneck the model can simply copy its input")
    other = x_val[2:4] if len(x_val) >= 4 else 1.0 - probe
    cut = False
    for rec in maps:
        if max(rec[2][1:3]) == smallest:
            swapped, _ = _trace(model, other, replace=(rec[0], rec[3]))
            if np.allclose(to_numpy(swapped, "output"), to_numpy(out, "output"), atol=1e-5):
                cut = True
                break
    expect_true(cut, f"the output depends on the input through more than the {smallest} x "
                f"{smallest} bottleneck (a skip connection around it?); an autoencoder must "
                "rebuild the image from the code alone")
    macs = _macs(records)
    initial_bce = _bce(x_val[:500], model.predict(x_val[:500], verbose=0))
    expect_true(not build_log.calls and initial_bce > UNTRAINED_MIN_BCE,
                f"the model returned by build_conv_autoencoder() is already trained "
                f"(validation BCE {initial_bce:.3f} before training): build() returns a new, "
                "untrained model; all training belongs in train_conv_autoencoder, where it "
                "counts towards the budget")

    start = time.perf_counter()
    with record_training() as log:
        _call(train, "train_conv_autoencoder(model, x_train)", model, x_train)
    seconds = time.perf_counter() - start
    calls = log.trained(model)
    expect_true(any(c["changed"] for c in calls),
                "train_conv_autoencoder did not train the model it was given (no fit or "
                "train_on_batch on it changed its weights); compile and fit `model`")
    for c in calls:
        x, y = c["x"], c["y"]
        if isinstance(x, np.ndarray) and y is not None and y is not x and not (
                isinstance(y, np.ndarray) and y.shape == x.shape and np.array_equal(y, x)):
            fail("fit's targets are not its inputs: an autoencoder is trained with "
                 "model.fit(x_train, x_train)")
    work = macs * sum(c["samples"] for c in calls)
    out = expect_shape("output", _call(model.predict, "model.predict(x_val)", x_val,
                                       batch_size=500, verbose=0), x_val.shape,
                       "(the same shape as the input images)")
    expect_true(out.min() >= 0.0 and out.max() <= 1.0,
                "outputs leave [0, 1]: end the decoder with a sigmoid")
    bce = _bce(x_val, out)
    print(f"validation BCE {bce:.4f} nats per pixel (target < {target_bce}; untrained "
          f"{initial_bce:.3f}); training work {macs / 1e6:.1f} M multiply-adds per image x "
          f"{sum(c['samples'] for c in calls):,} images = {work / 1e12:.2f} x 10^12 (budget "
          f"{budget_macs / 1e12:.2f} x 10^12); {seconds:.0f} s on this machine")
    expect_true(work <= budget_macs,
                f"training used {work / 1e12:.2f} x 10^12 multiply-adds ({macs / 1e6:.1f} M "
                f"per image x {sum(c['samples'] for c in calls):,} images); the budget is "
                f"{budget_macs / 1e12:.2f} x 10^12 (use strided convolutions instead of "
                "pooling, fewer filters, or fewer epochs)")
    expect_true(bce < target_bce, f"validation BCE {bce:.4f} nats per pixel; the target "
                f"is < {target_bce} (train longer, or use Adam with a larger batch)")
    _TRAINED["model"] = model
