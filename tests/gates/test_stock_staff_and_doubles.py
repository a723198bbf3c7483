"""Three of the medication errors, tried through every way in (the tablet's page, the API
and the offline sync): expired or absent stock, uncertified staff, and a double dose.
Each is refused with the same words everywhere and stores nothing."""

import datetime as dt

import pytest

from inventory.models import StockItem, StockTransaction
from mar.models import Administration
from tests.gates.conftest import WAYS, due, stocked


@pytest.fixture
def order(community):
    return stocked(community)


@pytest.mark.parametrize("way", WAYS)
def test_a_dose_whose_only_package_expired_is_refused_and_moves_no_stock(ways, order, way):
    StockItem.objects.filter(order=order).update(expires_on=dt.date(2026, 11, 19))

    answer = ways.chart(way, dose=due(order))

    assert not answer.recorded
    assert "only expired stock" in answer.text
    assert not Administration.objects.exists()
    assert not StockTransaction.objects.filter(kind="administer").exists()


@pytest.mark.parametrize("way", WAYS)
def test_a_dose_with_nothing_left_on_the_cart_is_refused(ways, order, way):
    StockItem.objects.filter(order=order).update(quantity_on_hand=0)

    answer = ways.chart(way, dose=due(order))

    assert not answer.recorded
    assert "Chart the dose as not available" in answer.text
    assert not Administration.objects.exists()


@pytest.mark.parametrize("way", WAYS)
def test_a_med_tech_whose_certificate_expired_yesterday_cannot_chart(ways, community, order, way):
    community.tech.certifications.update(expires_on=dt.date(2026, 11, 19))

    answer = ways.chart(way, dose=due(order))

    assert answer.status == 403
    assert "expired on Nov 19, 2026" in answer.text
    assert not Administration.objects.exists()


@pytest.mark.parametrize("way", WAYS)
def test_a_dose_charted_twice_under_two_keys_is_recorded_once(ways, order, way):
    dose = due(order)
    first = ways.chart(way, dose=dose)

    second = ways.chart(way, dose=dose)

    assert first.recorded
    assert not second.recorded
    assert second.text.startswith("Already charted by")
    assert Administration.objects.filter(scheduled_dose=dose).count() == 1
    assert StockTransaction.objects.filter(kind="administer").count() == 1
