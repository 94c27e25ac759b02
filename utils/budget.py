"""Training within a budget of optimizer steps or of seconds.

:func:`fit_within` compiles a model with a cosine learning-rate schedule that reaches its
end exactly when the budget does, and trains it with Keras's own ``model.fit``, so the
returned ``History`` (and :func:`utils.plotting.plot_history`) shows progress as in the
lessons::

    run = budget.fit_within(ae, x_train, x_train, steps=2000, batch_size=256, peak_lr=3e-3,
                            loss="binary_crossentropy", validation_data=(x_val, x_val))
    print(run.describe())
    fig = plotting.plot_history(run.history)

A **step budget** (``steps=``) is machine-independent: the same seed and step count give
the same model on any machine. A **time budget** (``seconds=``) is not: a short calibration
run measures the seconds per compiled step on this machine, and the budget is converted into
a step count once, before training, so the schedule still anneals to the end and the run can
be repeated anywhere with ``steps=run.steps``. Results from a time budget depend on the
machine (and on its load), so a notebook should print and record ``run.steps``.
:func:`budget_schedule` is the schedule alone, for a hand-written training loop.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:
    import keras

_clock: Callable[[], float] = time.perf_counter
"""The clock every measurement reads (tests replace it to make a time budget deterministic)."""


@dataclass(frozen=True)
class BudgetRun:
    """What :func:`fit_within` did.

    ``history`` is the ``keras.callbacks.History`` of the training ``fit`` (one entry per
    epoch of ``steps_per_epoch`` steps; the last epoch may be shorter). ``steps`` is the
    number of optimizer steps taken: the step budget, or the step count a time budget was
    converted into. ``seconds`` is the observed wall time of the training ``fit`` (not of
    the calibration). ``seconds_per_step`` is the calibration's measurement (``None`` for a
    step budget). ``schedule`` is the learning-rate schedule the optimizer used.
    """

    history: keras.callbacks.History
    steps: int
    seconds: float
    schedule: keras.optimizers.schedules.LearningRateSchedule
    steps_per_epoch: int
    seconds_per_step: float | None = None
    budget_seconds: float | None = None

    def describe(self) -> str:
        """One line for a notebook to print: steps, epochs and observed seconds."""
        epochs = len(self.history.epoch)
        text = f"{self.steps:,} optimizer steps in {epochs} epochs of <= {self.steps_per_epoch}"
        if self.budget_seconds is not None:
            text += (f" (time budget {self.budget_seconds:g} s at "
                     f"{1000 * self.seconds_per_step:.2f} ms per step on this machine)")
        return text + f"; trained in {self.seconds:.1f} s"


def _positive_int(name: str, value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
        raise ValueError(f"{name}: expected a positive integer, got {value!r}")
    return int(value)


def _positive_float(name: str, value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float, np.number)):
        raise ValueError(f"{name}: expected a positive number, got {value!r}")
    if not (math.isfinite(value) and value > 0):
        raise ValueError(f"{name}: expected a positive, finite number, got {value!r}")
    return float(value)


def _check_schedule_args(peak_lr: float, warmup_fraction: float, alpha: float) -> float:
    peak_lr = _positive_float("peak_lr", peak_lr)
    if not 0.0 <= warmup_fraction < 1.0:
        raise ValueError(f"warmup_fraction: expected 0 <= warmup_fraction < 1, "
                         f"got {warmup_fraction!r}")
    if not 0.0 <= alpha <= 1.0:
        raise ValueError(f"alpha: expected 0 <= alpha <= 1 (the final fraction of peak_lr), "
                         f"got {alpha!r}")
    return peak_lr


def budget_schedule(
    steps: int,
    peak_lr: float = 1e-3,
    warmup_fraction: float = 0.0,
    alpha: float = 0.0,
) -> keras.optimizers.schedules.CosineDecay:
    """A cosine learning-rate schedule that ends exactly at ``steps`` optimizer steps.

    With ``W = round(warmup_fraction * steps)`` warm-up steps (at most ``steps - 1``), the
    learning rate at optimizer step ``k`` (0 for the first update) is

    .. math::
        \\eta_k = \\eta_{\\max} k / W \\quad (k < W), \\qquad
        \\eta_k = \\eta_{\\max}\\left(\\alpha + (1 - \\alpha)\\,
        \\tfrac12\\bigl(1 + \\cos\\tfrac{\\pi (k - W)}{\\text{steps} - W}\\bigr)\\right)
        \\quad (W \\le k \\le \\text{steps}):

    a linear warm-up from 0 to ``peak_lr``, then a half cosine from ``peak_lr`` down to
    ``alpha * peak_lr`` at ``k = steps``. The last update of the budget uses
    ``k = steps - 1``, already within a fraction ``(pi / (2 (steps - W)))**2`` of that end.
    This is Keras's own ``CosineDecay`` (with ``warmup_target``/``warmup_steps`` when
    ``W > 0``); with a warm-up, the first update has learning rate 0 and only feeds an
    adaptive optimizer's moment estimates.
    """
    import keras

    steps = _positive_int("steps", steps)
    peak_lr = _check_schedule_args(peak_lr, warmup_fraction, alpha)
    warmup = min(int(round(warmup_fraction * steps)), steps - 1)
    if warmup == 0:
        return keras.optimizers.schedules.CosineDecay(peak_lr, steps, alpha=alpha)
    return keras.optimizers.schedules.CosineDecay(
        0.0, steps - warmup, alpha=alpha, warmup_target=peak_lr, warmup_steps=warmup)


def _num_samples(name: str, data: Any) -> int:
    import tensorflow as tf

    leaves = tf.nest.flatten(data)
    if not leaves:
        raise ValueError(f"{name}: expected an array (or a nest of arrays), got {data!r}")
    sizes = {len(leaf) for leaf in leaves}
    if len(sizes) != 1:
        raise ValueError(f"{name}: its arrays have different lengths {sorted(sizes)}")
    return sizes.pop()


def _batches(x: Any, y: Any, n: int, batch_size: int, seed: int):
    """An endless tf.data stream of full batches, reshuffled on every pass over the data."""
    import tensorflow as tf

    xt = tf.nest.map_structure(tf.convert_to_tensor, x)
    same = y is x
    yt = None if y is None or same else tf.nest.map_structure(tf.convert_to_tensor, y)

    def gather(idx):
        xb = tf.nest.map_structure(lambda t: tf.gather(t, idx), xt)
        if y is None:
            return xb
        return xb, (xb if same else tf.nest.map_structure(lambda t: tf.gather(t, idx), yt))

    return (tf.data.Dataset.range(n)
            .shuffle(n, seed=seed, reshuffle_each_iteration=True)
            .repeat()
            .batch(batch_size, drop_remainder=True)
            .map(gather)
            .prefetch(2))


def _make_optimizer(optimizer: str | Callable[..., Any], learning_rate: Any):
    import keras

    if isinstance(optimizer, str):
        optimizer = type(keras.optimizers.get(optimizer))
    return optimizer(learning_rate=learning_rate)


def _calibrate(model, x, y, n, batch_size, seed, optimizer, compile_kwargs,
               calibration_steps) -> tuple[float, float]:
    """Seconds per compiled step and the first step's extra (tracing) time, on this machine.

    Runs ``1 + calibration_steps`` steps at learning rate 0, then restores every model
    variable (weights, normalisation statistics, random-generator states).
    """
    import keras

    saved = [(v, np.array(v.numpy())) for v in model.variables]
    model.compile(optimizer=_make_optimizer(optimizer, 0.0), **compile_kwargs)
    stamps: list[float] = []

    def stamp(*_, **__):
        int(model.optimizer.iterations.numpy())  # wait for the step to finish
        stamps.append(_clock())

    timer = keras.callbacks.LambdaCallback(on_train_begin=stamp, on_train_batch_end=stamp)
    model.fit(_batches(x, y, n, batch_size, seed), epochs=1,
              steps_per_epoch=1 + calibration_steps, shuffle=False, callbacks=[timer],
              verbose=0)
    for variable, value in saved:
        variable.assign(value)
    per_step = (stamps[-1] - stamps[1]) / calibration_steps
    first_extra = max(0.0, (stamps[1] - stamps[0]) - per_step)
    if not per_step > 0:
        raise RuntimeError(f"calibration measured {per_step!r} s per step; the clock "
                           "did not advance")
    return per_step, first_extra


def fit_within(
    model: keras.Model,
    x: Any,
    y: Any = None,
    *,
    steps: int | None = None,
    seconds: float | None = None,
    batch_size: int = 128,
    peak_lr: float = 1e-3,
    warmup_fraction: float = 0.0,
    alpha: float = 0.0,
    loss: Any = None,
    metrics: Sequence[Any] | None = None,
    optimizer: str | Callable[..., Any] = "adam",
    jit_compile: bool | str = "auto",
    steps_per_epoch: int | None = None,
    validation_data: Any = None,
    callbacks: Sequence[Any] = (),
    seed: int | None = None,
    calibration_steps: int = 5,
    verbose: int | str = 0,
) -> BudgetRun:
    """Compile ``model`` and train it for exactly a budget of optimizer steps (or seconds).

    Give exactly one of ``steps`` (machine-independent) or ``seconds`` (converted once,
    before training, into a step count measured on this machine; see the module
    docstring). ``x`` and ``y`` are arrays (or nests of arrays) as for ``model.fit``;
    pass ``y=x`` for an autoencoder, or ``y=None`` for a model whose ``train_step`` needs
    no targets. Batches of ``batch_size`` samples are drawn from a stream reshuffled on
    every pass (``seed``, default :func:`utils.repro.current_seed`), so every step sees a
    full batch.

    The model is compiled with ``optimizer`` (a Keras name such as ``"adam"``, or a
    callable such as ``functools.partial(keras.optimizers.AdamW, weight_decay=1e-4)``
    that takes ``learning_rate``) driven by :func:`budget_schedule` (``peak_lr``,
    ``warmup_fraction``, ``alpha``), with ``loss`` and ``metrics``. ``jit_compile`` is
    passed to ``compile``: ``fit`` always compiles the training step into a TensorFlow
    graph; ``True`` also compiles it with XLA, which can make small dense models faster on
    a CPU but costs seconds of compilation and is not available for every op when
    TensorFlow's op determinism is on (as :func:`utils.repro.set_seed` sets it);
    ``"auto"`` (the lessons' setting) uses XLA only on a GPU without op determinism.

    One History entry (one point of :func:`utils.plotting.plot_history`) is recorded every
    ``steps_per_epoch`` steps (default ``ceil(len(x) / batch_size)``, about one pass over
    the data), and the last epoch stops when the budget is spent. A time budget counts the
    training steps only: the calibration (``1 + calibration_steps`` steps, undone
    afterwards), validation and per-epoch work come on top, and the returned ``seconds``
    says what the training ``fit`` took. Returns a :class:`BudgetRun`.
    """
    import keras

    from utils import repro

    if (steps is None) == (seconds is None):
        raise ValueError("steps, seconds: give exactly one budget, a number of optimizer "
                         f"steps or of seconds; got steps={steps!r}, seconds={seconds!r}")
    if steps is not None:
        steps = _positive_int("steps", steps)
    if seconds is not None:
        seconds = _positive_float("seconds", seconds)
    batch_size = _positive_int("batch_size", batch_size)
    calibration_steps = _positive_int("calibration_steps", calibration_steps)
    n = _num_samples("x", x)
    if y is not None and y is not x and _num_samples("y", y) != n:
        raise ValueError(f"y: expected {n} samples like x, got {_num_samples('y', y)}")
    if batch_size > n:
        raise ValueError(f"batch_size: {batch_size} is larger than the {n} training samples")
    if steps_per_epoch is not None:
        steps_per_epoch = _positive_int("steps_per_epoch", steps_per_epoch)
    _check_schedule_args(peak_lr, warmup_fraction, alpha)
    seed = repro.current_seed() if seed is None else int(seed)
    compile_kwargs = {"loss": loss, "metrics": metrics, "jit_compile": jit_compile}

    per_step = None
    if seconds is not None:
        per_step, first_extra = _calibrate(model, x, y, n, batch_size, seed, optimizer,
                                           compile_kwargs, calibration_steps)
        steps = math.floor((seconds - first_extra) / per_step)
        if steps < 1:
            raise ValueError(f"seconds: {seconds:g} s buys no optimizer step on this machine "
                             f"({per_step:.3g} s per step after {first_extra:.3g} s of "
                             "compilation); give a larger budget")

    schedule = budget_schedule(steps, peak_lr, warmup_fraction, alpha)
    model.compile(optimizer=_make_optimizer(optimizer, schedule), **compile_kwargs)
    per_epoch = min(steps_per_epoch or math.ceil(n / batch_size), steps)
    taken = [0]

    def stop_at_budget(*_, **__):
        taken[0] += 1
        if taken[0] >= steps:
            model.stop_training = True

    stopper = keras.callbacks.LambdaCallback(on_train_batch_end=stop_at_budget)
    start = _clock()
    history = model.fit(
        _batches(x, y, n, batch_size, seed), epochs=math.ceil(steps / per_epoch),
        steps_per_epoch=per_epoch, shuffle=False, validation_data=validation_data,
        validation_batch_size=batch_size if isinstance(validation_data, (tuple, list)) else None,
        callbacks=[*callbacks, stopper], verbose=verbose)
    elapsed = _clock() - start
    return BudgetRun(history=history, steps=steps, seconds=elapsed, schedule=schedule,
                     steps_per_epoch=per_epoch, seconds_per_step=per_step,
                     budget_seconds=seconds)
