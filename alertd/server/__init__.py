"""The daemon's HTTP face: health, metrics, an Alertmanager-compatible API, Prometheus-
shaped rule and alert views. It reads the parts the daemon built; nothing below it
imports it."""
