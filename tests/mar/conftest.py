import pytest

from tests.clock import NOW
from tests.world import Community

__all__ = ["NOW", "Community"]


@pytest.fixture
def community(db) -> Community:
    return Community()
