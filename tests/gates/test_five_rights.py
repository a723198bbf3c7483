"""Items 7 and 18 of the safety gates: what a client says about a dose (the resident, the
medication, the dose, the route, the package it scanned) is checked against the record,
never dropped; scanning is the community's default, and a dose given without a scan says
why; an amended amount moves the ledger by the difference."""

import uuid
from decimal import Decimal

import pytest
from django.urls import reverse

from drugref.ndc import ndc11_candidates, ndc_matches
from inventory.models import StockItem, StockTransaction
from mar.models import Administration, Medication
from mar.services import administrations as charting
from tests.gates.conftest import WAYS, due, stocked
from tests.mar.conftest import Community

NDC = "0591-0405-01"  # 4-4-2: 00591-0405-01 as 11 digits


@pytest.fixture
def order(community):
    medication = Medication.objects.create(
        generic_name="lisinopril", strength="10 mg", form="tablet", ndc=NDC
    )
    return stocked(community, medication=medication)


@pytest.mark.parametrize("way", ["api", "offline"])
@pytest.mark.parametrize(
    ("claim", "field"),
    [
        ({"medication": str(uuid.uuid4())}, "medication"),
        ({"dose_amount": 2}, "dose_amount"),
        ({"dose_unit": "mL"}, "dose_unit"),
        ({"route": "sublingual"}, "route"),
    ],
)
def test_a_claim_that_differs_from_the_order_is_refused(ways, order, way, claim, field):
    answer = ways.chart(way, dose=due(order), **claim)

    assert answer.status == 422
    assert "order" in answer.text
    assert not Administration.objects.exists()


@pytest.mark.parametrize("way", ["api", "offline"])
def test_a_body_naming_another_resident_is_refused(ways, order, way):
    other = Community().resident

    answer = ways.chart(way, dose=due(order), resident=str(other.public_id))

    assert answer.status == 422
    assert "not the resident the request names" in answer.text
    assert not Administration.objects.exists()


@pytest.mark.parametrize("way", ["api", "offline"])
def test_claims_that_match_are_recorded(ways, community, order, way):
    answer = ways.chart(
        way,
        dose=due(order),
        resident=str(community.resident.public_id),
        medication=str(order.medication.public_id),
        dose_amount=1,
        dose_unit="tablet",
        route="oral",
        scanned_code=NDC,
    )

    assert answer.status == 201
    assert Administration.objects.get().scanned_code == NDC


@pytest.mark.parametrize("way", ["api", "offline"])
def test_a_field_the_server_does_not_know_is_refused_not_dropped(ways, order, way):
    answer = ways.chart(way, dose=due(order), ndc="0591-0405-01")

    assert answer.status == 400
    assert answer.text == "Unknown field."
    assert not Administration.objects.exists()


@pytest.mark.parametrize("way", WAYS)
@pytest.mark.parametrize("scanned", ["12345-6789-01", "90059104050199"])
def test_a_scan_of_another_package_or_junk_around_the_right_digits_stops_charting(
    ways, order, way, scanned
):
    answer = ways.chart(way, dose=due(order), scanned_code=scanned)

    assert answer.status == 422
    assert "Stop and check the medication" in answer.text
    assert not Administration.objects.exists()


@pytest.mark.parametrize("way", WAYS)
def test_where_scanning_is_required_a_dose_without_a_scan_says_why_and_the_record_keeps_it(
    ways, community, order, way
):
    community.facility.requires_scan = True
    community.facility.save()

    without = ways.chart(way, dose=due(order))
    skipped = ways.chart(way, dose=due(order), scan_skipped="label_damaged")

    record = Administration.objects.get()
    assert without.status == 400
    assert "Scan the package before you give it" in without.text
    assert skipped.recorded
    assert (record.scanned_code, record.scan_skipped) == ("", "label_damaged")


@pytest.mark.parametrize("way", WAYS)
def test_where_scanning_is_required_a_matching_scan_charts_the_dose(ways, community, order, way):
    community.facility.requires_scan = True
    community.facility.save()

    answer = ways.chart(way, dose=due(order), scanned_code="00591040501")

    assert answer.recorded
    assert Administration.objects.get().scan_skipped == ""


@pytest.mark.parametrize(
    "scanned",
    [
        "0591-0405-01",  # the label, hyphenated
        "0591040501",  # ten digits
        "00591040501",  # eleven digits, as billing writes it
        "305910405014",  # the package's UPC-A (3 + the ten digits + check digit)
        "(01)00305910405014(17)271231(10)A123",  # a GS1 DataMatrix, human-readable
        "]d201003059104050141727123110A123",  # the same as a scanner sends it
    ],
)
def test_every_spelling_of_the_packages_ndc_matches(scanned):
    assert ndc_matches(scanned=scanned, ndc=NDC)


@pytest.mark.parametrize(
    "scanned",
    [
        "90059104050199",  # contains the digits, is not the code
        "305910405015",  # a UPC-A with a wrong check digit
        "0591-0405-02",  # another package size
        "00591-0406-01",
        "",
    ],
)
def test_a_code_that_merely_contains_the_ndc_does_not_match(scanned):
    assert not ndc_matches(scanned=scanned, ndc=NDC)


def test_a_ten_digit_ndc_without_hyphens_may_be_any_of_the_three_layouts():
    assert ndc11_candidates("0591040501") == {"00591040501", "05910040501", "05910405001"}


def test_an_amended_amount_moves_the_ledger_by_the_difference(ways, community, order):
    ways.chart("api", dose=due(order))
    record = Administration.objects.get()

    charting.administration_amend(
        administration=record,
        user=community.nurse,
        field="dose_amount",
        new_value="5",
        reason="Five tablets were given, not one",
        now=record.documented_at,
    )
    after_more = StockItem.objects.get().quantity_on_hand
    charting.administration_amend(
        administration=record,
        user=community.nurse,
        field="dose_amount",
        new_value="2",
        reason="Two, counted again",
        now=record.documented_at,
    )
    after_fewer = StockItem.objects.get().quantity_on_hand
    charting.administration_mark_entered_in_error(
        administration=record,
        user=community.nurse,
        reason="Wrong resident",
        now=record.documented_at,
    )

    assert (after_more, after_fewer) == (Decimal(25), Decimal(28))
    assert StockItem.objects.get().quantity_on_hand == Decimal(30)
    assert sum(StockTransaction.objects.values_list("quantity", flat=True)) == Decimal(0)


@pytest.mark.parametrize("way", ["page", "api"])
def test_an_amended_amount_moves_the_ledger_through_the_page_and_the_api(
    ways, community, order, way, client
):
    from tests.api.conftest import client_for

    ways.chart("api", dose=due(order))
    record = Administration.objects.get()

    if way == "page":
        client.force_login(community.nurse)
        response = client.post(
            reverse("nurse:administration_detail", args=[record.public_id]),
            {"field": "dose_amount", "new_text": "3", "reason": "Three were given"},
        )
    else:
        response = client_for(community.nurse).post(
            f"/api/v1/administrations/{record.public_id}/amendments/",
            {"field": "dose_amount", "new_value": "3", "reason": "Three were given"},
            format="json",
        )

    assert response.status_code in (201, 302)
    assert StockItem.objects.get().quantity_on_hand == Decimal(27)
