"""``manage.py process_fax_inbox``: what the periodic task does, on demand."""

from django.core.management.base import BaseCommand

from documents.services import process_pending


class Command(BaseCommand):
    help = "Take in the fax inbox folder and OCR the waiting faxes."

    def handle(self, *args, **options):
        counts = process_pending()
        self.stdout.write(
            "Fax inbox: {received} received, {refused} refused, {recognised} recognised, "
            "{failed} OCR failure(s).".format(**counts)
        )
