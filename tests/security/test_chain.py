"""Tamper evidence: each facility's administrations and amendments form a hash chain, and
``verify_chain`` names exactly the rows changed or removed behind the application's back."""

import datetime as dt
import importlib
import itertools
import threading
import uuid

import pgtrigger
import pytest
from django.core.management import CommandError, call_command
from django.db import connection

from mar.models import Administration, Amendment, Order, RecordSeal, ScheduledDose
from mar.services import administrations as charting
from mar.services.chain import GENESIS_HASH, chain_verify, link_hash
from staff.models import User
from tests.factories import (
    CertificationFactory,
    ResidentFactory,
    UserFactory,
)
from tests.mar.conftest import NOW, Community
from tests.world import first_dose, order_in_stock

TRIGGERS = (
    "mar.Administration:administration_no_update",
    "mar.Administration:administration_no_delete",
    "mar.Amendment:amendment_no_update",
    "mar.Amendment:amendment_no_delete",
    "mar.RecordSeal:record_seal_no_delete",
)


@pytest.fixture
def community(db) -> Community:
    return Community()


def _dose(community: Community, resident=None) -> ScheduledDose:
    resident = resident or community.resident
    return first_dose(order_in_stock(resident=resident, cart=community.cart, now=NOW))


def _chart(dose: ScheduledDose, user: User, status: str = "given") -> Administration:
    return charting.administration_record(
        user=user,
        idempotency_key=str(uuid.uuid4()),
        now=dose.scheduled_at,
        entry=charting.ChartEntry(
            status=status, administered_at=dose.scheduled_at, scheduled_dose=dose
        ),
    ).administration


@pytest.fixture
def records(community) -> list:
    """Three administrations and an amendment, in that order on the facility's chain."""
    first = _chart(_dose(community), community.tech)
    second = _chart(_dose(community), community.tech, status="refused")
    third = _chart(_dose(community), community.tech)
    amendment = charting.administration_amend(
        administration=first,
        user=community.nurse,
        field=Amendment.Field.NOTE,
        new_value="Crushed in applesauce",
        reason="Note left out",
        now=first.documented_at + dt.timedelta(minutes=20),
    )
    return [first, second, third, amendment]


def _verify(facility) -> tuple[str, bool]:
    output: list[str] = []

    class Out:
        def write(self, text: str) -> None:
            output.append(text)

        def flush(self) -> None:
            pass

    try:
        call_command("verify_chain", facility=[facility.pk], stdout=Out())
    except CommandError:
        return "".join(output), False
    return "".join(output), True


def _sql(statement: str, params: list) -> None:
    """Someone with database access, the protecting triggers switched off."""
    with pgtrigger.ignore(*TRIGGERS), connection.cursor() as cursor:
        cursor.execute(statement, params)


def test_it_seals_each_record_in_order_with_each_link_following_the_last(community, records):
    seals = list(RecordSeal.objects.filter(facility=community.facility).order_by("sequence"))

    assert [(s.sequence, s.record_type, s.record_id) for s in seals] == [
        (1, "administration", records[0].pk),
        (2, "administration", records[1].pk),
        (3, "administration", records[2].pk),
        (4, "amendment", records[3].pk),
    ]
    assert seals[0].previous_hash == GENESIS_HASH
    assert all(b.previous_hash == a.chain_hash for a, b in itertools.pairwise(seals))
    assert all(
        s.chain_hash == link_hash(previous_hash=s.previous_hash, record_hash=s.record_hash)
        for s in seals
    )


def test_it_reports_an_intact_chain(community, records):
    output, intact = _verify(community.facility)

    assert intact
    assert f"Facility {community.facility.pk}: 4 links checked." in output
    assert "Every chain is intact." in output


def test_it_names_the_one_administration_whose_dose_was_altered(community, records):
    _sql("UPDATE mar_administration SET dose_amount = 2 WHERE id = %s", [records[2].pk])

    report = chain_verify(facility_ids=[community.facility.pk])
    output, intact = _verify(community.facility)

    assert [(p.kind, p.record_type, p.record_id, p.sequence) for p in report.problems] == [
        ("altered", "administration", records[2].pk, 3)
    ]
    assert not intact
    assert f"ALTERED: administration {records[2].pk}" in output


def test_it_names_the_one_amendment_whose_time_was_altered(community, records):
    _sql(
        "UPDATE mar_amendment SET amended_at = amended_at - interval '1 hour' WHERE id = %s",
        [records[3].pk],
    )

    report = chain_verify(facility_ids=[community.facility.pk])

    assert [(p.kind, p.record_type, p.record_id) for p in report.problems] == [
        ("altered", "amendment", records[3].pk)
    ]


def test_it_reports_a_deleted_record(community, records):
    _sql("DELETE FROM mar_amendment WHERE id = %s", [records[3].pk])

    report = chain_verify(facility_ids=[community.facility.pk])

    assert [(p.kind, p.record_type, p.record_id, p.sequence) for p in report.problems] == [
        ("missing", "amendment", records[3].pk, 4)
    ]


def test_it_reports_a_link_removed_from_the_chain_and_its_record_as_unsealed(community, records):
    _sql(
        "DELETE FROM mar_recordseal WHERE record_type = 'administration' AND record_id = %s",
        [records[1].pk],
    )

    report = chain_verify(facility_ids=[community.facility.pk])

    assert [(p.kind, p.record_type, p.record_id, p.sequence) for p in report.problems] == [
        ("link_broken", "administration", records[2].pk, 3),
        ("unsealed", "administration", records[1].pk, None),
    ]


def test_it_reports_an_entered_in_error_flag_set_without_its_amendment(community, records):
    _sql("UPDATE mar_administration SET is_entered_in_error = true WHERE id = %s", [records[2].pk])

    report = chain_verify(facility_ids=[community.facility.pk])

    assert [(p.kind, p.record_id) for p in report.problems] == [("flag_mismatch", records[2].pk)]


def test_it_keeps_the_chain_valid_through_an_undo(community, records):
    charting.administration_mark_entered_in_error(
        administration=records[2],
        user=community.nurse,
        reason="Wrong resident",
        now=records[2].documented_at + dt.timedelta(minutes=30),
    )

    report = chain_verify(facility_ids=[community.facility.pk])

    assert report.is_intact
    assert report.links[community.facility.pk] == 5


@pytest.mark.django_db(transaction=True)
def test_it_keeps_a_gap_free_valid_chain_under_concurrent_charting():
    community = Community()
    workers, per_worker = 6, 5
    techs = []
    for _ in range(workers):
        tech = UserFactory(role=User.Role.MED_TECH, facility=community.facility)
        CertificationFactory(user=tech)
        techs.append(tech)
    doses = [
        [_dose(community, ResidentFactory(facility=community.facility)) for _ in range(per_worker)]
        for _ in range(workers)
    ]
    barrier = threading.Barrier(workers)
    errors: list[str] = []

    def work(index: int) -> None:
        try:
            barrier.wait()
            for dose in doses[index]:
                _chart(dose, techs[index])
        except Exception as error:  # pragma: no cover - shows up in the assertion
            errors.append(repr(error))
        finally:
            connection.close()

    threads = [threading.Thread(target=work, args=(i,)) for i in range(workers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    sequences = list(
        RecordSeal.objects.filter(facility=community.facility)
        .order_by("sequence")
        .values_list("sequence", flat=True)
    )
    assert errors == []
    assert sequences == list(range(1, workers * per_worker + 1))
    assert Administration.objects.count() == workers * per_worker
    assert chain_verify(facility_ids=[community.facility.pk]).is_intact


def test_it_keeps_each_facility_on_a_chain_of_its_own(community, records):
    other = Community()
    other_record = _chart(_dose(other), other.tech)

    seal = RecordSeal.objects.get(record_type="administration", record_id=other_record.pk)

    assert (seal.facility_id, seal.sequence, seal.previous_hash) == (
        other.facility.pk,
        1,
        GENESIS_HASH,
    )
    assert chain_verify().is_intact
    assert Order.objects.count() == 4


def test_the_migration_seals_records_written_before_the_chain(community, records):
    from django.apps import apps

    seal_existing = importlib.import_module(
        "mar.migrations.0006_seal_existing_records"
    ).seal_existing
    before = list(RecordSeal.objects.order_by("sequence").values_list("record_type", "record_id"))
    with pgtrigger.ignore("mar.RecordSeal:record_seal_no_delete"):
        RecordSeal.objects.all().delete()
    assert not chain_verify(facility_ids=[community.facility.pk]).is_intact

    seal_existing(apps, None)

    after = list(RecordSeal.objects.order_by("sequence").values_list("record_type", "record_id"))
    assert after == before
    assert chain_verify(facility_ids=[community.facility.pk]).is_intact
