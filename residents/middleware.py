"""Show times in the signed-in person's community's time zone."""

import zoneinfo

from django.conf import settings
from django.utils import timezone

from residents.selectors import facilities_for_user

SESSION_KEY = "facility_time_zone"


class FacilityTimeZoneMiddleware:
    """Show times in the signed-in user's facility's zone (stored times stay UTC).

    The zone is read once per session; a user of several facilities sees the first
    one's zone on shared pages, and pages about one resident use that resident's.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if request.user.is_authenticated:
            name = request.session.get(SESSION_KEY)
            if name is None:
                facility = facilities_for_user(user=request.user).order_by("name", "id").first()
                name = facility.time_zone if facility else settings.DEFAULT_FACILITY_TIME_ZONE
                request.session[SESSION_KEY] = name
            timezone.activate(zoneinfo.ZoneInfo(name))
        else:
            timezone.deactivate()
        return self.get_response(request)
