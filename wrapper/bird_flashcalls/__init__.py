"""bird-flashcalls: a Python client for Bird's Flash Calling API."""

from ._version import __version__

__all__ = ["__version__"]
