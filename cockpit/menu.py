"""The admin menu grouped by the work, declared once.

Each model goes to the first group that names it (``"app_label.model"``); a model no
group names goes to the group of its app (``apps``), so the models other apps add later
(purchasing in dme, EDI batches in hme, a new ``documents`` app) appear in the group of
their work without editing this table; an app nobody names gets a group of its own,
after these, under its own verbose name.
"""

from dataclasses import dataclass


@dataclass(frozen=True)
class Group:
    slug: str
    name: str
    models: tuple[str, ...] = ()
    apps: tuple[str, ...] = ()
    # Operators' tables (periodic tasks, backups, data-quality runs): superusers only.
    operators_only: bool = False


MENU: tuple[Group, ...] = (
    Group(
        "patients",
        "Patients",
        models=(
            "clinical.patient",
            "hme.coverage",
            "hme.authorization",
            "clinical.provider",
            "clinical.appointment",
            "clinical.diagnosis",
            "clinical.medicalrecord",
            "clinical.biometricalert",
        ),
        apps=("clinical", "documents"),
    ),
    Group(
        "orders",
        "Orders & deliveries",
        models=("dme.order", "dme.delivery", "dme.rental"),
    ),
    Group(
        "billing",
        "Billing",
        models=("hme.claim", "hme.payment", "hme.payer"),
        apps=("hme",),
    ),
    Group(
        "inventory",
        "Inventory",
        models=("dme.equipment", "dme.stocklevel", "dme.asset", "dme.maintenancerecord"),
        apps=("dme",),
    ),
    Group(
        "operations",
        "Operations (operators)",
        models=(
            "core.backup",
            "core.dataqualityrun",
            "core.dataqualityfinding",
        ),
        apps=("django_celery_beat",),
        operators_only=True,
    ),
    Group(
        "administration",
        "Administration",
        models=("accounts.user", "accounts.membership", "accounts.company", "accounts.location"),
        apps=(
            "accounts",
            "core",
            "auth",
            "auditlog",
            "axes",
            "otp_totp",
            "otp_static",
            "token_blacklist",
        ),
    ),
)


def group_of(label: str) -> Group | None:
    """The group of a model (``"app_label.model"``), or None (its app's own group)."""
    for group in MENU:
        if label in group.models:
            return group
    app_label = label.split(".", 1)[0]
    for group in MENU:
        if app_label in group.apps:
            return group
    return None
