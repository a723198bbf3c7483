"""Existing accounts with a generic username (admin, nurse, ...) become shared accounts,
before the constraint that only a shared account may carry such a name."""

from django.db import migrations

# A copy, not an import: a migration must not change when the model's list does.
GENERIC_USERNAME_REGEX = (
    r"^(admin|administrator|root|superuser|system|nurse|nurses|rn|lpn|tech|medtech|med_tech"
    r"|cma|aide|staff|user|users|shared|test|tester|demo|guest|temp|cart|tablet|kiosk"
    r"|frontdesk|office|night|day|evening|shift|team|everyone|all)$"
)


def flag_generic_accounts(apps, schema_editor):
    User = apps.get_model("staff", "User")
    User.objects.filter(username__iregex=GENERIC_USERNAME_REGEX).update(is_shared_account=True)


class Migration(migrations.Migration):
    dependencies = [("staff", "0003_add_is_shared_account")]

    operations = [migrations.RunPython(flag_generic_accounts, migrations.RunPython.noop)]
