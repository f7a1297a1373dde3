"""Admin for traces; the mismatch triage admin lives in `traces/admin_mismatches.py`."""

from traces import admin_mismatches  # noqa: F401  (registers the mismatch admin)
