"""AOS Control Plane SDK: hashing shared with the server, trace builder, client and CLI."""

from aos_sdk.hashing import (
    H,
    canonical,
    input_hash,
    normalise_plan,
    output_hash,
    plan_hash,
    root_hash,
    root_next,
    root_zero,
    step_hash,
)

__all__ = [
    "H",
    "canonical",
    "input_hash",
    "normalise_plan",
    "output_hash",
    "plan_hash",
    "root_hash",
    "root_next",
    "root_zero",
    "step_hash",
]
__version__ = "0.1.0"
