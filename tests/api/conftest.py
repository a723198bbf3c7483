"""The API's tests stand at ``AT`` (07:30 in Chicago, Friday 2026-11-20) with
time_machine: the community's 08:00 dose is due then (window 07:00-09:00).

Clients authenticate with a real token (``Authorization: Token ...``), as the
pharmacies' and tablets' scripts do.
"""

import datetime as dt
from collections.abc import Callable

import pytest
from rest_framework.test import APIClient

from mar.models import Order, ScheduledDose
from staff.models import User
from tests.factories import UserFactory, api_token
from tests.world import AT, Community, first_dose


@pytest.fixture
def moment() -> dt.datetime:
    """07:30 in Chicago: the 08:00 dose is due."""
    return AT


def client_for(user: User) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {api_token(user)}")
    return client


@pytest.fixture
def community(db) -> Community:
    return Community()


@pytest.fixture
def api_as() -> Callable[[User], APIClient]:
    return client_for


@pytest.fixture
def other(db) -> Community:
    """Another community, whose records the first one's staff must never see."""
    return Community()


@pytest.fixture
def administrator(community) -> User:
    return UserFactory(
        role=User.Role.ADMINISTRATOR, title="Administrator", facility=community.facility
    )


def stocked_order(community: Community, **fields) -> Order:
    return community.stocked_order(**fields)


def prn_order(community: Community, **fields) -> Order:
    return community.prn_order(**fields)


due_dose = first_dose  # the 08:00 dose, due at AT


@pytest.fixture
def order(community) -> Order:
    return stocked_order(community)


@pytest.fixture
def dose(order) -> ScheduledDose:
    return due_dose(order)
