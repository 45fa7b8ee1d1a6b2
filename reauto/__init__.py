"""reauto: phone real-estate leads with an AI voice agent, legally and within budget."""

from importlib.metadata import PackageNotFoundError, version

from reauto.config import limit_native_threads

limit_native_threads()  # before numpy is imported anywhere

try:
    __version__ = version("reauto")
except PackageNotFoundError:  # running from a source tree that was never installed
    __version__ = "0.0.0+source"

__all__ = ["__version__"]
