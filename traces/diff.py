"""Structural diff of JSON values: the one implementation lives in the SDK (`aos_sdk.diff`).

Used by replay (diff of expected vs actual output) and trace compare; `aos diff` in the SDK
computes the same diff locally.
"""

from aos_sdk.diff import MISSING, structural_diff

__all__ = ["MISSING", "structural_diff"]
