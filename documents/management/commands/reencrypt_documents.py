"""``manage.py reencrypt_documents``: re-seal every stored document and fax under the
newest DOCUMENT_ENCRYPTION_KEY (after putting a new key first). Resumable."""

from django.core.management.base import BaseCommand, CommandError
from tqdm import tqdm

from core.exceptions import ServiceError
from documents import crypto
from documents.models import Document, FaxIntake
from documents.services import reseal_stale


class Command(BaseCommand):
    help = "Re-seal stored documents and faxes under the newest document key."

    def handle(self, *args, **options):
        try:
            newest = crypto.newest_fingerprint()
            total = sum(
                model.objects.exclude(key_fingerprint=newest).count()
                for model in (Document, FaxIntake)
            )
            with tqdm(total=total, desc="re-sealing", unit=" files", disable=None) as bar:
                counts = reseal_stale(progress=bar.update)
        except ServiceError as error:
            raise CommandError(error.message) from None
        self.stdout.write(
            f"Re-sealed {counts['document']} document(s) and {counts['faxintake']} fax(es) "
            f"under key {newest}."
        )
