import datetime as dt

import pytest

from mar.models import ExceptionReview, FollowUp, Notification
from mar.services import followups
from mar.services.doses import doses_close_missed
from medtech.models import AuditEvent
from tests.nurse.conftest import NOW, Ward

pytestmark = pytest.mark.django_db


def refused_record(ward: Ward):
    ward.materialize(days=1)
    dose = ward.orders[0].doses.order_by("scheduled_at").first()
    return ward.chart(dose, status="refused", reason="Said no")


def test_it_opens_a_follow_up_with_the_facility_deadline_when_a_dose_is_refused(ward):
    ward.facility.refusal_followup_hours = 12
    ward.facility.save()

    record = refused_record(ward)

    followup = FollowUp.objects.get(administration=record)
    assert followup.due_at == record.administered_at + dt.timedelta(hours=12)
    assert followup.done_at is None
    assert AuditEvent.objects.filter(action="followup.open").count() == 1


def test_it_opens_no_follow_up_for_a_dose_given(ward):
    ward.materialize(days=1)

    ward.chart(ward.orders[0].doses.order_by("scheduled_at").first())

    assert not FollowUp.objects.exists()


def test_it_raises_an_overdue_follow_up_once_and_tells_every_nurse(ward):
    record = refused_record(ward)
    later = record.administered_at + dt.timedelta(hours=25)

    first = followups.followups_raise_overdue(now=later)
    second = followups.followups_raise_overdue(now=later + dt.timedelta(minutes=5))

    assert first == {"opened": 0, "raised": 1}
    assert second == {"opened": 0, "raised": 0}
    followup = FollowUp.objects.get()
    assert followup.raised_at == later
    notified = set(
        Notification.objects.filter(kind=Notification.Kind.FOLLOWUP_OVERDUE).values_list(
            "recipient_id", flat=True
        )
    )
    assert notified == {ward.nurse.pk, ward.second_nurse.pk}


def test_it_does_not_raise_a_follow_up_before_its_deadline(ward):
    record = refused_record(ward)

    result = followups.followups_raise_overdue(now=record.administered_at + dt.timedelta(hours=23))

    assert result["raised"] == 0
    assert FollowUp.objects.get().raised_at is None


def test_it_opens_a_missing_follow_up_from_the_job(ward):
    record = refused_record(ward)
    FollowUp.objects.all().delete()

    result = followups.followups_raise_overdue(now=record.administered_at + dt.timedelta(hours=1))

    assert result["opened"] == 1
    assert FollowUp.objects.filter(administration=record).exists()


def test_it_closes_a_follow_up_with_what_the_nurse_did(ward):
    record = refused_record(ward)
    followup = FollowUp.objects.get(administration=record)

    followups.followup_complete(
        followup=followup,
        user=ward.nurse,
        note="Called Dr. Ortiz",
        prescriber_notified=True,
        now=NOW,
    )

    followup.refresh_from_db()
    assert followup.done_by == ward.nurse
    assert followup.done_note == "Called Dr. Ortiz"
    assert followup.prescriber_notified


def test_it_refuses_to_close_a_follow_up_twice_or_without_a_note(ward):
    followup = FollowUp.objects.get(administration=refused_record(ward))

    with pytest.raises(followups.FollowUpInvalid):
        followups.followup_complete(
            followup=followup, user=ward.nurse, note=" ", prescriber_notified=False, now=NOW
        )
    followups.followup_complete(
        followup=followup, user=ward.nurse, note="Done", prescriber_notified=False, now=NOW
    )
    with pytest.raises(followups.FollowUpInvalid, match="Already done"):
        followups.followup_complete(
            followup=followup, user=ward.nurse, note="Again", prescriber_notified=False, now=NOW
        )


def test_it_lets_only_a_nurse_of_the_community_close_a_follow_up(ward):
    followup = FollowUp.objects.get(administration=refused_record(ward))

    for person in (ward.tech, ward.admin, ward.other_nurse):
        with pytest.raises(followups.FollowUpNotPermitted):
            followups.followup_complete(
                followup=followup, user=person, note="x", prescriber_notified=False, now=NOW
            )


def test_it_acknowledges_many_and_closes_the_follow_up_when_the_physician_was_told(ward):
    record = refused_record(ward)
    ward.materialize(days=1)
    doses_missed = list(ward.orders[1].doses.order_by("scheduled_at")[:1])
    doses_close_missed(now=NOW)

    result = followups.exceptions_acknowledge_many(
        user=ward.nurse,
        subjects=[record, doses_missed[0]],
        note="Spoke with the resident; Dr. Ortiz informed",
        physician_notified=True,
        family_notified=False,
        now=NOW,
    )

    assert len(result.reviews) == 2
    assert result.refused == []
    assert result.followups_closed == 1
    assert ExceptionReview.objects.count() == 2
    assert FollowUp.objects.get(administration=record).done_at == NOW


def test_it_reports_an_already_acknowledged_one_and_still_acknowledges_the_rest(ward):
    record = refused_record(ward)
    followups.exceptions_acknowledge_many(
        user=ward.second_nurse,
        subjects=[record],
        note="First",
        physician_notified=False,
        family_notified=False,
        now=NOW,
    )
    ward.materialize(days=1)
    doses_close_missed(now=NOW)
    missed = ward.orders[1].doses.filter(status="missed").order_by("scheduled_at").first()

    result = followups.exceptions_acknowledge_many(
        user=ward.nurse,
        subjects=[record, missed],
        note="Second",
        physician_notified=False,
        family_notified=False,
        now=NOW,
    )

    assert len(result.reviews) == 1
    assert len(result.refused) == 1
    assert "Already acknowledged" in result.refused[0][1]
    assert FollowUp.objects.get(administration=record).done_at is None
