"""Patients, prescribers and what is known about them clinically."""
