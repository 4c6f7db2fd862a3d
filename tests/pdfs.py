"""PDFs made on the spot for the thumbnail tests and benchmark (fpdf2): a paper-like first page,
many pages, raster figures, and a password-protected one. Nothing is downloaded."""

from __future__ import annotations

import numpy as np
from fpdf import FPDF
from fpdf.enums import EncryptionMethod
from PIL import Image

LOREM = (
    "We study how transformers learn to count. Our method trains a small model on synthetic "
    "sequences and measures how its attention heads align with positions. "
)


def _figure() -> Image.Image:
    """A 900x500 raster figure (a noisy gradient: photos and plots in papers are raster too)."""
    rng = np.random.default_rng(0)
    ramp = np.linspace(0, 255, 900, dtype=np.float32)[None, :, None]
    noise = rng.normal(0, 40, (500, 900, 3)).astype(np.float32)
    return Image.fromarray(np.clip(ramp + noise, 0, 255).astype(np.uint8))


def paper_pdf(
    title: str = "A Paper About Counting",
    *,
    pages: int = 1,
    password: str = "",
    figure: bool = False,
) -> bytes:
    pdf = FPDF(format="letter")
    if password:
        pdf.set_encryption(
            owner_password=password + "-owner",
            user_password=password,
            encryption_method=EncryptionMethod.RC4,
        )
    for number in range(pages):
        pdf.add_page()
        pdf.set_font("helvetica", "B", 18)
        pdf.multi_cell(0, 10, f"{title} (page {number + 1})", align="C")
        pdf.set_font("helvetica", size=10)
        pdf.cell(0, 8, "Ada Lovelace, Charles Babbage", align="C", new_x="LMARGIN", new_y="NEXT")
        pdf.set_draw_color(40, 90, 200)
        pdf.rect(30, 60, 150, 40)
        if figure:
            pdf.image(_figure(), x=40, y=62, w=130)
        pdf.set_font("times", size=11)
        pdf.multi_cell(0, 5, LOREM * 12)
    return bytes(pdf.output())
