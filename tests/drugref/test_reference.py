"""The reference itself: loading (idempotent), parsing, search and scan."""

from __future__ import annotations

import pytest

from drugref import fda
from drugref.loader import drugref_load
from drugref.models import Ingredient, LoadRun, Package, Product
from drugref.selectors import package_for_scan, products_search, reference_date
from tests import clock
from tests.drugref.conftest import AMOXICILLIN, ATIVAN, NORCO, SUBSET, pick
from tests.mar.conftest import Community

pytestmark = pytest.mark.django_db


def test_it_loads_the_subset_and_a_second_load_changes_nothing(reference):
    again = drugref_load(directory=SUBSET, now=clock.now(), data_date=reference.data_date)

    assert reference.products == 13
    assert Product.objects.count() == 13
    assert Package.objects.count() == reference.packages == 31
    assert reference.total_changed > 0
    assert again.total_changed == 0
    assert LoadRun.objects.count() == 1


def test_it_parses_ingredients_strengths_classes_and_schedule(reference):
    norco = Product.objects.get(product_ndc=NORCO)

    assert norco.ingredients == ["hydrocodone", "acetaminophen"]
    assert norco.substances == ["HYDROCODONE BITARTRATE", "ACETAMINOPHEN"]
    assert norco.strength_text == "5 mg / 325 mg"
    assert norco.epc_classes == ["Opioid Agonist"]
    assert norco.dea_schedule == "II"
    assert Ingredient.objects.get(name="codeine").epc_classes == ["Opioid Agonist"]


def test_it_names_the_active_moiety_without_its_salt():
    assert fda.moiety("WARFARIN SODIUM") == "warfarin"
    assert fda.moiety("SERTRALINE HYDROCHLORIDE") == "sertraline"
    assert fda.moiety("PENICILLIN V POTASSIUM") == "penicillin v"
    assert fda.moiety("POTASSIUM CHLORIDE") == "potassium"
    assert fda.pharm_classes("Benzodiazepine [EPC],Benzodiazepines [CS]") == {
        "epc": ["Benzodiazepine"],
        "moa": [],
        "cs": ["Benzodiazepines"],
    }


@pytest.mark.parametrize(
    "code", ["0093-3109-05", "00093310905", "0093310905", "00093-3109-05", "300933109055"]
)
def test_it_finds_the_product_of_a_package_scan_in_any_spelling(reference, code):
    package = package_for_scan(code=code)

    assert package is not None
    assert package.product.product_ndc == AMOXICILLIN
    assert package.ndc11 == "00093310905"


def test_it_searches_by_brand_generic_and_ndc(reference):
    assert [p.product_ndc for p in products_search(query="Norco")] == [NORCO]
    assert AMOXICILLIN in [p.product_ndc for p in products_search(query="amoxicillin")]
    assert [p.product_ndc for p in products_search(query="0187-0063-01")] == [ATIVAN]
    assert [p.product_ndc for p in products_search(query="0023-6002")] == [NORCO]


def test_a_picked_medication_carries_ingredients_schedule_and_the_data_date(reference):
    nurse = Community().nurse

    norco = pick(nurse, NORCO)

    assert norco.ingredients == ["hydrocodone", "acetaminophen"]
    assert norco.dea_schedule == "II"
    assert norco.form == "tablet"
    assert norco.reference.product.product_ndc == NORCO
    assert norco.reference.data_date == reference_date() == "FDA NDC Directory, April 2019"


@pytest.mark.slow
def test_it_loads_the_whole_shipped_directory_once_and_again_without_change(db):
    first = drugref_load(now=clock.now())
    second = drugref_load(now=clock.now())

    assert first.products == 128_241
    assert first.packages == 243_951
    assert first.data_date == "FDA NDC Directory, April 2019"
    assert second.total_changed == 0


def test_the_api_searches_scans_and_picks_with_the_data_date(reference, community):
    from tests.api.conftest import client_for

    nurse = client_for(community.nurse)

    found = nurse.get("/api/v1/drugref/products/", {"q": "norco"})
    scanned = nurse.get("/api/v1/drugref/scan/", {"code": "0187006301"})
    unknown = nurse.get("/api/v1/drugref/scan/", {"code": "0000-0000-00"})
    picked = nurse.post(
        "/api/v1/drugref/medications/",
        {"product": scanned.json()["product"]["id"], "package_code": "0187-0063-01"},
        format="json",
    )
    by_tech = client_for(community.tech).post(
        "/api/v1/drugref/medications/", {"product": scanned.json()["product"]["id"]}, format="json"
    )

    assert found.status_code == 200
    assert found.json()["data_date"] == "FDA NDC Directory, April 2019"
    assert found.json()["results"][0]["ingredients"] == ["hydrocodone", "acetaminophen"]
    assert scanned.json()["product"]["product_ndc"] == ATIVAN
    assert scanned.json()["product"]["epc_classes"] == ["Benzodiazepine"]
    assert unknown.status_code == 404
    assert picked.status_code == 201
    assert picked.json()["ndc"] == "00187006301"
    assert picked.json()["dea_schedule"] == "IV"
    assert by_tech.status_code == 403


def test_the_page_finds_a_product_and_brings_it_to_the_order_form(reference, client, community):
    from django.urls import reverse

    client.force_login(community.nurse)
    resident = community.resident

    page = client.get(
        reverse("drugref:search"), {"q": "amoxicillin", "resident": resident.public_id}
    )
    product = Product.objects.get(product_ndc=AMOXICILLIN)
    picked = client.post(
        reverse("drugref:pick", args=[product.product_id]), {"resident": resident.public_id}
    )

    assert page.status_code == 200
    assert "FDA NDC Directory, April 2019" in page.content.decode()
    assert "Penicillin-class Antibacterial" in page.content.decode()
    assert picked.status_code == 302
    order_form = client.get(picked["Location"])
    assert order_form.status_code == 200
    assert "amoxicillin" in order_form.content.decode()


def test_the_command_prints_counts_and_skips_a_loaded_reference_if_asked(reference):
    from io import StringIO

    from django.core.management import call_command

    again, skipped = StringIO(), StringIO()
    call_command("drugref_load", "--ndc-dir", str(SUBSET), "--data-date", "x", stdout=again)
    call_command("drugref_load", "--if-empty", stdout=skipped)

    assert "13 products, 31 packages" in again.getvalue()
    assert "0 rows changed" in again.getvalue()
    assert "is loaded" in skipped.getvalue()
