"""DRF's authtoken app is gone: its tokens were kept in plain text, readable in the admin,
one per person for ever. API tokens are now staff.ApiToken (django-rest-knox digests), so
the old table and its migration records go; every script signs in again for a new token.
"""

from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [
        ("staff", "0006_add_api_token"),
    ]

    operations = [
        migrations.RunSQL(
            sql=[
                "DROP TABLE IF EXISTS authtoken_token",
                "DELETE FROM django_migrations WHERE app = 'authtoken'",
            ],
            reverse_sql=migrations.RunSQL.noop,
        ),
    ]
