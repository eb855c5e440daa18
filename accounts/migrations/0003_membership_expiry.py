from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("accounts", "0002_roles"),
    ]

    operations = [
        migrations.AddField(
            model_name="membership",
            name="expires_on",
            field=models.DateField(
                blank=True,
                help_text="Last day the role applies (a temporary or contract worker). Leave "
                "empty for no end.",
                null=True,
                verbose_name="expires on",
            ),
        ),
    ]
