"""The on-disk dataset layout."""

from betavae.data.storage.reader import *  # noqa: F403
from betavae.data.storage.reader import __all__  # noqa: F401
