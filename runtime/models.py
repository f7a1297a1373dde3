"""Runtime has no models of its own: idempotency records are `aosproject.models` (decision 0031)."""
