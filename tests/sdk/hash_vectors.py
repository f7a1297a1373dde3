"""The cross-language hash vectors (sdk/shared/hash_vectors.json), computed by the server's own code.

`aos_sdk.hashing` is the one implementation the server imports (PRODUCT.md §3); every expected hash
in the file comes from it, and the JS SDK's tests (sdk/js/test/hashing.test.js) read the same file.
`python -m tests.sdk.hash_vectors` rewrites it; tests/sdk/test_hash_vectors.py fails when it is stale.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from aos_sdk import hashing

ROOT = Path(__file__).resolve().parents[2]
VECTOR_FILE = ROOT / "sdk/shared/hash_vectors.json"
MAX_SAFE = 2**53 - 1

PRODUCT_PLAN = [{"skill": "json_transform", "params": {"payload": {"x": 1}, "mapping": {"y": "x"}}}]

# Each case: a plan, seed, frozen timestamp and the steps as run (skill, resolved params, output, status).
CASES: list[dict[str, Any]] = [
    {
        "name": "product_md_section_3",
        "plan": PRODUCT_PLAN,
        "seed": 42,
        "timestamp": "2025-01-01T00:00:00Z",
        "steps": [{"skill": "json_transform", "params": PRODUCT_PLAN[0]["params"], "output": {"y": 1}}],
    },
    {
        "name": "unicode",
        "plan": [
            {
                "skill": "json_transform",
                "params": {
                    "payload": {"name": "Zoë Ångström", "city": "Zürich", "emoji": "🚀✨", "cjk": "日本語のテキスト"},
                    "mapping": {
                        "größe": "name",
                        "€": "city",
                        "😀": "emoji",
                        "\ufb33": "cjk",
                        "\r": "name",
                        "\u0080": "city",
                    },
                },
            }
        ],
        "seed": 7,
        "timestamp": "2025-06-30T23:59:59.123456Z",
        "steps": [
            {
                "skill": "json_transform",
                "params": {
                    "payload": {"controls": "tab\there\nnull\u0000unit\u001fdel\u007f", "sep": "\u2028\u2029"},
                    "mapping": {"quote": "\"'\\/"},
                },
                "output": {
                    "größe": "Zoë Ångström",
                    "€": "Zürich",
                    "😀": "🚀✨",
                    "\ufb33": "日本語のテキスト",
                    "\ufeff": "bom",
                },
            }
        ],
    },
    {
        "name": "nested_objects",
        "plan": [
            {
                "skill": "json_transform",
                "params": {
                    "payload": {"a": {"b": {"c": {"d": [1, [2, [3, {"e": None}]], {}, []]}}}, "z": [True, False]},
                    "query": "a.b.c",
                },
                "retry": {"max_attempts": 3, "backoff_ms": 100},
                "on_error": "continue",
            },
            {
                "skill": "json_transform",
                "params": {"payload": {"k": {"b": 2, "a": 1}}, "query": "k"},
                "replay": "check",
            },
        ],
        "seed": 123456789,
        "timestamp": "2025-01-01T00:00:00Z",
        "input": {"nested": {"list": [{"x": 1}, {"x": 2}]}},
        "steps": [
            {
                "skill": "json_transform",
                "params": {"payload": {"a": {"b": {"c": {"d": []}}}}, "query": "a.b.c"},
                "output": {"d": []},
            },
            {
                "skill": "json_transform",
                "params": {"payload": {"k": {"b": 2, "a": 1}}, "query": "k"},
                "output": {"a": 1, "b": 2},
            },
        ],
    },
    {
        "name": "floats",
        "plan": [
            {
                "skill": "json_transform",
                "params": {
                    "payload": {
                        "tenth": 0.1,
                        "sum": 0.1 + 0.2,
                        "third": 333333333.33333329,
                        "big": 1e21,
                        "below_big": 999999999999999900000.0,
                        "small": 1e-7,
                        "above_small": 0.000001,
                        "huge": 1.7976931348623157e308,
                        "tiny": 5e-324,
                        "negative": -2.5e-10,
                        "minus_zero": -0.0,
                        "whole": 4.0,
                        "price": 97000.55,
                        "two_pow_68": float(2**68),
                    },
                    "mapping": {"t": "tenth"},
                },
            }
        ],
        "seed": 42,
        "timestamp": "2025-01-01T00:00:00Z",
        "steps": [
            {
                "skill": "json_transform",
                "params": {"payload": {"ratio": 2 / 3, "pi": 3.141592653589793, "e": 1e23}, "mapping": {"r": "ratio"}},
                "output": {"r": 0.6666666666666666, "cost": 1e-27, "exp": 1e30},
            }
        ],
    },
    {
        "name": "large_integers",
        "plan": [
            {
                "skill": "json_transform",
                "params": {
                    "payload": {"max": MAX_SAFE, "min": -MAX_SAFE, "big": 2**52 + 1, "zero": 0, "neg": -1},
                    "mapping": {"m": "max"},
                },
            }
        ],
        "seed": MAX_SAFE,
        "timestamp": "2025-01-01T00:00:00Z",
        "steps": [
            {
                "skill": "json_transform",
                "params": {"payload": {"max": MAX_SAFE}, "mapping": {"m": "max"}},
                "output": {"m": MAX_SAFE},
            }
        ],
    },
    {
        "name": "empty_params_and_statuses",
        "plan": [
            {"skill": "json_transform"},
            {"skill": "http_call", "params": {}},
            {"skill": "webhook_send", "params": {}},
        ],
        "seed": 0,
        "timestamp": "1970-01-01T00:00:00Z",
        "steps": [
            {"skill": "json_transform", "params": {}, "output": None, "status": "failed"},
            {"skill": "http_call", "params": {}, "output": {}, "status": "succeeded"},
            {"skill": "webhook_send", "params": {}, "output": None, "status": "skipped"},
        ],
    },
    {
        "name": "negative_seed_no_steps",
        "plan": [
            {"skill": "llm_invoke", "params": {"provider": "local", "messages": [{"role": "user", "content": "hi"}]}}
        ],
        "seed": -1,
        "timestamp": "2030-12-31T12:00:00.000001Z",
        "steps": [],
    },
]

# Single values: their canonical text and H(value).
VALUES: list[dict[str, Any]] = [
    {"name": "null", "value": None},
    {"name": "true", "value": True},
    {"name": "empty_object", "value": {}},
    {"name": "empty_array", "value": []},
    {"name": "empty_string", "value": ""},
    {"name": "key_order_utf16", "value": {"\u20ac": 1, "\r": 2, "\ufb33": 3, "1": 4, "😀": 5, "\u0080": 6, "ö": 7}},
    {"name": "floats", "value": [0.1, 0.30000000000000004, 1e21, 1e-7, -0.0, 5e-324, 1.0, 123.456e10]},
    {"name": "safe_integers", "value": [MAX_SAFE, -MAX_SAFE, 0, 1, -1]},
    {"name": "escapes", "value": '\u0000\b\f\n\r\t\u001f"\\/\u007f\u2028é😀'},
    {"name": "nested", "value": {"b": [{"d": 1, "c": [None, {}]}], "a": {"z": {"y": {"x": "deep"}}}}},
]

# RFC 8785 Appendix B: IEEE 754 bit patterns and their serialisation (None = must be refused).
RFC8785_NUMBERS: list[tuple[str, str | None]] = [
    ("0000000000000000", "0"),
    ("8000000000000000", "0"),
    ("0000000000000001", "5e-324"),
    ("8000000000000001", "-5e-324"),
    ("7fefffffffffffff", "1.7976931348623157e+308"),
    ("ffefffffffffffff", "-1.7976931348623157e+308"),
    ("4340000000000000", "9007199254740992"),
    ("c340000000000000", "-9007199254740992"),
    ("4430000000000000", "295147905179352830000"),
    ("7fffffffffffffff", None),
    ("7ff0000000000000", None),
    ("44b52d02c7e14af5", "9.999999999999997e+22"),
    ("44b52d02c7e14af6", "1e+23"),
    ("44b52d02c7e14af7", "1.0000000000000001e+23"),
    ("444b1ae4d6e2ef4e", "999999999999999700000"),
    ("444b1ae4d6e2ef4f", "999999999999999900000"),
    ("444b1ae4d6e2ef50", "1e+21"),
    ("3eb0c6f7a0b5ed8c", "9.999999999999997e-7"),
    ("3eb0c6f7a0b5ed8d", "0.000001"),
    ("41b3de4355555553", "333333333.3333332"),
    ("41b3de4355555554", "333333333.33333325"),
    ("41b3de4355555555", "333333333.3333333"),
    ("41b3de4355555556", "333333333.3333334"),
    ("41b3de4355555557", "333333333.33333343"),
    ("becbf647612f3696", "-0.0000033333333333333333"),
    ("43143ff3c1cb0959", "1424953923781206.2"),
]

# RFC 8785 §3.2.2 (serialisation) and §3.2.3 (sorting): JSON text in, canonical text out.
RFC8785_EXAMPLES: list[dict[str, str]] = [
    {
        "name": "section_3_2_2",
        "input": '{"numbers": [333333333.33333329, 1E30, 4.50, 2e-3, 0.000000000000000000000000001],'
        ' "string": "\\u20ac$\\u000F\\u000aA\'\\u0042\\u0022\\u005c\\\\\\"\\/", "literals": [null, true, false]}',
        "output": '{"literals":[null,true,false],"numbers":[333333333.3333333,1e+30,4.5,0.002,1e-27],'
        '"string":"€$\\u000f\\nA\'B\\"\\\\\\\\\\"/"}',
    },
    {
        "name": "section_3_2_3",
        "input": '{"\\u20ac": "Euro Sign", "\\r": "Carriage Return", "\\ufb33": "Hebrew Letter Dalet With Dagesh",'
        ' "1": "One", "\\ud83d\\ude00": "Emoji: Grinning Face", "\\u0080": "Control",'
        ' "\\u00f6": "Latin Small Letter O With Diaeresis"}',
        "output": '{"\\r":"Carriage Return","1":"One","\u0080":"Control","ö":"Latin Small Letter O With Diaeresis",'
        '"€":"Euro Sign","😀":"Emoji: Grinning Face","\ufb33":"Hebrew Letter Dalet With Dagesh"}',
    },
]


def _case(case: dict[str, Any]) -> dict[str, Any]:
    plan_h = hashing.plan_hash(case["plan"])
    root_0 = hashing.root_zero(plan_hash=plan_h, seed=case["seed"], timestamp=case["timestamp"])
    root = root_0
    steps = []
    for index, step in enumerate(case["steps"]):
        status = step.get("status", "succeeded")
        ih = hashing.input_hash(step["params"])
        oh = hashing.output_hash(step["output"])
        sh = hashing.step_hash(index=index, skill=step["skill"], input_hash=ih, output_hash=oh, status=status)
        root = hashing.root_next(root, sh)
        steps.append({**step, "status": status, "input_hash": ih, "output_hash": oh, "step_hash": sh})
    return {
        "name": case["name"],
        "plan": case["plan"],
        "seed": case["seed"],
        "timestamp": case["timestamp"],
        "input": case.get("input"),
        "steps": steps,
        "canonical_plan": hashing.canonical(hashing.normalise_plan(case["plan"])).decode(),
        "plan_hash": plan_h,
        "root_0": root_0,
        "root_hash": root,
    }


def build() -> dict[str, Any]:
    """The whole vector file as the server's hashing computes it."""
    return {
        "comment": "Generated by tests/sdk/hash_vectors.py from aos_sdk.hashing (the server's hashing); do not edit.",
        "cases": [_case(c) for c in CASES],
        "values": [
            {**v, "canonical": hashing.canonical(v["value"]).decode(), "hash": hashing.H(v["value"])} for v in VALUES
        ],
        "rfc8785_numbers": [{"ieee754": bits, "canonical": text} for bits, text in RFC8785_NUMBERS],
        "rfc8785_examples": RFC8785_EXAMPLES,
    }


def render() -> str:
    return json.dumps(build(), indent=1, ensure_ascii=False) + "\n"


if __name__ == "__main__":
    VECTOR_FILE.write_text(render(), encoding="utf-8")
    print(f"wrote {VECTOR_FILE.relative_to(ROOT)}")
