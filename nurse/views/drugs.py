"""The nurse's drug reference page: search by brand, generic or NDC (a scanned package
too), and pick a product for a new order. Thin: parse, one selector or service, render."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_GET, require_POST

from drugref import selectors
from drugref.models import Product
from mar.services import drug_reference as services
from mar.services.orders import OrderError
from medtech.core import permissions
from nurse import selectors as nurse_selectors

WRITE = permissions.Area.ORDER_ENTER


def _resident(request: HttpRequest):
    resident_id = request.GET.get("resident") or request.POST.get("resident")
    if not resident_id:
        return None
    try:
        return nurse_selectors.resident_for_nurse(user=request.user, public_id=resident_id)
    except (Http404, ValidationError):  # a malformed or unknown id is the same as none
        return None


@login_required
@require_GET
def reference_search(request: HttpRequest) -> HttpResponse:
    permissions.require(request.user, WRITE, message="Only a nurse picks medications.")
    query = request.GET.get("q", "").strip()[:100]
    context = {
        "query": query,
        "results": selectors.products_search(query=query),
        "data_date": selectors.reference_date(),
        "resident": _resident(request),
    }
    template = "drugref/search.html"
    if request.htmx:
        template += "#results"
    return render(request, template, context)


@login_required
@require_POST
def reference_pick(request: HttpRequest, product_id: str) -> HttpResponse:
    permissions.require(request.user, WRITE, message="Only a nurse picks medications.")
    product = get_object_or_404(Product, product_id=product_id)
    package = None
    if code := request.POST.get("package_code", "").strip():
        package = selectors.package_for_scan(code=code)
    try:
        medication = services.medication_from_product(
            user=request.user, product=product, package=package, now=timezone.now()
        )
    except OrderError as error:
        context = {
            "query": "",
            "results": [product],
            "data_date": selectors.reference_date(),
            "resident": _resident(request),
            "error": str(error),
        }
        return render(request, "drugref/search.html", context, status=400)
    resident = _resident(request)
    if resident is None:
        return redirect(f"{reverse('drugref:search')}?q={product.product_ndc}")
    url = reverse("nurse:order_new", args=[resident.public_id])
    return redirect(f"{url}?medication={medication.pk}")
