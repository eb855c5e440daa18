"""Roles are Django groups; this table says which permissions each one holds.

Patterns are ``app_label.codename`` with shell wildcards, so an app added later is
covered by the line that names its label (``"clinical.*"``). The groups are created by
migration ``accounts.0002_roles``; their permissions are (re)attached after every
``migrate`` and by ``manage.py sync_roles``.
"""

from fnmatch import fnmatchcase

from .choices import Role

VIEW_ALL = "*.view_*"

ROLE_PERMISSIONS = {
    Role.ADMINISTRATOR: [
        VIEW_ALL,
        "accounts.change_company",
        "accounts.*_location",
        "accounts.*_membership",
        "accounts.*_user",
        "clinical.*",
        "dme.*",
        "hme.*",
        # Integrators' webhooks (core.events): subscribe, replay dead letters.
        "core.*_webhooksubscription",
        "core.*_webhookdelivery",
        "documents.*",
        # PAP adherence (docs/domain/adherence.md): imports, statuses.
        "adherence.*",
        "resupply.*",
    ],
    Role.INTAKE: [
        "accounts.view_location",
        "clinical.*_patient",
        "clinical.*_provider",
        "clinical.*_appointment",
        "clinical.*_diagnosis",
        "clinical.view_*",
        "dme.view_*",
        "dme.add_order",
        "dme.change_order",
        "dme.*_orderline",
        "hme.view_*",
        "hme.*_coverage",
        "hme.*_authorization",
        # Files orders and faxes, sends orders for e-signature.
        "documents.view_*",
        "documents.add_document",
        "documents.change_document",
        "documents.*_faxintake",
        "documents.add_signingrequest",
        # The resupply outreach: calls the patients, records confirmations, orders.
        "resupply.view_*",
        "resupply.*_resupplyrequest",
        "resupply.*_resupplycontact",
    ],
    Role.CLINICIAN: [
        "accounts.view_location",
        "clinical.*",
        "dme.view_*",
        "hme.view_coverage",
        "hme.view_authorization",
        "documents.view_document",
        "documents.add_document",
        # Imports the devices' usage exports and follows adherence up.
        "adherence.*",
    ],
    Role.WAREHOUSE: [
        "accounts.view_location",
        "clinical.view_patient",
        "dme.*",
        # Proofs of delivery.
        "documents.view_document",
        "documents.add_document",
    ],
    Role.BILLING: [
        "accounts.view_location",
        "clinical.view_*",
        "dme.view_*",
        "hme.*",
        # Claim attachments, audit packets and legal holds on claims.
        "documents.view_*",
        "documents.add_document",
        "documents.change_document",
        "documents.*_legalhold",
        # Adherence decides KX on PAP months 4 on.
        "adherence.view_*",
        # Company replacement schedules per payer; the worklist (read).
        "resupply.view_*",
        "resupply.*_replacementrule",
    ],
    # Read-only over everything, including the audit trail and the PHI access log.
    Role.AUDITOR: [VIEW_ALL],
}

# Never granted through a role: operators' business (superusers).
OPERATOR_ONLY = ["auth.*", "contenttypes.*", "sessions.*", "admin.*", "accounts.add_company"]


def group_name(role):
    return Role(role).label


def permissions_for(role, permissions):
    """The subset of ``permissions`` (Permission objects) that ``role`` holds."""
    patterns = ROLE_PERMISSIONS[Role(role)]
    chosen = []
    for permission in permissions:
        name = f"{permission.content_type.app_label}.{permission.codename}"
        if any(fnmatchcase(name, pattern) for pattern in OPERATOR_ONLY):
            continue
        if any(fnmatchcase(name, pattern) for pattern in patterns):
            chosen.append(permission)
    return chosen


def sync_roles(using="default"):
    """Create the role groups and set each one's permissions to the table above.

    Returns ``{group name: number of permissions}``.
    """
    from django.contrib.auth.models import Group, Permission

    permissions = list(Permission.objects.using(using).select_related("content_type"))
    counts = {}
    for role in Role:
        group, _ = Group.objects.using(using).get_or_create(name=group_name(role))
        chosen = permissions_for(role, permissions)
        group.permissions.set(chosen)
        counts[group.name] = len(chosen)
    return counts


def sync_roles_after_migrate(sender, using="default", **kwargs):
    """post_migrate fires once per app that has models, in INSTALLED_APPS order, and
    each app's permissions are created by its own signal: act once, after the last of
    them. (An app without models gets no signal: when ``cockpit``, last in
    INSTALLED_APPS, had none, waiting for it left every role without permissions. It
    now has the dashboard snapshot; the rule holds either way.)"""
    from django.apps import apps

    with_models = [config for config in apps.get_app_configs() if config.models_module]
    if sender.label == with_models[-1].label:
        sync_roles(using=using)
