"""The HTTP server inside the daemon: health, metrics, API, status page and analytics."""
