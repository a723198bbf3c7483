"""Forms of the administrator's staff screens; the rules are in staff.manage_services."""

from __future__ import annotations

from django import forms

from residents.models import Facility
from staff.manage_services import DOCUMENT_MAX_BYTES
from staff.models import Certification, User

DATE = forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")


class UserCreateForm(forms.Form):
    first_name = forms.CharField(max_length=150)
    last_name = forms.CharField(max_length=150)
    username = forms.CharField(max_length=150, help_text="What they sign in with.")
    email = forms.EmailField(required=False)
    role = forms.ChoiceField(choices=User.Role.choices)
    title = forms.CharField(max_length=60, required=False, help_text="e.g. CMA, RN, LPN")
    initials = forms.CharField(
        max_length=4,
        help_text="On the MAR: unique in each community, e.g. MS or MS2.",
        widget=forms.TextInput(attrs={"autocapitalize": "characters"}),
    )
    facilities = forms.ModelMultipleChoiceField(
        queryset=Facility.objects.none(),
        widget=forms.CheckboxSelectMultiple,
        label="Works in",
    )
    password = forms.CharField(
        strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
        label="First password",
        help_text="Give it to them in person; they set their PIN after signing in.",
    )

    def __init__(self, *args, facilities, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.fields["facilities"].queryset = facilities
        if len(facilities) == 1:
            self.fields["facilities"].initial = [facilities[0].pk]


class CertificationForm(forms.Form):
    kind = forms.ChoiceField(choices=Certification.Kind.choices, label="Certification")
    number = forms.CharField(max_length=60)
    state = forms.CharField(max_length=2, min_length=2, help_text="Two letters, e.g. IL")
    issued_on = forms.DateField(widget=DATE)
    expires_on = forms.DateField(widget=DATE)
    document = forms.FileField(
        required=False,
        label="Copy of the certificate",
        help_text="PDF, JPEG or PNG, up to 5 MB.",
        widget=forms.ClearableFileInput(attrs={"accept": "application/pdf,image/jpeg,image/png"}),
    )

    def clean_document(self):
        document = self.cleaned_data.get("document")
        if document and document.size > DOCUMENT_MAX_BYTES:
            raise forms.ValidationError("The copy is larger than 5 MB.")
        return document


class DeactivateForm(forms.Form):
    reason = forms.CharField(max_length=300, label="Why", widget=forms.TextInput())
    confirm = forms.BooleanField(
        label="End their sessions and tokens now",
        error_messages={"required": "Tick to confirm."},
    )
