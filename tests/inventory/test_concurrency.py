"""Charting and the ledger under load: one card, many doses, one transaction each."""

import queue
import threading
import uuid

import pytest
from django.db import connection

from inventory.models import StockItem, StockTransaction
from mar.models import Administration, ScheduledDose
from mar.services import administrations as charting
from mar.services.doses import doses_sync_for_order
from tests.inventory.conftest import NOW, Stockroom, ledger_sum, on_hand

DOSES = 100
ON_HAND = 30
# A web server answers with a bounded pool of workers, each with one database
# connection; the embedded PostgreSQL allows 100 connections for everything running.
WORKERS = 25


def chart(dose: ScheduledDose, user) -> charting.ChartResult:
    return charting.administration_record(
        user=user,
        idempotency_key=str(uuid.uuid4()),
        now=dose.scheduled_at,
        entry=charting.ChartEntry(
            status=Administration.Status.GIVEN,
            administered_at=dose.scheduled_at,
            scheduled_dose=dose,
        ),
    )


@pytest.mark.django_db(transaction=True)
def test_a_hundred_doses_against_thirty_on_hand_give_exactly_thirty():
    room = Stockroom()
    card = room.receive(quantity=str(ON_HAND))
    doses = []
    for _ in range(DOSES):  # 100 daily 08:00 orders of the same medication: one card
        order = room.order_for(
            room.medication,
            administration_times=["08:00"],
            entered_by=room.nurse,
            verified_by=room.second_nurse,
        )
        doses_sync_for_order(order=order, now=NOW)
        doses.append(order.doses.order_by("scheduled_at").first())
    chartists = [room.tech, room.witness, room.nurse, room.second_nurse]
    work: queue.Queue = queue.Queue()
    for index, dose in enumerate(doses):
        work.put((dose, chartists[index % len(chartists)]))
    barrier = threading.Barrier(WORKERS)
    outcomes: list[str] = []

    def worker() -> None:
        try:
            barrier.wait()
            while True:
                try:
                    dose, user = work.get_nowait()
                except queue.Empty:
                    return
                try:
                    chart(dose, user)
                    outcomes.append("given")
                except charting.NoStock as refusal:
                    outcomes.append("not available" if "not available" in str(refusal) else "bad")
                except Exception as error:  # pragma: no cover - shows up in the assertion
                    outcomes.append(repr(error))
        finally:
            connection.close()

    threads = [threading.Thread(target=worker) for _ in range(WORKERS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert sorted(set(outcomes)) == ["given", "not available"]
    assert outcomes.count("given") == ON_HAND
    assert outcomes.count("not available") == DOSES - ON_HAND
    assert on_hand(card) == ledger_sum(card) == 0
    assert Administration.objects.filter(status="given").count() == ON_HAND
    assert StockTransaction.objects.filter(kind="administer").count() == ON_HAND
    balances = sorted(
        StockTransaction.objects.filter(kind="administer").values_list("balance_after", flat=True)
    )
    assert balances == list(range(ON_HAND))
    assert ScheduledDose.objects.filter(status="charted").count() == ON_HAND


def test_an_error_after_the_administration_insert_leaves_neither_row(room, monkeypatch):
    card = room.receive(quantity="30")
    doses_sync_for_order(order=room.order, now=NOW)
    dose = room.order.doses.order_by("scheduled_at").first()
    real_take = charting.stock_take_for_administration
    seen_inside: dict[str, int] = {}

    def take_then_fail(**kwargs):
        real_take(**kwargs)
        seen_inside["administrations"] = Administration.objects.count()
        seen_inside["administer rows"] = StockTransaction.objects.filter(kind="administer").count()
        raise RuntimeError("The tablet lost power mid-save")

    monkeypatch.setattr(charting, "stock_take_for_administration", take_then_fail)

    with pytest.raises(RuntimeError, match="lost power"):
        chart(dose, room.tech)

    assert seen_inside == {"administrations": 1, "administer rows": 1}
    assert not Administration.objects.exists()
    assert not StockTransaction.objects.filter(kind="administer").exists()
    assert on_hand(card) == ledger_sum(card) == 30
    dose.refresh_from_db()
    assert dose.status == ScheduledDose.Status.PENDING
    assert StockItem.objects.get().quantity_on_hand == 30
