"""reauto: phone real-estate leads with an AI voice agent, legally and within budget."""

import os

# One OpenBLAS thread (unless the environment says otherwise), set before numpy loads anywhere:
# its threads spin between the voice models' small matrix products and cost a quarter of a
# dialer's CPU for nothing (BENCHMARKS.md, call pipeline).
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

#: The one place the version is written: pyproject.toml reads it from here when building. A
#: literal, not importlib.metadata, which costs every command ~40 ms of CPU to start.
__version__ = "0.1.0"

__all__ = ["__version__"]
