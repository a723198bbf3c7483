"""Writes that take from the drug reference: a catalog medication picked from a reference
product (its ingredients, classes and DEA schedule come with it), the link of catalog
medications to their products, and the reminder of PRN psychotropic orders near their end."""

from __future__ import annotations

import datetime as dt

from django.db import transaction
from django.urls import reverse

from drugref.models import MedicationProduct, Package, Product
from drugref.selectors import reference_date
from mar.models import Medication, Notification, Order, Route
from mar.selectors_drugs import psychotropic_prn_orders_ending
from mar.services.notifications import notifications_create
from mar.services.orders import OrderInvalid, medication_create
from staff.models import User
from staff.selectors import nurses_by_facility

# The FDA's dosage forms (first word or phrase) as the catalog's forms.
FORMS = (
    ("TABLET", Medication.Form.TABLET),
    ("CAPSULE", Medication.Form.CAPSULE),
    ("SUSPENSION", Medication.Form.SUSPENSION),
    ("SOLUTION, GEL FORMING / DROPS", Medication.Form.DROPS),
    ("SOLUTION / DROPS", Medication.Form.DROPS),
    ("INJECTION", Medication.Form.INJECTION),
    ("PATCH", Medication.Form.PATCH),
    ("FILM, EXTENDED RELEASE", Medication.Form.PATCH),
    ("AEROSOL", Medication.Form.INHALER),
    ("INHALANT", Medication.Form.INHALER),
    ("POWDER", Medication.Form.POWDER),
    ("CREAM", Medication.Form.CREAM),
    ("OINTMENT", Medication.Form.CREAM),
    ("GEL", Medication.Form.CREAM),
    ("LOTION", Medication.Form.CREAM),
    ("SUPPOSITORY", Medication.Form.SUPPOSITORY),
    ("SOLUTION", Medication.Form.SOLUTION),
    ("LIQUID", Medication.Form.SOLUTION),
    ("SYRUP", Medication.Form.SOLUTION),
    ("ELIXIR", Medication.Form.SOLUTION),
    ("SPRAY", Medication.Form.SUSPENSION),
)
ROUTES = {
    "ORAL": Route.ORAL,
    "SUBLINGUAL": Route.SUBLINGUAL,
    "TOPICAL": Route.TOPICAL,
    "TRANSDERMAL": Route.TRANSDERMAL,
    "OPHTHALMIC": Route.OPHTHALMIC,
    "AURICULAR (OTIC)": Route.OTIC,
    "NASAL": Route.NASAL,
    "RESPIRATORY (INHALATION)": Route.INHALED,
    "SUBCUTANEOUS": Route.SUBCUTANEOUS,
    "INTRAMUSCULAR": Route.INTRAMUSCULAR,
    "RECTAL": Route.RECTAL,
}


def catalog_form(dosage_form: str) -> str | None:
    dosage_form = dosage_form.upper()
    for prefix, form in FORMS:
        if dosage_form.startswith(prefix.split(" / ")[0]):
            return form
    return None


@transaction.atomic
def medication_from_product(
    *, user: User, product: Product, now: dt.datetime, package: Package | None = None
) -> Medication:
    """The catalog medication for a reference product (created on first pick): generic
    and brand name, strength, form and route, ingredients, DEA schedule, and the package's
    NDC when one was scanned. The link to the product keeps its classes for the checks."""
    form = catalog_form(product.dosage_form)
    if form is None:
        raise OrderInvalid(
            f"The catalog has no form for {product.dosage_form.lower()}: enter it by hand."
        )
    generic = product.nonproprietary_name.strip().lower()
    brand = product.proprietary_name.strip()
    route = ROUTES.get(product.route.split(";")[0].strip().upper(), Route.ORAL)
    medication = medication_create(
        user=user,
        generic_name=generic[:120],
        brand_name="" if brand.casefold() == generic.casefold() else brand[:120],
        strength=product.strength_text[:60],
        form=form,
        default_route=route,
        ingredients=list(product.ingredients),
        now=now,
    )
    changed = []
    if product.dea_schedule and medication.dea_schedule != product.dea_schedule:
        medication.dea_schedule = product.dea_schedule
        changed.append("dea_schedule")
    if (
        package is not None
        and not medication.ndc
        and not Medication.objects.filter(ndc=package.ndc11).exists()
    ):
        medication.ndc = package.ndc11
        changed.append("ndc")
    if medication.ingredients != list(product.ingredients):
        medication.ingredients = list(product.ingredients)
        changed.append("ingredients")
    if changed:
        medication.save(update_fields=changed)
    MedicationProduct.objects.get_or_create(
        medication=medication,
        defaults={"product": product, "package": package, "data_date": reference_date()},
    )
    return medication


def reminders_psychotropic_prn_ending(*, now: dt.datetime) -> int:
    """Remind the nurses of a community, once per order, 2 days before a PRN psychotropic
    order ends under the 14-day rule: ask the prescriber to renew it (with a rationale
    and a duration) or let it end. Returns how many orders were found."""
    facility_ids = set(
        Order.objects.filter(acknowledgements__kind="psychotropic").values_list(
            "resident__facility_id", flat=True
        )
    )
    ending = [
        order
        for order in psychotropic_prn_orders_ending(facility_ids=facility_ids, now=now)
        if order.ends_at > now
    ]
    nurses = nurses_by_facility(facility_ids={o.resident.facility_id for o in ending})
    notifications_create(
        notifications=[
            Notification(
                recipient_id=nurse_id,
                facility_id=order.resident.facility_id,
                kind=Notification.Kind.PSYCHOTROPIC_ENDING,
                subject_key=f"psychotropic-prn:{order.pk}",
                title=f"PRN {order.medication} for {order.resident.display_name} ends "
                f"{order.ends_at.astimezone(order.resident.facility.zone):%a %b %-d %H:%M}",
                body="A PRN psychotropic order ends after 14 days (CMS F758). Ask the "
                "prescriber to renew it with a rationale and a duration, or let it end.",
                link=reverse("nurse:order_detail", args=[order.public_id]),
                created_at=now,
            )
            for order in ending
            for nurse_id in nurses.get(order.resident.facility_id, [])
        ]
    )
    return len(ending)


def medications_link_by_ndc(*, medications: list[Medication]) -> int:
    """Link catalog medications to the reference product of their package NDC (the demo
    catalog's codes are real): two queries. Returns how many were linked; none when the
    reference is not loaded."""
    by_ndc = {m.ndc: m for m in medications if m.ndc and m.pk}
    packages = Package.objects.filter(ndc11__in=by_ndc).select_related("product")
    date = reference_date()
    links = [
        MedicationProduct(
            medication=by_ndc[package.ndc11],
            product=package.product,
            package=package,
            data_date=date,
        )
        for package in packages.order_by("ndc11", "id").distinct("ndc11")
    ]
    MedicationProduct.objects.bulk_create(links, ignore_conflicts=True)
    return len(links)
