"""The database itself refuses to rewrite history: UPDATE and DELETE on the legal records,
the stock ledger and the audit trail fail in PostgreSQL, from raw SQL and from the ORM."""

import datetime as dt
import uuid
from decimal import Decimal

import pytest
from django.db import DatabaseError, connection, transaction

from inventory.models import StockTransaction
from inventory.services import stock_transfer
from mar.models import Administration, Amendment, EffectivenessCheck, Order, RecordSeal
from mar.services import administrations as charting
from mar.services.doses import doses_sync_for_order
from medtech.core.audit import audit_read
from medtech.models import AuditEvent
from staff.models import User
from tests.factories import MedCartFactory, StockItemFactory, UserFactory
from tests.mar.conftest import NOW, Community

REFUSED = "pgtrigger: Cannot"

pytestmark = pytest.mark.django_db


@pytest.fixture
def community(db) -> Community:
    return Community()


def _order(community: Community, **fields) -> Order:
    return community.stocked_order(now=None, **fields)


@pytest.fixture
def administration(community) -> Administration:
    order = _order(community)
    doses_sync_for_order(order=order, now=NOW)
    dose = order.doses.order_by("scheduled_at").first()
    return charting.administration_record(
        user=community.tech,
        idempotency_key=str(uuid.uuid4()),
        now=dose.scheduled_at,
        entry=charting.ChartEntry(
            status="given", administered_at=dose.scheduled_at, scheduled_dose=dose
        ),
    ).administration


@pytest.fixture
def amendment(community, administration) -> Amendment:
    return charting.administration_amend(
        administration=administration,
        user=community.nurse,
        field=Amendment.Field.NOTE,
        new_value="Taken with applesauce",
        reason="Late note",
        now=administration.documented_at + dt.timedelta(minutes=10),
    )


@pytest.fixture
def effectiveness(community) -> EffectivenessCheck:
    order = _order(
        community,
        frequency=Order.Frequency.PRN,
        administration_times=[],
        prn_min_interval_minutes=240,
        prn_max_per_24h=3,
    )
    given = charting.administration_record(
        user=community.tech,
        idempotency_key=str(uuid.uuid4()),
        now=NOW,
        entry=charting.ChartEntry(
            status="given", administered_at=NOW, order=order, prn_reason="Headache"
        ),
    ).administration
    return charting.administration_record_effectiveness(
        administration=given,
        user=community.tech,
        result="effective",
        note="",
        now=NOW + dt.timedelta(hours=1),
    )


def _raw(sql: str, params: list) -> None:
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(sql, params)


PROTECTED = {
    # fixture name: (table, a column to rewrite, a value for it)
    "administration": ("mar_administration", "note", "rewritten"),
    "amendment": ("mar_amendment", "new_value", "rewritten"),
    "effectiveness": ("mar_effectivenesscheck", "note", "rewritten"),
    "audit_event": ("medtech_auditevent", "reason", "rewritten"),
    "ledger_row": ("inventory_stocktransaction", "reason", "rewritten"),
    "seal": ("mar_recordseal", "record_hash", "0" * 64),
}


@pytest.fixture
def audit_event(community) -> AuditEvent:
    return audit_read(actor=community.nurse, resident=community.resident, view="v", now=NOW)


@pytest.fixture
def ledger_row(administration) -> StockTransaction:
    return StockTransaction.objects.get(administration=administration)


@pytest.fixture
def seal(administration) -> RecordSeal:
    return RecordSeal.objects.get(record_type="administration", record_id=administration.pk)


@pytest.mark.parametrize("name", sorted(PROTECTED))
def test_it_refuses_a_raw_sql_update(request, name):
    row = request.getfixturevalue(name)
    table, column, value = PROTECTED[name]

    with pytest.raises(DatabaseError, match=REFUSED):
        _raw(f"UPDATE {table} SET {column} = %s WHERE id = %s", [value, row.pk])  # noqa: S608


@pytest.mark.parametrize("name", sorted(PROTECTED))
def test_it_refuses_a_raw_sql_delete(request, name):
    row = request.getfixturevalue(name)
    table, _, _ = PROTECTED[name]

    with pytest.raises(DatabaseError, match=REFUSED):
        _raw(f"DELETE FROM {table} WHERE id = %s", [row.pk])  # noqa: S608

    assert type(row).objects.filter(pk=row.pk).exists()


@pytest.mark.parametrize("name", sorted(PROTECTED))
def test_it_refuses_an_orm_save_update_and_delete(request, name):
    row = request.getfixturevalue(name)
    _, column, value = PROTECTED[name]
    setattr(row, column, value)

    with pytest.raises(DatabaseError, match=REFUSED), transaction.atomic():
        row.save()
    with pytest.raises(DatabaseError, match=REFUSED), transaction.atomic():
        type(row).objects.filter(pk=row.pk).update(**{column: value})
    # The bulk DELETE the ORM sends once its collector is done (the collector alone would
    # stop an administration first, at its PROTECTed ledger rows).
    with pytest.raises(DatabaseError, match=REFUSED), transaction.atomic():
        type(row).objects.filter(pk=row.pk)._raw_delete(connection.alias)


def test_it_lets_entered_in_error_go_from_false_to_true_and_nothing_else(community, administration):
    amendment = charting.administration_mark_entered_in_error(
        administration=administration,
        user=community.nurse,
        reason="Wrong resident",
        now=administration.documented_at + dt.timedelta(minutes=30),
    )

    administration.refresh_from_db()
    assert administration.is_entered_in_error is True
    assert amendment.field == Amendment.Field.ENTERED_IN_ERROR
    with pytest.raises(DatabaseError, match=REFUSED):
        _raw(
            "UPDATE mar_administration SET is_entered_in_error = false WHERE id = %s",
            [administration.pk],
        )


def test_it_refuses_setting_entered_in_error_together_with_another_column(administration):
    with pytest.raises(DatabaseError, match=REFUSED):
        _raw(
            "UPDATE mar_administration SET is_entered_in_error = true, dose_amount = 2 "
            "WHERE id = %s",
            [administration.pk],
        )

    administration.refresh_from_db()
    assert (administration.is_entered_in_error, administration.dose_amount) == (
        False,
        Decimal("1.000"),
    )


def test_it_lets_a_transfer_pair_its_rows_once_and_refuses_repointing(community):
    item = StockItemFactory(
        cart=community.cart, resident=community.resident, quantity_on_hand=Decimal("10")
    )
    other_cart = MedCartFactory(facility=community.facility)

    out, into = stock_transfer(
        item=item, to_cart=other_cart, by=community.nurse, now=NOW, quantity=Decimal("4")
    )

    out.refresh_from_db()
    assert out.transfer_pair_id == into.pk
    with pytest.raises(DatabaseError, match=REFUSED):
        _raw(
            "UPDATE inventory_stocktransaction SET transfer_pair_id = NULL WHERE id = %s",
            [out.pk],
        )


@pytest.mark.parametrize(
    "name", ["administration", "amendment", "effectiveness", "ledger_row", "seal", "audit_event"]
)
def test_the_django_admin_offers_no_change_or_delete(client, request, name):
    row = request.getfixturevalue(name)
    client.force_login(UserFactory(role=User.Role.ADMINISTRATOR, is_staff=True, is_superuser=True))
    opts = row._meta
    base = f"/admin/{opts.app_label}/{opts.model_name}/{row.pk}"

    change = client.post(f"{base}/change/", {})
    delete = client.post(f"{base}/delete/", {"post": "yes"})

    assert (change.status_code, delete.status_code) == (403, 403)
    assert type(row).objects.filter(pk=row.pk).exists()
