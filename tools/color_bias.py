"""LR-vs-HR channel-mean bias of a degradation: the bicubic-upscaled LR vs the mod-cropped HR, per
channel, in 8-bit levels, over N seeded draws (seeds [k, 0], k < N; images taken in turn).

Usage: PYTHONPATH=. python tools/color_bias.py astronaut|Set14|Set5 N SCALE DEG[:NAME=V;NAME=V] ...
e.g.   python tools/color_bias.py astronaut 96 4 realworld realworld-accurate "realworld-accurate:usm_weight=0"
Prints the mean signed error per channel, its mean |.| (bias of the mean) and the mean per-draw bias."""
import glob, os, sys, time
import numpy as np, skimage.data
from PIL import Image
import tensorflow as tf
from keras_sr.data.degradations import get_degradation, bicubic_resize

which, n, scale = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
if which == "astronaut":
    imgs = [skimage.data.astronaut()]
else:
    shared = os.environ.get("KERAS_SR_SHARED", os.path.join(os.path.dirname(__file__), "..", "..", "shared"))
    files = sorted(glob.glob(os.path.join(shared, "datasets", which, "*")))
    imgs = [np.asarray(Image.open(f).convert("RGB")) for f in files]
configs = []
for spec in sys.argv[4:]:
    name, _, over = spec.partition(":")
    deg = get_degradation(name)
    params = deg.default_params().with_overrides([o for o in over.split(";") if o])
    configs.append((spec, deg, params))
for spec, deg, params in configs:
    fn = tf.function(lambda hr, s: deg.downscale(hr, scale, seed=s, params=params), reduce_retracing=True)
    t0 = time.time()
    errs = []
    for k in range(n):
        a = imgs[k % len(imgs)]
        h, w = a.shape[0] // scale * scale, a.shape[1] // scale * scale
        hr = tf.constant(a[None, :h, :w].astype(np.float32) / 255.0)
        lr = fn(hr, tf.constant([k, 0], tf.int64))
        up = tf.round(bicubic_resize(lr, (h, w)) * 255.0)
        errs.append(np.asarray(up, np.float64).reshape(-1, 3).mean(0) - a[:h, :w].reshape(-1, 3).mean(0))
    e = np.array(errs)
    m = e.mean(0)
    print(f"{which:10s} x{scale} {spec:60s} R {m[0]:+.2f} G {m[1]:+.2f} B {m[2]:+.2f}  bias(mean) {np.abs(m).mean():.2f}"
          f"  per-draw bias {np.abs(e).mean():.2f}  ({n} draws, {time.time() - t0:.0f} s)", flush=True)
