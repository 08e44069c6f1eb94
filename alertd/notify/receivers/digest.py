"""A digest: a titled message of headed sections, sent on a schedule rather than by an
alert (a performance report). Receivers that can show one render it with `render_digest`."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol, runtime_checkable

from alertd.notify.receivers.base import Delivered, Payload


@dataclass(frozen=True)
class Digest:
    """`sections` are (heading, lines); every line may hold names that came from data.

    `image_url`, when set, is a chart anyone the message reaches can fetch.
    """

    title: str
    sections: tuple[tuple[str, tuple[str, ...]], ...]
    image_url: str | None = None
    image_alt: str = "chart"


@runtime_checkable
class DigestReceiver(Protocol):
    """A receiver that can send digests as well as alert notifications."""

    def render_digest(self, digest: Digest) -> Payload: ...

    async def send(self, payload: Payload) -> Delivered: ...


@runtime_checkable
class ImageUploader(Protocol):
    """A receiver that can attach an image to a message it sent (a Slack bot can; a
    webhook cannot), for a digest whose chart has no public URL."""

    async def upload_image(self, png: bytes, filename: str, title: str, ref: str) -> None: ...
