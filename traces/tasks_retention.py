"""Retention task for Celery beat (traces issue)."""
