"""The masker (pure): values and their obvious encodings become `***`; log records are masked in context."""

from __future__ import annotations

import base64
import json
import logging
from urllib.parse import quote, quote_plus

import pytest

from vault.masking import MASK, Masker, masking

VALUE = 'p@ss w/rd+"x"'


@pytest.mark.parametrize(
    "encoded",
    [
        VALUE,
        quote(VALUE, safe=""),
        quote_plus(VALUE),
        json.dumps(VALUE)[1:-1],
        base64.b64encode(VALUE.encode()).decode(),
        base64.urlsafe_b64encode(VALUE.encode()).decode().rstrip("="),
        base64.b64encode(f"user:{VALUE}".encode()).decode(),  # basic auth, any user
        base64.b64encode(f"ab:{VALUE}:tail".encode()).decode(),
        base64.b64encode(f"a:{VALUE}".encode()).decode(),
    ],
)
def test_it_masks_the_value_and_its_encodings(encoded):
    masked = Masker([VALUE]).mask_text(f"before {encoded} after")
    assert encoded not in masked and masked.startswith("before ") and MASK in masked


@pytest.mark.parametrize("prefix", ["", "u:", "us:", "use:"])
def test_it_finds_a_short_value_inside_base64_at_every_alignment(prefix):
    token = base64.b64encode(f"{prefix}abcd".encode()).decode()
    assert Masker(["abcd"]).mask_text(f"Basic {token}") == f"Basic {MASK}"


def test_it_leaves_text_without_the_value_alone_and_walks_json():
    masker = Masker([VALUE])
    clean = {"a": [1, "dG9rZW4tYmFzZTY0", {"b": None}], "c": True}
    assert masker.mask(clean) == clean
    assert masker.mask({VALUE: [f"x{VALUE}"]}) == {MASK: [f"x{MASK}"]}
    assert Masker().mask({"v": VALUE}) == {"v": VALUE}  # nothing used, nothing masked


def test_it_masks_log_records_created_while_a_run_holds_the_value(caplog):
    caplog.set_level(logging.INFO)
    log = logging.getLogger("aos.test.masking")
    with masking(Masker([VALUE])):
        log.info("calling %s", f"https://x/?t={quote(VALUE, safe='')}")
        try:
            raise RuntimeError(f"boom {VALUE}")
        except RuntimeError:
            log.exception("failed")
    log.info("outside %s", VALUE)  # no run in progress: untouched
    inside, failed, outside = caplog.records
    assert inside.getMessage() == f"calling https://x/?t={MASK}"
    assert VALUE not in (failed.exc_text or "") and "boom ***" in failed.exc_text
    assert VALUE not in caplog.text.split("outside")[0]
    assert outside.getMessage() == f"outside {VALUE}"


@pytest.mark.parametrize(
    "text",
    ["a" * 256_000, ("a" * 15_999 + "c") * 16, "QUFB" * 64_000, "a" * 256_000 + "a" * 16_000 + "b"],
)
def test_it_masks_adversarial_text_in_linear_time(text):
    """A 16 KiB value of one repeated letter: the regex alternation took 1.5 s on 80 KiB (quadratic)."""
    import time

    value = "a" * 16_000 + "b"
    started = time.perf_counter()
    masked = Masker([value]).mask_text(text)
    assert time.perf_counter() - started < 2.0  # generous; the quadratic version took minutes at this size
    assert value not in masked and masked.endswith(MASK) == text.endswith(value)
