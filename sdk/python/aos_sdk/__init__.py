"""AOS Control Plane SDK: hashing shared with the server, trace builder, client and CLI."""

from aos_sdk._version import __version__
from aos_sdk.client import AOSClient, RetryPolicy
from aos_sdk.diff import TraceDiff, diff, structural_diff
from aos_sdk.errors import (
    AOSConnectionError,
    AOSError,
    AuthenticationError,
    ConflictError,
    NotFoundError,
    PermissionDeniedError,
    RateLimitError,
    ServerError,
    ValidationError,
)
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
from aos_sdk.models import (
    GROUP_STATUS_FILTERS,
    GROUP_STATUSES,
    RESOLUTION_KINDS,
    GroupStatus,
    GroupStatusFilter,
    MismatchGroup,
    ResolutionKind,
)
from aos_sdk.trace import HashError, Trace, verify

__all__ = [
    "GROUP_STATUSES",
    "GROUP_STATUS_FILTERS",
    "RESOLUTION_KINDS",
    "AOSClient",
    "AOSConnectionError",
    "AOSError",
    "AuthenticationError",
    "ConflictError",
    "GroupStatus",
    "GroupStatusFilter",
    "H",
    "HashError",
    "MismatchGroup",
    "NotFoundError",
    "PermissionDeniedError",
    "RateLimitError",
    "ResolutionKind",
    "RetryPolicy",
    "ServerError",
    "Trace",
    "TraceDiff",
    "ValidationError",
    "__version__",
    "canonical",
    "diff",
    "input_hash",
    "normalise_plan",
    "output_hash",
    "plan_hash",
    "root_hash",
    "root_next",
    "root_zero",
    "step_hash",
    "structural_diff",
    "verify",
]
