"""Shipped keras_sr models (installed as the package ``keras_sr.saved_models``).

Each ``<name>.keras`` has a model card ``<name>.json`` (architecture, scale, degradation,
training record, measured numbers, sha256). Load them with ``keras_sr.load_model("<name>")``.
"""
