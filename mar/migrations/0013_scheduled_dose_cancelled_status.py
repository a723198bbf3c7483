# A dose no longer owed (its order held or discontinued before it was missed) is
# cancelled, never missed.

from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ("mar", "0012_order_acknowledgements_and_allergy_conflict"),
    ]

    operations = [
        migrations.RemoveConstraint(
            model_name="scheduleddose",
            name="scheduled_dose_status_valid",
        ),
        migrations.AlterField(
            model_name="scheduleddose",
            name="status",
            field=models.CharField(
                choices=[
                    ("pending", "Not charted"),
                    ("charted", "Charted"),
                    ("missed", "Missed"),
                    ("away", "Resident away"),
                    ("cancelled", "Cancelled (order stopped)"),
                ],
                default="pending",
                max_length=10,
            ),
        ),
        migrations.AddConstraint(
            model_name="scheduleddose",
            constraint=models.CheckConstraint(
                condition=models.Q(
                    ("status__in", ["pending", "charted", "missed", "away", "cancelled"])
                ),
                name="scheduled_dose_status_valid",
            ),
        ),
    ]
