"""Checkers for assignment 2: building and training autoencoders (Keras 3).

References are computed here with NumPy from the layers' own weights.
"""

from __future__ import annotations

import numpy as np

from utils.grading import call_student as _call
from utils.grading import checker, expect_close, expect_shape, expect_true, fail, to_numpy

#: The convolutional autoencoder of Task 3 must reach this validation BCE (nats per pixel)
#: within this training time (seconds). Measured: see the solution notebook.
CONV_TARGET_BCE = 0.070
CONV_BUDGET_S = 300.0


def _dense_units(model):
    import keras

    found = []
    for layer in model._flatten_layers(include_self=False, recursive=True):
        if isinstance(layer, keras.layers.Dense):
            found.append(layer.units)
    return found


def _expected_params(sizes):
    return sum(a * b + b for a, b in zip(sizes[:-1], sizes[1:], strict=True))


@checker("build_deep_autoencoder")
def check_build_deep_autoencoder(build_deep_autoencoder) -> None:
    """``build_deep_autoencoder(input_dim, hidden, code_dim)`` -> a mirrored dense AE."""
    import keras

    for input_dim, hidden, code in ((784, [128, 64], 16), (100, [40], 8), (50, [], 4)):
        call = f"build_deep_autoencoder({input_dim}, {hidden}, {code})"
        model = _call(build_deep_autoencoder, call, input_dim, list(hidden), code)
        expect_true(isinstance(model, keras.Model), f"{call} should return a keras.Model, "
                    f"got {type(model).__name__}")
        units = _dense_units(model)
        want = [*hidden, code, *hidden[::-1], input_dim]
        expect_true(units == want, f"{call}: Dense layer widths {units}, expected {want} "
                    "(the decoder mirrors the encoder and ends at input_dim)")
        expect_true(model.count_params() == _expected_params([input_dim, *want]),
                    f"{call}: {model.count_params()} parameters, expected "
                    f"{_expected_params([input_dim, *want])}; every Dense layer has a bias")
        x = np.random.default_rng(0).normal(0, 50, (3, input_dim)).astype("float32")
        out = expect_shape("output", _call(model.predict, "model.predict", x, verbose=0),
                           (3, input_dim))
        expect_true(out.min() >= 0.0 and out.max() <= 1.0,
                    f"{call}: outputs in [{out.min():.2f}, {out.max():.2f}]; pixels are in "
                    "[0, 1], so the last layer needs a sigmoid activation")
    for bad in ((784, [128], 0), (784, [128, 256], 16)):
        try:
            build_deep_autoencoder(*bad)
        except ValueError:
            continue
        except NotImplementedError:
            raise
        except Exception as exc:  # noqa: BLE001
            fail(f"build_deep_autoencoder{bad} raised {type(exc).__name__}; raise a "
                 "ValueError that names the bad argument")
        fail(f"build_deep_autoencoder{bad} should raise ValueError (code_dim must be >= 1 "
             "and the hidden widths must shrink towards the code)")


@checker("DenseTied")
def check_dense_tied(DenseTied) -> None:  # noqa: N803 (the student's class)
    """``DenseTied(tied_to, activation=None)``: y = act(z @ W.T + b), W the encoder's kernel."""
    import keras

    rng = np.random.default_rng(1)
    encoder = keras.layers.Dense(16)
    encoder.build((None, 30))
    layer = _call(DenseTied, "DenseTied(encoder, activation='sigmoid')", encoder,
                  activation="sigmoid")
    z = rng.normal(size=(4, 16)).astype("float32")
    out = expect_shape("output", _call(layer, "calling the layer on codes of shape (4, 16)", z),
                       (4, 30), "(codes of width 16 decoded back to the encoder's input, 30)")
    shared = {id(encoder.kernel), id(encoder.bias)}
    mine = [w for w in layer.trainable_weights if id(w) not in shared]
    own = [tuple(w.shape) for w in mine]
    if any(s == (16, 30) or s == (30, 16) for s in own):
        fail(f"the layer created its own kernel (trainable weights {own}); it must reuse "
             "tied_to.kernel, transposed, and own only a bias")
    expect_true(own == [(30,)], f"trainable weights {own}, expected one bias of shape (30,)")
    w = keras.ops.convert_to_numpy(encoder.kernel).astype(np.float64)
    b = keras.ops.convert_to_numpy(mine[0]).astype(np.float64)
    expected = 1 / (1 + np.exp(-(z @ w.T + b)))
    expect_close("output", out, expected, rtol=1e-4, atol=1e-5, case=" (sigmoid(z @ W.T + b))")
    encoder.kernel.assign(encoder.kernel * 2.0)
    out2 = to_numpy(layer(z), "output")
    expect_true(np.allclose(out2, 1 / (1 + np.exp(-(z @ (2 * w).T + b))), rtol=1e-4, atol=1e-5),
                "after the encoder's kernel changed, the layer's output did not follow; read "
                "tied_to.kernel in call(), do not copy it in build()")
    linear = _call(DenseTied, "DenseTied(encoder)", encoder)
    out3 = _call(linear, "calling DenseTied(encoder)", z)
    bias = [w for w in linear.trainable_weights if id(w) not in shared][0]
    expect_close("output", out3, z @ (2 * w).T + keras.ops.convert_to_numpy(bias),
                 rtol=1e-4, atol=1e-5, case=" (activation=None must be linear)")


_TRAINED: dict = {}


def trained_conv_autoencoder():
    """The model trained by the last passing :func:`check_conv_autoencoder` run."""
    if "model" not in _TRAINED:
        raise NotImplementedError("conv_autoencoder is not done yet: pass its check first")
    return _TRAINED["model"]


@checker("conv_autoencoder")
def check_conv_autoencoder(build, train, x_train, x_val, target_bce=CONV_TARGET_BCE,
                           budget_s=CONV_BUDGET_S) -> None:
    """Build with ``build()``, time ``train(model, x_train)``, then check the result.

    Checks: a ``keras.Model`` with convolutional layers, output shape and range, the
    validation BCE (nats per pixel) below ``target_bce`` and the training time below
    ``budget_s`` seconds.
    """
    import time

    import keras

    _TRAINED.pop("model", None)
    model = build()
    expect_true(isinstance(model, keras.Model), f"build_conv_autoencoder() should return a "
                f"keras.Model, got {type(model).__name__}")
    convs = [layer for layer in model._flatten_layers(include_self=False, recursive=True)
             if isinstance(layer, keras.layers.Conv2D | keras.layers.Conv2DTranspose)]
    expect_true(len(convs) >= 2, f"found {len(convs)} convolutional layers; this task asks "
                "for a convolutional encoder and decoder")
    start = time.perf_counter()
    train(model, x_train)
    seconds = time.perf_counter() - start
    x_val = np.asarray(x_val, dtype=np.float32)
    out = expect_shape("output", model.predict(x_val, batch_size=500, verbose=0), x_val.shape,
                       "(the same shape as the input images)")
    expect_true(out.min() >= 0.0 and out.max() <= 1.0,
                "outputs leave [0, 1]: end the decoder with a sigmoid")
    p = np.clip(out.astype(np.float64), 1e-7, 1 - 1e-7)
    bce = float(-(x_val * np.log(p) + (1 - x_val) * np.log(1 - p)).mean())
    print(f"validation BCE {bce:.4f} nats per pixel (target < {target_bce}); "
          f"training {seconds:.0f} s (budget {budget_s:.0f} s)")
    expect_true(bce < target_bce, f"validation BCE {bce:.4f} nats per pixel; the target "
                f"is < {target_bce} (train longer, or use Adam with a larger batch)")
    expect_true(seconds < budget_s,
                f"training took {seconds:.0f} s; the budget is {budget_s:.0f} s (use strided "
                "convolutions instead of pooling, fewer filters, or fewer epochs)")
    _TRAINED["model"] = model
