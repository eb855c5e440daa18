"""Every documents test stores its sealed files and inbox under a temporary folder
(``documents_storage``, tests/conftest.py)."""

import pytest


@pytest.fixture(autouse=True)
def _documents_under_tmp(documents_storage):
    return documents_storage
