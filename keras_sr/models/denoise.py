"""Denoise strength by weight interpolation (Real-ESRGAN's ``-dn``, "deep network
interpolation", Wang et al. 2019): a restoration model trained on the full ``realworld``
degradation and a *weak-denoise sibling* fine-tuned from it on a milder one share an
architecture, so ``strength * full + (1 - strength) * weak``, weight by weight, is a model in
between: 1 = full denoising (smooth), 0 = the sibling (keeps detail and grain).

A model names its sibling in its card (``denoise_sibling``, a zoo name) or in its training
record (``record["denoise_sibling"]``, a path or zoo name).
"""

from __future__ import annotations

import numpy as np

from keras_sr.errors import ModelLoadError, UsageError


def sibling_of(model) -> str | None:
    """The weak-denoise sibling named by ``model``'s card or record, or None."""
    info = getattr(model, "sr_info", None)
    record = getattr(info, "record", None) or {}
    if record.get("denoise_sibling"):
        return str(record["denoise_sibling"])
    from keras_sr.zoo import cards

    for name, card in cards().items():
        if card.get("sha256") and card.get("denoise_sibling") and _is_card_of(info, name, card):
            return str(card["denoise_sibling"])
    return None


def _is_card_of(info, name: str, card: dict) -> bool:
    source = str(getattr(info, "source", "") or "")
    return source.endswith(card["file"]) or source == name


def blend_models(a, b, weight_a: float):
    """A copy of model ``a`` whose every weight is ``weight_a * a + (1 - weight_a) * b``
    (float64 sums); ``b`` must have the same layers (names) and weight shapes."""
    from keras_sr._backend import keras

    wa, wb = a.get_weights(), b.get_weights()
    shapes_a, shapes_b = [w.shape for w in wa], [w.shape for w in wb]
    if shapes_a != shapes_b or [l.name for l in a.layers] != [l.name for l in b.layers]:
        raise ModelLoadError(f"cannot blend {a.name} with {b.name}: different architectures "
                             f"({len(wa)} vs {len(wb)} weight arrays)")
    out = keras().models.clone_model(a)
    out.set_weights([(weight_a * x.astype(np.float64) + (1.0 - weight_a) * y.astype(np.float64)).astype(x.dtype)
                     for x, y in zip(wa, wb)])
    out.sr_info = a.sr_info
    return out


def with_denoise(model, strength: float):
    """``model`` (name, path or loaded) blended with its weak-denoise sibling at ``strength``
    in [0, 1]; errors are one line (:class:`UsageError`, exit 2)."""
    from keras_sr.models.loading import load_model

    if not 0.0 <= float(strength) <= 1.0:
        raise UsageError(f"--denoise is a strength in [0, 1], got {strength}")
    full = load_model(model)
    sibling = sibling_of(full)
    if sibling is None:
        raise UsageError(f"--denoise needs a model with a weak-denoise sibling (realesr-x4); "
                         f"{getattr(full.sr_info, 'source', '') or full.name} has none")
    weak = load_model(sibling)
    if weak.sr_info.scale != full.sr_info.scale:
        raise ModelLoadError(f"weak-denoise sibling {sibling} is x{weak.sr_info.scale}, the model x{full.sr_info.scale}")
    blended = blend_models(full, weak, float(strength))
    blended.sr_info.record = dict(blended.sr_info.record or {}, denoise_strength=float(strength),
                                  denoise_sibling=sibling)
    return blended
