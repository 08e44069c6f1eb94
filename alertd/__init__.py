"""alertd: an alerting daemon for Cloudflare Workers Analytics Engine."""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("alertd")
except PackageNotFoundError:  # run from a source tree that was never installed
    __version__ = "0+unknown"
