"""Sample module skipped as a whole at collection time (see sample_checkout.py)."""

import pytest

pytest.skip("invoicing v2 not released", allow_module_level=True)


def test_it_never_runs():
    raise AssertionError("skipped module ran")
