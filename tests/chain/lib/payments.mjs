// Payments made by the official x402 client code (@x402/core's x402Client with @x402/evm's schemes), v1 and v2, as
// {x402Version, paymentPayload, paymentRequirements} bodies for /verify and /settle, and re-signed variants.
import { getAddress } from "viem";
import { privateKeyToAccount } from "viem/accounts";
import { x402Client } from "@x402/core/client";
import { ExactEvmScheme, authorizationTypes } from "@x402/evm";
import { ExactEvmSchemeV1 } from "@x402/evm/v1";
import { ACCOUNTS, CHAIN_ID, USDC } from "./network.mjs";

export const PRICE = 10_000n;

const requirementsV2 = (payTo, amount) => ({
  scheme: "exact", network: "eip155:84532", amount: String(amount), asset: USDC, payTo, maxTimeoutSeconds: 120, extra: { name: "USDC", version: "2" },
});

const requirementsV1 = (payTo, amount) => ({
  scheme: "exact", network: "base-sepolia", maxAmountRequired: String(amount), resource: "http://127.0.0.1/premium", description: "Premium content",
  mimeType: "application/json", payTo, maxTimeoutSeconds: 120, asset: USDC, extra: { name: "USDC", version: "2" },
});

/** A fresh payment of `amount` from `payerKey` to the payee, signed by the official client for x402 `version`. */
export async function pay({ version = 2, payerKey = ACCOUNTS.payer.key, amount = PRICE, payTo = ACCOUNTS.payee.address } = {}) {
  const account = privateKeyToAccount(payerKey);
  if (version === 1) {
    const requirements = requirementsV1(payTo, amount);
    const client = new x402Client().registerV1("base-sepolia", new ExactEvmSchemeV1(account));
    const payload = await client.createPaymentPayload({ x402Version: 1, error: "Payment required", accepts: [requirements] });
    return { x402Version: 1, paymentPayload: payload, paymentRequirements: requirements };
  }

  const requirements = requirementsV2(payTo, amount);
  const client = new x402Client().register("eip155:*", new ExactEvmScheme(account));
  const payload = await client.createPaymentPayload({
    x402Version: 2, error: "Payment required", resource: { url: "http://127.0.0.1/premium", description: "Premium content", mimeType: "application/json" }, accepts: [requirements],
  });
  return { x402Version: 2, paymentPayload: payload, paymentRequirements: requirements };
}

/** The same body with its authorization changed by `patch` and signed again by `signerKey` (the payer by default). */
export async function resign(body, patch, signerKey = ACCOUNTS.payer.key) {
  const authorization = { ...body.paymentPayload.payload.authorization, ...patch };
  const signature = await privateKeyToAccount(signerKey).signTypedData({
    domain: { name: "USDC", version: "2", chainId: CHAIN_ID, verifyingContract: getAddress(USDC) },
    types: authorizationTypes,
    primaryType: "TransferWithAuthorization",
    message: { ...authorization, value: BigInt(authorization.value), validAfter: BigInt(authorization.validAfter), validBefore: BigInt(authorization.validBefore) },
  });
  return { ...body, paymentPayload: { ...body.paymentPayload, payload: { authorization, signature } } };
}

/** The authorization of a body: who pays, with which nonce. */
export const authorizationOf = (body) => body.paymentPayload.payload.authorization;
