"""Plain forms for the clinical writes of the med pass. They parse; the services decide."""

from __future__ import annotations

import datetime as dt
import uuid
from zoneinfo import ZoneInfo

from django import forms

from mar.models import Administration, EffectivenessCheck, Order, Vital
from residents.models import ConcernReport

NOT_GIVEN_CHOICES = [
    (value, label)
    for value, label in Administration.Status.choices
    if value != Administration.Status.GIVEN
]


def new_idempotency_key() -> str:
    return str(uuid.uuid4())


def local_time_to_instant(clock: dt.time, *, zone: ZoneInfo, now: dt.datetime) -> dt.datetime:
    """The most recent moment (not after now) at which the wall clock showed ``clock``."""
    local_now = now.astimezone(zone)
    candidate = dt.datetime.combine(local_now.date(), clock, tzinfo=zone)
    if candidate > local_now + dt.timedelta(minutes=5):
        candidate -= dt.timedelta(days=1)
    return candidate.astimezone(dt.UTC)


class VitalsMixin(forms.Form):
    """One number field per vital the order requires."""

    def add_vital_fields(self, order: Order) -> None:
        for name in order.required_vitals:
            self.fields[f"vital_{name}"] = forms.DecimalField(
                label=Vital(name).label,
                required=False,
                max_digits=6,
                decimal_places=1,
                widget=forms.NumberInput(attrs={"inputmode": "decimal", "step": "any"}),
            )

    def vitals(self) -> dict[str, str]:
        return {
            name.removeprefix("vital_"): str(value)
            for name, value in self.cleaned_data.items()
            if name.startswith("vital_") and value is not None
        }


class ChartForm(VitalsMixin):
    idempotency_key = forms.CharField(max_length=100, widget=forms.HiddenInput)
    status = forms.ChoiceField(choices=Administration.Status.choices, widget=forms.HiddenInput)
    given_at = forms.TimeField(
        required=False,
        label="Given at (only if not just now)",
        widget=forms.TimeInput(attrs={"type": "time"}),
    )
    scanned_code = forms.CharField(
        required=False,
        max_length=60,
        label="Scan to verify (optional)",
        widget=forms.TextInput(
            attrs={"autocomplete": "off", "inputmode": "none", "autocapitalize": "off"}
        ),
    )
    reason = forms.CharField(required=False, max_length=500, label="Why not given")
    note = forms.CharField(
        required=False, max_length=2000, widget=forms.Textarea(attrs={"rows": 2}), label="Note"
    )

    def __init__(self, *args, order: Order, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.add_vital_fields(order)


class PrnForm(VitalsMixin):
    idempotency_key = forms.CharField(max_length=100, widget=forms.HiddenInput)
    prn_reason = forms.CharField(
        max_length=500,
        label="Reason for this dose",
        widget=forms.TextInput(attrs={"autocomplete": "off"}),
    )
    given_at = forms.TimeField(
        required=False,
        label="Given at (only if not just now)",
        widget=forms.TimeInput(attrs={"type": "time"}),
    )
    scanned_code = forms.CharField(required=False, max_length=60, label="Scan to verify (optional)")
    note = forms.CharField(
        required=False, max_length=2000, widget=forms.Textarea(attrs={"rows": 2}), label="Note"
    )

    def __init__(self, *args, order: Order, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.add_vital_fields(order)


class UndoForm(forms.Form):
    reason = forms.CharField(max_length=500, label="Why was it entered in error?")


class EffectivenessForm(forms.Form):
    result = forms.ChoiceField(
        choices=EffectivenessCheck.Result.choices, widget=forms.RadioSelect, label="Result"
    )
    note = forms.CharField(
        required=False, max_length=2000, widget=forms.Textarea(attrs={"rows": 2}), label="Note"
    )


class ConcernForm(forms.Form):
    kind = forms.ChoiceField(choices=ConcernReport.Kind.choices, widget=forms.RadioSelect)
    description = forms.CharField(
        max_length=4000, widget=forms.Textarea(attrs={"rows": 4}), label="What did you see?"
    )
    observed_at = forms.TimeField(
        required=False,
        label="When (leave empty for just now)",
        widget=forms.TimeInput(attrs={"type": "time"}),
    )
    administration = forms.UUIDField(required=False, widget=forms.HiddenInput)
