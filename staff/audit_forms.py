"""The audit trail search of the administrator's screens."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

from django import forms
from django.utils import timezone

from medtech.models import AuditEvent
from residents.models import Resident
from staff.models import User


class AuditSearchForm(forms.Form):
    """Who, which resident, which days (in the current time zone), what kind. People and
    residents are offered from the administrator's own communities only, so another
    community's ids are not valid choices."""

    user = forms.ModelChoiceField(
        queryset=User.objects.none(), required=False, to_field_name="public_id", label="Who"
    )
    resident = forms.ModelChoiceField(
        queryset=Resident.objects.none(), required=False, to_field_name="public_id"
    )
    kind = forms.ChoiceField(
        choices=[("", "Any"), *AuditEvent.Kind.choices], required=False, label="What"
    )
    occurred_from = forms.DateField(
        required=False, label="From", widget=forms.DateInput(attrs={"type": "date"})
    )
    occurred_to = forms.DateField(
        required=False, label="To (inclusive)", widget=forms.DateInput(attrs={"type": "date"})
    )

    def __init__(self, *args, facility_ids: Sequence[int], **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.fields["user"].queryset = (
            User.objects.filter(memberships__facility_id__in=facility_ids)
            .distinct()
            .order_by("last_name", "first_name", "id")
        )
        self.fields["user"].label_from_instance = lambda u: (
            f"{u.get_full_name() or u.username} ({u.username})"
        )
        self.fields["resident"].queryset = Resident.objects.filter(
            facility_id__in=facility_ids
        ).order_by("last_name", "first_name", "id")
        self.fields["resident"].label_from_instance = lambda r: r.display_name

    def clean(self) -> dict:
        data = super().clean()
        start, end = data.get("occurred_from"), data.get("occurred_to")
        if start and end and end < start:
            self.add_error("occurred_to", "The end date is before the start date.")
        return data

    def search_arguments(self) -> dict:
        """Keyword arguments for ``medtech.core.audit.audit_events_search``."""
        data = self.cleaned_data
        return {
            "actor_id": data["user"].pk if data.get("user") else None,
            "resident_id": data["resident"].pk if data.get("resident") else None,
            "kind": data.get("kind") or None,
            "occurred_from": _start_of(data.get("occurred_from")),
            "occurred_until": _start_of(
                data["occurred_to"] + dt.timedelta(days=1) if data.get("occurred_to") else None
            ),
        }


def _start_of(day: dt.date | None) -> dt.datetime | None:
    if day is None:
        return None
    return dt.datetime.combine(day, dt.time.min, tzinfo=timezone.get_current_timezone())
