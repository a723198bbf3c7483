"""Offline PIN verifiers were PBKDF2 over PINs of 4 to 6 digits and went to every tablet of
the community: a 4-digit PIN fell in about 1.5 core-hours. They are removed, salt and
signing key included, so no such verifier stays on the server or reaches a tablet again.
Each person's PIN (its Argon2 hash) stays only so the app can tell them to set a new one
(User.pin_needs_renewal: a PIN without an Argon2id verifier): it opens nothing meanwhile.
"""

from django.db import migrations


def retire(apps, schema_editor):
    User = apps.get_model("staff", "User")
    User.objects.filter(pin_offline_memory_kib=0).exclude(pin_offline_verifier="").update(
        pin_offline_salt="", pin_offline_iterations=0, pin_offline_verifier="", pin_offline_key=""
    )


class Migration(migrations.Migration):
    dependencies = [
        ("staff", "0008_add_pin_offline_memory"),
    ]

    operations = [
        migrations.RunPython(retire, migrations.RunPython.noop),
    ]
