"""What the database refuses in the stock ledger and the controlled counts."""

from decimal import Decimal

import pytest
from django.db import IntegrityError

from inventory.models import ControlledCount, StockTransaction
from tests.factories import MedCartFactory, StockItemFactory, UserFactory
from tests.inventory.conftest import NOW

pytestmark = pytest.mark.django_db


def ledger_row(**fields) -> StockTransaction:
    defaults = {"created_at": NOW, "balance_after": Decimal("10"), "performed_by": UserFactory()}
    return StockTransaction.objects.create(**{**defaults, **fields})


def test_it_refuses_a_ledger_row_that_would_leave_a_negative_balance():
    item = StockItemFactory()

    with pytest.raises(IntegrityError, match="ledger_balance_never_negative"):
        ledger_row(stock_item=item, kind="administer", quantity=-1, balance_after=-1)


def test_it_refuses_a_ledger_row_whose_sign_contradicts_its_kind():
    item = StockItemFactory()

    with pytest.raises(IntegrityError, match="ledger_sign_matches_kind"):
        ledger_row(stock_item=item, kind="administer", quantity=Decimal("1"))


def test_it_refuses_a_waste_without_a_reason():
    item = StockItemFactory()

    with pytest.raises(IntegrityError, match="ledger_waste_adjust_reason"):
        ledger_row(stock_item=item, kind="waste", quantity=Decimal("-1"), witness=UserFactory())


def test_it_refuses_a_count_signed_twice_by_the_same_person():
    person = UserFactory()

    with pytest.raises(IntegrityError, match="count_two_different_people"):
        ControlledCount.objects.create(
            cart=MedCartFactory(), started_at=NOW, outgoing_user=person, incoming_user=person
        )
