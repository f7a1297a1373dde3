// k6 load test of POST /api/v1/runtime/simulate (PRODUCT.md §11).
//
//   AOS_BASE_URL=http://127.0.0.1:8000 AOS_API_KEY=aos_... \
//     k6 run --out json=k6.ndjson --summary-export=summary-export.json load-tests/simulate_k6.js
//   python manage.py slo_report summary.json --strict
//
// Env: AOS_BASE_URL (default http://127.0.0.1:8000), AOS_API_KEY (required), AOS_SUMMARY_PATH
// (handleSummary JSON, default summary.json), AOS_PEAK_VUS (default 10), AOS_STAGE_SECONDS (default 10),
// AOS_EXPECTED_SHA256 (optional: the known sha256 of the simulate body for the plan below).
import http from 'k6/http';
import crypto from 'k6/crypto';
import { check, sleep } from 'k6';

const BASE_URL = (__ENV.AOS_BASE_URL || 'http://127.0.0.1:8000').replace(/\/+$/, '');
const API_KEY = __ENV.AOS_API_KEY || '';
const SUMMARY_PATH = __ENV.AOS_SUMMARY_PATH || 'summary.json';
const PEAK_VUS = parseInt(__ENV.AOS_PEAK_VUS || '10', 10);
const STAGE = `${parseInt(__ENV.AOS_STAGE_SECONDS || '10', 10)}s`;
const EXPECTED_SHA256 = __ENV.AOS_EXPECTED_SHA256 || '';

export const options = {
  scenarios: {
    simulate: {
      executor: 'ramping-vus',
      startVUs: 1,
      stages: [
        { duration: STAGE, target: PEAK_VUS }, // ramp up
        { duration: STAGE, target: PEAK_VUS }, // hold
        { duration: STAGE, target: 0 }, // ramp down
      ],
      gracefulRampDown: '5s',
    },
  },
  thresholds: {
    // Latency over successful responses only (k6's expected_response:true): a refused connection
    // "answers" in 0 ms, so with the server down an unfiltered p95 would pass.
    'http_req_duration{name:simulate,expected_response:true}': ['p(95)<500', 'p(99)<1000'],
    // Submetrics for the simulate requests alone, also read back by `manage.py slo_report`.
    'http_req_failed{name:simulate}': ['rate<0.01'],
    'http_reqs{name:simulate}': ['count>0'],
    // availability > 99.5 % over every request
    http_req_failed: ['rate<0.005'],
    'checks{check:status is 200}': ['rate>0.99'],
    // parity failures < 0.1 % (PRODUCT.md §11)
    'checks{check:parity}': ['rate>0.999'],
  },
  summaryTrendStats: ['avg', 'min', 'med', 'max', 'p(50)', 'p(90)', 'p(95)', 'p(99)'],
};

// A pure, deterministic plan: the same body and seed must give a byte-identical answer (§4).
const BODY = JSON.stringify({
  seed: 42,
  budget_cents: 100,
  plan: [
    { skill: 'json_transform', params: { payload: { price: { usd: 97000 } }, mapping: { usd: 'price.usd' } } },
    { skill: 'llm_invoke', params: { messages: [{ role: 'user', content: 'BTC at {{ steps[0].output.usd }}' }] } },
  ],
});

const PARAMS = {
  headers: { Authorization: `Bearer ${API_KEY}`, 'Content-Type': 'application/json' },
  tags: { name: 'simulate' },
};

// Per VU: the first 200 body's hash is the reference every later answer must equal.
let referenceSha256 = EXPECTED_SHA256;

export function setup() {
  if (!API_KEY) {
    throw new Error('AOS_API_KEY is not set (manage.py create_api_key --tenant T --role developer)');
  }
}

export default function () {
  const res = http.post(`${BASE_URL}/api/v1/runtime/simulate`, BODY, PARAMS);
  const ok = res.status === 200;
  check(res, { 'status is 200': () => ok });
  if (ok) {
    const bodySha256 = crypto.sha256(res.body, 'hex');
    if (!referenceSha256) {
      referenceSha256 = bodySha256;
    }
    check(res, { parity: () => bodySha256 === referenceSha256 });
  }
  sleep(0.1);
}

// No remote jslib import (CI and laptops may be offline): a short text summary of our own.
function fmt(value, unit) {
  return value === undefined ? 'n/a' : `${value.toFixed(2)}${unit}`;
}

function textReport(data) {
  const metric = (name) => (data.metrics[name] ? data.metrics[name].values : {});
  const duration = metric('http_req_duration{name:simulate,expected_response:true}');
  const failed = metric('http_req_failed');
  const parity = metric('checks{check:parity}');
  const lines = [
    'simulate load test',
    `  requests:        ${metric('http_reqs').count || 0}`,
    `  p50 / p95 / p99: ${fmt(duration['p(50)'], 'ms')} / ${fmt(duration['p(95)'], 'ms')} / ${fmt(duration['p(99)'], 'ms')}`,
    `  failed requests: ${fmt(failed.rate === undefined ? undefined : failed.rate * 100, '%')}`,
    `  parity checks:   ${fmt(parity.rate === undefined ? undefined : parity.rate * 100, '%')} passed`,
  ];
  for (const [name, metricData] of Object.entries(data.metrics)) {
    for (const [threshold, result] of Object.entries(metricData.thresholds || {})) {
      lines.push(`  ${result.ok ? 'PASS' : 'FAIL'} ${name}: ${threshold}`);
    }
  }
  return `${lines.join('\n')}\n`;
}

export function handleSummary(data) {
  return {
    [SUMMARY_PATH]: JSON.stringify(data, null, 2),
    stdout: textReport(data),
  };
}
