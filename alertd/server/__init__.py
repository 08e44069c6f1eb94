"""The daemon's HTTP face: health, metrics, an Alertmanager-compatible API, Prometheus-
shaped rule and alert views, the status page and the analytics endpoints. It reads the
parts the daemon built; nothing below it imports it."""
