import datetime as dt
import uuid
from decimal import Decimal

import pytest

from inventory import services as inventory_services
from inventory.models import MedCart
from mar.models import Order, ScheduledDose
from mar.services import administrations as charting
from mar.services import stays
from mar.services.doses import doses_close_missed, doses_materialize
from medtech.models import AuditEvent
from residents import services
from residents.models import Resident, ResidentAbsence, Room
from residents.photos import photo_reencode
from tests.clock import NOW
from tests.factories import OrderFactory, StockItemFactory
from tests.residents.conftest import jpeg_upload

HOUR = dt.timedelta(hours=1)


def admit(community, *, by=None, allergies=None, nka=False, photo=None, **fields):
    values = {
        "first_name": "Evelyn",
        "last_name": "Hart",
        "preferred_name": "Evie",
        "date_of_birth": dt.date(1938, 3, 14),
        "admitted_on": dt.date(2026, 11, 20),
        "physician": "Dr. Ana Ortiz",
        "physician_phone": "312-555-0101",
        "pharmacy": "Corner Pharmacy",
        "pharmacy_phone": "312-555-0199",
        "code_status": Resident.CodeStatus.DNR,
    } | fields
    return services.resident_admit(
        facility=community.facility,
        by=by or community.admin,
        now=NOW,
        room=community.room,
        allergies=allergies
        if allergies is not None
        else [services.AllergyInput("Penicillin", "hives", "severe")],
        has_no_known_allergies=nka,
        diagnoses=[services.DiagnosisInput("Type 2 diabetes", "e11.9")],
        photo=photo,
        **values,
    )


def am_order(resident, times=("AM", "PM"), materialized_at=NOW) -> Order:
    order = OrderFactory(resident=resident, administration_times=list(times))
    doses_materialize(now=materialized_at)
    return order


def test_it_admits_a_resident_with_allergies_diagnoses_and_a_photo_and_audits_it(community):
    photo = photo_reencode(upload=jpeg_upload())

    resident = admit(community, photo=photo)

    resident.refresh_from_db()
    assert resident.status == Resident.Status.ACTIVE
    assert resident.room == community.room
    assert list(resident.allergies.values_list("allergen", "severity")) == [
        ("Penicillin", "severe")
    ]
    assert list(resident.diagnoses.values_list("icd10_code", flat=True)) == ["E11.9"]
    assert resident.photo.name.startswith("residents/") and resident.photo.name.endswith(".jpg")
    event = AuditEvent.objects.get(action="resident.admit")
    assert event.actor == community.admin
    assert event.resident_id == resident.pk and event.facility_id == community.facility.pk
    assert event.after["allergies"] == ["Penicillin"]


def test_it_wants_allergies_or_a_confirmed_no_known_allergies_but_not_both(community):
    with pytest.raises(services.ResidentInvalid, match="No known allergies"):
        admit(community, allergies=[], nka=False)
    with pytest.raises(services.ResidentInvalid, match="not both"):
        admit(community, nka=True)

    resident = admit(community, allergies=[], nka=True)

    assert resident.has_no_known_allergies
    assert Resident.objects.count() == 1


def test_it_lets_only_an_administrator_of_the_community_admit(community):
    with pytest.raises(services.ResidentNotPermitted, match="administrators"):
        admit(community, by=community.nurse)
    with pytest.raises(services.ResidentNotPermitted, match="member"):
        admit(community, by=community.elsewhere_admin)

    assert not Resident.objects.exists()
    assert not AuditEvent.objects.filter(action="resident.admit").exists()


def test_it_refuses_a_room_of_another_community(community):
    with pytest.raises(services.ResidentInvalid, match="room of this community"):
        services.resident_admit(
            facility=community.facility,
            by=community.admin,
            now=NOW,
            room=community.elsewhere_room,
            allergies=[],
            has_no_known_allergies=True,
            diagnoses=[],
            first_name="A",
            last_name="B",
            date_of_birth=dt.date(1940, 1, 1),
            admitted_on=dt.date(2026, 1, 1),
        )


def test_it_clears_no_known_allergies_when_an_allergy_is_recorded(community):
    resident = admit(community, allergies=[], nka=True)

    stays.resident_allergy_add(
        resident=resident,
        by=community.admin,
        allergy=services.AllergyInput("Sulfa", "rash", "moderate"),
        now=NOW,
    )

    resident.refresh_from_db()
    assert not resident.has_no_known_allergies
    assert AuditEvent.objects.filter(action="resident.allergy_add", resident=resident).exists()


def test_it_moves_a_resident_to_a_room_of_another_unit_and_cart(community):
    resident = admit(community)

    services.resident_move(
        resident=resident, room=community.other_room, by=community.admin, now=NOW, reason="Quieter"
    )

    resident.refresh_from_db()
    assert resident.room.cart == community.other_cart
    event = AuditEvent.objects.get(action="resident.move")
    assert (event.before, event.after["room"], event.reason) == ({"room": "101"}, "201", "Quieter")


def test_it_closes_doses_during_a_hospital_stay_as_away_and_after_the_return_as_missed(community):
    resident = admit(community)
    left_at = NOW - 10 * HOUR  # Thursday 21:00 local
    back_at = NOW - 4 * HOUR  # Friday 03:00 local
    am_order(
        resident,
        times=("00:00", "03:00", "06:00", "09:00", "12:00", "15:00", "18:00", "21:00"),
        materialized_at=left_at - HOUR,
    )

    absence = services.resident_leave(
        resident=resident,
        kind=Resident.AwayKind.HOSPITAL,
        started_at=left_at,
        expected_return_on=dt.date(2026, 11, 22),
        note="ER, fall",
        by=community.admin,
        now=left_at + HOUR,
    )
    resident.refresh_from_db()
    assert (resident.status, resident.away_kind) == ("away", "hospital")
    services.resident_return(resident=resident, returned_at=back_at, by=community.admin, now=NOW)
    doses_close_missed(now=NOW + 12 * HOUR)

    resident.refresh_from_db()
    absence.refresh_from_db()
    assert resident.status == Resident.Status.ACTIVE and resident.away_kind == ""
    assert absence.ended_at == back_at
    doses = ScheduledDose.objects.filter(resident=resident)
    away = doses.filter(status=ScheduledDose.Status.AWAY)
    assert away.exists()
    assert all(left_at <= dose.scheduled_at < back_at for dose in away)
    assert not doses.filter(
        status=ScheduledDose.Status.MISSED, scheduled_at__gte=left_at, scheduled_at__lt=back_at
    ).exists()
    assert doses.filter(status=ScheduledDose.Status.MISSED, scheduled_at__gte=back_at).exists()
    assert {e.action for e in AuditEvent.objects.filter(resident=resident)} >= {
        "resident.leave",
        "resident.return",
    }


def test_it_refuses_a_leave_in_the_future_a_second_leave_and_a_return_before_leaving(community):
    resident = admit(community)

    with pytest.raises(services.ResidentInvalid, match="future"):
        services.resident_leave(
            resident=resident, kind="leave", started_at=NOW + HOUR, by=community.admin, now=NOW
        )
    services.resident_leave(
        resident=resident, kind="leave", started_at=NOW - HOUR, by=community.admin, now=NOW
    )
    with pytest.raises(services.ResidentWrongState, match="not in the building"):
        services.resident_leave(
            resident=resident, kind="hospital", started_at=NOW, by=community.admin, now=NOW
        )
    with pytest.raises(services.ResidentInvalid, match="after that"):
        services.resident_return(
            resident=resident, returned_at=NOW - 2 * HOUR, by=community.admin, now=NOW
        )

    assert ResidentAbsence.objects.filter(resident=resident, ended_at__isnull=True).count() == 1


def test_it_discharges_ending_orders_and_future_doses_but_keeping_what_was_charted(community):
    resident = admit(community, allergies=[], nka=True)
    order = am_order(resident)
    StockItemFactory(
        cart=community.cart,
        resident=resident,
        medication=order.medication,
        order=order,
        quantity_on_hand=Decimal("30"),
    )
    first = order.doses.order_by("scheduled_at").first()
    charting.administration_record(
        user=community.tech,
        idempotency_key=str(uuid.uuid4()),
        now=first.scheduled_at,
        entry=charting.ChartEntry(
            status="given", administered_at=first.scheduled_at, scheduled_dose=first
        ),
    )

    stays.resident_discharge(
        resident=resident,
        outcome=Resident.Status.DISCHARGED,
        on_date=dt.date(2026, 11, 20),
        reason="Home with daughter",
        by=community.admin,
        now=first.scheduled_at + HOUR,
    )

    resident.refresh_from_db()
    order.refresh_from_db()
    first.refresh_from_db()
    assert resident.status == Resident.Status.DISCHARGED
    assert resident.discharged_on == dt.date(2026, 11, 20)
    assert order.status == Order.Status.DISCONTINUED
    assert first.status == ScheduledDose.Status.CHARTED and first.administrations.count() == 1
    assert not order.doses.filter(status=ScheduledDose.Status.PENDING).exists()
    event = AuditEvent.objects.get(action="resident.discharged")
    assert event.after["orders_discontinued"] == [str(order.public_id)]
    with pytest.raises(services.ResidentWrongState, match="already discharged"):
        stays.resident_discharge(
            resident=resident,
            outcome="deceased",
            on_date=dt.date(2026, 11, 20),
            reason="x",
            by=community.admin,
            now=NOW,
        )


def test_it_records_a_death_while_in_hospital_and_closes_the_absence(community):
    resident = admit(community)
    services.resident_leave(
        resident=resident, kind="hospital", started_at=NOW - HOUR, by=community.admin, now=NOW
    )

    stays.resident_discharge(
        resident=resident,
        outcome="deceased",
        on_date=dt.date(2026, 11, 20),
        reason="Died in hospital",
        by=community.admin,
        now=NOW,
    )

    resident.refresh_from_db()
    assert (resident.status, resident.away_kind) == ("deceased", "")
    assert not ResidentAbsence.objects.filter(resident=resident, ended_at__isnull=True).exists()


def test_it_moves_future_uncharted_doses_when_the_am_pass_time_changes(community):
    resident = admit(community)
    order = am_order(resident)
    zone = community.facility.zone
    before = sorted(
        d.astimezone(zone).time() for d in order.doses.values_list("scheduled_at", flat=True)
    )
    assert dt.time(8) in before

    count = stays.facility_update(
        facility=community.facility,
        by=community.admin,
        now=NOW,
        pass_times={
            "AM": dt.time(7, 30),
            "Noon": dt.time(12),
            "PM": dt.time(17),
            "HS": dt.time(21),
        },
    )

    after = {d.astimezone(zone).time() for d in order.doses.values_list("scheduled_at", flat=True)}
    assert count == 1
    assert dt.time(7, 30) in after and dt.time(8) not in after
    event = AuditEvent.objects.get(action="facility.update")
    assert event.before == {"pass_times": {"AM": "08:00"}}
    assert event.after == {"pass_times": {"AM": "07:30"}}


def test_it_never_moves_a_charted_dose_when_pass_times_change(community):
    resident = admit(community)
    order = am_order(resident)
    StockItemFactory(
        cart=community.cart, resident=resident, medication=order.medication, order=order
    )
    first = order.doses.order_by("scheduled_at").first()  # Friday 08:00
    charting.administration_record(
        user=community.tech,
        idempotency_key=str(uuid.uuid4()),
        now=first.scheduled_at,
        entry=charting.ChartEntry(
            status="given", administered_at=first.scheduled_at, scheduled_dose=first
        ),
    )

    stays.facility_update(
        facility=community.facility,
        by=community.admin,
        now=first.scheduled_at,
        pass_times={"AM": dt.time(7, 30)},
    )

    first.refresh_from_db()
    assert first.status == ScheduledDose.Status.CHARTED
    assert first.scheduled_at == dt.datetime(2026, 11, 20, 14, 0, tzinfo=dt.UTC)


def test_it_refuses_two_passes_at_the_same_time_and_changes_nothing(community):
    with pytest.raises(services.ResidentInvalid, match="own time"):
        stays.facility_update(
            facility=community.facility,
            by=community.admin,
            now=NOW,
            pass_times={"AM": dt.time(12), "Noon": dt.time(12)},
        )

    assert community.facility.pass_times.get(name="AM").time_of_day == dt.time(8)


def test_it_saves_settings_and_audits_only_what_changed(community):
    stays.facility_update(
        facility=community.facility,
        by=community.admin,
        now=NOW,
        pass_times={},
        late_limit_minutes=90,
        license_number="IL-ALF-0042",
    )

    community.facility.refresh_from_db()
    assert community.facility.late_limit_minutes == 90
    event = AuditEvent.objects.get(action="facility.update")
    assert event.before == {"late_limit_minutes": 120, "license_number": ""}
    assert event.after == {"late_limit_minutes": 90, "license_number": "IL-ALF-0042"}


def test_it_logs_no_change_when_the_address_comes_back_with_browser_line_breaks(community):
    community.facility.address = "1200 Maple Grove Rd\nSpringfield, IL 62704"
    community.facility.save()

    stays.facility_update(
        facility=community.facility,
        by=community.admin,
        now=NOW,
        pass_times={},
        address="1200 Maple Grove Rd\r\nSpringfield, IL 62704\r\n",
    )

    assert not AuditEvent.objects.filter(action="facility.update").exists()


def test_it_adds_units_carts_and_rooms_and_assigns_a_room_to_a_cart(community):
    unit = services.unit_create(
        facility=community.facility, name="Memory Care", by=community.admin, now=NOW
    )
    cart = inventory_services.cart_create(
        facility=community.facility, name="Cart M", unit=unit, by=community.admin, now=NOW
    )
    room = services.room_save(
        facility=community.facility, number="301", unit=unit, cart=None, by=community.admin, now=NOW
    )

    services.room_save(
        facility=community.facility,
        room=room,
        number="301",
        unit=unit,
        cart=cart,
        by=community.admin,
        now=NOW,
    )

    assert Room.objects.get(pk=room.pk).cart == cart
    assert MedCart.objects.get(pk=cart.pk).unit == unit
    assert list(
        AuditEvent.objects.filter(facility=community.facility)
        .order_by("id")
        .values_list("action", flat=True)
    ) == ["unit.create", "cart.create", "room.create", "room.update"]
    with pytest.raises(services.ResidentInvalid, match="already a room 301"):
        services.room_save(
            facility=community.facility,
            number="301",
            unit=unit,
            cart=None,
            by=community.admin,
            now=NOW,
        )
    with pytest.raises(services.ResidentInvalid, match="unit of this community"):
        services.room_save(
            facility=community.elsewhere,
            number="1",
            unit=unit,
            cart=None,
            by=community.elsewhere_admin,
            now=NOW,
        )


def test_it_shows_doses_of_an_absence_as_away_before_the_closing_job_has_run_due_ones_too(
    community,
):
    from residents.selectors import resident_stay

    resident = admit(community)
    left_at = NOW - 10 * HOUR
    am_order(resident, times=("00:00", "03:00", "06:00"), materialized_at=left_at - HOUR)
    services.resident_leave(
        resident=resident, kind="hospital", started_at=left_at, by=community.admin, now=left_at
    )

    stay = resident_stay(resident=resident, now=NOW)

    zone = community.facility.zone
    states = {
        f"{row.dose.scheduled_at.astimezone(zone):%H:%M}": row.state for row in stay.recent_doses
    }
    assert states == {"00:00": "away", "03:00": "away", "06:00": "away"}
