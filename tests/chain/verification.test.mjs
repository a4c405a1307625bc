// Local verification agrees with the chain: for valid payments and for each kind of tampered one, the gateway's
// verdict (judged locally, or forwarded) matches the official facilitator's verdict against the chain.
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { ACCOUNTS, nowSeconds } from "./lib/network.mjs";
import { PRICE, pay, resign } from "./lib/payments.mjs";
import { startStack } from "./lib/stack.mjs";

/**
 * Payments of each kind, built from a fresh official-client payment of x402 `version`, and the local verdict the
 * gateway must reach: "invalid" (answered without an upstream) or "valid" (forwarded: only the chain can tell).
 */
const kinds = {
  valid: ["valid", async (version) => pay({ version })],
  "value changed after signing": ["invalid", async (version) => {
    const body = await pay({ version });
    const authorization = { ...body.paymentPayload.payload.authorization, value: String(PRICE + 1n) };
    return { ...body, paymentPayload: { ...body.paymentPayload, payload: { ...body.paymentPayload.payload, authorization } } };
  }],
  "signed by another key": ["invalid", async (version) => resign(await pay({ version }), {}, ACCOUNTS.poorPayer.key)],
  "paid to another address": ["invalid", async (version) => resign(await pay({ version }), { to: ACCOUNTS.backupFacilitator.address })],
  expired: ["invalid", async (version) => resign(await pay({ version }), { validAfter: String(nowSeconds() - 600), validBefore: String(nowSeconds() - 60) })],
  "not valid yet": ["invalid", async (version) => resign(await pay({ version }), { validAfter: String(nowSeconds() + 3600), validBefore: String(nowSeconds() + 7200) })],
  "less than the price": ["invalid", async (version) => resign(await pay({ version }), { value: String(PRICE - 1n) })],
  "from a payer without the balance": ["valid", async (version) => pay({ version, payerKey: ACCOUNTS.poorPayer.key })],
};

/**
 * For v1 payments the gateway answers with the reasons of the `x402` 1.x package (the v1 reference); the 2.27
 * facilitator's v1 scheme names three of the same checks differently. The pairs are one check each.
 */
const v1Names = {
  invalid_exact_evm_payload_signature: "invalid_exact_evm_signature",
  invalid_exact_evm_payload_recipient_mismatch: "invalid_exact_evm_recipient_mismatch",
  invalid_exact_evm_payload_authorization_value: "invalid_exact_evm_authorization_value",
};

describe("local verification against the chain", () => {
  let stack;
  let gateway;

  before(async () => {
    stack = await startStack();
    gateway = stack.gateways[0];
  });

  after(async () => stack?.stop());

  for (const version of [1, 2]) {
    for (const [kind, [expected, make]] of Object.entries(kinds)) {
      test(`Verify_V${version}PaymentThatIs_${kind.replaceAll(" ", "_")}_SameVerdictAsTheOfficialFacilitatorOnChain`, async () => {
        const body = await make(version);

        const official = await stack.primary.post("verify", body);
        const local = await gateway.post("verify", body);

        assert.equal(local.body.isValid, official.body.isValid, `gateway ${JSON.stringify(local.body)}; official ${JSON.stringify(official.body)}`);
        const verdict = local.headers.get("x-facilitator-local-verdict");
        assert.equal(verdict, expected, `the gateway's own verdict on a payment ${kind}`);
        if (verdict === "invalid") {
          // Answered without the facilitator: with the reason the official facilitator gives.
          const reason = version === 1 ? (v1Names[local.body.invalidReason] ?? local.body.invalidReason) : local.body.invalidReason;
          assert.equal(reason, official.body.invalidReason);
        }
      });
    }
  }
});
