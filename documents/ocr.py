"""OCR of incoming faxes: ocrmypdf with Tesseract (plain PDF output, no PDF/A, so
Ghostscript is not needed for the output).

ocrmypdf is given the fax as a PDF (TIFF, PNG and JPEG are first wrapped in a PDF by
Pillow), skips pages that already carry text and adds a text layer to the others; the
text of every page is then read from its output with pypdf. ocrmypdf works on files:
the plaintext is on disk only in a private (0700) temporary folder for the length of
the run, removed at once. Tesseract and its English data come from Debian
(``tesseract-ocr``, ``tesseract-ocr-eng``; scripts/system-packages.sh).
"""

import io
import os
import tempfile
from pathlib import Path

from django.conf import settings

from .files import PDF


class OCRFailed(Exception):
    """OCR could not run (Tesseract missing) or could not read the file."""


def as_pdf(data: bytes, content_type: str) -> bytes:
    """The file as a PDF: a PDF unchanged, an image (every TIFF frame) through Pillow."""
    if content_type == PDF:
        return data
    from PIL import Image, ImageSequence

    with Image.open(io.BytesIO(data)) as image:
        frames = [frame.convert("RGB") for frame in ImageSequence.Iterator(image)]
        resolution = float(image.info.get("dpi", (200, 200))[0] or 200)
    out = io.BytesIO()
    frames[0].save(out, "PDF", save_all=True, append_images=frames[1:], resolution=resolution)
    return out.getvalue()


def recognise(data: bytes, content_type: str) -> str:
    """The text of every page (OCR where a page is an image)."""
    import ocrmypdf

    pdf = as_pdf(data, content_type)
    with tempfile.TemporaryDirectory(prefix="ariesone-ocr-") as folder:
        os.chmod(folder, 0o700)
        source, output = Path(folder) / "in.pdf", Path(folder) / "out.pdf"
        source.write_bytes(pdf)
        try:
            ocrmypdf.ocr(
                source,
                output,
                language=settings.OCR_LANGUAGES.split("+"),
                skip_text=True,
                output_type="pdf",
                optimize=0,
                progress_bar=False,
                jobs=1,
            )
        except ocrmypdf.exceptions.MissingDependencyError as error:
            raise OCRFailed(
                f"OCR is not installed on this server ({type(error).__name__})."
            ) from None
        except ocrmypdf.exceptions.ExitCodeException as error:
            raise OCRFailed(f"OCR could not read the file ({type(error).__name__}).") from None
        from pypdf import PdfReader

        reader = PdfReader(output)
        return "\n\f".join(page.extract_text() or "" for page in reader.pages)
