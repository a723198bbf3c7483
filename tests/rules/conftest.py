"""The rule tests stand in the API's world (``tests/api/conftest.py``): a community with a
cart, a resident, a med tech on duty and nurses, another community next door, at 07:30 in
Chicago with the 08:00 dose due; ``ways`` charts in it through the page, the API and the
offline sync, as the gates do (``tests/gates/conftest.py``)."""

import html
import re

import pytest

from tests.api.conftest import api_as, community, dose, moment, order, other
from tests.gates.conftest import Ways

__all__ = ["api_as", "community", "dose", "moment", "order", "other"]


@pytest.fixture
def ways(community) -> Ways:
    """Chart through the page, the API or the offline sync (``tests/gates/conftest.py``)."""
    return Ways(community)


def page_alert(text: str) -> str:
    """What a page tells the person in its alert."""
    found = re.search(r'class="alert alert-danger"[^>]*>(.*?)</', text, re.S)
    return html.unescape(found.group(1)).strip() if found else ""
