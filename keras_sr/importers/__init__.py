"""Importers of community super-resolution weights into keras_sr models (ncnn: :mod:`keras_sr.importers.ncnn`)."""
