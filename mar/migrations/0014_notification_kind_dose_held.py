# A dose held for a hold parameter alerts the nurses.

from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ("mar", "0013_scheduled_dose_cancelled_status"),
    ]

    operations = [
        migrations.AlterField(
            model_name="notification",
            name="kind",
            field=models.CharField(
                choices=[
                    ("dose_due", "Dose due"),
                    ("dose_missed", "Dose missed"),
                    ("prn_followup", "PRN follow-up due"),
                    ("order_verification", "Order awaiting verification"),
                    ("certification_expiring", "Certification expiring"),
                    ("concern_reported", "Concern reported"),
                    ("charting_conflict", "Charting conflict"),
                    ("followup_overdue", "Follow-up overdue"),
                    ("count_discrepancy", "Count discrepancy"),
                    ("low_stock", "Low stock"),
                    ("expiring_stock", "Expiring stock"),
                    ("override_requested", "Nurse override asked"),
                    ("allergy_conflict", "New allergy matches an order"),
                    ("dose_held", "Dose held for a hold parameter"),
                ],
                max_length=24,
            ),
        ),
    ]
