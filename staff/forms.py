from django import forms

_PIN_ATTRS = {
    "inputmode": "numeric",
    "pattern": "[0-9]*",
    "maxlength": "8",
    "autocomplete": "off",
    "class": "pin-input",
}


class PinForm(forms.Form):
    """Set or change one's own PIN. The rules are in staff.services.pin_validate."""

    pin = forms.CharField(
        label="New PIN",
        strip=True,
        widget=forms.PasswordInput(attrs=_PIN_ATTRS),
        help_text="6 to 8 digits. Not one digit repeated (111111) or a run (123456, 654321).",
        error_messages={"required": "Type the PIN you want, 6 to 8 digits."},
    )
    pin_again = forms.CharField(
        label="New PIN again",
        strip=True,
        widget=forms.PasswordInput(attrs=_PIN_ATTRS),
        error_messages={"required": "Type the same PIN again."},
    )
    password = forms.CharField(
        label="Your password",
        strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "current-password"}),
        help_text="The password you sign in with, to show it is you.",
        error_messages={"required": "Type your password, to show it is you."},
    )


class UnlockForm(forms.Form):
    """A PIN typed on the lock screen for one of the people listed there."""

    user = forms.UUIDField(error_messages={"required": "Tap your name first, then your PIN."})
    pin = forms.CharField(
        strip=True, max_length=12, error_messages={"required": "Enter your PIN, then Unlock."}
    )
    next = forms.CharField(required=False)
