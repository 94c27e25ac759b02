"""Standard autoencoder builders reused across lessons.

Lessons 03-05 build these models by hand, because building them is the lesson.
Later lessons (PCA comparison, anomaly detection, hashing, pre-training, ...) call
these builders instead of repeating the code. Each returns three models that share
their layers: ``(autoencoder, encoder, decoder)``.
"""

from __future__ import annotations

from collections.abc import Sequence


def dense_autoencoder(
    code_size: int = 32,
    hidden: Sequence[int] = (),
    input_dim: int = 784,
    activation: str = "relu",
    code_activation: str | None = "relu",
    output_activation: str | None = "sigmoid",
    name: str = "dense_ae",
):
    """A fully connected autoencoder ``input -> hidden... -> code -> reversed(hidden) -> input``.

    ``hidden=()`` gives the classic shallow 784-32-784 model; ``hidden=(128, 64)``
    the stacked 784-128-64-32-64-128-784 one. ``code_activation=None`` makes a
    linear code (as in PCA-style models). Returns ``(autoencoder, encoder, decoder)``.

    The default ReLU code (the classic Keras-blog model) is unbounded and non-negative:
    codes can grow large, so standardise them before a linear probe or a distance, and
    with a small ``code_size`` some units can die (stay at 0 for every input). Pass
    ``code_activation=None`` for a linear code when that matters.
    """
    import keras
    from keras import layers

    if code_size < 1 or input_dim < 1:
        raise ValueError(f"code_size and input_dim must be positive, got {code_size}, {input_dim}")
    inputs = keras.Input(shape=(input_dim,), name="image")
    h = inputs
    for i, units in enumerate(hidden):
        h = layers.Dense(units, activation=activation, name=f"enc_{i}")(h)
    code = layers.Dense(code_size, activation=code_activation, name="code")(h)
    encoder = keras.Model(inputs, code, name=f"{name}_encoder")

    code_in = keras.Input(shape=(code_size,), name="code_in")
    h = code_in
    for i, units in enumerate(reversed(hidden)):
        h = layers.Dense(units, activation=activation, name=f"dec_{i}")(h)
    outputs = layers.Dense(input_dim, activation=output_activation, name="reconstruction")(h)
    decoder = keras.Model(code_in, outputs, name=f"{name}_decoder")

    autoencoder = keras.Model(inputs, decoder(encoder(inputs)), name=name)
    return autoencoder, encoder, decoder


def conv_autoencoder(
    code_size: int = 32,
    filters: Sequence[int] = (32, 64),
    image_shape: tuple[int, int, int] = (28, 28, 1),
    output_activation: str | None = "sigmoid",
    name: str = "conv_ae",
):
    """A convolutional autoencoder with strided convolutions and transposed convolutions.

    Each entry of ``filters`` halves the image side (28 -> 14 -> 7 for two layers);
    a dense layer maps the feature map to a ``code_size`` vector and back. This is
    the fast CPU design of lesson 05. Returns ``(autoencoder, encoder, decoder)``.
    """
    import keras
    from keras import layers

    side = image_shape[0]
    for _ in filters:
        if side % 2:
            raise ValueError(f"image side {image_shape[0]} cannot be halved {len(filters)} times")
        side //= 2
    inputs = keras.Input(shape=image_shape, name="image")
    h = inputs
    for i, f in enumerate(filters):
        h = layers.Conv2D(f, 3, strides=2, padding="same", activation="relu",
                          name=f"enc_conv{i}")(h)
    h = layers.Flatten()(h)
    code = layers.Dense(code_size, name="code")(h)
    encoder = keras.Model(inputs, code, name=f"{name}_encoder")

    code_in = keras.Input(shape=(code_size,), name="code_in")
    h = layers.Dense(side * side * filters[-1], activation="relu")(code_in)
    h = layers.Reshape((side, side, filters[-1]))(h)
    for i, f in enumerate(reversed(filters[:-1])):
        h = layers.Conv2DTranspose(f, 3, strides=2, padding="same", activation="relu",
                                   name=f"dec_deconv{i}")(h)
    outputs = layers.Conv2DTranspose(image_shape[-1], 3, strides=2, padding="same",
                                     activation=output_activation, name="reconstruction")(h)
    decoder = keras.Model(code_in, outputs, name=f"{name}_decoder")

    autoencoder = keras.Model(inputs, decoder(encoder(inputs)), name=name)
    return autoencoder, encoder, decoder
