"""Who may do what: the role x area matrix, in one place.

Every role check of the project asks this module: the services (which raise their own
domain exceptions with ``require``'s message), the selectors, the pages, the API and the
Django admin. A rule changed here changes for all of them at once, so they cannot drift
apart.

Two questions, always both:

- the role: may a med tech, a nurse or an administrator do this kind of thing at all?
  (``can``/``require`` here; the answer to "no" is 403)
- the facility: is the record in one of the user's communities? (``medtech.core.scope``;
  the answer to "no" is 404, so another community's ids cannot even be probed)

Certification (a current medication-aide certificate or nurse license to chart) is a
third, per-day condition on charting; it lives in ``staff.selectors.user_charting_refusal``.
"""

from __future__ import annotations

import enum
from typing import TYPE_CHECKING

from django.core.exceptions import PermissionDenied

if TYPE_CHECKING:
    # The project's user (staff.User, with its role) by its Django base: the core imports
    # no app, not even for type hints.
    from django.contrib.auth.base_user import AbstractBaseUser as User

MED_TECH = "med_tech"
NURSE = "nurse"
ADMINISTRATOR = "administrator"
ROLES = (MED_TECH, NURSE, ADMINISTRATOR)


class Area(enum.StrEnum):
    """The kinds of work the app offers; each is granted to some roles (``MATRIX``)."""

    # carts, residents' passes, taking and handing over a cart
    MED_PASS = "med_pass"  # noqa: S105 (an area, not a password)
    CHART = "chart"  # chart, give PRN, follow up effectiveness, undo own recent entry
    NURSE_OVERRIDE = "nurse_override"  # override a hold parameter or an early dose
    CONCERN_REPORT = "concern_report"  # report a change of condition to the nurse
    CONCERN_REVIEW = "concern_review"  # read the concern reports list
    NOTIFICATIONS = "notifications"  # one's own alerts
    RECORDS_READ = "records_read"  # residents, orders, doses, administrations (API/FHIR)
    RESIDENTS_READ = "residents_read"  # the resident list, a stay, the face sheet
    ORDER_ENTER = "order_enter"  # enter, verify, hold, resume, discontinue an order
    AMEND = "amend"  # correct a record by amendment, undo anyone's entry
    EXCEPTIONS_READ = "exceptions_read"  # missed/late/not-given doses, concerns (review list)
    EXCEPTION_ACK = "exception_ack"  # acknowledge an exception or a concern report
    INVENTORY_READ = "inventory_read"  # cart stock, the ledger, counts, reorders, expiry
    STOCK_HANDLE = "stock_handle"  # receive, waste (witnessed), start and sign a count
    STOCK_MANAGE = "stock_manage"  # return, adjust, transfer, refills, cancel a count
    COUNT_RESOLVE = "count_resolve"  # resolve a controlled-substance count discrepancy
    PRINT_RECORDS = "print_records"  # monthly MAR (resident, community), count sheets
    PRINT_CART_SHEET = "print_cart_sheet"  # the downtime sheet of one's own cart
    ADMIN_SCREENS = "admin_screens"  # residents, staff, certifications, carts; Django admin
    AUDIT = "audit"  # search the audit trail
    TABLET = "tablet"  # lock the tablet, switch user by PIN, set one's own PIN


ALL = frozenset(ROLES)
CLINICAL = frozenset({NURSE, ADMINISTRATOR})

MATRIX: dict[Area, frozenset[str]] = {
    Area.MED_PASS: ALL,
    Area.CHART: frozenset({MED_TECH, NURSE}),
    Area.NURSE_OVERRIDE: frozenset({NURSE}),
    Area.CONCERN_REPORT: ALL,
    Area.CONCERN_REVIEW: CLINICAL,
    Area.NOTIFICATIONS: ALL,
    Area.RECORDS_READ: ALL,
    Area.RESIDENTS_READ: CLINICAL,
    Area.ORDER_ENTER: frozenset({NURSE}),
    Area.AMEND: frozenset({NURSE}),
    Area.EXCEPTIONS_READ: CLINICAL,
    Area.EXCEPTION_ACK: frozenset({NURSE}),
    Area.INVENTORY_READ: ALL,
    Area.STOCK_HANDLE: ALL,
    Area.STOCK_MANAGE: CLINICAL,
    Area.COUNT_RESOLVE: frozenset({NURSE}),
    Area.PRINT_RECORDS: CLINICAL,
    Area.PRINT_CART_SHEET: ALL,
    Area.ADMIN_SCREENS: frozenset({ADMINISTRATOR}),
    Area.AUDIT: frozenset({ADMINISTRATOR}),
    Area.TABLET: ALL,
}

_PLURAL = {MED_TECH: "med techs", NURSE: "nurses", ADMINISTRATOR: "administrators"}


def roles_for(area: Area) -> tuple[str, ...]:
    """The roles that may work in ``area``, in the order of ``ROLES``."""
    return tuple(role for role in ROLES if role in MATRIX[area])


def can(user: User, area: Area) -> bool:
    """Whether the user's role may work in ``area`` at all (no facility asked)."""
    return bool(
        getattr(user, "is_authenticated", False) and user.is_active and user.role in MATRIX[area]
    )


def who(area: Area) -> str:
    """The roles of an area in words, for messages: "nurses and administrators"."""
    names = [_PLURAL[role] for role in ROLES if role in MATRIX[area]]
    return " and ".join(names)


def refusal(user: User, area: Area, what: str | None = None) -> str | None:
    """Why the user may not work in ``area`` (a message a person can act on), or None."""
    if can(user, area):
        return None
    if getattr(user, "is_authenticated", False) and not user.is_active:
        return "This account is deactivated."
    return f"Only {who(area)} can {what or area.value.replace('_', ' ')}."


def require(
    user: User,
    area: Area,
    what: str | None = None,
    *,
    error: type[Exception] = PermissionDenied,
    message: str | None = None,
) -> None:
    """Raise ``error`` (Django's PermissionDenied by default, or a service's domain
    exception) unless the user's role may work in ``area``."""
    if (reason := refusal(user, area, what)) is not None:
        raise error(message or reason)


def admin_site_has_permission(request) -> bool:
    """The Django admin's door (``admin.site.has_permission``): staff status and the
    matrix's admin screens, so a nurse made staff by mistake still stays out."""
    user = request.user
    return bool(user.is_active and user.is_staff and can(user, Area.ADMIN_SCREENS))
