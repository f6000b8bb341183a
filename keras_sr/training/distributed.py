"""Multi-worker training: the cluster connection and a ``strategy.run`` training loop.

Why a loop of our own: Keras 3 ``Model.fit()`` under ``MultiWorkerMirroredStrategy`` with
more than one worker fails with ``Attempt to convert a value (PerReplica...)``
(keras-team/keras#20585, open); with one worker it works. :func:`needs_custom_loop` is the
one place that decides; ``tests/test_distribute.py`` fails loudly once the bug is fixed.

Conventions of :func:`fit_loop` (it stands in for ``fit()`` and writes the same artifacts):

* one step = one *global* batch of ``global_batch`` patches, split over all replicas; the
  loss is the model's own Keras loss object, per sample, summed over the replica's patches
  and divided by the global batch (``tf.nn.compute_average_loss``), so the gradients that the
  optimizer all-reduces (sum) are those of the global mean; SRGAN runs its own
  ``train_step`` through ``strategy.run`` (its Keras losses scale themselves by 1/replicas);
* BatchNorm moving statistics, which Keras updates per replica, are averaged over the
  replicas after every epoch, so every worker ends with the same weights;
* logged values are global: per-sample sums and counts are reduced with
  ``strategy.reduce(SUM)`` (SRGAN's per-replica running means with ``MEAN``); keys as
  ``fit()`` logs them (``loss``, ``psnr``, ``val_loss``, ``val_psnr``; SRGAN: ``g_loss`` ...,
  ``val_psnr``, ``val_ssim``), epochs 0-based as Keras callbacks see them;
* only the chief (task 0) writes into ``--out``; the other workers get a temporary folder
  (:func:`worker_out`), removed at exit;
* resume: ``tf.train.Checkpoint(model, optimizer(s), epoch)`` saved after every epoch into
  ``<out>/backup`` (chief) by a ``CheckpointManager``; at start the chief restores it and
  broadcasts every checkpointed variable to the other workers (so only the chief needs the
  folder); the backup is deleted when the run finishes, as ``BackupAndRestore`` does.

Connecting: a worker that cannot reach the others within ``KERAS_SR_WORKER_TIMEOUT``
seconds (default 120) stops with a one-line error instead of waiting forever.
"""

from __future__ import annotations

import atexit
import hashlib
import itertools
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time

import numpy as np

from keras_sr._backend import keras, tf
from keras_sr.errors import KerasSRError, UsageError

TIMEOUT_ENV = "KERAS_SR_WORKER_TIMEOUT"
DEFAULT_TIMEOUT_S = 120.0
_PEER_ERRORS = ("UnavailableError", "DeadlineExceededError", "CancelledError", "AbortedError")


def tf_config() -> dict:
    """``TF_CONFIG`` parsed (``{}`` when unset); malformed JSON is a :class:`UsageError`."""
    try:
        cfg = json.loads(os.environ.get("TF_CONFIG") or "{}")
    except ValueError as exc:
        raise UsageError(f"malformed TF_CONFIG: {exc}") from None
    if not isinstance(cfg, dict):
        raise UsageError("malformed TF_CONFIG: expected a JSON object with 'cluster' and 'task'")
    return cfg


def cluster_size(cfg: dict | None = None) -> int:
    """Training tasks (chief + workers) listed in ``TF_CONFIG`` (1 without a cluster)."""
    cluster = (tf_config() if cfg is None else cfg).get("cluster", {})
    return max(1, len(cluster.get("chief", [])) + len(cluster.get("worker", [])))


def connect_timeout() -> float:
    """Seconds to wait for the other workers (``$KERAS_SR_WORKER_TIMEOUT``, default 120)."""
    raw = os.environ.get(TIMEOUT_ENV, "")
    try:
        value = float(raw) if raw else DEFAULT_TIMEOUT_S
    except ValueError:
        value = -1
    if value <= 0:
        raise UsageError(f"{TIMEOUT_ENV} must be a number of seconds > 0, got {raw!r}")
    return value


def _watchdog(seconds: float, message: str) -> subprocess.Popen:
    """A helper process that prints ``message`` and SIGKILLs this one after ``seconds``.

    A process is needed: TensorFlow waits for the cluster inside C++ holding the GIL (no
    Python thread or signal handler runs) and ignores SIGTERM."""
    code = ("import os, signal, sys, time\n"
            "pid, end = int(sys.argv[1]), time.time() + float(sys.argv[2])\n"
            "while time.time() < end:\n"
            "    time.sleep(0.5)\n"
            "    if os.getppid() != pid: sys.exit(0)\n"
            "sys.stderr.write(sys.argv[3] + '\\n'); sys.stderr.flush()\n"
            "os.kill(pid, signal.SIGKILL)\n")
    return subprocess.Popen([sys.executable, "-c", code, str(os.getpid()), str(seconds), message],
                            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL)


def multiworker_strategy():
    """``MultiWorkerMirroredStrategy`` from ``TF_CONFIG``; with a cluster of several workers,
    joining it is bounded by :func:`connect_timeout` (one-line error, then the process ends)."""
    t = tf()
    cfg = tf_config()
    if cluster_size(cfg) == 1:
        return t.distribute.MultiWorkerMirroredStrategy()
    timeout = connect_timeout()
    task = cfg.get("task", {})
    peers = ", ".join(a for job in ("chief", "worker") for a in cfg["cluster"].get(job, []))
    guard = _watchdog(timeout, f"Error: {task.get('type', 'worker')} {task.get('index', 0)} could not "
                               f"reach the other workers ({peers}) within {timeout:g} s; start every worker "
                               f"with the same cluster in TF_CONFIG, check addresses and firewalls, or raise "
                               f"{TIMEOUT_ENV}")
    try:
        strategy = t.distribute.MultiWorkerMirroredStrategy()
    except (t.errors.OpError, ValueError) as exc:
        raise KerasSRError(f"cannot join the TF_CONFIG cluster ({peers}): {str(exc).splitlines()[0]}") from None
    finally:
        guard.kill()
        guard.wait()
    return strategy


def worker_count(strategy) -> int:
    """Workers (processes) taking part in ``strategy``: 1 unless it is multi-worker."""
    resolver = getattr(strategy, "cluster_resolver", None)
    if resolver is None or not resolver.cluster_spec().as_dict():
        return 1
    spec = resolver.cluster_spec().as_dict()
    return max(1, len(spec.get("chief", [])) + len(spec.get("worker", [])))


def needs_custom_loop(strategy_name: str, strategy) -> bool:
    """Train with :func:`fit_loop` instead of ``Model.fit()``?

    Only for ``multiworker`` with more than one worker: there Keras 3's ``fit()`` fails with
    ``Attempt to convert a value (PerReplica...)`` (keras-team/keras#20585). With one worker
    (and every other strategy) ``fit()`` works and stays in use. When the upstream bug is
    fixed (``test_keras_fit_multiworker_still_broken`` starts failing), return False here.
    """
    return strategy_name == "multiworker" and worker_count(strategy) > 1


def is_chief(strategy) -> bool:
    """Task 0 of ``worker`` (or the ``chief`` task); True outside a cluster."""
    resolver = getattr(strategy, "cluster_resolver", None)
    if resolver is None or not resolver.task_type:
        return True
    return resolver.task_type == "chief" or (resolver.task_type == "worker" and resolver.task_id == 0
                                             and "chief" not in resolver.cluster_spec().as_dict())


def worker_out(strategy, out) -> str:
    """``out`` on the chief; elsewhere a temporary folder, deleted when the process exits."""
    if is_chief(strategy):
        return str(out)
    scratch = tempfile.mkdtemp(prefix=f"keras_sr_worker{strategy.cluster_resolver.task_id}_")
    atexit.register(shutil.rmtree, scratch, True)
    print(f"Not the chief: this worker's files go to {scratch} (removed at exit); the chief "
          f"writes {out}", file=sys.stderr)
    return scratch


def weights_digest(model) -> str:
    """sha256 of all weights (float bytes in ``model.weights`` order): equal on every worker."""
    h = hashlib.sha256()
    for w in model.weights:
        h.update(np.ascontiguousarray(np.asarray(w)).tobytes())
    return h.hexdigest()


def _tf_variable(v):
    return v.value if isinstance(v, keras().Variable) else v


def _syncer(strategy, variables, how: str):
    """A function that makes ``variables`` equal on every worker with one all-reduce each: ``"chief"`` gives
    everyone the chief's value (only global replica 0 contributes; used after the chief
    restored a checkpoint), ``"mean"`` the mean over replicas (BatchNorm moving statistics,
    which Keras updates per replica: their mean equals per-step averaging, the updates being
    linear)."""
    t = tf()
    variables = [_tf_variable(v) for v in variables]

    def replica_fn():
        ctx = t.distribute.get_replica_context()
        if how == "mean":
            return [ctx.all_reduce("MEAN", t.identity(v)) for v in variables]
        first = t.equal(ctx.replica_id_in_sync_group, 0)
        return [ctx.all_reduce("SUM", t.identity(v) * t.cast(first, v.dtype)) for v in variables]

    @t.function
    def run():
        values = strategy.run(replica_fn)
        for v, x in zip(variables, values):
            v.assign(strategy.experimental_local_results(x)[0])

    return run if variables else (lambda: None)


def _distribute(strategy, ds):
    """``ds`` split over the replicas by batch (auto-shard policy DATA: every worker runs the
    pipeline and keeps its share of each global batch). Not FILE, even for TFRecord shards:
    the training pipeline zips the records with a seeded random stream (``Dataset.random``),
    which has no file source ("Did not find a shardable source"), and held-out validation
    records are picked by record position, which per-worker file sharding would change."""
    opts = tf().data.Options()
    opts.experimental_distribute.auto_shard_policy = tf().data.experimental.AutoShardPolicy.DATA
    return strategy.experimental_distribute_dataset(ds.with_options(opts))


def _per_sample_loss(loss):
    """The same Keras loss without reduction, averaged per sample -> ``[N]``."""
    unreduced = loss.__class__.from_config({**loss.get_config(), "reduction": None})

    def per_sample(y_true, y_pred):
        values = unreduced(y_true, y_pred)
        return tf().reduce_mean(values, axis=list(range(1, len(values.shape)))) if len(values.shape) > 1 else values

    return per_sample


class _Steps:
    """The compiled per-step functions for one model (pixel-loss model or SRGAN)."""

    def __init__(self, strategy, model, global_batch: int):
        from keras_sr.evaluation.metrics import psnr_metric

        self.strategy, self.model, self.global_batch = strategy, model, global_batch
        self.gan = hasattr(model, "d_optimizer")
        self.psnr = psnr_metric
        self.loss = None if self.gan else _per_sample_loss(model.loss)
        t = tf()
        self.train = t.function(self._train, reduce_retracing=True)
        self.evaluate = t.function(self._evaluate, reduce_retracing=True)

    def _replica_train(self, batch):
        t = tf()
        if self.gan:
            return self.model.train_step(batch)
        x, y = batch
        model = self.model
        with t.GradientTape() as tape:
            pred = model(x, training=True)
            per_sample = self.loss(y, pred)
            loss = t.nn.compute_average_loss(per_sample, global_batch_size=self.global_batch)
            scaled = model.optimizer.scale_loss(loss)
        grads = tape.gradient(scaled, model.trainable_variables)
        model.optimizer.apply_gradients(zip(grads, model.trainable_variables))
        return {"loss": t.reduce_sum(per_sample), "psnr": t.reduce_sum(self.psnr(y, pred)),
                "count": t.cast(t.shape(y)[0], t.float32)}

    def _train(self, batch):
        values = self.strategy.run(self._replica_train, args=(batch,))
        op = "MEAN" if self.gan else "SUM"  # SRGAN: per-replica running means of equal batches
        return {k: self.strategy.reduce(op, v, axis=None) for k, v in values.items()}

    def _replica_evaluate(self, batch):
        t = tf()
        x, y = batch
        pred = self.model(x, training=False)
        sums = {"psnr": t.reduce_sum(self.psnr(y, pred)), "count": t.cast(t.shape(y)[0], t.float32)}
        if self.gan:
            sr = t.clip_by_value(t.cast(pred, t.float32), 0.0, 1.0)
            sums["ssim"] = t.reduce_sum(t.image.ssim(t.cast(y, t.float32), sr, max_val=1.0))
        else:
            sums["loss"] = t.reduce_sum(self.loss(y, pred))
        return sums

    def _evaluate(self, batch):
        values = self.strategy.run(self._replica_evaluate, args=(batch,))
        return {k: self.strategy.reduce("SUM", v, axis=None) for k, v in values.items()}


def _epoch_logs(sums: dict, prefix: str = "") -> dict:
    count = max(sums.pop("count", 1.0), 1e-12)
    return {prefix + k: v / count for k, v in sums.items()}


def _accumulate(total: dict, values: dict) -> dict:
    for k, v in values.items():
        total[k] = total.get(k, 0.0) + float(v)
    return total


def fit_loop(strategy, model, train_ds, val_ds, *, epochs: int, steps: int | None, callbacks: list,
             backup_dir, global_batch: int, verbose: int = 2) -> None:
    """Train ``model`` (compiled, built in ``strategy.scope()``) like ``fit()``; see the module
    docstring. ``steps`` None: one pass over a finite ``train_ds`` per epoch."""
    t = tf()
    gan = hasattr(model, "d_optimizer")
    optimizers = {"optimizer": model.optimizer, **({"d_optimizer": model.d_optimizer} if gan else {})}
    with strategy.scope():
        if not gan:
            model.optimizer.build(model.trainable_variables)
        epoch_var = t.Variable(0, dtype=t.int64, trainable=False, name="epoch")
    checkpoint = t.train.Checkpoint(model=model, epoch=epoch_var, **optimizers)
    chief = is_chief(strategy)
    manager = t.train.CheckpointManager(checkpoint, str(backup_dir), max_to_keep=1)
    if chief and manager.latest_checkpoint:
        checkpoint.restore(manager.latest_checkpoint)
    state = [*model.weights, *(v for o in optimizers.values() for v in o.variables), epoch_var]
    _syncer(strategy, state, "chief")()
    statistics = [v for v in model.non_trainable_weights if v.dtype.startswith("float")]
    sync_statistics = _syncer(strategy, statistics, "mean")
    first = int(epoch_var.numpy())

    steps_fn = _Steps(strategy, model, global_batch)
    dist_train = _distribute(strategy, train_ds)
    dist_val = _distribute(strategy, val_ds)
    batches = iter(dist_train) if steps else None
    cbs = keras().callbacks.CallbackList(callbacks, model=model)
    cbs.on_train_begin()
    for epoch in range(first, epochs):
        t0 = time.time()
        cbs.on_epoch_begin(epoch)
        if gan:
            model.reset_metrics()
        try:
            logs = _train_epoch(steps_fn, dist_train, batches, steps)
            sync_statistics()  # BatchNorm moving statistics: the same on every worker
            logs.update(_validate(steps_fn, dist_val))
        except t.errors.OpError as exc:
            if type(exc).__name__ not in _PEER_ERRORS:
                raise
            raise KerasSRError(f"lost contact with another worker in epoch {epoch + 1} ({type(exc).__name__}); "
                               f"re-run the same command on every worker to resume from epoch {epoch + 1}") from None
        epoch_var.assign(epoch + 1)
        manager.save()  # before the CSV row, as BackupAndRestore comes before CSVLogger in fit()
        cbs.on_epoch_end(epoch, logs)
        if verbose:
            line = " - ".join(f"{k}: {v:.4f}" for k, v in logs.items())
            print(f"Epoch {epoch + 1}/{epochs} - {time.time() - t0:.1f}s - {line}", flush=True)
        if not all(np.isfinite(v) for v in logs.values()):
            break
    cbs.on_train_end()
    print(f"final weights sha256: {weights_digest(model)}", flush=True)
    if chief:
        shutil.rmtree(backup_dir, ignore_errors=True)


def _train_epoch(steps_fn: _Steps, dist_train, batches, steps) -> dict:
    """One epoch: ``steps`` batches from the persistent iterator ``batches`` (infinite data)
    or one pass over ``dist_train``."""
    sums, last = {}, {}
    for batch in itertools.islice(batches, steps) if steps else iter(dist_train):
        values = steps_fn.train(batch)
        if steps_fn.gan:
            last = {k: float(v) for k, v in values.items()}  # running means over the epoch
        else:
            _accumulate(sums, values)
    return last if steps_fn.gan else _epoch_logs(sums)


def _validate(steps_fn: _Steps, dist_val) -> dict:
    """One pass over the validation data: ``val_`` + global per-sample means."""
    sums = {}
    for batch in dist_val:
        _accumulate(sums, steps_fn.evaluate(batch))
    return _epoch_logs(sums, "val_")

