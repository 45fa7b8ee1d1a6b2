"""reauto: phone real-estate leads with an AI voice agent, legally and within budget."""

import os
from importlib.metadata import PackageNotFoundError, version

# One OpenBLAS thread (unless the environment says otherwise), set before numpy loads anywhere:
# its threads spin between the voice models' small matrix products and cost a quarter of a
# dialer's CPU for nothing (BENCHMARKS.md, call pipeline).
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

try:
    __version__ = version("reauto")
except PackageNotFoundError:  # running from a source tree that was never installed
    __version__ = "0.0.0+source"

__all__ = ["__version__"]
