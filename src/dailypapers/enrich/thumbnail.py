"""Page 1 of a PDF as a small WebP: pypdfium2 renders it straight at the target width, Pillow
encodes it. Everything happens in memory; the PDF is never written anywhere.

A bad answer raises :class:`NotRenderable` with a reason that says which kind it was (not a PDF,
encrypted, broken, empty): those are final for that PDF, never worth asking arXiv again.
"""

from __future__ import annotations

import io
import threading

import pypdfium2 as pdfium
import pypdfium2.raw as pdfium_c
from PIL import Image

WIDTH = 320  # pixels; cards show it at 160 CSS px, sharp on 2x screens
MAX_HEIGHT = 480  # a very tall first page is cut here (the top is what matters)
WEBP_QUALITY = 70
PDF_MAGIC = b"%PDF-"

# PDFium is not thread-safe: one render at a time per process.
_PDFIUM = threading.Lock()


class NotRenderable(Exception):
    """This answer will never give a thumbnail (the reason is one short sentence)."""


def looks_like_pdf(head: bytes) -> bool:
    """PDF files start with ``%PDF-``, possibly after a little junk (the spec allows 1 KB)."""
    return PDF_MAGIC in head[:1024]


def render_first_page(data: bytes, *, width: int = WIDTH) -> tuple[bytes, int, int]:
    """The first page as WebP bytes, with its width and height in pixels."""
    if not looks_like_pdf(data[:1024]):
        kind = "HTML" if b"<html" in data[:2048].lower() else "something else"
        raise NotRenderable(f"not a PDF ({kind}, {len(data):,} bytes)")
    with _PDFIUM:
        image = _render(data, width)
    out = io.BytesIO()
    image.save(out, format="WEBP", quality=WEBP_QUALITY, method=4)
    return out.getvalue(), image.width, image.height


def _render(data: bytes, width: int) -> Image.Image:
    try:
        document = pdfium.PdfDocument(data)
    except pdfium.PdfiumError as exc:
        raise NotRenderable(_load_error(exc)) from None
    try:
        if len(document) == 0:
            raise NotRenderable("the PDF has no pages")
        page = document[0]
        try:
            page_width = page.get_width()
            if page_width <= 0:
                raise NotRenderable("the first page has no size")
            bitmap = page.render(scale=width / page_width, may_draw_forms=False)
            image: Image.Image = bitmap.to_pil().convert("RGB")
        except pdfium.PdfiumError as exc:
            raise NotRenderable(f"the first page does not render ({exc})") from None
        finally:
            page.close()
    finally:
        document.close()
    if image.height > MAX_HEIGHT:
        image = image.crop((0, 0, image.width, MAX_HEIGHT))
    return image


def _load_error(exc: pdfium.PdfiumError) -> str:
    code = getattr(exc, "err_code", None)
    if code in (pdfium_c.FPDF_ERR_PASSWORD, pdfium_c.FPDF_ERR_SECURITY):
        return "the PDF is password-protected"
    if code == pdfium_c.FPDF_ERR_FORMAT:
        return "the PDF is broken (not in PDF format or corrupted)"
    return f"the PDF does not open ({exc})"
