"""Case photos: read from their header, decoded and saved again before they are stored.

Re-encoding keeps only the pixels: whatever a file carried besides the image (HTML after the
end of a JPEG, comments, EXIF with the reporter's GPS position) is dropped, so a stored photo
is never anything but an image. The size in the header is checked before a pixel is decoded,
so a decompression bomb (a small file claiming 50,000×50,000 pixels) costs no memory.
"""

from __future__ import annotations

import io

from PIL import Image, ImageOps, UnidentifiedImageError

from geo.errors import InputError

SUFFIX = {"image/jpeg": ".jpg", "image/png": ".png"}
JPEG_QUALITY = 88


def clean_photo(content: bytes, *, max_pixels: int) -> tuple[bytes, str]:
    """(the photo saved again as JPEG or PNG, its content type); InputError when the bytes are
    not a whole JPEG, PNG or WebP image of at most `max_pixels` pixels."""
    try:
        image = Image.open(io.BytesIO(content), formats=("JPEG", "PNG", "WEBP"))
    except Image.DecompressionBombError:
        raise InputError(_too_big(None, max_pixels)) from None
    except (UnidentifiedImageError, OSError, ValueError, SyntaxError):
        msg = "照片无法识别 (the photo is not a readable JPEG, PNG or WebP image)"
        raise InputError(msg) from None
    width, height = image.size
    source = image.format  # a transposed copy has none
    if width * height > max_pixels:
        raise InputError(_too_big((width, height), max_pixels))
    try:
        image.load()
        image = ImageOps.exif_transpose(image)  # the way the phone held it, before EXIF goes
    except (OSError, ValueError, SyntaxError, Image.DecompressionBombError):
        raise InputError("照片数据不完整或已损坏 (the photo is truncated or damaged)") from None
    keeps_alpha = image.mode in ("RGBA", "LA", "PA") or "transparency" in image.info
    as_png = source == "PNG" or (source != "JPEG" and keeps_alpha)
    image.info = {}  # no comment, ICC, EXIF or text chunk is written back
    out = io.BytesIO()
    if as_png:
        if image.mode not in ("1", "L", "LA", "RGB", "RGBA", "P"):
            image = image.convert("RGBA")
        image.save(out, format="PNG")
        return out.getvalue(), "image/png"
    if image.mode not in ("L", "RGB"):
        image = image.convert("RGB")
    image.save(out, format="JPEG", quality=JPEG_QUALITY)
    return out.getvalue(), "image/jpeg"


def _too_big(size: tuple[int, int] | None, max_pixels: int) -> str:
    shown = f"{size[0]}×{size[1]} 像素" if size else "像素过多"
    return (
        f"照片太大（{shown}），最多 {max_pixels:,} 像素 "
        f"(the photo has more than {max_pixels:,} pixels)"
    )
