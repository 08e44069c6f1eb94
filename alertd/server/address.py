"""`HOST:PORT` for the HTTP server, as `--http` and ALERTD_HTTP_ADDR give it."""

from __future__ import annotations

from alertd.settings import Settings

DEFAULT_HTTP_ADDR = Settings.model_fields["http_addr"].default


def parse_address(text: str) -> tuple[str, int]:
    """(host, port) from `HOST:PORT` or `[V6]:PORT`; ValueError saying what is wrong."""
    host, sep, port = text.strip().rpartition(":")
    if not sep or not host:
        raise ValueError(f"{text!r} is not HOST:PORT (e.g. {DEFAULT_HTTP_ADDR})")
    if host.startswith("[") and host.endswith("]"):
        host = host[1:-1]
    if not port.isdigit() or not 0 <= int(port) <= 65535:
        raise ValueError(f"{text!r}: the port must be a number from 0 to 65535")
    return host, int(port)


def url_of(host: str, port: int) -> str:
    shown = f"[{host}]" if ":" in host else host
    return f"http://{shown}:{port}/"


def status_url(address: str) -> str:
    """The page a person opens for `address`; the address itself when it does not parse
    (the daemon then refuses it, saying why)."""
    try:
        return url_of(*parse_address(address))
    except ValueError:
        return address
