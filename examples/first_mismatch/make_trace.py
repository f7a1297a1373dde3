"""Prints an SDK trace whose recorded output is not what the skill computes (README, first mismatch).

`json_transform` with mapping {"y": "x"} on {"x": 1} gives {"y": 1}; the trace records {"y": 2},
as an agent with a bug (or an edited recording) would. The trace itself is well-formed (its hashes
verify), so ingest accepts it, and a replay recomputes step 0 and diverges: output_mismatch.
"""

import json

from aos_sdk.trace import Trace

PARAMS = {"payload": {"x": 1}, "mapping": {"y": "x"}}

trace = Trace(
    plan=[{"skill": "json_transform", "params": PARAMS}],
    seed=42,
    timestamp="2025-01-01T00:00:00Z",
    agent_id="first-mismatch",
    trace_id="tr_first_mismatch",
)
trace.add_step(skill="json_transform", params=PARAMS, output={"y": 2})
# overwrite: running the walkthrough again replaces the trace instead of a 409.
print(json.dumps({**trace.to_dict(), "overwrite": True}, indent=2))
