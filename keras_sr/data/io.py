"""Image files in and out (Pillow).

Conventions: :func:`read_image` returns a NumPy array ``[H, W]`` (gray), ``[H, W, 3]`` (RGB)
or ``[H, W, 4]`` (RGBA), dtype uint8 (uint16 for 16-bit files), EXIF orientation applied.
:func:`write_image` writes atomically (temporary file in the same folder, then rename) and
never replaces an existing file unless ``overwrite=True``. Every atomic write in keras_sr ends
in :func:`replace_atomically`, which gives the new file the mode a plain ``open(path, "w")``
gives (``0o666 & ~umask``; ``0o777 & ~umask`` for a folder), not ``mkstemp``'s 0600.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import shutil
import struct
import tempfile
import threading
import warnings
import zlib
from pathlib import Path

import numpy as np

from keras_sr.errors import ImageReadError, KerasSRError

IMAGE_EXTENSIONS = (".png", ".jpg", ".jpeg", ".bmp", ".tif", ".tiff", ".webp", ".gif")


def _pil():
    from PIL import Image, ImageFile, ImageOps

    ImageFile.LOAD_TRUNCATED_IMAGES = False
    return Image, ImageOps


def read_image(path) -> np.ndarray:
    """Read an image file; raise :class:`ImageReadError` naming the file on any problem."""
    Image, ImageOps = _pil()
    path = Path(path)
    if not path.exists():
        raise ImageReadError(f"no such file: {path}")
    if path.is_dir():
        raise ImageReadError(f"expected an image file, got a folder: {path}")
    if path.stat().st_size == 0:
        raise ImageReadError(f"empty file (0 bytes): {path}")
    try:
        with Image.open(path) as im:
            im = ImageOps.exif_transpose(im)
            im.load()
            return _to_array(im)
    except Image.DecompressionBombError as exc:
        raise ImageReadError(f"image too large (decompression-bomb guard): {path}: {exc}") from None
    except Image.UnidentifiedImageError:
        raise ImageReadError(f"not an image file (unrecognised format): {path}") from None
    except (OSError, SyntaxError, ValueError) as exc:
        raise ImageReadError(f"corrupt or truncated image: {path} ({exc})") from None


def _to_array(im) -> np.ndarray:
    mode = im.mode
    if mode in ("I;16", "I;16B", "I;16L", "I"):
        arr = np.asarray(im)
        return np.clip(arr, 0, 65535).astype(np.uint16)
    if mode == "1" or mode == "L":
        return np.asarray(im.convert("L"))
    if mode in ("LA", "PA") or (mode == "P" and "transparency" in im.info) or mode == "RGBA":
        return np.asarray(im.convert("RGBA"))
    return np.asarray(im.convert("RGB"))


def image_size(path) -> tuple[int, int]:
    """``(height, width)`` of an image file after EXIF orientation, reading only the header."""
    Image, _ = _pil()
    try:
        with Image.open(path) as im:
            w, h = im.size
            orientation = im.getexif().get(0x0112, 1)
            return (w, h) if orientation in (5, 6, 7, 8) else (h, w)
    except FileNotFoundError:
        raise ImageReadError(f"no such file: {path}") from None
    except (OSError, SyntaxError, ValueError, Image.DecompressionBombError):
        raise ImageReadError(f"not a readable image: {path}") from None


def write_image(path, image: np.ndarray, overwrite: bool = False, quality: int = 95,
                icc_profile: bytes | None = None, exif: bytes | None = None, text: dict | None = None) -> Path:
    """Write ``image`` (uint8/uint16 ``[H,W]``, ``[H,W,3]`` or ``[H,W,4]``) atomically
    (temporary file + rename), optionally with an ICC profile and EXIF (and, in 8-bit PNGs,
    ``text`` key/value chunks). 16-bit images stay 16-bit in PNG and TIFF (gray, RGB, RGBA)
    and are rounded to 8 bits for 8-bit formats."""
    Image, _ = _pil()
    path = Path(path)
    if path.exists() and not overwrite:
        raise KerasSRError(f"output exists (use --overwrite to replace it): {path}")
    folder = path.parent if str(path.parent) else Path(".")
    if not folder.is_dir():
        raise KerasSRError(f"output folder does not exist: {folder}")
    if not os.access(folder, os.W_OK):
        raise KerasSRError(f"output folder is not writable: {folder}")
    fmt = Image.registered_extensions().get(path.suffix.lower())
    if fmt is None:
        raise KerasSRError(f"unknown output image format {path.suffix!r}: {path}")
    arr = np.asarray(image)
    deep_colour = arr.dtype == np.uint16 and arr.ndim == 3 and fmt in ("PNG", "TIFF")
    pil = None
    if not deep_colour:
        keep16 = arr.dtype == np.uint16 and arr.ndim == 2 and fmt in ("PNG", "TIFF")
        pil = Image.fromarray(arr if keep16 else eight_bit(arr))  # 8-bit formats: rounded
        if fmt == "JPEG" and pil.mode == "RGBA":
            pil = pil.convert("RGB")
    tmp = None
    try:
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".part", dir=folder)
        os.close(fd)
        if deep_colour:
            _write_deep_colour(tmp, arr, fmt, icc_profile, exif)
        else:
            kwargs = {"quality": quality} if fmt in ("JPEG", "WEBP") else {}
            if icc_profile and fmt in ("JPEG", "PNG", "TIFF", "WEBP"):
                kwargs["icc_profile"] = icc_profile
            if exif and fmt in ("JPEG", "PNG", "TIFF", "WEBP"):
                kwargs["exif"] = exif
            if text and fmt == "PNG":
                from PIL.PngImagePlugin import PngInfo

                kwargs["pnginfo"] = info = PngInfo()
                for key, value in text.items():
                    info.add_text(key, value)
            pil.save(tmp, format=fmt, **kwargs)
        replace_atomically(tmp, path)
    except OSError as exc:
        raise KerasSRError(f"cannot write {path}: {exc.strerror or exc}") from None
    finally:
        if tmp and os.path.exists(tmp):
            os.unlink(tmp)
    return path


def eight_bit(image: np.ndarray) -> np.ndarray:
    """uint8 pixels: uint16 rounded to 8 bits (``/ 257``), uint8 returned as it is (no copy)."""
    if image.dtype == np.uint16:
        return np.round(image / 257.0).astype(np.uint8)
    return image if image.dtype == np.uint8 else image.astype(np.uint8)


def _png_chunk(tag: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + tag + data + struct.pack(">I", zlib.crc32(tag + data) & 0xFFFFFFFF)


def _write_deep_colour(path, arr: np.ndarray, fmt: str, icc_profile, exif) -> None:
    """16-bit RGB(A), which Pillow cannot hold: PNG through ``tf.io.encode_png`` (with iCCP and
    eXIf chunks added after IHDR), TIFF through ``tifffile`` (ICC kept; EXIF is not written)."""
    if fmt == "TIFF":
        import tifffile

        tifffile.imwrite(path, arr, photometric="rgb", compression="zlib",
                         extrasamples=[2] if arr.shape[2] == 4 else None, iccprofile=icc_profile)
        return
    from keras_sr._backend import tf

    png = tf().io.encode_png(arr).numpy()
    extra = b""
    if icc_profile:
        extra += _png_chunk(b"iCCP", b"ICC profile\x00\x00" + zlib.compress(icc_profile))
    if exif:
        extra += _png_chunk(b"eXIf", exif[6:] if exif.startswith(b"Exif\x00\x00") else exif)
    end_of_ihdr = 8 + 8 + 13 + 4  # signature, IHDR length+tag, IHDR data, CRC
    with open(path, "wb") as f:
        f.write(png[:end_of_ihdr] + extra + png[end_of_ihdr:])


def read_deep_colour(path, im) -> np.ndarray | None:
    """The uint16 pixels of a 16-bit-per-channel RGB(A) PNG or TIFF (``im``: the file opened
    with Pillow, which would reduce it to 8 bits), before EXIF orientation; None for any
    other image. PNG is decoded by ``tf.io.decode_png``, TIFF by ``tifffile``."""
    rawmode = (im.tile[0][3] if im.tile else "") or ""  # (codec, extents, offset, args) in every Pillow
    rawmode = rawmode[0] if isinstance(rawmode, tuple) else rawmode
    if im.mode not in ("RGB", "RGBA") or ";16" not in str(rawmode):
        return None
    if im.format == "PNG":
        from keras_sr._backend import tf

        return tf().io.decode_png(Path(path).read_bytes(), dtype=tf().uint16).numpy()
    if im.format == "TIFF":
        import tifffile

        try:
            arr = tifffile.imread(path, key=0)
        except Exception as exc:  # e.g. a compression tifffile needs imagecodecs for
            warnings.warn(f"{path}: 16-bit TIFF read as 8-bit ({exc})", stacklevel=3)
            return None
        return arr.astype(np.uint16) if arr.ndim == 3 and arr.shape[2] in (3, 4) else None
    return None


def orient(arr: np.ndarray, orientation: int) -> np.ndarray:
    """Apply an EXIF orientation (1-8) to ``[H, W, ...]`` pixels, as ``ImageOps.exif_transpose``."""
    ops = {2: lambda a: a[:, ::-1], 3: lambda a: a[::-1, ::-1], 4: lambda a: a[::-1],
           5: lambda a: a.swapaxes(0, 1), 6: lambda a: np.rot90(a, -1),
           7: lambda a: a[::-1, ::-1].swapaxes(0, 1), 8: lambda a: np.rot90(a, 1)}
    return np.ascontiguousarray(ops[orientation](arr)) if orientation in ops else arr


_UMASK_LOCK = threading.Lock()


def current_umask() -> int:
    """The process umask, read without changing it (Linux ``/proc/self/status``); elsewhere
    set and restored at once under a lock."""
    try:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith("Umask:"):
                    return int(line.split()[1], 8)
    except (OSError, ValueError, IndexError):
        pass
    with _UMASK_LOCK:
        mask = os.umask(0o022)
        os.umask(mask)
    return mask


def replace_atomically(tmp, path) -> Path:
    """Give ``tmp`` (a file or folder written next to ``path``) the mode a plain ``open(path,
    "w")`` (``os.mkdir`` for a folder) would, ``0o666 & ~umask`` (``0o777 & ~umask``), then
    rename it to ``path`` (``os.replace``: readers see the old file or the new one, never half).
    Temporary files from ``mkstemp``/``mkdtemp`` are 0600/0700, which would leave outputs
    unreadable to anyone but their owner."""
    base = 0o777 if os.path.isdir(tmp) else 0o666
    os.chmod(tmp, base & ~current_umask())
    os.replace(tmp, path)
    return Path(path)


@contextlib.contextmanager
def staged_folder(out, overwrite: bool = False):
    """Write a whole output folder at once: yields an empty temporary folder beside ``out``;
    on a clean exit it replaces ``out`` (:func:`replace_atomically`), on an exception it is
    removed and ``out`` is left as it was (never a half-written output). An existing ``out`` is
    refused without ``overwrite``, and so are a file at ``out`` and a missing parent folder."""
    out = Path(out)
    if out.exists() and not overwrite:
        raise KerasSRError(f"output folder exists (use --overwrite): {out}")
    if out.exists() and not out.is_dir():
        raise KerasSRError(f"output path exists and is not a folder: {out}")
    parent = out.resolve().parent
    if not parent.is_dir():
        raise KerasSRError(f"output folder's parent does not exist: {parent}")
    try:
        work = Path(tempfile.mkdtemp(prefix=f".{out.name}.partial-", dir=parent))
    except OSError as exc:
        raise KerasSRError(f"cannot write to {parent}: {exc.strerror or exc}") from None
    try:
        yield work
        if out.exists():
            shutil.rmtree(out)
        replace_atomically(work, out)  # mkdtemp made it 0700
    finally:
        if work.exists():
            shutil.rmtree(work, ignore_errors=True)


def atomic_write_text(path, text: str) -> Path:
    """Write a text file via a temporary sibling and a rename: readers never see half a file."""
    path = Path(path)
    tmp = path.with_name(f".{path.name}.part")
    tmp.write_text(text)
    return replace_atomically(tmp, path)


def list_images(sources, recursive: bool = True) -> list[Path]:
    """Image files in the given files/folders, sorted; raise when a source is missing."""
    out: list[Path] = []
    for src in sources:
        src = Path(src)
        if not src.exists():
            raise KerasSRError(f"no such file or folder: {src}")
        if src.is_dir():
            it = src.rglob("*") if recursive else src.iterdir()
            out.extend(sorted(p for p in it if p.is_file() and p.suffix.lower() in IMAGE_EXTENSIONS
                              and not p.name.startswith(".")))
        else:
            out.append(src)
    return out


def sha256_file(path, chunk: int = 1 << 20) -> str:
    """Hex sha256 of a file's bytes."""
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(chunk), b""):
            h.update(block)
    return h.hexdigest()
