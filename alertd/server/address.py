"""`HOST:PORT` for the HTTP server, as `--http` and ALERTD_HTTP_ADDR give it."""

from __future__ import annotations

import socket

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


def with_port_chosen(address: str) -> str:
    """`address`, its port 0 replaced by a port free now, so it can be shown before the
    server binds it; any other address (or one that does not parse) as it is."""
    try:
        host, port = parse_address(address)
    except ValueError:
        return address
    if port != 0:
        return address
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as probe:
        probe.bind((host, 0))
        port = probe.getsockname()[1]
    shown = f"[{host}]" if ":" in host else host
    return f"{shown}:{port}"
