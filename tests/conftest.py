import pytest


@pytest.fixture
def facility(db):
    from tests.factories import FacilityFactory

    return FacilityFactory()
