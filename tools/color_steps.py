"""Channel-mean shift of each step of the realworld chain on natural photos, vs BasicSR.

Usage (needs torch and BasicSR's source tree, test/measurement use only):
    BASICSR_SRC=/path/to/BasicSR/basicsr PYTHONPATH=. python tools/color_steps.py [N_BSD200] [NAME_FILTER]
Photos: the colour images of ../shared Set5/Set14, the first N_BSD200 (default 40) of BSD200 and
four scikit-image photos. Prints per step the mean over photos of the signed shift (output minus
input channel mean, 8-bit levels) per channel, mean |shift| and max |shift|."""
import glob, io, os, sys, types, importlib.util, math
import numpy as np, skimage.data
from PIL import Image
import tensorflow as tf
import torch
from keras_sr.data import realworld as rw

BSR = os.environ["BASICSR_SRC"]
SHARED = os.environ.get("KERAS_SR_SHARED", os.path.join(os.path.dirname(__file__), "..", "..", "shared"))
def load(name, rel):
    spec = importlib.util.spec_from_file_location(name, f"{BSR}/{rel}")
    m = importlib.util.module_from_spec(spec); spec.loader.exec_module(m); return m
stub = types.ModuleType("torchvision.transforms.functional_tensor")
def rgb_to_grayscale(img, num_output_channels=1):
    r, g, b = img.unbind(dim=-3)
    return (0.2989 * r + 0.587 * g + 0.114 * b).to(img.dtype).unsqueeze(dim=-3)
stub.rgb_to_grayscale = rgb_to_grayscale
for n in ("torchvision", "torchvision.transforms", "cv2"):
    sys.modules.setdefault(n, types.ModuleType(n))
sys.modules["torchvision.transforms.functional_tensor"] = stub
bdeg = load("_bdeg", "data/degradations.py")
bjpg = load("_bjpg", "utils/diffjpeg.py")
diffjpeg = bjpg.DiffJPEG(differentiable=False)

def photos(n_bsd):
    out = {}
    for d in ("Set5", "Set14"):
        for f in sorted(glob.glob(f"{SHARED}/datasets/{d}/*")):
            a = np.asarray(Image.open(f).convert("RGB"))
            if np.abs(a[..., 0].astype(int) - a[..., 2]).mean() > 1:  # colour photos only
                out[f"{d}/{f.split('/')[-1]}"] = a
    for f in sorted(glob.glob(f"{SHARED}/datasets/BSD200/*.png"))[:n_bsd]:
        out["BSD200/" + f.split("/")[-1]] = np.asarray(Image.open(f).convert("RGB"))
    for n in ("astronaut", "coffee", "chelsea", "rocket"):
        out["skimage/" + n] = getattr(skimage.data, n)()
    return out

def shift(x, y):  # levels, per channel
    return np.asarray(y, np.float64).reshape(-1, 3).mean(0) * 255 - np.asarray(x, np.float64).reshape(-1, 3).mean(0) * 255

def nchw(x): return torch.from_numpy(np.ascontiguousarray(np.asarray(x, np.float32).transpose(0, 3, 1, 2)))
def nhwc(x): return x.detach().numpy().transpose(0, 2, 3, 1)

def kernel(kt, size=21, sx=2.0, sy=1.0, th=0.5, beta=2.0, om=math.pi / 3):
    return rw.kernels_from([rw.KERNEL_TYPES.index(kt) if kt != "sinc" else rw.SINC], [size], [sx],
                           [sx if "iso" in kt and "aniso" not in kt else sy], [0.0 if "aniso" not in kt else th],
                           [beta], [om], 21)

def steps():
    S = {}
    S["usm_sharpen (0.5, thr 10, r 51)"] = lambda x, i: rw.usm_sharpen(x)
    for kt in rw.KERNEL_TYPES + ("sinc",):
        S[f"blur {kt}"] = (lambda k: lambda x, i: rw.blur(x, k))(kernel(kt))
    for m, mode in enumerate(rw.RESIZE_MODES):
        for sc in (0.25, 0.5, 1.5):
            def f(x, i, m=m, sc=sc):
                h, w = x.shape[1], x.shape[2]
                return rw.resize(x, [max(int(h * sc), 1), max(int(w * sc), 1)], m, inv_scale=1 / sc)
            S[f"resize {mode} x{sc} (unclipped)"] = f
            S[f"resize {mode} x{sc} (clip+round)"] = lambda x, i, f=f: rw.quantize8(f(x, i))
    for sg in (1, 5, 10, 20, 30):
        for gray in (False, True):
            S[f"gauss sigma {sg}{' gray' if gray else ''} (clip)"] = (lambda sg, gray: lambda x, i: rw.gaussian_noise(
                x, [float(sg)], [gray], tf.constant([i, sg], tf.int64)))(sg, gray)
            S[f"  BasicSR gauss sigma {sg}{' gray' if gray else ''}"] = (lambda sg, gray: lambda x, i: nhwc(
                bdeg.add_gaussian_noise_pt(nchw(x), sigma=float(sg), gray_noise=float(gray), clip=True)))(sg, gray)
    for sc in (0.05, 0.5, 1.0, 3.0):
        for gray in (False, True):
            S[f"poisson scale {sc}{' gray' if gray else ''} (clip)"] = (lambda sc, gray: lambda x, i: rw.poisson_noise(
                x, [sc], [gray], tf.constant([i, 9], tf.int64)))(sc, gray)
            S[f"  BasicSR poisson scale {sc}{' gray' if gray else ''}"] = (lambda sc, gray: lambda x, i: nhwc(
                bdeg.add_poisson_noise_pt(nchw(x), scale=sc, gray_noise=float(gray), clip=True)))(sc, gray)
    for q in (30, 50, 70, 95):
        S[f"jpeg q{q} TF default decode (fast IDCT)"] = lambda x, i, q=q: rw.jpeg(x, [q])
        S[f"jpeg q{q} TF accurate decode"] = lambda x, i, q=q: rw.jpeg(x, [q], accurate=True)
        def pil(x, i, q=q):
            data = tf.io.encode_jpeg(tf.cast(tf.round(x[0] * 255), tf.uint8), quality=q).numpy()
            return np.asarray(Image.open(io.BytesIO(data)).convert("RGB"))[None] / 255.0
        S[f"jpeg q{q} TF encode, Pillow decode"] = pil
        S[f"jpeg q{q} BasicSR DiffJPEG (Real-ESRGAN)"] = lambda x, i, q=q: nhwc(diffjpeg(nchw(x), quality=torch.tensor([float(q)])))
    return S

if __name__ == "__main__":
    torch.manual_seed(0)
    ph = photos(int(sys.argv[1]) if len(sys.argv) > 1 else 40)
    print(f"{len(ph)} colour photos: " + ", ".join(sorted({k.split('/')[0] for k in ph})))
    print(f"{'step':48s} {'R':>6s} {'G':>6s} {'B':>6s} {'mean|d|':>8s} {'max|d|':>7s}  (levels, mean over photos)")
    res = {}
    only = sys.argv[2] if len(sys.argv) > 2 else ""
    for name, f in steps().items():
        if only not in name: continue
        d = []
        for i, (k, a) in enumerate(ph.items()):
            x = a[None].astype(np.float32) / 255.0
            d.append(shift(x, np.asarray(f(tf.constant(x), i))))
        d = np.array(d)
        res[name] = d
        print(f"{name:48s} {d[:,0].mean():+6.2f} {d[:,1].mean():+6.2f} {d[:,2].mean():+6.2f} {np.abs(d).mean():8.3f} {np.abs(d).max():7.2f}", flush=True)
