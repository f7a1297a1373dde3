"""Mismatch notification tasks (mismatch triage issue)."""
