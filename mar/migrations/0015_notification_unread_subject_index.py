# Settling the notifications about something handled finds the unread ones by subject.

from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ("mar", "0014_notification_kind_dose_held"),
    ]

    operations = [
        migrations.AddIndex(
            model_name="notification",
            index=models.Index(
                condition=models.Q(("read_at__isnull", True)),
                fields=["subject_key"],
                name="notification_unread_subject",
            ),
        ),
    ]
