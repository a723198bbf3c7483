"""One family of domain errors (medtech.core.errors) and one map from it to HTTP status."""

from __future__ import annotations

import importlib
import inspect

import pytest

from inventory.services import CountClosed
from mar.services.administrations import ChartingMismatch, DoseAlreadyCharted
from mar.services.offline import OfflineClaimRefused
from mar.services.orders import AllergyConflict
from medtech.core.errors import Conflict, DomainError, Invalid, NotPermitted, Refused, http_status
from staff.services import PinIncorrect, PinLockedOut

# Every module that defines a domain error of an app.
MODULES = [
    "demo.community",
    "inventory.services",
    "mar.services.charting_rules",
    "mar.services.followups",
    "mar.services.notifications",
    "mar.services.offline",
    "mar.services.orders",
    "mar.services.reviews",
    "printing.render",
    "printing.services",
    "residents.photos",
    "residents.services",
    "staff.manage_services",
    "staff.services",
]


def _errors_defined_in(name: str) -> list[type[Exception]]:
    module = importlib.import_module(name)
    return [
        value
        for value in vars(module).values()
        if inspect.isclass(value)
        and issubclass(value, Exception)
        and value.__module__ == module.__name__
    ]


@pytest.mark.parametrize("name", MODULES)
def test_every_error_an_app_defines_is_a_domain_error(name):
    errors = _errors_defined_in(name)

    assert errors
    assert [error for error in errors if not issubclass(error, DomainError)] == []


def test_each_kind_answers_its_status_and_a_subtype_the_status_of_its_kind():
    statuses = {
        NotPermitted("x"): 403,
        Invalid("x"): 400,
        Conflict("x"): 409,
        Refused("x"): 422,
        ChartingMismatch("x", field="route"): 422,
        OfflineClaimRefused("x"): 403,
        AllergyConflict("x"): 400,
        CountClosed("x"): 409,
        PinIncorrect("x"): 400,
    }

    assert {type(e).__name__: http_status(e) for e in statuses} == {
        type(e).__name__: status for e, status in statuses.items()
    }
    assert issubclass(DoseAlreadyCharted, Conflict)
    assert PinLockedOut.status == 429  # too many tries: its own status, not a second map
