"""Small real images for upload tests (photos are decoded and saved again on upload)."""

from __future__ import annotations

import io

from PIL import Image


def photo(width: int = 8, height: int = 8, kind: str = "JPEG") -> bytes:
    """A plain orange picture of `width`×`height` pixels as JPEG, PNG or WEBP bytes."""
    out = io.BytesIO()
    Image.new("RGB", (width, height), (200, 120, 40)).save(out, kind)
    return out.getvalue()


def opened(content: bytes) -> Image.Image:
    """The image the bytes hold, decoded whole (fails on anything else)."""
    image = Image.open(io.BytesIO(content))
    image.load()
    return image
