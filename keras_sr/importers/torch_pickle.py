"""Read a PyTorch ``.pth``/``.pt`` checkpoint **without torch and without executing code**.

``torch.save`` writes a pickle whose tensors point at raw storages (``persistent_load``):

- zip format (torch >= 1.6): ``<root>/data.pkl`` + ``<root>/data/<key>`` (one raw storage per
  key) + ``<root>/byteorder`` (``little``/``big``; absent = little);
- legacy format (torch < 1.6, e.g. the original ESRGAN release): pickled magic number,
  protocol version and system info, then the object's pickle, the pickled list of storage
  keys, and each storage as an int64 element count followed by its bytes.

The unpickler resolves only the globals needed to rebuild tensors and containers
(:data:`ALLOWED`: ``collections.OrderedDict``, ``torch._utils._rebuild_tensor(_v2)``,
``torch._utils._rebuild_parameter``, the ``torch.*Storage`` types). Each of them is replaced by
a harmless stand-in defined here (a torch function is never imported, let alone called); any
other global (``posix.system``, ``builtins.eval``, a model class ...) stops the load with a
one-line :class:`~keras_sr.errors.ModelLoadError` naming it, before anything else happens.
Tensors come back as NumPy arrays: float16/bfloat16/float64 as float32, integers as they are.
"""

from __future__ import annotations

import io
import pickle
import zipfile
from collections import OrderedDict
from pathlib import Path

import numpy as np

from keras_sr.errors import ModelLoadError

LEGACY_MAGIC = 0x1950A86A20F9469CFC6C
LEGACY_PROTOCOL = 1001

# storage type name -> (numpy dtype code, element bytes); "bf16" is converted by hand
_STORAGES = {
    "FloatStorage": ("f4", 4), "DoubleStorage": ("f8", 8), "HalfStorage": ("f2", 2),
    "BFloat16Storage": ("bf16", 2), "LongStorage": ("i8", 8), "IntStorage": ("i4", 4),
    "ShortStorage": ("i2", 2), "CharStorage": ("i1", 1), "ByteStorage": ("u1", 1),
    "BoolStorage": ("?", 1), "UntypedStorage": ("u1", 1),
}


class _StorageType:
    """Stand-in for a ``torch.*Storage`` class: only its dtype is used."""

    def __init__(self, name: str):
        self.name = name
        self.code, self.itemsize = _STORAGES[name]

    def __call__(self, *args, **kwargs):
        raise ModelLoadError(f"pickle tries to call torch.{self.name} (not a plain state dict)")


class _Storage:
    """A storage referenced by key; its bytes are read after unpickling."""

    __slots__ = ("key", "stype", "data")

    def __init__(self, key: str, stype: _StorageType):
        self.key, self.stype, self.data = key, stype, None

    def __setstate__(self, state):
        raise ModelLoadError("pickle tries to modify a storage object (not a plain state dict)")


class _Tensor:
    """A tensor to materialize once its storage's bytes are known."""

    __slots__ = ("storage", "offset", "size", "stride")

    def __init__(self, storage, offset, size, stride):
        if not isinstance(storage, _Storage):
            raise ModelLoadError("malformed tensor in pickle: its storage is not a storage reference")
        if not (isinstance(offset, int) and all(isinstance(v, int) for v in tuple(size) + tuple(stride))
                and len(size) == len(stride)):
            raise ModelLoadError("malformed tensor in pickle: non-integer offset, size or stride")
        self.storage, self.offset, self.size, self.stride = storage, offset, tuple(size), tuple(stride)

    def __setstate__(self, state):
        raise ModelLoadError("pickle tries to modify a tensor object (not a plain state dict)")


def _rebuild_tensor(storage, storage_offset, size, stride):
    return _Tensor(storage, storage_offset, size, stride)


def _rebuild_tensor_v2(storage, storage_offset, size, stride, requires_grad=False, backward_hooks=None,
                       metadata=None):
    return _Tensor(storage, storage_offset, size, stride)


def _rebuild_parameter(data, requires_grad=False, backward_hooks=None):
    if not isinstance(data, _Tensor):
        raise ModelLoadError("malformed parameter in pickle: its data is not a tensor")
    return data


def _rebuild_parameter_with_state(data, requires_grad=False, backward_hooks=None, state=None):
    return _rebuild_parameter(data)


ALLOWED = {
    ("collections", "OrderedDict"): OrderedDict,
    ("torch._utils", "_rebuild_tensor"): _rebuild_tensor,
    ("torch._utils", "_rebuild_tensor_v2"): _rebuild_tensor_v2,
    ("torch._utils", "_rebuild_parameter"): _rebuild_parameter,
    ("torch._utils", "_rebuild_parameter_with_state"): _rebuild_parameter_with_state,
    **{("torch", name): _StorageType(name) for name in _STORAGES},
    ("torch.storage", "UntypedStorage"): _StorageType("UntypedStorage"),
}


class _RestrictedUnpickler(pickle.Unpickler):
    """``find_class`` answers only :data:`ALLOWED`; storages come back as :class:`_Storage`."""

    def __init__(self, file, source: str, storages: dict):
        super().__init__(file, encoding="latin1")  # latin1: numpy-free py2 strings in old files
        self.source, self.storages = source, storages

    def find_class(self, module, name):
        try:
            return ALLOWED[(module, name)]
        except KeyError:
            raise ModelLoadError(f"refusing to load {self.source}: pickle wants global '{module}.{name}' "
                                 "(only tensor/container globals are allowed)") from None

    def persistent_load(self, pid):
        if not isinstance(pid, tuple) or len(pid) < 3 or pid[0] != "storage" or \
                not isinstance(pid[1], _StorageType):
            raise ModelLoadError(f"{self.source}: unexpected persistent id in pickle (not a storage)")
        if len(pid) >= 6 and pid[5] is not None:
            raise ModelLoadError(f"{self.source}: legacy storage views are not supported")
        stype, key = pid[1], str(pid[2])
        if key not in self.storages:
            self.storages[key] = _Storage(key, stype)
        return self.storages[key]


def _unpickle(data, source: str, storages: dict):
    f = io.BytesIO(data) if isinstance(data, (bytes, bytearray)) else data
    try:
        return _RestrictedUnpickler(f, source, storages).load()
    except ModelLoadError:
        raise
    except (pickle.UnpicklingError, EOFError, ValueError, TypeError, AttributeError, IndexError, KeyError,
            UnicodeDecodeError, MemoryError) as exc:
        raise ModelLoadError(f"{source}: corrupt or truncated pickle ({type(exc).__name__}: {exc})") from None


def _array(t: _Tensor, source: str, little: bool) -> np.ndarray:
    st = t.storage.stype
    raw = t.storage.data
    if raw is None:
        raise ModelLoadError(f"{source}: storage {t.storage.key} has no data in the file")
    n = len(raw) // st.itemsize
    end = "<" if little else ">"
    flat = np.frombuffer(raw, dtype=np.dtype(end + ("u2" if st.code == "bf16" else st.code)), count=n)
    if any(v < 0 for v in t.size):
        raise ModelLoadError(f"{source}: tensor with a negative size {t.size}: corrupt file")
    count = int(np.prod(t.size)) if t.size else 1
    if count:
        last = t.offset + sum((s - 1) * abs(d) for s, d in zip(t.size, t.stride))
        if t.offset < 0 or last >= n or any(d < 0 for d in t.stride):
            raise ModelLoadError(f"{source}: tensor of size {t.size} reaches past its storage "
                                 f"({n} elements): corrupt file")
        arr = np.lib.stride_tricks.as_strided(flat[t.offset:], shape=t.size,
                                              strides=[d * flat.itemsize for d in t.stride],
                                              writeable=False).copy()
    else:
        arr = np.zeros(t.size, flat.dtype)
    if st.code == "bf16":
        return (arr.astype(np.uint32) << 16).view(np.float32)
    if arr.dtype.kind == "f":
        return arr.astype(np.float32)
    return arr.astype(arr.dtype.newbyteorder("="))


def _materialize(obj, source: str, little: bool):
    if isinstance(obj, _Tensor):
        return _array(obj, source, little)
    if isinstance(obj, dict):
        out = OrderedDict() if isinstance(obj, OrderedDict) else {}
        for k, v in obj.items():
            out[k] = _materialize(v, source, little)
        return out
    if isinstance(obj, (list, tuple)):
        return type(obj)(_materialize(v, source, little) for v in obj)
    return obj


def load_pth(path) -> dict:
    """The object in a PyTorch checkpoint (a state dict, or a dict holding one), tensors as
    NumPy arrays. Raises :class:`ModelLoadError` (one line) on a forbidden global, a corrupt,
    truncated or non-PyTorch file."""
    path = Path(path)
    name = path.name
    try:
        if zipfile.is_zipfile(path):
            return _load_zip(path, name)
        with open(path, "rb") as f:
            if f.read(4) == b"PK\x03\x04":  # a zip without its central directory at the end
                raise ModelLoadError(f"{name}: truncated or corrupt zip archive (no central directory)")
            f.seek(0)
            return _load_legacy(f, name)
    except OSError as exc:
        raise ModelLoadError(f"cannot read {path}: {exc.strerror or exc}") from None


def _load_zip(path: Path, name: str):
    try:
        with zipfile.ZipFile(path) as z:
            names = z.namelist()
            pkl = [n for n in names if n == "data.pkl" or n.endswith("/data.pkl")]
            if not pkl:
                raise ModelLoadError(f"{name}: zip file without data.pkl (not a PyTorch checkpoint)")
            root = pkl[0][: -len("data.pkl")]
            little = True
            if f"{root}byteorder" in names:
                little = z.read(f"{root}byteorder").decode("ascii", "replace").strip() != "big"
            storages: dict = {}
            obj = _unpickle(z.read(pkl[0]), name, storages)
            for key, st in storages.items():
                entry = f"{root}data/{key}"
                if entry not in names:
                    raise ModelLoadError(f"{name}: storage {key} missing from the archive (truncated file?)")
                st.data = z.read(entry)
    except (zipfile.BadZipFile, EOFError) as exc:
        raise ModelLoadError(f"{name}: corrupt or truncated zip archive ({exc})") from None
    return _materialize(obj, name, little)


def _load_legacy(f, name: str):
    head = f.read(2)
    f.seek(0)
    if len(head) < 2 or head[0] != 0x80:  # pickle protocol >= 2 starts with PROTO (0x80)
        raise ModelLoadError(f"{name}: not a PyTorch checkpoint (neither a zip archive nor a pickle)")
    storages: dict = {}
    magic = _unpickle(f, name, storages)
    if magic != LEGACY_MAGIC:
        raise ModelLoadError(f"{name}: a pickle, but not a PyTorch checkpoint (no torch.save magic number)")
    version = _unpickle(f, name, storages)
    if version != LEGACY_PROTOCOL:
        raise ModelLoadError(f"{name}: unsupported legacy PyTorch format version {version!r}")
    sys_info = _unpickle(f, name, storages)
    little = not isinstance(sys_info, dict) or sys_info.get("little_endian", True)
    obj = _unpickle(f, name, storages)
    keys = _unpickle(f, name, storages)
    if not isinstance(keys, list):
        raise ModelLoadError(f"{name}: corrupt legacy checkpoint (no storage key list)")
    for key in keys:
        st = storages.get(str(key))
        header = f.read(8)
        if st is None or len(header) < 8:
            raise ModelLoadError(f"{name}: truncated legacy checkpoint (storage {key})")
        numel = int.from_bytes(header, "little" if little else "big", signed=True)
        nbytes = numel * st.stype.itemsize
        data = f.read(nbytes)
        if numel < 0 or len(data) != nbytes:
            raise ModelLoadError(f"{name}: truncated legacy checkpoint (storage {key}: "
                                 f"{len(data)} of {nbytes} bytes)")
        st.data = data
    return _materialize(obj, name, little)
