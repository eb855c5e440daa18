from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("hme", "0006_link_claim_lines"),
    ]

    operations = [
        migrations.AddConstraint(
            model_name='claimline',
            constraint=models.CheckConstraint(condition=models.Q(('legacy', True), models.Q(('order_line__isnull', False), ('rental_month__isnull', True)), models.Q(('order_line__isnull', True), ('rental_month__isnull', False)), _connector='OR'), name='claimline_bills_one_item', violation_error_message='A claim line bills a delivered order line or a rental month, exactly one of them.'),
        ),
        migrations.AddConstraint(
            model_name='claimline',
            constraint=models.UniqueConstraint(condition=models.Q(('live', True), ('order_line__isnull', False)), fields=('order_line', 'payer_sequence'), name='claimline_order_line_billed_once', violation_error_message='This delivered item is already billed to this payer.'),
        ),
        migrations.AddConstraint(
            model_name='claimline',
            constraint=models.UniqueConstraint(condition=models.Q(('live', True), ('rental_month__isnull', False)), fields=('rental_month', 'payer_sequence'), name='claimline_rental_month_billed_once', violation_error_message='This rental month is already billed to this payer.'),
        ),
    ]
