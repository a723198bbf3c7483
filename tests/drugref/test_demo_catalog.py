"""The demo community's catalog comes from the reference: every NDC it carries is a real
package of the shipped April 2019 FDA NDC Directory, of a product with its ingredients."""

from __future__ import annotations

import pytest

from demo.community import CATALOG
from drugref import fda


def test_every_demo_ndc_is_a_package_of_a_product_with_its_ingredients():
    wanted = {drug.ndc for drug in CATALOG.values() if drug.ndc}
    product_of = {}
    for raw in fda.rows(fda.shipped_dir() / "package.txt"):
        if (row := fda.package_row(raw)) and row["ndc11"] in wanted:
            product_of[row["ndc11"]] = row["product_id"]
    ingredients = {}
    for raw in fda.rows(fda.shipped_dir() / "product.txt"):
        if raw["PRODUCTID"] in product_of.values():
            ingredients[raw["PRODUCTID"]] = set(fda.product_row(raw)["ingredients"])

    wrong = [
        f"{key}: {drug.ndc}"
        for key, drug in CATALOG.items()
        if drug.ndc
        and ingredients.get(product_of.get(drug.ndc)) != {fda.moiety(i) for i in drug.ingredients}
    ]

    assert not wrong
    assert len(wanted) >= len(CATALOG) - 3  # only the three supplements go without


@pytest.mark.django_db
def test_the_seeded_catalog_is_linked_to_the_reference_products(reference):
    from demo.community import demo_community_seed
    from drugref.models import MedicationProduct
    from tests import clock

    demo_community_seed(now=clock.now(), residents=2, seed=1, if_empty=False)

    linked = {
        link.medication.generic_name: link.product.product_ndc
        for link in MedicationProduct.objects.select_related("medication", "product")
    }
    assert linked["hydrocodone/acetaminophen"] == "0023-6002"  # Norco, in the test subset
    assert linked["lorazepam"] == "0187-0063"  # Ativan
