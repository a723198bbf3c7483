"""The drug reference: the FDA NDC Directory's products and packages as loaded by
``manage.py drugref_load`` (``drugref.loader``), and which reference product a catalog
medication was picked from.

Reference rows are replaced by each load (a product that left the directory stays,
marked not listed, while a medication points at it); nothing here is a record of care.
"""

from django.contrib.postgres.fields import ArrayField
from django.db import models
from django.db.models import Q


def _names() -> ArrayField:
    return ArrayField(models.TextField(), default=list, blank=True)


class Product(models.Model):
    """One row of the directory's product.txt: a product at its strengths."""

    product_id = models.CharField(max_length=80, unique=True, help_text="FDA PRODUCTID")
    product_ndc = models.CharField(max_length=10, db_index=True, verbose_name="product NDC")
    product_type = models.CharField(max_length=40)
    proprietary_name = models.TextField(blank=True)
    proprietary_name_suffix = models.TextField(blank=True)
    nonproprietary_name = models.TextField(blank=True)
    dosage_form = models.TextField()
    route = models.TextField(blank=True)
    labeler = models.TextField(blank=True)
    # SUBSTANCENAME split at "; " as the FDA writes it ("HYDROCODONE BITARTRATE").
    substances = _names()
    # The active moieties, lower case, salts and hydrates dropped ("hydrocodone"): what
    # allergies, duplicate therapy and interactions compare.
    ingredients = _names()
    # One per substance: {"ingredient", "substance", "amount", "unit"} ("325", "mg/1").
    strengths = models.JSONField(default=list, blank=True)
    # PHARM_CLASSES by kind, without the bracketed suffix ("Opioid Agonist").
    epc_classes = _names()
    moa_classes = _names()
    chemical_classes = _names()
    dea_schedule = models.CharField(max_length=3, blank=True, verbose_name="DEA schedule")
    is_listed = models.BooleanField(
        default=True, help_text="In the last directory loaded (False: withdrawn since)."
    )

    class Meta:
        constraints = [
            models.CheckConstraint(
                condition=Q(dea_schedule__in=["", "II", "III", "IV", "V"]),
                name="drugref_product_dea_schedule_valid",
            ),
        ]
        indexes = [models.Index(fields=["proprietary_name"])]

    def __str__(self) -> str:
        return f"{self.display_name} {self.strength_text} {self.dosage_form.lower()}"

    @property
    def display_name(self) -> str:
        generic = self.nonproprietary_name.lower()
        brand = self.proprietary_name
        if brand and brand.casefold() != generic.casefold():
            return f"{generic} ({brand})"
        return generic

    @property
    def strength_text(self) -> str:
        return " / ".join(f"{s['amount']} {_unit_text(s['unit'])}" for s in self.strengths)


def _unit_text(unit: str) -> str:
    """ "mg/1" is the FDA's "mg per unit (tablet, capsule)": shown as "mg"."""
    return unit.removesuffix("/1")


class Package(models.Model):
    """One row of package.txt: a package NDC, kept as the FDA writes it and as 11 digits
    (5-4-2), which is what a scan is normalised to."""

    product = models.ForeignKey(Product, on_delete=models.CASCADE, related_name="packages")
    ndc = models.CharField(max_length=14, verbose_name="NDC")
    ndc11 = models.CharField(max_length=11, db_index=True, verbose_name="NDC (11 digits)")
    description = models.TextField(blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["product", "ndc"], name="drugref_package_unique"),
            models.CheckConstraint(
                condition=Q(ndc11__regex=r"^[0-9]{11}$"), name="drugref_package_ndc11_digits"
            ),
        ]

    def __str__(self) -> str:
        return self.ndc


class Ingredient(models.Model):
    """An active moiety and the classes of the products that contain it alone, so that
    a medication typed by hand ("amoxicillin") or an allergy to a drug ("codeine") has
    the classes of its ingredient."""

    name = models.TextField(unique=True)
    epc_classes = _names()
    moa_classes = _names()
    chemical_classes = _names()
    product_count = models.PositiveIntegerField(default=0)

    def __str__(self) -> str:
        return self.name


class MedicationProduct(models.Model):
    """The reference product a catalog medication was picked from (by search or by a
    package scan): where its ingredients, classes and DEA schedule came from."""

    medication = models.OneToOneField(
        "mar.Medication", on_delete=models.PROTECT, related_name="reference"
    )
    product = models.ForeignKey(Product, on_delete=models.PROTECT, related_name="medications")
    package = models.ForeignKey(
        Package, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    data_date = models.CharField(max_length=40, help_text="Which directory it was picked from.")

    def __str__(self) -> str:
        return f"{self.medication} <- {self.product.product_ndc}"


class LoadRun(models.Model):
    """Which directory is loaded: its date (shown wherever the data is), counts, time."""

    source = models.CharField(max_length=300)
    data_date = models.CharField(max_length=40)
    loaded_at = models.DateTimeField()
    products = models.PositiveIntegerField()
    packages = models.PositiveIntegerField()
    changed = models.PositiveIntegerField(help_text="Rows inserted, updated or unlisted.")
    seconds = models.DecimalField(max_digits=8, decimal_places=2)

    def __str__(self) -> str:
        return f"{self.data_date} ({self.loaded_at:%Y-%m-%d})"
