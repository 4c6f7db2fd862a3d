"""Draw the site icon (run by hand): src/dailypapers/web/static/favicon.ico.

The header's logo — a page with a folded corner and three lines of text — in white on the accent
blue (#2563eb) of a rounded square, at 16 and 32 pixels, each a PNG inside the ICO container.
Drawn with NumPy at 8x and averaged down, so the edges are smooth; no image library needed.
"""

from __future__ import annotations

import struct
import zlib
from pathlib import Path

import numpy as np

TARGET = Path(__file__).resolve().parents[1] / "src/dailypapers/web/static/favicon.ico"
ACCENT = (0x25, 0x63, 0xEB)
SCALE = 8


def _coverage(size: int) -> tuple[np.ndarray, np.ndarray]:
    """(background, glyph) coverage in 0..1 per pixel, in a 16-unit design grid."""
    n = size * SCALE
    unit = n / 16
    y, x = np.mgrid[0:n, 0:n] + 0.5
    u, v = x / unit, y / unit  # design coordinates
    # rounded square, radius 3 units
    dx = np.maximum(np.abs(u - 8) - 5, 0)
    dy = np.maximum(np.abs(v - 8) - 5, 0)
    background = (dx**2 + dy**2) <= 9
    # the page: 4..12 wide, 2.5..13.5 high, its top right corner cut at 45 degrees
    page = (u >= 4) & (u <= 12) & (v >= 2.5) & (v <= 13.5) & (u - v <= 12 - 5.5)
    lines = np.zeros_like(page)
    for top, right in ((6.5, 10.8), (8.8, 10.8), (11.1, 8.8)):
        lines |= (u >= 5.4) & (u <= right) & (v >= top) & (v <= top + 1.1)
    glyph = page & ~lines

    def down(mask: np.ndarray) -> np.ndarray:
        return mask.reshape(size, SCALE, size, SCALE).mean(axis=(1, 3))

    return down(background), down(glyph)


def _png(size: int) -> bytes:
    background, glyph = _coverage(size)
    rgb = np.zeros((size, size, 3))
    for channel, value in enumerate(ACCENT):
        rgb[..., channel] = value * (1 - glyph) + 255 * glyph
    alpha = background * 255
    pixels = np.dstack([rgb, alpha]).round().astype(np.uint8)
    raw = b"".join(b"\x00" + row.tobytes() for row in pixels)  # filter 0 on every row

    def chunk(kind: bytes, data: bytes) -> bytes:
        return (
            struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
        )

    header = struct.pack(">IIBBBBB", size, size, 8, 6, 0, 0, 0)  # 8-bit RGBA
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(raw, 9))
        + chunk(b"IEND", b"")
    )


def ico(sizes: tuple[int, ...] = (16, 32)) -> bytes:
    images = [_png(size) for size in sizes]
    offset = 6 + 16 * len(images)
    directory = b""
    for size, image in zip(sizes, images, strict=True):
        directory += struct.pack("<BBBBHHII", size, size, 0, 0, 1, 32, len(image), offset)
        offset += len(image)
    return struct.pack("<HHH", 0, 1, len(images)) + directory + b"".join(images)


if __name__ == "__main__":
    TARGET.write_bytes(ico())
    print(f"wrote {TARGET} ({TARGET.stat().st_size} bytes)")
