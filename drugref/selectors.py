"""Reads of the drug reference: search by brand, generic or NDC; a package scan; which
directory is loaded (its date is shown wherever the data is)."""

from __future__ import annotations

import re

from django.db.models import Q, QuerySet

from drugref.fda import SHIPPED_DATE
from drugref.models import LoadRun, Package, Product
from drugref.ndc import ndc11_candidates

SEARCH_LIMIT = 25
_NDC_LIKE = re.compile(r"^[\d\s-]{8,}$|^\]")


def reference_date() -> str:
    """The date of the directory loaded last ("FDA NDC Directory, April 2019")."""
    run = LoadRun.objects.order_by("-loaded_at", "-id").first()
    return run.data_date if run else SHIPPED_DATE


def products_search(*, query: str, limit: int = SEARCH_LIMIT) -> list[Product]:
    """Listed products whose brand or generic name contains every word of ``query``, or
    whose product or package NDC it is (any hyphenation, 10 or 11 digits, a barcode);
    brand and single-ingredient products first, then by name and strength."""
    query = (query or "").strip()
    if len(query) < 2:
        return []
    if _NDC_LIKE.match(query):
        return list(_ndc_products(query)[:limit])
    products = Product.objects.filter(is_listed=True)
    for word in query.split()[:5]:
        products = products.filter(
            Q(proprietary_name__icontains=word) | Q(nonproprietary_name__icontains=word)
        )
    return list(
        products.order_by("nonproprietary_name", "proprietary_name", "product_ndc", "id")[:limit]
    )


def _ndc_products(code: str) -> QuerySet[Product]:
    digits = code.replace(" ", "")
    candidates = ndc11_candidates(digits)
    product_codes = {digits} if "-" in digits and digits.count("-") == 1 else set()
    return (
        Product.objects.filter(Q(packages__ndc11__in=candidates) | Q(product_ndc__in=product_codes))
        .distinct()
        .order_by("product_ndc", "id")
    )


def package_for_scan(*, code: str) -> Package | None:
    """The package a scanned or typed NDC is (10 or 11 digits, any hyphenation, UPC-A or
    GS1 DataMatrix): one query; None when the directory has no such package."""
    candidates = ndc11_candidates(code)
    if not candidates:
        return None
    return (
        Package.objects.filter(ndc11__in=candidates)
        .select_related("product")
        .order_by("-product__is_listed", "ndc11", "id")
        .first()
    )
