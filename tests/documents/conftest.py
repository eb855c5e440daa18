"""Every documents test stores its sealed files and inbox under a temporary folder."""

import pytest


@pytest.fixture(autouse=True)
def documents_storage(settings, tmp_path):
    settings.STORAGES = {
        **settings.STORAGES,
        "documents": {
            "BACKEND": "django.core.files.storage.FileSystemStorage",
            "OPTIONS": {"location": str(tmp_path / "documents")},
        },
    }
    settings.FAX_INBOX_DIR = tmp_path / "fax-inbox"
    return tmp_path / "documents"
