"""The global replacement schedule of PAP supplies: the usual maximum quantities of
LCD L33718 "Positive Airway Pressure (PAP) Devices for the Treatment of Obstructive
Sleep Apnea" and its policy article A52467 (PAP supplies utilization table).
Companies override them (all payers or one) in the admin. Reversible: removes the
global rows only."""

from django.db import migrations

SOURCE = "LCD L33718 / policy article A52467 (PAP supplies, usual maximum quantities)"
# (HCPCS, description, quantity, per months)
DEFAULTS = [
    ("A4604", "Tubing with integrated heating element", 1, 3),
    ("A7027", "Combination oral/nasal mask", 1, 3),
    ("A7028", "Oral cushion for combination mask", 2, 1),
    ("A7029", "Nasal pillows for combination mask", 2, 1),
    ("A7030", "Full face mask", 1, 3),
    ("A7031", "Face mask interface (full face mask cushion)", 1, 1),
    ("A7032", "Cushion for nasal mask interface", 2, 1),
    ("A7033", "Pillow for nasal cannula interface", 2, 1),
    ("A7034", "Nasal interface (mask or cannula), with or without head strap", 1, 3),
    ("A7035", "Headgear", 1, 6),
    ("A7036", "Chinstrap", 1, 6),
    ("A7037", "Tubing", 1, 3),
    ("A7038", "Filter, disposable", 2, 1),
    ("A7039", "Filter, non-disposable", 1, 6),
    ("A7046", "Water chamber for humidifier, replacement", 1, 6),
]


def create_rules(apps, schema_editor):
    ReplacementRule = apps.get_model("resupply", "ReplacementRule")
    db = schema_editor.connection.alias
    for code, description, quantity, months in DEFAULTS:
        ReplacementRule.objects.using(db).get_or_create(
            company=None,
            payer=None,
            hcpcs_code=code,
            defaults={
                "description": description,
                "quantity": quantity,
                "months": months,
                "source": SOURCE,
            },
        )


def remove_rules(apps, schema_editor):
    ReplacementRule = apps.get_model("resupply", "ReplacementRule")
    ReplacementRule.objects.using(schema_editor.connection.alias).filter(
        company=None, payer=None, hcpcs_code__in=[row[0] for row in DEFAULTS]
    ).delete()


class Migration(migrations.Migration):
    dependencies = [("resupply", "0001_initial")]

    operations = [migrations.RunPython(create_rules, remove_rules)]
