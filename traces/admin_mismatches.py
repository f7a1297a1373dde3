"""Mismatch triage admin (mismatch triage issue)."""
