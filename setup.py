"""voxjax: real-time speech conversion in both directions, in JAX/Flax."""
from setuptools import find_packages, setup

setup(
    name="voxjax",
    version="0.1.0",
    description="JAX/Flax research codebase for streaming speech-to-text and text-to-speech.",
    license="Apache-2.0",
    # configs/*.py ship inside the wheel as the package ``voxjax.configs`` (no __init__.py:
    # setuptools copies the modules of a listed package), so ``pip install .`` finds named
    # configs without the checkout (``voxjax.config.load``); the checkout keeps configs/ at the
    # top, where the README and commands name them.
    packages=find_packages(include=["voxjax", "voxjax.*"]) + ["voxjax.configs"],
    package_dir={"voxjax.configs": "configs"},
    python_requires=">=3.11",
    install_requires=[
        "jax>=0.8.0",
        "flax>=0.12.0",
        "optax>=0.2.5",
        "orbax-checkpoint>=0.11.0",
        "grain>=0.2.12",
        "ml-collections>=1.1.0",
        "absl-py>=2.1.0",
        "numpy>=1.26",
        "librosa>=0.11.0",
        "scipy>=1.11",  # filters of the waveform augmentation
        "scikit-learn>=1.3",  # the speaker model's equal error rate (ROC)
        "soundfile>=0.12.1",
        "soxr>=0.5.0",
        "jiwer>=4.0.0",
        "tensorboardX>=2.6.2",
        "tqdm>=4.66",
        "espeakng-loader>=0.2.4",
        "num2words>=0.5.13",
        "aiohttp>=3.9",  # voxjax serve: HTTP + WebSocket server (and the tests' client)
        "safetensors>=0.4.0",  # published models' parameters (voxjax/registry)
    ],
    # Published models ship inside the package: one folder of files per model.
    package_data={"voxjax": ["live_page/*", "registry/*/*"]},
    extras_require={
        # wheel: the packaging test builds one; playwright drives Debian's chromium (no download)
        "dev": ["pytest>=8.0", "pytest-xdist>=3.5", "wheel>=0.40", "playwright>=1.40",
                # librosa's numba kernels: 0.68.1 (with llvmlite 0.50) segfaults in
                # librosa.pyin, which only the tests call
                "numba>=0.60,!=0.68.1",
                "pyroomacoustics>=0.8.0", "matplotlib>=3.8"],
        # simulated rooms for the waveform augmentation (data.augment.reverb_prob > 0)
        "augment": ["pyroomacoustics>=0.8.0"],
        # the main job's report plots and coloured TensorBoard images
        "plots": ["matplotlib>=3.8"],
        # judges: pocketsphinx reads the words; DNSMOS (speechmos's bundled ONNX models) rates
        # naturalness; speechmos imports onnxruntime without declaring it
        "eval": ["pocketsphinx>=5.0.3", "speechmos>=0.0.1", "onnxruntime>=1.17"],
    },
    entry_points={"console_scripts": ["voxjax=voxjax.cli:main"]},
)
