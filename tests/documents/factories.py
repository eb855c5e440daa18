"""Files and documents for the documents tests. Every value is made up."""

import io

import factory
from django.utils import timezone
from factory.django import DjangoModelFactory
from PIL import Image, ImageDraw, ImageFont
from PIL.PngImagePlugin import PngInfo

from documents import files
from documents.choices import DocumentKind
from documents.models import Document, LegalHold
from documents.services import add_document
from tests.clinical.factories import PatientFactory
from tests.factories import CompanyFactory

MARKER = "PHIMARKER7f3c91 Quintero 19520314"
FONT = "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf"


def pdf_bytes(pages=1, title=MARKER):
    """A small valid PDF whose metadata (stored uncompressed) carries ``title``."""
    from pypdf import PdfWriter

    writer = PdfWriter()
    for _ in range(pages):
        writer.add_blank_page(width=612, height=792)
    writer.add_metadata({"/Title": title})
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


def png_bytes(text=MARKER):
    info = PngInfo()
    info.add_text("Comment", text)
    out = io.BytesIO()
    Image.new("RGB", (40, 20), "white").save(out, "PNG", pnginfo=info)
    return out.getvalue()


def fax_pdf(pages):
    """A fax-like PDF: each page an image (no text layer) of the given lines, at 200 dpi."""
    font = ImageFont.truetype(FONT, 44)
    images = []
    for lines in pages:
        image = Image.new("L", (1700, 2200), 255)
        draw = ImageDraw.Draw(image)
        for number, line in enumerate(lines):
            draw.text((150, 200 + number * 100), line, fill=0, font=font)
        images.append(image.convert("1"))
    out = io.BytesIO()
    images[0].save(out, "PDF", resolution=200, save_all=True, append_images=images[1:])
    return out.getvalue()


class DocumentFactory(DjangoModelFactory):
    """A stored (sealed) one-page PDF of a patient, made through the service."""

    class Meta:
        model = Document

    company = factory.SubFactory(CompanyFactory)
    patient = factory.SubFactory(PatientFactory, company=factory.SelfAttribute("..company"))
    kind = DocumentKind.MEDICAL_RECORD

    @classmethod
    def _create(cls, model_class, *args, company=None, data=None, **kwargs):
        data = data or pdf_bytes()
        content_type = files.sniff_type(data)
        return add_document(
            data=data,
            content_type=content_type,
            pages=files.count_pages(data, content_type),
            received_at=kwargs.pop("received_at", None) or timezone.now(),
            **kwargs,
        )


class LegalHoldFactory(DjangoModelFactory):
    class Meta:
        model = LegalHold

    company = factory.SubFactory(CompanyFactory)
    patient = factory.SubFactory(PatientFactory, company=factory.SelfAttribute("..company"))
    reason = "Matter 2026-17"
