"""Real-ESRGAN builders: parameter counts of the released networks, shapes, exact nearest upsampling."""

import numpy as np
import pytest

from keras_sr.models import build_model, rrdbnet, srvgg, unet_discriminator


def _trainable(model):
    return int(sum(np.prod(w.shape) for w in model.trainable_weights))


def test_srvgg_param_counts_match_the_released_models():
    assert srvgg(4, filters=64, convs=32).count_params() == 1_213_296  # realesr-general-x4v3
    assert srvgg(4, filters=64, convs=16).count_params() == 621_424   # realesr-animevideov3


def test_rrdbnet_x4_param_count_matches_realesrgan_x4plus():
    assert rrdbnet(4).count_params() == 16_697_987


def test_rrdbnet_x2_folds_the_input():
    # x2plus: conv_first sees the 2x2-folded input (4 x 3 = 12 channels)
    m = rrdbnet(2, filters=8, blocks=1, growth=4)
    assert m.get_layer("conv_first").kernel.shape == (3, 3, 12, 8)
    assert m.predict(np.zeros((1, 6, 10, 3), np.float32), verbose=0).shape == (1, 12, 20, 3)


def test_unet_discriminator_param_count_and_per_pixel_logits():
    d = unet_discriminator(filters=64)
    assert _trainable(d) == 4_376_897
    small = unet_discriminator(filters=8)
    assert small(np.zeros((2, 32, 24, 3), np.float32), training=True).shape == (2, 32, 24, 1)


@pytest.mark.parametrize("scale", [2, 3, 4])
def test_srvgg_any_scale_and_the_base_is_nearest_upsampling(scale):
    m = build_model("srvgg", scale, channels=3, filters=8, convs=2)
    for layer in m.layers:  # zero the convolutions: the output is the nearest-upscaled input alone
        if layer.name.startswith("conv"):
            layer.set_weights([np.zeros_like(w) for w in layer.get_weights()])
    x = np.random.default_rng(0).random((1, 5, 7, 3)).astype(np.float32)
    out = m.predict(x, verbose=0)
    want = np.repeat(np.repeat(x, scale, axis=1), scale, axis=2)
    np.testing.assert_array_equal(out, want)


def test_srvgg_prelu_is_per_channel():
    m = srvgg(2, filters=16, convs=1)
    assert m.get_layer("prelu1").alpha.shape == (1, 1, 16)


def test_srvgg_he_init_starts_a_deep_stack_with_usable_gradients():
    """64 x 16 with Keras' Glorot init starts with a ~3e-4 residual and vanishing gradients (L1
    training sat at the nearest-neighbour baseline); "he" starts it with a small residual and
    first-layer gradients orders of magnitude larger. Same parameters either way."""
    import keras
    import tensorflow as tf

    from keras_sr.errors import UsageError

    x = np.random.default_rng(0).random((2, 16, 16, 3), dtype=np.float32)
    y = np.random.default_rng(1).random((2, 64, 64, 3), dtype=np.float32)
    base = np.repeat(np.repeat(x, 4, 1), 4, 2)
    stats = {}
    for init in ("glorot", "he"):
        keras.utils.set_random_seed(0)
        m = srvgg(4, filters=64, convs=16, kernel_init=init)
        with tf.GradientTape() as tape:
            out = m(x)
            loss = tf.reduce_mean(tf.abs(out - y))
        grad = tape.gradient(loss, m.get_layer("conv_first").kernel)
        stats[init] = (float(np.std(np.asarray(out) - base)), float(tf.norm(grad)), m.count_params())
    assert stats["glorot"][2] == stats["he"][2] == 621_424
    assert stats["glorot"][0] < 2e-3 and 1e-2 < stats["he"][0] < 0.2, stats
    assert stats["he"][1] > 100 * stats["glorot"][1], stats
    with pytest.raises(UsageError, match="kernel_init must be glorot or he"):
        srvgg(4, kernel_init="xavier")
