"""The rule tests stand in the API's world (``tests/api/conftest.py``): a community with a
cart, a resident, a med tech on duty and nurses, another community next door, at 07:30 in
Chicago with the 08:00 dose due."""

from tests.api.conftest import api_as, community, dose, moment, order, other

__all__ = ["api_as", "community", "dose", "moment", "order", "other"]
