"""utils.budget: a cosine schedule that ends with the budget, step and time budgets."""

from __future__ import annotations

import math

import numpy as np
import pytest

from utils import budget, plotting, repro


def _tiny_autoencoder():
    """8 -> 3 -> 8 with dropout (59 weights): its random state must survive calibration."""
    import keras

    return keras.Sequential([
        keras.Input((8,)),
        keras.layers.Dense(3, activation="relu"),
        keras.layers.Dropout(0.25),
        keras.layers.Dense(8),
    ])


def _data(n=96, dim=8):
    return np.random.default_rng(0).random((n, dim)).astype("float32")


def _weights(model):
    return np.concatenate([w.ravel() for w in model.get_weights()])


@pytest.mark.parametrize(("steps", "warmup_fraction", "alpha"),
                         [(100, 0.1, 0.0), (37, 0.0, 0.0), (50, 0.2, 0.1)])
def test_schedule_follows_the_formula_and_ends_with_the_budget(steps, warmup_fraction, alpha):
    peak = 0.01
    schedule = budget.budget_schedule(steps, peak, warmup_fraction=warmup_fraction, alpha=alpha)
    lr = np.array([float(schedule(k)) for k in range(steps + 1)])
    w = round(warmup_fraction * steps)
    k = np.arange(steps + 1)
    cosine = peak * (alpha + (1 - alpha) * 0.5 * (1 + np.cos(np.pi * (k - w) / (steps - w))))
    expected = np.where(k < w, peak * k / max(w, 1), cosine)
    np.testing.assert_allclose(lr, expected, rtol=1e-5, atol=1e-9)
    assert lr[w] == pytest.approx(peak, rel=1e-6), "peak learning rate right after warm-up"
    assert lr.max() == pytest.approx(peak, rel=1e-6)
    assert lr[steps] == pytest.approx(alpha * peak, abs=1e-9), "ends at alpha * peak_lr"
    assert lr[steps - 1] - alpha * peak < 0.01 * peak, "the last update is near the end"
    assert np.all(np.diff(lr[w:]) <= 1e-9), "non-increasing after warm-up"


def test_step_budget_takes_exactly_that_many_steps_and_plots():
    repro.set_seed(11)
    x = _data()
    model = _tiny_autoencoder()
    run = budget.fit_within(model, x, x, steps=23, batch_size=16, peak_lr=1e-2, loss="mse",
                            validation_data=(x[:32], x[:32]))
    assert int(model.optimizer.iterations.numpy()) == run.steps == 23
    assert run.steps_per_epoch == math.ceil(96 / 16) == 6
    assert run.history.epoch == [0, 1, 2, 3], "6 + 6 + 6 + 5 steps"
    assert set(run.history.history) == {"loss", "val_loss"}
    assert run.seconds > 0 and run.seconds_per_step is None
    assert "23 optimizer steps" in run.describe()
    fig = plotting.plot_history(run.history)
    assert fig.axes[0].get_xlabel() == "epoch"


def test_time_budget_becomes_a_step_count_that_reproduces_the_run(monkeypatch):
    # calibration: train start at 0 s, first step (with tracing) ends at 2 s, then
    # 5 steps of 0.125 s; afterwards the clock keeps ticking 0.125 s per reading.
    readings = iter([0.0, 2.0, 2.125, 2.25, 2.375, 2.5, 2.625])
    state = {"now": 2.625}

    def fake_clock():
        value = next(readings, None)
        if value is None:
            state["now"] += 0.125
            value = state["now"]
        return value

    monkeypatch.setattr(budget, "_clock", fake_clock)
    x = _data()
    repro.set_seed(5)
    model = _tiny_autoencoder()
    run = budget.fit_within(model, x, x, seconds=3.0, batch_size=16, loss="mse",
                            steps_per_epoch=4)
    # (3 s - (2 s - 0.125 s) of tracing) / 0.125 s per step = 9 steps
    assert run.seconds_per_step == 0.125
    assert run.steps == 9 == int(model.optimizer.iterations.numpy())
    assert run.history.epoch == [0, 1, 2], "4 + 4 + 1 steps"
    assert "time budget 3 s" in run.describe()

    repro.set_seed(5)
    again = _tiny_autoencoder()
    budget.fit_within(again, x, x, steps=run.steps, batch_size=16, loss="mse",
                      steps_per_epoch=4)
    np.testing.assert_array_equal(_weights(model), _weights(again))

    readings = iter([0.0, 3.5, 4.5])  # 2.5 s of tracing, then 1 s per step: 3 s buys none
    with pytest.raises(ValueError, match="seconds: 3 s buys no optimizer step"):
        budget.fit_within(_tiny_autoencoder(), x, x, seconds=3.0, batch_size=16, loss="mse",
                          calibration_steps=1)


def test_training_within_a_budget_fits_a_linear_regression():
    import keras

    repro.set_seed(3)
    rng = np.random.default_rng(1)
    x = rng.normal(size=(256, 4)).astype("float32")
    y = x @ np.array([[1.0], [-2.0], [0.5], [3.0]], "float32") + 0.7
    model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(1)])
    model.compile(loss="mse")
    before = model.evaluate(x, y, verbose=0)
    run = budget.fit_within(model, x, y, steps=150, batch_size=32, peak_lr=0.1,
                            warmup_fraction=0.1, loss="mse")
    after = model.evaluate(x, y, verbose=0)
    assert after < 0.01 * before, f"MSE {before:.3f} -> {after:.5f}"
    assert run.history.history["loss"][-1] < run.history.history["loss"][0]


@pytest.mark.parametrize(("kwargs", "match"), [
    ({}, "steps, seconds: give exactly one"),
    ({"steps": 10, "seconds": 1.0}, "steps, seconds: give exactly one"),
    ({"steps": 0}, "steps: expected a positive integer"),
    ({"steps": 2.5}, "steps: expected a positive integer"),
    ({"seconds": -1.0}, "seconds: expected a positive"),
    ({"seconds": float("nan")}, "seconds: expected a positive"),
    ({"steps": 10, "batch_size": 200}, "batch_size: 200 is larger than the 96"),
    ({"steps": 10, "batch_size": 0}, "batch_size: expected a positive integer"),
    ({"steps": 10, "peak_lr": 0.0}, "peak_lr: expected a positive"),
    ({"steps": 10, "warmup_fraction": 1.0}, "warmup_fraction: expected 0 <="),
    ({"steps": 10, "alpha": -0.1}, "alpha: expected 0 <= alpha <= 1"),
    ({"steps": 10, "steps_per_epoch": 0}, "steps_per_epoch: expected a positive integer"),
    ({"steps": 10, "calibration_steps": 0}, "calibration_steps: expected a positive"),
])
def test_bad_arguments_raise_naming_the_argument(kwargs, match):
    x = _data()
    with pytest.raises(ValueError, match=match):
        budget.fit_within(_tiny_autoencoder(), x, x, loss="mse", **{"batch_size": 16, **kwargs})


def test_targets_of_another_length_are_refused():
    x = _data()
    with pytest.raises(ValueError, match="y: expected 96 samples like x, got 95"):
        budget.fit_within(_tiny_autoencoder(), x, x[:95], steps=5, loss="mse")
    with pytest.raises(ValueError, match="steps: expected a positive integer"):
        budget.budget_schedule(0)
