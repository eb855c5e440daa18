"""Every status and kind of the DME app."""

from django.db import models


class EquipmentCategory(models.TextChoices):
    CPAP_BIPAP = "cpap_bipap", "CPAP / BiPAP"
    RESPIRATORY_SUPPLIES = "respiratory_supplies", "CPAP/BiPAP supplies (masks, tubing, filters)"
    OXYGEN = "oxygen", "Oxygen"
    NEBULIZER = "nebulizer", "Nebulizer"
    MOBILITY = "mobility", "Mobility (wheelchairs, walkers, scooters)"
    HOSPITAL_BED = "hospital_bed", "Hospital bed"
    SUPPORT_SURFACE = "support_surface", "Pressure-reducing support surface"
    WOUND_CARE = "wound_care", "Wound care"
    DIABETIC_SUPPLIES = "diabetic_supplies", "Diabetic supplies"
    ORTHOTICS = "orthotics", "Orthotics and braces"
    ENTERAL = "enteral", "Enteral nutrition"
    OTHER = "other", "Other"


class BillingKind(models.TextChoices):
    """How Medicare pays for the item (42 CFR 414 subpart D payment categories)."""

    PURCHASE = "purchase", "Purchase"
    # Items needing frequent and substantial servicing: rented for as long as needed.
    RENTAL = "rental", "Rental (no cap)"
    CAPPED_RENTAL = "capped_rental", "Capped rental (13 months)"
    OXYGEN_RENTAL = "oxygen_rental", "Oxygen rental (36 months)"
    SUPPLY = "supply", "Supply"


# Billing kinds that may be rented, and the number of paid months after which the
# rental is capped (None: never capped).
RENTAL_CAP_MONTHS = {
    BillingKind.RENTAL: None,
    BillingKind.CAPPED_RENTAL: 13,
    BillingKind.OXYGEN_RENTAL: 36,
}
# Oxygen is rental-only under Medicare; supplies are never rented.
PURCHASABLE_BILLING_KINDS = (BillingKind.PURCHASE, BillingKind.CAPPED_RENTAL, BillingKind.SUPPLY)


class AssetStatus(models.TextChoices):
    IN_STOCK = "in_stock", "In stock"
    RESERVED = "reserved", "Reserved for an order"
    WITH_PATIENT = "with_patient", "With patient"
    IN_MAINTENANCE = "in_maintenance", "In maintenance"
    RETIRED = "retired", "Retired"
    # The unit's whole life (issue 20): see dme.transitions.UNIT_LIFE_TRANSITIONS.
    IN_TRANSIT = "in_transit", "In transit between our locations"
    ON_LOAN = "on_loan", "On loan"
    SOLD = "sold", "Sold (title passed or purchased)"
    LOST = "lost", "Lost"
    JUNKED = "junked", "Junked"
    TRANSFERRED_OUT = "transferred_out", "Transferred out of the company"
    # A capped-rental unit whose title passed to the patient after 13 paid months
    # (42 CFR 414.229(f)(2)): the patient's property, out of the rentable fleet.
    PATIENT_OWNED = "patient_owned", "Patient-owned (title passed)"


class MaintenanceKind(models.TextChoices):
    CLEANING = "cleaning", "Cleaning and disinfection"
    INSPECTION = "inspection", "Inspection"
    PREVENTIVE = "preventive", "Preventive maintenance"
    REPAIR = "repair", "Repair"
    RETURN = "return", "Returned from patient"
    OTHER = "other", "Other"


class OrderStatus(models.TextChoices):
    RECEIVED = "received", "Received"
    VERIFIED = "verified", "Verified"
    CONFIRMED = "confirmed", "Confirmed (stock reserved)"
    SCHEDULED = "scheduled", "Delivery scheduled"
    DELIVERED = "delivered", "Delivered"
    CANCELLED = "cancelled", "Cancelled"


class LineKind(models.TextChoices):
    """Whether an order line is sold or rented to the patient."""

    PURCHASE = "purchase", "Purchase"
    RENTAL = "rental", "Rental"
    # The kinds the legacy system (DMEWorks) billed too (issue 20); their billing rules
    # are in hme/services/line_kinds.py, documented in docs/domain/dme.md "Line kinds".
    ONE_TIME_RENTAL = "one_time_rental", "One-time rental (billed once)"
    RENT_TO_PURCHASE = "rent_to_purchase", "Rent to purchase (months credited)"
    RECURRING_SALE = "recurring_sale", "Recurring sale"


# Line kinds that rent the item (a Rental starts at delivery; RR modifier) and those
# that sell it (NU or UE), issue 20.
RENTED_LINE_KINDS = (LineKind.RENTAL, LineKind.ONE_TIME_RENTAL, LineKind.RENT_TO_PURCHASE)
SOLD_LINE_KINDS = (LineKind.PURCHASE, LineKind.RECURRING_SALE)


# The pricing modifier a DME line must carry (docs/domain/dme.md).
RENTAL_MODIFIER = "RR"
PURCHASE_MODIFIERS = ("NU", "UE")


class DeliveryMethod(models.TextChoices):
    DRIVER = "driver", "Our driver"
    SHIPPED = "shipped", "Shipped by carrier"


class DeliveryStatus(models.TextChoices):
    SCHEDULED = "scheduled", "Scheduled"
    DELIVERED = "delivered", "Delivered"
    CANCELLED = "cancelled", "Cancelled"


class SignerRelationship(models.TextChoices):
    """Who signed the proof of delivery. Supplier staff are never a designee, so
    they are not a choice (and the service refuses staff names)."""

    PATIENT = "patient", "Patient (self)"
    SPOUSE = "spouse", "Spouse or partner"
    PARENT = "parent", "Parent"
    CHILD = "child", "Son or daughter"
    SIBLING = "sibling", "Brother or sister"
    OTHER_RELATIVE = "other_relative", "Other relative"
    FRIEND = "friend", "Friend or neighbour"
    CAREGIVER = "caregiver", "Caregiver (not supplier staff)"
    LEGAL_GUARDIAN = "legal_guardian", "Legal guardian"
    POWER_OF_ATTORNEY = "power_of_attorney", "Power of attorney"
    FACILITY_STAFF = "facility_staff", "Nursing or care facility staff"


class RentalStatus(models.TextChoices):
    ACTIVE = "active", "Active"
    # Capped rental: title passed to the patient after 13 paid months. Oxygen: 36 paid
    # months reached; the supplier still owns and maintains the equipment.
    CAPPED = "capped", "Purchased / capped"
    RETURNED = "returned", "Returned"


# Purchasing, receiving, transfers, counts (issue 20) ---------------------------------


class PurchaseOrderStatus(models.TextChoices):
    DRAFT = "draft", "Draft"
    SENT = "sent", "Sent to the vendor"
    PARTLY_RECEIVED = "partly_received", "Partly received (rest backordered)"
    RECEIVED = "received", "Received"
    CANCELLED = "cancelled", "Cancelled"


class TransferStatus(models.TextChoices):
    DRAFT = "draft", "Draft"
    IN_TRANSIT = "in_transit", "In transit"
    RECEIVED = "received", "Received"
    CANCELLED = "cancelled", "Cancelled"


class CountSheetStatus(models.TextChoices):
    OPEN = "open", "Open (counting)"
    POSTED = "posted", "Posted"
    CANCELLED = "cancelled", "Cancelled"


class MovementKind(models.TextChoices):
    """What moved stock, in the movement ledger (``dme.StockMovement``)."""

    RECEIPT = "receipt", "Received from a vendor"
    TRANSFER_OUT = "transfer_out", "Shipped to another location"
    TRANSFER_IN = "transfer_in", "Received from another location"
    COUNT = "count", "Cycle count adjustment"
    UNIT_STATUS = "unit_status", "Unit status change"
