"""A facility's pass times (``mar.selectors.pass_times_by_facility``): one reading, earliest
first, shared by the schedule engine's loader, the med pass, the facility settings and the
stock and print selectors, so a time an administrator changes reaches all of them."""

import datetime as dt

from mar.selectors import facility_pass_times, pass_times_by_facility
from mar.services.doses import FacilitySchedule
from mar.services.stays import facility_update
from residents.selectors import facility_setup
from tests.api.conftest import AT
from tests.factories import FacilityFactory, UserFactory


def test_it_reads_each_facilitys_pass_times_earliest_first_in_one_query(
    community, other, django_assert_num_queries
):
    quiet = FacilityFactory(pass_times={"HS": 21, "AM": 6})
    empty = FacilityFactory(pass_times={"AM": 8})
    empty.pass_times.all().delete()

    with django_assert_num_queries(1):
        times = pass_times_by_facility(facility_ids=[quiet.pk, empty.pk, community.facility.pk])

    assert list(times[quiet.pk].items()) == [("AM", dt.time(6)), ("HS", dt.time(21))]
    assert times[empty.pk] == {}
    assert list(times[community.facility.pk]) == ["AM", "Noon", "PM", "HS"]
    assert other.facility.pk not in times


def test_every_reader_sees_the_time_an_administrator_changed(community):
    administrator = UserFactory(role="administrator", facility=community.facility)
    changed = facility_pass_times(facility=community.facility) | {"AM": dt.time(7, 30)}

    facility_update(facility=community.facility, by=administrator, now=AT, pass_times=changed)

    loaded = FacilitySchedule.load([community.facility])[community.facility.pk].pass_times
    assert facility_pass_times(facility=community.facility)["AM"] == dt.time(7, 30)
    assert loaded == facility_pass_times(facility=community.facility)
    assert facility_setup(facility=community.facility).pass_times == loaded
