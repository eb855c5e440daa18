from django.apps import AppConfig


class DocumentsConfig(AppConfig):
    name = "documents"
    verbose_name = "Documents: files, fax intake, e-signature, retention"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self):
        from . import audit  # noqa: F401  (registers the models with auditlog)
        from .admin_hooks import install_admin_hooks
        from .notifications import register_templates

        register_templates()

        # The patient, order and claim pages of the floors below get their documents
        # panel and actions from here: those apps never import this one.
        install_admin_hooks()
        try:
            from hme.readiness import register_check
        except ImportError:  # the readiness registry is not in this build
            pass
        else:
            from .services import register_readiness_checks

            register_readiness_checks(register_check)
        try:
            from hme.edi.data import register_attachment_provider
        except ImportError:  # the 837P builder is not in this build
            pass
        else:
            register_attachment_provider(pwk_attachments)


def pwk_attachments(claim):
    """The 837P builder's attachment provider: the claim's documents sent by fax or
    mail, as its PWK segments (``documents.services.attachments_for_claim``)."""
    from hme.edi.x837 import Attachment

    from .services import attachments_for_claim

    return [Attachment(*found) for found in attachments_for_claim(claim)]
