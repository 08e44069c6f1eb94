"""alertd: an alerting daemon for Cloudflare Workers Analytics Engine."""

__version__ = "0.1.0"
