#!/usr/bin/env node
// Facilitator.Fast wire-compatibility harness.
//
// Points the *official* x402 facilitator clients at a facilitator base URL and
// records what each call returns or throws:
//   - x402Version 2: HTTPFacilitatorClient from @x402/core/http
//   - x402Version 1: useFacilitator from x402/verify
// Order: v2 supported/verify/settle, then v1 supported/verify/settle.
// Prints exactly one JSON line on stdout:
//   {"v2":{"supported":R,"verify":R,"settle":R},"v1":{...}}
// where R is {"ok":true,"value":...} or {"ok":false,"error":"<ErrorName>: <message>"}.
// Exit code 0 whenever the harness itself ran, even if calls failed.
//
// Usage: node compat.mjs http://127.0.0.1:5123

import { HTTPFacilitatorClient } from "@x402/core/http";
import { useFacilitator } from "x402/verify";

// The clients may console.log (e.g. @x402/core logs EXTENSION-RESPONSES headers);
// keep stdout reserved for the single result line.
console.log = console.info = console.debug = (...args) => console.error(...args);

const baseUrl = (process.argv[2] ?? "").replace(/\/+$/, "");
if (!/^https?:\/\//.test(baseUrl)) {
  console.error("usage: node compat.mjs <facilitator-base-url>   e.g. http://127.0.0.1:5123");
  process.exit(2);
}

// --- A syntactically realistic (but made-up, unsigned) EVM `exact` payment ---
const USDC_BASE_SEPOLIA = "0x036CbD53842c5426634e7929541eC2318f3dCF7e";
const PAYER = "0x857b06519E91e3A54538791bDbb0E22373e36b66";
const PAY_TO = "0x209693Bc6afc0C5328bA36FaF03C514EF312287C";
const MAX_TIMEOUT_SECONDS = 60;
const now = Math.floor(Date.now() / 1000);

const evmExactPayload = {
  signature: "0x" + "ab".repeat(64) + "1b", // 65 bytes: r(32) s(32) v(1)
  authorization: {
    from: PAYER,
    to: PAY_TO,
    value: "10000",
    validAfter: String(now - 600),
    validBefore: String(now + MAX_TIMEOUT_SECONDS),
    nonce: "0x" + "5e".repeat(32), // 32 bytes
  },
};

const resource = {
  url: "https://api.example.com/compat/premium",
  description: "Facilitator.Fast compat probe",
  mimeType: "application/json",
};

// v2: CAIP-2 network, `amount`, payload echoes the chosen requirements in `accepted`.
const v2Requirements = {
  scheme: "exact",
  network: "eip155:84532",
  amount: "10000",
  asset: USDC_BASE_SEPOLIA,
  payTo: PAY_TO,
  maxTimeoutSeconds: MAX_TIMEOUT_SECONDS,
  extra: { name: "USDC", version: "2" },
};
const v2Payload = {
  x402Version: 2,
  resource,
  accepted: v2Requirements,
  payload: evmExactPayload,
  extensions: { compatProbe: { keep: "me" } }, // unknown extension: must pass through untouched
};

// v1: network names, `maxAmountRequired`, resource/description/mimeType on the requirements.
const v1Requirements = {
  scheme: "exact",
  network: "base-sepolia",
  maxAmountRequired: "10000",
  resource: resource.url,
  description: resource.description,
  mimeType: resource.mimeType,
  payTo: PAY_TO,
  maxTimeoutSeconds: MAX_TIMEOUT_SECONDS,
  asset: USDC_BASE_SEPOLIA,
  extra: { name: "USDC", version: "2" },
};
const v1Payload = {
  x402Version: 1,
  scheme: "exact",
  network: "base-sepolia",
  payload: evmExactPayload,
};

// --- Run each call in isolation; never let one failure stop the others ---
async function attempt(fn) {
  try {
    return { ok: true, value: await fn() };
  } catch (err) {
    const name = err?.constructor?.name ?? err?.name ?? "Error";
    return { ok: false, error: `${name}: ${err?.message ?? String(err)}` };
  }
}

async function main() {
  const result = { v2: {}, v1: {} };

  const v2 = new HTTPFacilitatorClient({ url: baseUrl, timeoutMs: 30_000 });
  result.v2.supported = await attempt(() => v2.getSupported());
  result.v2.verify = await attempt(() => v2.verify(v2Payload, v2Requirements));
  result.v2.settle = await attempt(() => v2.settle(v2Payload, v2Requirements));

  const v1 = useFacilitator({ url: baseUrl });
  result.v1.supported = await attempt(() => v1.supported());
  result.v1.verify = await attempt(() => v1.verify(v1Payload, v1Requirements));
  result.v1.settle = await attempt(() => v1.settle(v1Payload, v1Requirements));

  return result;
}

let output;
try {
  output = await main();
} catch (err) {
  output = { harnessError: `${err?.name ?? "Error"}: ${err?.message ?? String(err)}` };
}
process.stdout.write(JSON.stringify(output) + "\n");
process.exit(0);
