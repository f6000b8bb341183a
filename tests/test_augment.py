"""--augment-on device (keras_sr.training.augment): pair reuse on the device (--pair-reuse N)."""

from __future__ import annotations

import math

import numpy as np
import pytest

from keras_sr._backend import keras, tf
from test_data import _dihedral  # the 8 rotations/flips in numpy, independent of the code under test


def test_dihedral_codes_are_the_8_rotations_and_flips():
    from keras_sr.training.augment import dihedral, reuse_codes

    x = np.arange(2 * 5 * 5 * 3, dtype=np.float32).reshape(2, 5, 5, 3)
    got = [dihedral(tf().constant(x), tf().constant([c, c])).numpy()[1] for c in range(8)]
    ref = _dihedral(x[1])
    assert sorted(next(i for i, r in enumerate(ref) if np.array_equal(g, r)) for g in got) == list(range(8))
    codes = reuse_codes(tf().constant([3, 4], tf().int64), 64, 8).numpy()
    assert all(sorted(row) == list(range(8)) for row in codes)  # a permutation per image
    assert len({tuple(row) for row in codes}) > 50  # random, not one order for all


def _augmented(reuse, degradation, channels=3, batch=4, patch=32, scale=4, precision="fp32"):
    from keras_sr.models import build_model
    from keras_sr.training.augment import DeviceAugmented, PairCache
    from keras_sr.training.precision import with_precision

    keras().utils.set_random_seed(0)
    net = with_precision(build_model("espcn", scale, channels=channels), precision)
    cache = None if reuse == 1 else PairCache(reuse, (batch, patch // scale, patch // scale, channels),
                                              (batch, patch, patch, channels))
    aug = DeviceAugmented(net, scale, degradation, seed=5, reuse=cache)
    aug.compile(optimizer=keras().optimizers.Adam(1e-3), loss="mae", jit_compile=False)
    aug(np.zeros((1, 8, 8, channels), np.float32))
    aug.optimizer.build(aug.trainable_variables)
    aug.build_compiled(channels)  # as the trainer does (needed under tf.distribute)
    return aug


def _stream(aug, batches, steps=None):
    """The step's (lr, hr) pairs at optimizer ``steps`` (default 0, 1, ...) for the HR ``batches``."""
    t = tf()
    fn = t.function(aug.pairs)
    out = []
    for i, hr in zip(steps or range(len(batches)), batches):
        aug.optimizer.iterations.assign(i)
        lr, hr = fn(hr)
        out.append((lr.numpy(), hr.numpy()))
    return out


def test_device_pair_reuse_serves_each_degraded_pair_under_distinct_rotations(tiny_data):
    """--augment-on device --pair-reuse 4: the HR stream yields each crop batch 4 times; the pairs of
    steps 4g..4g+3 are, image by image, 4 distinct rotations/flips of reuse 1's pair of step 4g (same
    seed: the same degradation draw), and their LR/HR statistics agree with reuse 1's over 32 steps
    (within 4 standard errors, counting a group of 4 as one draw)."""
    from keras_sr.data.io import list_images
    from keras_sr.data.pipeline import PipelineConfig, hr_crop_dataset

    files, n, steps = list_images([tiny_data]), 4, 32
    cfg = dict(scale=4, patch_size=32, degradation="realworld", color_space="rgb", input_mode="lr", batch_size=4,
               seed=5)
    plain_hr = [b.numpy() for b in hr_crop_dataset(files, PipelineConfig(**cfg)).take(steps)]
    held_hr = [b.numpy() for b in hr_crop_dataset(files, PipelineConfig(**cfg, pair_reuse=n)).take(steps)]
    assert all(np.array_equal(held_hr[i], plain_hr[i // n]) for i in range(steps))
    # reuse 1: a fresh crop batch each step, then (one traced step) its pairs at steps 4g of the held stream
    both = _stream(_augmented(1, "realworld"), plain_hr + held_hr[::n], steps=[*range(steps), *range(0, steps, n)])
    plain, firsts = both[:steps], both[steps:]
    reused = _stream(_augmented(n, "realworld"), held_hr)
    used = set()
    for g in range(steps // n):
        base_lr, base_hr = firsts[g]
        for i in range(len(base_lr)):
            seen = []
            for lr, hr in reused[g * n:(g + 1) * n]:
                hits = [k for k, (a, b) in enumerate(zip(_dihedral(base_lr[i]), _dihedral(base_hr[i])))
                        if np.array_equal(lr[i], a) and np.array_equal(hr[i], b)]
                assert hits, f"step of group {g}, image {i}: no rotation/flip of the group's degraded pair"
                seen.append(hits[0])
            assert len(set(seen)) == n, seen  # no two uses with the same transform
            used.update(seen)
    assert used == set(range(8))

    def stats(pairs):  # per batch: LR/HR mean, std, top-minus-bottom and left-minus-right means
        out = []
        for lr, hr in pairs:
            row = []
            for v in (lr, hr):
                h = v.shape[1] // 2
                row += [v.mean(), v.std(), v[:, :h].mean() - v[:, h:].mean(), v[:, :, :h].mean() - v[:, :, h:].mean()]
            out.append(row)
        return np.array(out)

    a = stats(plain)
    b = stats(reused).reshape(steps // n, n, -1).mean(axis=1)  # one value per group of n reuses
    for j in range(a.shape[1]):
        se = math.sqrt(a[:, j].var(ddof=1) / len(a) + b[:, j].var(ddof=1) / len(b))
        assert abs(a[:, j].mean() - b[:, j].mean()) < 4 * se, (j, a[:, j].mean(), b[:, j].mean(), se)


def _fit_counting(monkeypatch, reuse, steps, strategy, precision="fp32"):
    """Fit ``steps`` steps (bicubic, batch 4) under ``strategy``; return (model, degradations run)."""
    import keras_sr.training.augment as augment

    t = tf()
    count = t.Variable(0, dtype=t.int64, trainable=False)
    original = augment.device_pairs

    def counting(*args, **kwargs):
        count.assign_add(1)
        return original(*args, **kwargs)

    monkeypatch.setattr(augment, "device_pairs", counting)
    rng = np.random.default_rng(1)
    hr = rng.integers(0, 256, (steps * 4, 16, 16, 3), dtype=np.uint8)
    with strategy.scope():
        aug = _augmented(reuse, "bicubic", patch=16, precision=precision)
    hist = aug.fit(t.data.Dataset.from_tensor_slices(hr).batch(4), epochs=1, verbose=0).history
    assert np.isfinite(hist["loss"][0])
    return aug, int(count.numpy())


@pytest.mark.parametrize("reuse, expected", [(1, 8), (4, 2), (3, 3)])
def test_device_pair_reuse_degrades_once_per_n_steps_mirrored_bf16(monkeypatch, reuse, expected):
    """8 steps of fit() under MirroredStrategy (1 CPU replica) with bf16: the degradation runs
    ceil(8 / N) times."""
    strategy = tf().distribute.MirroredStrategy(["/cpu:0"])
    aug, count = _fit_counting(monkeypatch, reuse, 8, strategy, precision="bf16")
    assert count == expected and int(aug.optimizer.iterations.numpy()) == 8


def test_device_pair_reuse_resumes_mid_group_from_saved_weights(tmp_path):
    """What BackupAndRestore does after a kill (save_weights, then load_weights into a new model)
    in the middle of a reuse group continues the run exactly: the cached pair is checkpointed."""
    t = tf()
    rng = np.random.default_rng(2)
    hr = rng.integers(0, 256, (6 * 4, 16, 16, 3), dtype=np.uint8)
    ds = t.data.Dataset.from_tensor_slices(hr).batch(4)
    straight = _augmented(4, "bicubic", patch=16)
    straight.fit(ds, epochs=1, verbose=0)
    first = _augmented(4, "bicubic", patch=16)
    first.fit(ds.take(3), epochs=1, verbose=0)  # stops at step 3, in the middle of the group 0..3
    first.save_weights(tmp_path / "backup.weights.h5")
    resumed = _augmented(4, "bicubic", patch=16)
    resumed.load_weights(tmp_path / "backup.weights.h5")
    assert np.array_equal(resumed.reuse_hr.numpy(), first.reuse_hr.numpy())
    resumed.fit(ds.skip(3), epochs=1, verbose=0)
    assert int(resumed.optimizer.iterations.numpy()) == 6
    for a, b in zip(straight.inner.get_weights(), resumed.inner.get_weights()):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)


def test_train_help_documents_device_pair_reuse():
    from click.testing import CliRunner

    from keras_sr.cli.main import main

    r = CliRunner().invoke(main, ["train", "--help"])
    text = " ".join(r.output.split())
    assert r.exit_code == 0 and "--pair-reuse" in text
    assert "device: the step degrades every N-th batch" in text and "(N <= 8)" in text
