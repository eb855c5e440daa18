# A claim line's HCPCS code becomes core.fields.HCPCSCodeField (the one HCPCS field,
# shared with dme.Equipment.hcpcs_code). The column does not change (varchar(5));
# codes saved before in another case or with spaces are normalised, so the field's
# lookups (which normalise their value) find them.

import core.fields
from django.db import migrations
from django.db.models.functions import Trim, Upper


def normalise_codes(apps, schema_editor):
    ClaimLine = apps.get_model('hme', 'ClaimLine')
    ClaimLine.objects.exclude(hcpcs=Upper(Trim('hcpcs'))).update(hcpcs=Upper(Trim('hcpcs')))


class Migration(migrations.Migration):

    dependencies = [
        ('hme', '0003_claim_denial_index_partial'),
    ]

    operations = [
        migrations.AlterField(
            model_name='claimline',
            name='hcpcs',
            field=core.fields.HCPCSCodeField(verbose_name='HCPCS'),
        ),
        migrations.RunPython(normalise_codes, migrations.RunPython.noop, elidable=True),
    ]
