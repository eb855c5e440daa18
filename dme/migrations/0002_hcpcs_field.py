# The catalogue's HCPCS code becomes core.fields.HCPCSCodeField (the one HCPCS field,
# shared with hme.ClaimLine.hcpcs). The column does not change (varchar(5)); codes
# saved before in another case or with spaces are normalised, so the field's lookups
# (which normalise their value) find them.

import core.fields
from django.db import migrations
from django.db.models.functions import Trim, Upper


def normalise_codes(apps, schema_editor):
    Equipment = apps.get_model('dme', 'Equipment')
    Equipment.objects.exclude(hcpcs_code=Upper(Trim('hcpcs_code'))).update(
        hcpcs_code=Upper(Trim('hcpcs_code'))
    )


class Migration(migrations.Migration):

    dependencies = [
        ('dme', '0001_initial'),
    ]

    operations = [
        migrations.AlterField(
            model_name='equipment',
            name='hcpcs_code',
            field=core.fields.HCPCSCodeField(help_text='HCPCS Level II: one letter and four digits, as E0601.', verbose_name='HCPCS code'),
        ),
        migrations.RunPython(normalise_codes, migrations.RunPython.noop, elidable=True),
    ]
