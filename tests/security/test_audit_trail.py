"""Every write of a record and every read of a resident's record leaves an audit row, in
the same transaction as the write (a refused write leaves none)."""

import datetime as dt
import uuid
from decimal import Decimal

import pytest
from django.urls import reverse

from inventory.services import stock_adjust
from mar.models import Amendment, Order
from mar.services import administrations as charting
from mar.services import concerns, orders
from medtech.models import AuditEvent
from staff.services import user_set_pin
from tests.factories import DEMO_PASSWORD, MedicationFactory, StockItemFactory
from tests.mar.conftest import NOW, Community
from tests.world import first_dose


@pytest.fixture
def community(db) -> Community:
    return Community()


def _dose(community: Community):
    return first_dose(community.stocked_order(now=NOW))


def _chart(dose, user, **fields):
    return charting.administration_record(
        user=user,
        idempotency_key=str(uuid.uuid4()),
        now=dose.scheduled_at,
        entry=charting.ChartEntry(
            status=fields.pop("status", "given"),
            administered_at=dose.scheduled_at,
            scheduled_dose=dose,
            **fields,
        ),
    ).administration


def _events(action: str) -> list[AuditEvent]:
    return list(AuditEvent.objects.filter(action=action).order_by("id"))


def test_it_audits_charting_once_with_what_was_charted(community):
    dose = _dose(community)

    record = _chart(dose, community.tech)
    replay = charting.administration_record(
        user=community.tech,
        idempotency_key=record.idempotency_key,
        now=dose.scheduled_at,
        entry=charting.ChartEntry(
            status="given", administered_at=dose.scheduled_at, scheduled_dose=dose
        ),
    )

    (event,) = _events("administration.record")
    assert replay.created is False
    assert (event.kind, event.actor, event.resident_id, event.facility_id) == (
        "write",
        community.tech,
        community.resident.pk,
        community.facility.pk,
    )
    assert (event.target_type, event.target_id) == ("mar.administration", str(record.pk))
    assert event.after["status"] == "given"
    assert event.after["dose_amount"] == "1.000"


def test_a_refused_chart_leaves_no_audit_row(community):
    dose = _dose(community)
    _chart(dose, community.tech)

    with pytest.raises(charting.DoseAlreadyCharted):
        _chart(dose, community.nurse)

    assert len(_events("administration.record")) == 1


def test_it_audits_an_amendment_and_an_undo_with_old_value_new_value_and_why(community):
    record = _chart(_dose(community), community.tech)
    later = record.documented_at + dt.timedelta(minutes=30)

    charting.administration_amend(
        administration=record,
        user=community.nurse,
        field=Amendment.Field.NOTE,
        new_value="Crushed in applesauce",
        reason="Note left out",
        now=later,
    )
    charting.administration_mark_entered_in_error(
        administration=record, user=community.nurse, reason="Wrong resident", now=later
    )

    (amend,) = _events("administration.amend")
    (error,) = _events("administration.error")
    assert (amend.before, amend.after, amend.reason) == (
        {"note": ""},
        {"note": "Crushed in applesauce"},
        "Note left out",
    )
    assert (error.before, error.after, error.reason) == (
        {"entered_in_error": "false"},
        {"entered_in_error": "true"},
        "Wrong resident",
    )
    assert error.facility_id == community.facility.pk


def test_it_audits_an_order_entered_verified_and_held(community):
    community.facility.requires_second_check = True
    order = orders.order_create(
        resident=community.resident,
        medication=MedicationFactory(),
        entered_by=community.nurse,
        now=NOW,
        dose_amount=Decimal("2"),
        dose_unit="tablet",
        route="oral",
        frequency=Order.Frequency.TIMES_OF_DAY,
        administration_times=["08:00"],
        starts_at=NOW,
        prescriber="Dr. Ana Ortiz",
    )
    orders.order_verify(order=order, verified_by=community.second_nurse, now=NOW)
    orders.order_hold(order=order, by=community.nurse, reason="BP low", now=NOW)

    (created,) = _events("order.create")
    (verified,) = _events("order.verify")
    (held,) = _events("order.hold")
    assert created.after["dose_amount"] == "2"
    assert (verified.before["status"], verified.after["status"]) == (
        "pending_verification",
        "active",
    )
    assert (held.before["status"], held.after["status"], held.reason) == (
        "active",
        "on_hold",
        "BP low",
    )


def test_it_audits_a_concern_report_a_ledger_adjustment_and_a_pin_change(community):
    item = StockItemFactory(cart=community.cart, resident=community.resident)

    concerns.concern_report(
        resident=community.resident,
        user=community.tech,
        kind="change_of_condition",
        description="Drowsy after lunch",
        observed_at=NOW,
        now=NOW,
    )
    stock_adjust(item=item, by=community.nurse, counted=Decimal("28"), reason="Recount", now=NOW)
    user_set_pin(user=community.tech, pin="258031", password=DEMO_PASSWORD, now=NOW)

    (concern,) = _events("concern.report")
    (adjust,) = _events("stock.adjust")
    (pin,) = _events("user.pin_set")
    assert concern.after["description"] == "Drowsy after lunch"
    assert (adjust.after["quantity"], adjust.after["balance_after"], adjust.reason) == (
        "-2.000",
        "28.000",
        "Recount",
    )
    assert (pin.actor, pin.before, pin.after) == (community.tech, None, None)


def test_the_resident_page_is_audited_as_a_read_with_where_from(client, community):
    client.force_login(community.tech)

    response = client.get(
        reverse("mar:pass_resident", args=[community.resident.public_id]),
        REMOTE_ADDR="10.1.2.3",
        HTTP_USER_AGENT="Cart tablet 3",
    )

    assert response.status_code == 200
    (event,) = AuditEvent.objects.filter(kind="read")
    assert (event.actor, event.resident_id, event.view) == (
        community.tech,
        community.resident.pk,
        "mar:pass_resident",
    )
    assert (event.ip_address, event.device) == ("10.1.2.3", "Cart tablet 3")


@pytest.mark.parametrize(
    "path",
    [
        "/api/v1/residents/{resident}/",
        "/api/v1/administrations/?resident={resident}",
        "/fhir/r4/Patient/{resident}",
        "/fhir/r4/MedicationAdministration?patient={resident}",
        "/api/v1/exceptions/?resident={resident}",
    ],
)
def test_the_api_audits_one_read_per_request_for_one_resident(client, community, path):
    _chart(_dose(community), community.tech, status="refused")
    client.force_login(community.nurse)

    response = client.get(path.format(resident=community.resident.public_id))

    assert response.status_code == 200
    reads = list(AuditEvent.objects.filter(kind="read").values_list("actor", "resident"))
    assert reads == [(community.nurse.pk, community.resident.pk)]


def test_a_list_of_many_residents_is_not_counted_as_a_read_of_one(client, community):
    _chart(_dose(community), community.tech)
    client.force_login(community.nurse)

    response = client.get("/api/v1/administrations/")

    assert response.status_code == 200
    assert not AuditEvent.objects.filter(kind="read").exists()
