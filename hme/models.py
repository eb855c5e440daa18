"""Payers, coverage, prior authorization, claims, payments and denials."""
