// The shared vectors (sdk/shared/hash_vectors.json, written from the server's hashing by
// tests/sdk/hash_vectors.py), PRODUCT.md §3 and RFC 8785's own test vectors.
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { test } from "node:test";
import {
  H,
  canonical,
  inputHash,
  outputHash,
  planHash,
  rootHash,
  rootNext,
  rootZero,
  stepHash,
  Trace,
} from "../dist/index.js";

const vectors = JSON.parse(readFileSync(new URL("../../shared/hash_vectors.json", import.meta.url), "utf8"));

test("it holds the PRODUCT.md §3 vector", () => {
  const plan = [{ skill: "json_transform", params: { payload: { x: 1 }, mapping: { y: "x" } } }];
  const ph = planHash(plan);
  assert.equal(ph, "7da851c1e3bcfd2caf64f55bc462c92a423b22e539bfce1a43e7f59f5b5974f6");
  const r0 = rootZero({ planHash: ph, seed: 42, timestamp: "2025-01-01T00:00:00Z" });
  assert.equal(r0, "26ea94c66306aaf1f53f88cbe3ff3f07c0dbf89badc2ca15e579607415e2f31e");
  const ih = inputHash(plan[0].params);
  assert.equal(ih, "ca7e111c669f70edd25df8fcd9e5db1f3b9e430bd22535c27239b539ffd526e0");
  const oh = outputHash({ y: 1 });
  assert.equal(oh, "c7bd835adf20c1cc2a521683644cbc40c8c97e7b1925ed6309e0892c01fea42f");
  const sh = stepHash({ index: 0, skill: "json_transform", inputHash: ih, outputHash: oh, status: "succeeded" });
  assert.equal(sh, "0c154e2f9b01803282a182e0364a8f2e7ba09847dadcd27f0eb94e98d1537788");
  assert.equal(rootNext(r0, sh), "a7d865ab34ef189aa8d1bccf324d38492f59424c7f1d924ea3bffbeb64e09b5c");
});

test("it reads a vector file that covers the required shapes", () => {
  const names = vectors.cases.map((c) => c.name);
  for (const name of ["product_md_section_3", "unicode", "nested_objects", "floats", "large_integers", "empty_params_and_statuses"]) {
    assert.ok(names.includes(name), name);
  }
});

for (const vector of vectors.cases) {
  test(`it computes the server's hashes for the ${vector.name} case`, () => {
    assert.equal(canonical(vector.plan.map((s) => ("params" in s ? s : { ...s, params: {} }))), vector.canonical_plan);
    const ph = planHash(vector.plan);
    assert.equal(ph, vector.plan_hash);
    assert.equal(rootZero({ planHash: ph, seed: vector.seed, timestamp: vector.timestamp }), vector.root_0);
    const stepHashes = vector.steps.map((step, index) => {
      const ih = inputHash(step.params);
      const oh = outputHash(step.output);
      assert.equal(ih, step.input_hash, `steps[${index}].input_hash`);
      assert.equal(oh, step.output_hash, `steps[${index}].output_hash`);
      const sh = stepHash({ index, skill: step.skill, inputHash: ih, outputHash: oh, status: step.status });
      assert.equal(sh, step.step_hash, `steps[${index}].step_hash`);
      return sh;
    });
    assert.equal(rootHash({ planHash: ph, seed: vector.seed, timestamp: vector.timestamp, stepHashes }), vector.root_hash);

    // The Trace builder gives the same chain.
    const trace = new Trace({ plan: vector.plan, seed: vector.seed, timestamp: vector.timestamp, input: vector.input });
    for (const step of vector.steps) trace.addStep({ skill: step.skill, params: step.params, output: step.output, status: step.status });
    assert.equal(trace.rootHash, vector.root_hash);
    assert.equal(trace.verify(), null);
  });
}

for (const value of vectors.values) {
  test(`it writes the server's canonical form of ${value.name}`, () => {
    assert.equal(canonical(value.value), value.canonical);
    assert.equal(H(value.value), value.hash);
  });
}

function fromIeee754(hex) {
  const view = new DataView(new ArrayBuffer(8));
  view.setBigUint64(0, BigInt(`0x${hex}`));
  return view.getFloat64(0);
}

test("it serialises every RFC 8785 Appendix B number (NaN and Infinity refused)", () => {
  assert.equal(vectors.rfc8785_numbers.length, 26);
  for (const { ieee754, canonical: expected } of vectors.rfc8785_numbers) {
    const value = fromIeee754(ieee754);
    if (expected === null) {
      assert.throws(() => canonical(value), /not allowed/, ieee754);
      assert.throws(() => H({ n: value }), /not allowed/, ieee754);
    } else {
      assert.equal(canonical(value), expected, ieee754);
    }
  }
});

for (const example of vectors.rfc8785_examples) {
  test(`it serialises the RFC 8785 example ${example.name}`, () => {
    assert.equal(canonical(JSON.parse(example.input)), example.output);
  });
}

test("it refuses what JSON cannot carry instead of hashing the text undefined", () => {
  assert.throws(() => canonical(undefined), TypeError);
  assert.throws(() => canonical({ a: () => 1 }), /function is not a JSON value/);
  assert.throws(() => canonical([1n]), /bigint is not a JSON value/);
  assert.throws(() => canonical({ s: Symbol("x") }), /symbol is not a JSON value/);
  assert.throws(() => canonical("\ud800"), /Lone surrogate/);
  const cyclic = { a: 1 };
  cyclic.self = cyclic;
  assert.throws(() => canonical(cyclic), /Circular/);
});

test("it refuses a seed that is not an integer and a status the server does not know", () => {
  assert.throws(() => rootZero({ planHash: "0".repeat(64), seed: 1.5, timestamp: "t" }), /seed must be an integer/);
  assert.throws(() => rootZero({ planHash: "0".repeat(64), seed: 2 ** 53, timestamp: "t" }), /seed must be an integer/);
  assert.throws(() => stepHash({ index: 0, skill: "s", inputHash: "a", outputHash: "b", status: "done" }), /status must be one of/);
});

test("it hashes undefined members as JSON.stringify sends them (dropped in objects, null in arrays)", () => {
  assert.equal(canonical({ b: undefined, a: [undefined, 1] }), '{"a":[null,1]}');
  assert.equal(H({ b: undefined, a: 1 }), H(JSON.parse(JSON.stringify({ b: undefined, a: 1 }))));
});
