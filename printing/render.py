"""PDF rendering: a dataclass from ``printing.selectors`` in, PDF bytes out.

WeasyPrint renders a Django template with the print stylesheet. It is given a URL
fetcher that serves only the project's own static files (and the ``data:`` images
this module builds itself, e.g. a resident's photo): no network, no file paths, so
nothing typed into a record can make the renderer read anything else.

``fingerprint`` hashes what a document shows (plus ``LAYOUT_VERSION``), so the
services can tell an unchanged record from a changed one without rendering it.
"""

from __future__ import annotations

import base64
import functools
import hashlib
import io
import logging
import math
import mimetypes
import posixpath
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import IO, Any
from urllib.parse import unquote, urlsplit
from zoneinfo import ZoneInfo

from django.conf import settings
from django.contrib.staticfiles import finders
from django.contrib.staticfiles.storage import staticfiles_storage
from django.core.files.storage import default_storage
from django.template.loader import get_template, render_to_string
from django.utils import timezone
from pypdf import PdfReader, PdfWriter
from weasyprint import HTML
from weasyprint.urls import URLFetcher, URLFetcherResponse

from mar.models import Administration
from medtech.core.errors import Refused
from printing.selectors import (
    AMENDED_MARK,
    LATE_MARK,
    MISSED_CODE,
    NOT_GIVEN_CODES,
    CountSheet,
    DowntimeSheet,
    MonthlyMar,
    OrderBlock,
)

logger = logging.getLogger(__name__)
# WeasyPrint logs seven INFO lines per document; a community print is hundreds.
logging.getLogger("weasyprint.progress").setLevel(logging.WARNING)

# Bump when the code that builds a document changes what it shows (a template or the
# stylesheet changing is noticed by itself, see ``layout_digest``): every fingerprint
# changes with it, so pre-rendered documents are rendered again.
LAYOUT_VERSION = "mar-print-1"

# The base URL templates are rendered against. ".invalid" never resolves (RFC 2606),
# and the fetcher below answers only for this host's static path.
STATIC_HOST = "static.medtech.invalid"
BASE_URL = f"https://{STATIC_HOST}/"
ALLOWED_DATA_TYPES = ("image/png", "image/jpeg")
PHOTO_SIZE = (240, 300)


class PrintResourceRefused(Refused, ValueError):
    """The renderer asked for something other than a static file of the project."""


class StaticFilesOnlyFetcher(URLFetcher):
    """Serves ``https://static.medtech.invalid/<STATIC_URL>...`` from the project's
    static files, and base64 ``data:`` images; refuses everything else."""

    def __init__(self) -> None:
        super().__init__(allowed_protocols=("https", "data"), allow_redirects=False)

    def fetch(self, url: str, headers: dict | None = None) -> URLFetcherResponse:
        if url.startswith("data:"):
            return self._data(url)
        parts = urlsplit(url)
        prefix = "/" + settings.STATIC_URL.strip("/") + "/"
        if parts.scheme != "https" or parts.netloc != STATIC_HOST or parts.query:
            raise PrintResourceRefused(f"Printing loads only the project's static files: {url}")
        if not parts.path.startswith(prefix):
            raise PrintResourceRefused(f"Not a static file: {url}")
        relative = unquote(parts.path[len(prefix) :])
        normal = posixpath.normpath(relative)
        if normal != relative or normal.startswith(("/", "..")) or "\\" in relative:
            raise PrintResourceRefused(f"Not a static file: {url}")
        content = _static_bytes(normal)
        if content is None:
            raise PrintResourceRefused(f"No such static file: {normal}")
        mime_type = mimetypes.guess_type(normal)[0] or "application/octet-stream"
        return URLFetcherResponse(url, content, {"Content-Type": mime_type})

    def _data(self, url: str) -> URLFetcherResponse:
        header, _, payload = url[len("data:") :].partition(",")
        mime_type, _, encoding = header.partition(";")
        if mime_type not in ALLOWED_DATA_TYPES or encoding != "base64":
            raise PrintResourceRefused(f"Only base64 PNG or JPEG data URLs: {url[:40]}")
        return URLFetcherResponse(url, base64.b64decode(payload), {"Content-Type": mime_type})


def _static_bytes(path: str) -> bytes | None:
    """A file of the project's static files: collected (production) or found in place."""
    try:
        if staticfiles_storage.exists(path):
            with staticfiles_storage.open(path) as handle:
                return handle.read()
    except Exception:  # storage without the file, or without a STATIC_ROOT
        logger.debug("static storage has no %s", path)
    found = finders.find(path)
    if isinstance(found, str):
        with open(found, "rb") as handle:
            return handle.read()
    return None


PRINT_TEMPLATES = (
    "print/base.html",
    "print/monthly_mar.html",
    "print/downtime_sheet.html",
    "print/count_sheet.html",
)
PRINT_STYLESHEET = "css/print.css"


@functools.cache
def layout_digest() -> str:
    """The print templates and stylesheet as this process has them, plus
    ``LAYOUT_VERSION``: an edited template or stylesheet changes every fingerprint, so
    nothing rendered with the old layout is handed out again."""
    digest = hashlib.sha256(LAYOUT_VERSION.encode())
    for name in PRINT_TEMPLATES:
        digest.update(get_template(name).template.source.encode())
    digest.update(_static_bytes(PRINT_STYLESHEET) or b"")
    return digest.hexdigest()


def fingerprint(document: Any) -> str:
    """The hash of what a document shows: equal dataclass values, equal fingerprints.

    The selectors' dataclasses hold only strings, numbers, dates and tuples, whose
    ``repr`` is stable, so the repr is the canonical form.
    """
    return hashlib.sha256(f"{layout_digest()}\n{document!r}".encode()).hexdigest()


def render_pdf(template: str, context: dict[str, Any], *, zone: ZoneInfo) -> bytes:
    with timezone.override(zone):
        html = render_to_string(template, context)
    return HTML(string=html, base_url=BASE_URL, url_fetcher=StaticFilesOnlyFetcher()).write_pdf()


@dataclass(frozen=True)
class CodeLegendEntry:
    code: str
    label: str


def code_legend() -> list[CodeLegendEntry]:
    """The not-given codes and what they mean, in the order the grid's footer lists them."""
    return [
        CodeLegendEntry(code, Administration.Status(status).label)
        for status, code in NOT_GIVEN_CODES.items()
    ]


# The order column (print.css .col-order) holds about this many characters a line.
INFO_CHARS, NAME_CHARS = 60, 44
INFO_LINE_PT, NAME_LINE_PT, ROW_PT = 7.4, 8.8, 14.4


def row_height(block: OrderBlock) -> float:
    """Points per grid row of an order with several times a day.

    The order's text spans its rows, and a table gives a spanning cell's extra height to
    the last row only: sharing it out ahead of time keeps every row of the block equal.
    """
    small = [
        f"{block.dose} {block.route} {block.frequency}",
        block.indication and f"For {block.indication}",
        block.instructions,
        ". ".join(block.conditions),
        f"{block.prescriber} Rx {block.rx_number} Start 00/00/00 Stop 00/00/00 00:00",
        " ".join(block.flags),
        block.status_note,
    ]
    height = 4 + NAME_LINE_PT * math.ceil(len(block.medication) / NAME_CHARS)
    height += INFO_LINE_PT * sum(math.ceil(len(text) / INFO_CHARS) for text in small if text)
    return round(max(ROW_PT, height / len(block.rows)), 1)


def monthly_mar_context(mar: MonthlyMar, *, rendered_at: datetime) -> dict[str, Any]:
    return {
        "mar": mar,
        "blocks": [(block, row_height(block)) for block in mar.orders],
        "header": mar.header,
        "photo": photo_data_uri(mar.header.photo),
        "rendered_at": rendered_at,
        "codes": code_legend(),
        "missed_code": MISSED_CODE,
        "late_mark": LATE_MARK,
        "amended_mark": AMENDED_MARK,
        "title": f"MAR {mar.month.label} - {mar.header.name}",
    }


def render_monthly_mar(mar: MonthlyMar, *, rendered_at: datetime) -> bytes:
    return render_pdf(
        "print/monthly_mar.html",
        monthly_mar_context(mar, rendered_at=rendered_at),
        zone=ZoneInfo(mar.time_zone),
    )


def monthly_mar_html(mar: MonthlyMar, *, rendered_at: datetime) -> str:
    """The HTML WeasyPrint is given (the benchmark's baseline renders it on its own)."""
    with timezone.override(ZoneInfo(mar.time_zone)):
        return render_to_string(
            "print/monthly_mar.html", monthly_mar_context(mar, rendered_at=rendered_at)
        )


def render_downtime_sheet(sheet: DowntimeSheet, *, rendered_at: datetime) -> bytes:
    return render_pdf(
        "print/downtime_sheet.html",
        {
            "sheet": sheet,
            "rendered_at": rendered_at,
            "codes": code_legend(),
            "title": f"Downtime sheet - {sheet.cart}",
        },
        zone=ZoneInfo(sheet.time_zone),
    )


def render_count_sheet(sheet: CountSheet, *, rendered_at: datetime) -> bytes:
    return render_pdf(
        "print/count_sheet.html",
        {"sheet": sheet, "rendered_at": rendered_at, "title": f"Count sheet - {sheet.cart}"},
        zone=ZoneInfo(sheet.time_zone),
    )


def render_face_sheet(sheet: Any, *, rendered_at: datetime) -> bytes:
    """A resident's face sheet (``printing.selectors.FaceSheet``), one portrait page."""
    return render_pdf(
        "print/face_sheet.html",
        {
            "sheet": sheet,
            "photo": photo_data_uri(sheet.photo),
            "rendered_at": rendered_at,
            "title": f"Face sheet - {sheet.name}",
        },
        zone=ZoneInfo(sheet.time_zone),
    )


def photo_data_uri(name: str) -> str:
    """A resident's photo, shrunk, as a data: URL (read through media storage), or ""."""
    if not name:
        return ""
    try:
        from PIL import Image

        with default_storage.open(name) as handle, Image.open(handle) as image:
            image = image.convert("RGB")
            image.thumbnail(PHOTO_SIZE)
            buffer = io.BytesIO()
            image.save(buffer, format="JPEG", quality=80)
    except Exception:  # a missing or broken photo prints as no photo
        # Not the file's name: an uploaded photo's name may be the resident's.
        logger.warning("a resident photo could not be read for printing; printed without it")
        return ""
    return "data:image/jpeg;base64," + base64.b64encode(buffer.getvalue()).decode("ascii")


def page_count(pdf: bytes) -> int:
    return len(PdfReader(io.BytesIO(pdf)).pages)


@dataclass(frozen=True)
class MergePart:
    file: IO[bytes]
    title: str


def merge_pdfs(parts: Iterable[MergePart], *, target: IO[bytes], title: str) -> int:
    """Concatenate PDFs page by page (no re-rendering), one bookmark per part, into
    ``target``. Returns the number of pages written."""
    writer = PdfWriter()
    writer.add_metadata({"/Title": title, "/Producer": "MedTech eMAR"})
    for part in parts:
        start = len(writer.pages)
        writer.append(PdfReader(part.file), import_outline=False)
        writer.add_outline_item(title=part.title, page_number=start)
    writer.write(target)
    return len(writer.pages)
