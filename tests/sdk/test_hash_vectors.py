"""The shared hash vectors: written from the server's hashing, checked against PRODUCT.md §3 and RFC 8785."""

from __future__ import annotations

import json
import struct

import pytest
import rfc8785

from tests.sdk.hash_vectors import RFC8785_EXAMPLES, RFC8785_NUMBERS, VECTOR_FILE, render


def test_it_keeps_the_committed_vector_file_equal_to_what_the_server_hashing_computes():
    assert VECTOR_FILE.read_text(encoding="utf-8") == render(), (
        "sdk/shared/hash_vectors.json is stale: run `.venv/bin/python -m tests.sdk.hash_vectors`"
    )


def test_it_holds_the_product_md_vector():
    case = next(
        c for c in json.loads(VECTOR_FILE.read_text(encoding="utf-8"))["cases"] if c["name"] == "product_md_section_3"
    )
    assert case["plan_hash"] == "7da851c1e3bcfd2caf64f55bc462c92a423b22e539bfce1a43e7f59f5b5974f6"
    assert case["root_0"] == "26ea94c66306aaf1f53f88cbe3ff3f07c0dbf89badc2ca15e579607415e2f31e"
    assert case["steps"][0]["step_hash"] == "0c154e2f9b01803282a182e0364a8f2e7ba09847dadcd27f0eb94e98d1537788"
    assert case["root_hash"] == "a7d865ab34ef189aa8d1bccf324d38492f59424c7f1d924ea3bffbeb64e09b5c"


@pytest.mark.parametrize(("bits", "expected"), RFC8785_NUMBERS)
def test_it_serialises_the_rfc8785_appendix_b_numbers(bits, expected):
    value = struct.unpack(">d", bytes.fromhex(bits))[0]
    if expected is None:
        with pytest.raises(rfc8785.CanonicalizationError):
            rfc8785.dumps(value)
    else:
        assert rfc8785.dumps(value).decode() == expected


@pytest.mark.parametrize("example", RFC8785_EXAMPLES, ids=lambda e: e["name"])
def test_it_serialises_the_rfc8785_examples(example):
    assert rfc8785.dumps(json.loads(example["input"])).decode() == example["output"]
