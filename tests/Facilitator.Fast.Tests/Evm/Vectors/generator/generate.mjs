// Generates ../payment-vectors.json: x402 `exact` EVM (EIP-3009 TransferWithAuthorization) payment
// vectors for Facilitator.Fast's local verifier tests. Every payload is signed by the official client
// code (@x402/core x402Client + @x402/evm registerExactEvmScheme, i.e. ExactEvmScheme for v2 and
// ExactEvmSchemeV1 for v1) with viem local accounts; tampered variants are labelled with the reason
// the official facilitator verify code (@x402/evm ExactEvmScheme / ExactEvmSchemeV1) returns.
// Every case is then replayed through the official x402Facilitator with a stub chain (payer = EOA,
// asset = contract, simulation succeeds) and checked with viem; any disagreement aborts the run.
//
// Run:  cd generator && npm ci && node generate.mjs > ../payment-vectors.json
// Deterministic: keys, addresses and nonces come from keccak256(SEED:counter); the clock is fixed.
import { x402Client } from "@x402/core/client";
import { x402Facilitator } from "@x402/core/facilitator";
import { registerExactEvmScheme as registerClient } from "@x402/evm/exact/client";
import { registerExactEvmScheme as registerFacilitator } from "@x402/evm/exact/facilitator";
import { ExactEvmSchemeV1 as V1Client } from "@x402/evm/exact/v1/client";
import { authorizationTypes } from "@x402/evm";
import { EVM_NETWORK_CHAIN_ID_MAP } from "@x402/evm/v1";
import { getAddress, hashTypedData, keccak256, toHex, hexToBytes, recoverAddress, recoverTypedDataAddress,
  serializeErc6492Signature } from "viem";
import { privateKeyToAccount } from "viem/accounts";
import { readFileSync } from "node:fs";

const NOW = 1767225600; // 2026-01-01T00:00:00Z, the `now` every case is judged at (unless it has its own)
const SEED = "facilitator-fast/evm-payment-vectors";
const N = 0xfffffffffffffffffffffffffffffffebaaedce6af48a03bbfd25e8cd0364141n; // secp256k1 order
const pkgVersion = (p) => JSON.parse(readFileSync(new URL(`./node_modules/${p}/package.json`, import.meta.url))).version;

// ---- determinism: seeded randomness (used by the official createNonce()) and a fixed clock ----
let counter = 0;
const rand32 = () => keccak256(toHex(`${SEED}:${counter++}`));
globalThis.crypto.getRandomValues = (arr) => {
  for (let off = 0; off < arr.length; off += 32) arr.set(hexToBytes(rand32()).subarray(0, arr.length - off), off);
  return arr;
};
let clock = NOW;
Date.now = () => clock * 1000;
const newAccount = () => privateKeyToAccount(rand32());
const newAddress = () => getAddress(`0x${rand32().slice(26)}`);
const pick = (list) => list[parseInt(rand32().slice(2, 10), 16) % list.length];
const clone = (o) => JSON.parse(JSON.stringify(o));

// ---- networks and assets (EIP-712 domains as in the official default asset tables) ----
// USDC names/addresses: @x402/evm DEFAULT_ASSETS (chunk "defaultAssets") and, for networks it lacks
// (avalanche-fuji, polygon-amoy, iotex), the legacy x402 package's USDC config; version "2" for USDC.
const TEST_TOKEN = "0x5EE1A2F0a7c6c1dE8A46F3B2e0a6aA5F2f7b9c01"; // made-up EIP-3009 token
const T = (ver, slug, network, asset, name, version, symbol) => ({ ver, slug, network, asset, name, version, symbol });
const TARGETS = [
  T(1, "base", "base", "0x833589fCD6eDb6E08f4c7C32D4f71b54bdA02913", "USD Coin", "2", "usdc"),
  T(1, "base-sepolia", "base-sepolia", "0x036CbD53842c5426634e7929541eC2318f3dCF7e", "USDC", "2", "usdc"),
  T(1, "avalanche", "avalanche", "0xB97EF9Ef8734C71904D8002F8b6Bc66Dd9c48a6E", "USD Coin", "2", "usdc"),
  T(1, "avalanche-fuji", "avalanche-fuji", "0x5425890298aed601595a70AB815c96711a31Bc65", "USD Coin", "2", "usdc"),
  T(1, "polygon", "polygon", "0x3c499c542cEF5E3811e1192ce70d8cC03d5c3359", "USD Coin", "2", "usdc"),
  T(1, "polygon-amoy", "polygon-amoy", "0x41E94Eb019C0762f9Bfcf9Fb1E58725BfB0e7582", "USDC", "2", "usdc"),
  T(1, "sei", "sei", "0xe15fC38F6D8c56aF07bbCBe3BAf5708A2Bf42392", "USDC", "2", "usdc"),
  T(1, "iotex", "iotex", "0xcdf79194c6c285077a58da47641d4dbe51f63542", "Bridged USDC", "2", "usdc"), // lower-case as in legacy config
  T(1, "base-sepolia", "base-sepolia", TEST_TOKEN, "Test Token", "1", "test-token"),
  T(2, "base", "eip155:8453", "0x833589fCD6eDb6E08f4c7C32D4f71b54bdA02913", "USD Coin", "2", "usdc"),
  T(2, "base-sepolia", "eip155:84532", "0x036CbD53842c5426634e7929541eC2318f3dCF7e", "USDC", "2", "usdc"),
  T(2, "avalanche", "eip155:43114", "0xB97EF9Ef8734C71904D8002F8b6Bc66Dd9c48a6E", "USD Coin", "2", "usdc"),
  T(2, "polygon", "eip155:137", "0x3c499c542cEF5E3811e1192ce70d8cC03d5c3359", "USD Coin", "2", "usdc"),
  T(2, "ethereum", "eip155:1", "0xA0b86991c6218b36c1d19D4a2e9Eb0cE3606eB48", "USD Coin", "2", "usdc"),
  T(2, "sei", "eip155:1329", "0xe15fC38F6D8c56aF07bbCBe3BAf5708A2Bf42392", "USDC", "2", "usdc"),
  T(2, "celo", "eip155:42220", "0x48065fbBE25f71C9282ddf5e1cD6D6A887483D5e", "Tether USD", "1", "usdt"),
  T(2, "flare", "eip155:14", "0xe7cd86e13AC4309349F30B3435a9d337750fC82D", "USD\u20AE0", "1", "usdt0"),
  T(2, "base-sepolia", "eip155:84532", TEST_TOKEN, "Test Token", "1", "test-token"),
];
const chainIdOf = (network) => (network.startsWith("eip155:") ? Number(network.slice(7)) : EVM_NETWORK_CHAIN_ID_MAP[network]);
const v1NameOf = (chainId) => Object.keys(EVM_NETWORK_CHAIN_ID_MAP).find((k) => EVM_NETWORK_CHAIN_ID_MAP[k] === chainId);
const otherNetwork = (ver, network) =>
  ver === 1 ? (network === "base" ? "base-sepolia" : "base") : network === "eip155:8453" ? "eip155:84532" : "eip155:8453";
const RESOURCE = { url: "https://api.example.com/premium-data", description: "Premium data", mimeType: "application/json" };

function requirements(ver, t, o) {
  const common = { scheme: "exact", network: t.network };
  const extra = { name: t.name, version: t.version };
  return ver === 1
    ? { ...common, maxAmountRequired: o.amount, resource: RESOURCE.url, description: RESOURCE.description,
        mimeType: RESOURCE.mimeType, payTo: o.payTo, maxTimeoutSeconds: o.maxTimeoutSeconds, asset: t.asset, extra }
    : { ...common, amount: o.amount, asset: t.asset, payTo: o.payTo, maxTimeoutSeconds: o.maxTimeoutSeconds, extra };
}

// The official client: x402Client.createPaymentPayload(PaymentRequired), clock set to `at`.
async function officialClientPay(ver, account, req, at) {
  const client = new x402Client();
  registerClient(client, { signer: account });
  client.setSpendControls(false); // allow the non-default test token / amounts
  const paymentRequired = ver === 1
    ? { x402Version: 1, error: "X-PAYMENT header is required", accepts: [req] }
    : { x402Version: 2, error: "Payment required", resource: RESOURCE, accepts: [req] };
  clock = at;
  try { return clone(await client.createPaymentPayload(paymentRequired)); } finally { clock = NOW; }
}

// Builds one signed request. o: {amount, payTo, maxTimeoutSeconds, at, account, sign (overrides for
// the requirements the client signs against), auth (explicit authorization fields -> the official
// ExactEvmSchemeV1.signAuthorization is used, for values the high-level client never produces)}.
async function pay(t, o = {}) {
  const ver = t.ver;
  o = { amount: pick(["1", "1000", "10000", "50000", "1000000", "250000000", (2n ** 128n).toString()]),
        payTo: newAddress(), maxTimeoutSeconds: pick([30, 60, 300, 3600]), at: NOW, account: newAccount(), ...o };
  const req = requirements(ver, t, o);
  const signReq = { ...clone(req), ...(o.sign ?? {}) };
  if (ver === 1 && o.sign?.amount) { signReq.maxAmountRequired = o.sign.amount; delete signReq.amount; }
  let paymentPayload;
  if (!o.auth) paymentPayload = await officialClientPay(ver, o.account, signReq, o.at);
  else {
    const authorization = { from: o.account.address, to: getAddress(signReq.payTo), value: signReq.amount ?? signReq.maxAmountRequired,
      validAfter: "0", validBefore: String(o.at + signReq.maxTimeoutSeconds), nonce: rand32(), ...o.auth };
    const v1Req = { ...signReq, network: ver === 1 ? signReq.network : v1NameOf(chainIdOf(signReq.network)) };
    const signature = await new V1Client(o.account).signAuthorization(authorization, v1Req);
    const payload = { authorization, signature };
    paymentPayload = ver === 1 ? { x402Version: 1, scheme: "exact", network: signReq.network, payload }
                               : { x402Version: 2, payload, resource: RESOURCE, accepted: signReq };
  }
  // single fault: what the payload declares (v1 scheme/network, v2 `accepted`) matches the server's requirements
  if (ver === 2) paymentPayload.accepted = clone(req); else paymentPayload.network = req.network;
  const a = paymentPayload.payload.authorization;
  const digest = hashTypedData({
    domain: { name: signReq.extra.name, version: signReq.extra.version, chainId: chainIdOf(signReq.network), verifyingContract: getAddress(signReq.asset) },
    types: authorizationTypes, primaryType: "TransferWithAuthorization",
    message: { ...a, value: BigInt(a.value), validAfter: BigInt(a.validAfter), validBefore: BigInt(a.validBefore) },
  });
  return { request: { x402Version: ver, paymentPayload, paymentRequirements: req }, digest, signer: o.account.address };
}

// ---- signature surgery ----
const sigOf = (c) => c.request.paymentPayload.payload.signature;
const setSig = (c, s) => { c.request.paymentPayload.payload.signature = s; return c; };
const flipByte = (sig, byteIndex) => {
  const b = hexToBytes(sig); b[byteIndex] ^= 0x01 << (byteIndex % 8); return toHex(b);
};
const toYParity = (sig) => sig.slice(0, 130) + (parseInt(sig.slice(130), 16) - 27).toString(16).padStart(2, "0");
const highS = (sig) => {
  const s = BigInt(`0x${sig.slice(66, 130)}`), v = parseInt(sig.slice(130), 16);
  return sig.slice(0, 66) + (N - s).toString(16).padStart(64, "0") + (v === 27 ? "1c" : "1b");
};
// ERC-6492 wrapper: abi.encode(factory, factoryCalldata, innerSignature) ++ 0x6492...6492 (viem helper)
const erc6492Wrap = (sig, factory) =>
  serializeErc6492Signature({ address: factory, data: `0x5fbfb9cf${rand32().slice(2)}${"0".repeat(64)}`, signature: sig });
const req = (c) => c.request.paymentRequirements;
const accepted = (c) => c.request.paymentPayload.accepted; // v2 only
const both = (c, f) => { f(req(c)); if (c.request.x402Version === 2) f(accepted(c)); return c; };

// ---- reason strings (@x402/evm dist/esm/chunk-VEDHRFNU.mjs, src/exact/facilitator/errors.ts) ----
const R = {
  scheme: "invalid_exact_evm_scheme", network: "invalid_exact_evm_network_mismatch",
  domain: "invalid_exact_evm_missing_eip712_domain", recipient: "invalid_exact_evm_recipient_mismatch",
  sig: "invalid_exact_evm_signature", before: "invalid_exact_evm_payload_authorization_valid_before",
  after: "invalid_exact_evm_payload_authorization_valid_after",
  valueV1: "invalid_exact_evm_authorization_value", valueV2: "invalid_exact_evm_payload_authorization_value_mismatch",
  factory: "eip6492_factory_not_allowed",
};
// Legacy `x402` npm package (1.2.0, src/schemes/exact/evm/facilitator.ts), v1 only; undefined = depends on chain.
const L = { sig: "invalid_exact_evm_payload_signature", recipient: "invalid_exact_evm_payload_recipient_mismatch",
  before: "invalid_exact_evm_payload_authorization_valid_before", after: "invalid_exact_evm_payload_authorization_valid_after",
  value: "invalid_exact_evm_payload_authorization_value" };

// ---- case kinds: [kind, local, v1 reason, v2 reason, legacy v1 reason, build, official override, note] ----
// `official` is what @x402/evm's verify returns in the stub-chain replay when it differs from local/reason.
const K = (kind, local, v1, v2, legacy, build, official, note) => ({ kind, local, v1, v2, legacy, build, official, note });
const KINDS = [
  K("valid", "valid", null, null, null, (t) => pay(t)),
  K("valid", "valid", null, null, null, (t) => pay(t)),
  K("valid", "valid", null, null, null, (t) => pay(t)),
  K("valid-v-0-1", "valid", null, null, undefined, async (t) => { const c = await pay(t); return setSig(c, toYParity(sigOf(c))); },
    undefined, "v rewritten 27/28 -> 0/1; @x402/evm's simulation/settle would pass yParity 0/1 to the (v,r,s) overload, which FiatToken's ECRecover rejects: normalise to 27/28 before settling"),
  K("valid-lowercase-addresses", "valid", null, null, null, async (t) => {
    const c = await pay(t), a = c.request.paymentPayload.payload.authorization;
    a.from = a.from.toLowerCase(); a.to = a.to.toLowerCase();
    return both(c, (r) => { r.payTo = r.payTo.toLowerCase(); r.asset = r.asset.toLowerCase(); });
  }),
  K("valid-hex-authorization-numbers", "valid", null, null, undefined, async (t) => {
    const c = await pay(t), a = c.request.paymentPayload.payload.authorization;
    for (const f of ["value", "validAfter", "validBefore"]) a[f] = "0x" + BigInt(a[f]).toString(16);
    return c;
  }, undefined, "the spec allows 0x-hex for value/validAfter/validBefore; @x402/evm parses them with BigInt()"),
  K("valid-valid-before-now-plus-6", "valid", null, null, null, (t) => pay(t, { maxTimeoutSeconds: 6 })),
  K("valid-valid-after-equals-now", "valid", null, null, null, (t) =>
    t.ver === 1 ? pay(t, { at: NOW + 600, maxTimeoutSeconds: 60 }) : pay(t, { auth: { validAfter: String(NOW) } })),
  K("wrong-key", "invalid", R.sig, R.sig, L.sig, async (t) => {
    const c = await pay(t), other = newAccount(), a = c.request.paymentPayload.payload.authorization;
    const sig = await new V1Client(other).signAuthorization(a, { ...req(c), network: t.ver === 1 ? t.network : v1NameOf(chainIdOf(t.network)) });
    return { ...setSig(c, sig), signer: other.address };
  }),
  K("flipped-r-byte", "invalid", R.sig, R.sig, L.sig, async (t) => { const c = await pay(t); return setSig(c, flipByte(sigOf(c), pick([0, 7, 19, 31]))); }),
  K("flipped-s-byte", "invalid", R.sig, R.sig, L.sig, async (t) => { const c = await pay(t); return setSig(c, flipByte(sigOf(c), pick([32, 40, 51, 63]))); }),
  K("edited-nonce-after-signing", "invalid", R.sig, R.sig, L.sig, async (t) => {
    const c = await pay(t); c.request.paymentPayload.payload.authorization.nonce = rand32(); return c;
  }),
  K("edited-value-after-signing", "invalid", R.sig, R.sig, L.sig, async (t) => {
    const c = await pay(t, { amount: "10000" });
    c.request.paymentPayload.payload.authorization.value = "1";
    return both(c, (r) => { if ("amount" in r) r.amount = "1"; else r.maxAmountRequired = "1"; });
  }),
  K("recipient-mismatch", "invalid", R.recipient, R.recipient, L.recipient, (t) => pay(t, { sign: { payTo: newAddress() } })),
  K("value-below-required", "invalid", R.valueV1, R.valueV2, L.value, (t) => pay(t, { amount: "10000", sign: { amount: "9999" } })),
  K("value-above-required", "unjudged", null, null, null, (t) => pay(t, { amount: "10000", sign: { amount: "10001" } }),
    { 1: R.valueV1, 2: R.valueV2 }, "@x402/evm requires value == amount; the legacy x402 package and some facilitators accept value >= amount"),
  K("valid-before-in-past", "invalid", R.before, R.before, L.before, (t) => pay(t, { at: NOW - 400, maxTimeoutSeconds: 300 })),
  K("valid-before-equals-now", "invalid", R.before, R.before, L.before, (t) => pay(t, { at: NOW - 60, maxTimeoutSeconds: 60 })),
  K("valid-before-within-6s", "invalid", R.before, R.before, L.before, (t) => pay(t, { maxTimeoutSeconds: 5 })),
  K("valid-after-in-future", "invalid", R.after, R.after, L.after, (t) =>
    t.ver === 1 ? pay(t, { at: NOW + 700, maxTimeoutSeconds: 60 }) : pay(t, { auth: { validAfter: String(NOW + 100) } })),
  K("network-mismatch", "invalid", R.network, R.network, L.sig, async (t) => {
    const c = await pay(t), other = otherNetwork(t.ver, t.network);
    if (t.ver === 1) c.request.paymentPayload.network = other; else accepted(c).network = other;
    return c;
  }),
  K("network-mismatch-unknown-payload-network", "invalid", R.network, R.network, "invalid_network", async (t) => {
    const c = await pay(t);
    if (t.ver === 1) c.request.paymentPayload.network = "arbitrum"; else accepted(c).network = "eip155:999999";
    return c;
  }),
  K("payload-scheme-not-exact", "invalid", R.scheme, R.scheme, "unsupported_scheme", async (t) => {
    const c = await pay(t);
    if (t.ver === 1) c.request.paymentPayload.scheme = "upto"; else accepted(c).scheme = "upto";
    return c;
  }),
  K("requirements-scheme-not-exact", "unjudged", null, null, "invalid_scheme", async (t) => {
    const c = await pay(t);
    if (t.ver === 1) c.request.paymentPayload.scheme = "upto";
    return both(c, (r) => { r.scheme = "upto"; });
  }, "throws", "no facilitator registered for scheme upto: not an exact-scheme payment"),
  K("missing-extra-name", "invalid", R.domain, R.domain, undefined, async (t) => both(await pay(t), (r) => { delete r.extra.name; })),
  K("missing-extra-version", "invalid", R.domain, R.domain, undefined, async (t) => both(await pay(t), (r) => { delete r.extra.version; })),
  K("missing-extra", "invalid", R.domain, R.domain, undefined, async (t) => both(await pay(t), (r) => { delete r.extra; })),
  K("signed-for-other-chain", "invalid", R.sig, R.sig, L.sig, (t) => pay(t, { sign: { network: otherNetwork(t.ver, t.network) } })),
  K("signed-for-other-asset", "invalid", R.sig, R.sig, L.sig, (t) => pay(t, { sign: { asset: newAddress() } })),
  K("signed-with-other-domain-name", "invalid", R.sig, R.sig, L.sig, (t) =>
    pay(t, { sign: { extra: { name: t.name === "USDC" ? "USD Coin" : "USDC", version: t.version } } })),
  K("signed-with-other-domain-version", "invalid", R.sig, R.sig, L.sig, (t) =>
    pay(t, { sign: { extra: { name: t.name, version: t.version === "2" ? "1" : "2" } } })),
  K("high-s", "invalid", R.sig, R.sig, undefined, async (t) => { const c = await pay(t); return setSig(c, highS(sigOf(c))); },
    "valid", "s' = n - s, v flipped: recovers to the signer (viem/noble accept high s) so @x402/evm passes it locally, but FiatToken's ECRecover rejects s > n/2 on chain"),
  K("signature-64-bytes", "invalid", R.sig, R.sig, undefined, async (t) => { const c = await pay(t); return setSig(c, sigOf(c).slice(0, 130)); }),
  K("signature-32-bytes", "invalid", R.sig, R.sig, undefined, async (t) => { const c = await pay(t); return setSig(c, sigOf(c).slice(0, 66)); }),
  K("signature-empty", "invalid", R.sig, R.sig, undefined, async (t) => setSig(await pay(t), "0x")),
  K("signature-non-hex", "invalid", R.sig, R.sig, undefined, async (t) => { const c = await pay(t); return setSig(c, sigOf(c).slice(0, 100) + "zz" + sigOf(c).slice(102)); }),
  K("signature-without-0x-prefix", "invalid", R.sig, R.sig, undefined, async (t) => { const c = await pay(t); return setSig(c, sigOf(c).slice(2)); }),
  K("signature-uppercase-hex", "valid", null, null, undefined, async (t) => { const c = await pay(t); return setSig(c, "0x" + sigOf(c).slice(2).toUpperCase()); }),
  K("signature-0X-prefix", "invalid", R.sig, R.sig, undefined, async (t) => { const c = await pay(t); return setSig(c, "0X" + sigOf(c).slice(2)); },
    undefined, "the spec allows a 0X prefix, but @x402/evm only strips a lower-case 0x, so the length check fails"),
  K("signature-bad-v", "invalid", R.sig, R.sig, undefined, async (t) => { const c = await pay(t); return setSig(c, sigOf(c).slice(0, 130) + pick(["1d", "02", "25", "ff"])); }),
  K("signature-zero-r-s", "invalid", R.sig, R.sig, undefined, async (t) => { const c = await pay(t); return setSig(c, "0x" + "0".repeat(128) + "1b"); }),
  K("signature-erc6492-wrapped", "unjudged", null, null, undefined, async (t) => { const c = await pay(t); return setSig(c, erc6492Wrap(sigOf(c), newAddress())); },
    R.factory, "ERC-6492 counterfactual smart wallet: needs chain state (code at payer, factory allow-list)"),
  K("signature-longer-than-65-bytes", "unjudged", null, null, undefined, async (t) => { const c = await pay(t); return setSig(c, sigOf(c) + sigOf(c).slice(2)); },
    R.sig, "ERC-1271 smart-wallet signature: valid only if `from` is a contract that accepts it (replay assumed an EOA)"),
  K("unknown-network", "unjudged", null, null, "invalid_scheme", async (t) => {
    if (t.ver === 2) return pay({ ...t, network: "eip155:999999" });
    const c = await pay(t); c.request.paymentPayload.network = "arbitrum"; return both(c, (r) => { r.network = "arbitrum"; });
  }, { 1: "throws", 2: "valid" }, "network unknown to the local verifier"),
];

// ---- hex and field edges: forms of one field that the official verifier reads or refuses ----
// Generated after every other case (see `EDGE_TARGETS` below), so adding them left the cases above byte for byte as
// they were. `from`/`to` go through viem's strict isAddress (lower case, or the exact EIP-55 checksum); `payTo` and
// `asset` through getAddress (any case, but a lower-case 0x); the nonce through viem's bytes32 size check.
const flipCase = (addr) => {
  const d = addr.slice(2), i = d.search(/[a-fA-F]/), c = d[i];
  return "0x" + d.slice(0, i) + (c === c.toLowerCase() ? c.toUpperCase() : c.toLowerCase()) + d.slice(i + 1);
};
const authOf = (c) => c.request.paymentPayload.payload.authorization;
const payloadOf = (c) => c.request.paymentPayload.payload;
const edit = (f) => async (t) => { const c = await pay(t); f(c); return c; };
const EDGE_KINDS = [
  K("from-0X-prefix", "invalid", R.sig, R.sig, undefined, edit((c) => { authOf(c).from = "0X" + authOf(c).from.slice(2); })),
  K("from-uppercase-hex", "invalid", R.sig, R.sig, undefined, edit((c) => { authOf(c).from = "0x" + authOf(c).from.slice(2).toUpperCase(); })),
  K("from-wrong-checksum", "invalid", R.sig, R.sig, undefined, edit((c) => { authOf(c).from = flipCase(authOf(c).from); })),
  K("from-without-0x-prefix", "invalid", R.sig, R.sig, undefined, edit((c) => { authOf(c).from = authOf(c).from.slice(2); })),
  K("from-uppercase-hex-wrong-key", "invalid", R.sig, R.sig, undefined, async (t) => {
    const c = await pay(t), other = newAccount(), a = authOf(c);
    const sig = await new V1Client(other).signAuthorization(a, { ...req(c), network: t.ver === 1 ? t.network : v1NameOf(chainIdOf(t.network)) });
    a.from = "0x" + a.from.slice(2).toUpperCase();
    return { ...setSig(c, sig), signer: other.address };
  }),
  K("to-0X-prefix", "invalid", R.sig, R.sig, undefined, edit((c) => { authOf(c).to = "0X" + authOf(c).to.slice(2); })),
  K("to-uppercase-hex", "invalid", R.sig, R.sig, undefined, edit((c) => { authOf(c).to = "0x" + authOf(c).to.slice(2).toUpperCase(); })),
  K("to-wrong-checksum", "invalid", R.sig, R.sig, undefined, edit((c) => { authOf(c).to = flipCase(authOf(c).to); })),
  K("nonce-0X-prefix", "invalid", R.sig, R.sig, undefined, edit((c) => { authOf(c).nonce = "0X" + authOf(c).nonce.slice(2); })),
  K("nonce-without-0x-prefix", "invalid", R.sig, R.sig, undefined, edit((c) => { authOf(c).nonce = authOf(c).nonce.slice(2); })),
  K("nonce-uppercase-hex", "valid", null, null, undefined, edit((c) => { authOf(c).nonce = "0x" + authOf(c).nonce.slice(2).toUpperCase(); })),
  K("nonce-non-hex", "invalid", R.sig, R.sig, undefined, edit((c) => { const n = authOf(c).nonce; authOf(c).nonce = n.slice(0, 20) + "zz" + n.slice(22); })),
  K("nonce-31-bytes", "invalid", R.sig, R.sig, undefined, edit((c) => { authOf(c).nonce = authOf(c).nonce.slice(0, 64); })),
  K("nonce-33-bytes", "invalid", R.sig, R.sig, undefined, edit((c) => { authOf(c).nonce += "ab"; })),
  K("nonce-odd-length", "invalid", R.sig, R.sig, undefined, edit((c) => { authOf(c).nonce = authOf(c).nonce.slice(0, 65); })),
  K("nonce-empty", "invalid", R.sig, R.sig, undefined, edit((c) => { authOf(c).nonce = "0x"; })),
  K("nonce-number", "invalid", R.sig, R.sig, undefined, edit((c) => { authOf(c).nonce = 12345; })),
  K("nonce-null", "invalid", R.sig, R.sig, undefined, edit((c) => { authOf(c).nonce = null; })),
  K("nonce-missing", "invalid", R.sig, R.sig, undefined, edit((c) => { delete authOf(c).nonce; })),
  K("signature-missing", "invalid", R.sig, R.sig, undefined, edit((c) => { delete payloadOf(c).signature; }),
    "throws", "@x402/evm reads the signature as a string and throws; x402-rs refuses the body"),
  K("signature-null", "invalid", R.sig, R.sig, undefined, edit((c) => { payloadOf(c).signature = null; }),
    "throws", "@x402/evm reads the signature as a string and throws; x402-rs refuses the body"),
  K("signature-number", "invalid", R.sig, R.sig, undefined, edit((c) => { payloadOf(c).signature = 1; }),
    "throws", "@x402/evm reads the signature as a string and throws; x402-rs refuses the body"),
  K("pay-to-0X-prefix", "unjudged", null, null, undefined, async (t) => both(await pay(t), (r) => { r.payTo = "0X" + r.payTo.slice(2); }),
    "throws", "viem's getAddress takes any case but only a lower-case 0x"),
  K("pay-to-uppercase-hex", "valid", null, null, undefined, async (t) => both(await pay(t), (r) => { r.payTo = "0x" + r.payTo.slice(2).toUpperCase(); })),
  K("pay-to-wrong-checksum", "valid", null, null, undefined, async (t) => both(await pay(t), (r) => { r.payTo = flipCase(r.payTo); })),
  K("asset-0X-prefix", "unjudged", null, null, undefined, async (t) => both(await pay(t), (r) => { r.asset = "0X" + r.asset.slice(2); }),
    "throws", "viem's getAddress takes any case but only a lower-case 0x"),
  K("asset-uppercase-hex", "valid", null, null, undefined, async (t) => both(await pay(t), (r) => { r.asset = "0x" + r.asset.slice(2).toUpperCase(); })),
  K("asset-wrong-checksum", "valid", null, null, undefined, async (t) => both(await pay(t), (r) => { r.asset = flipCase(r.asset); })),
];
// One USDC deployment and the made-up token on each version: the edges are about text, not about domains.
const EDGE_TARGETS = TARGETS.filter((t) => t.slug === "base-sepolia" || (t.slug === "base" && t.ver === 2));

// ---- the x402 specification example (specs/schemes/exact/scheme_exact_evm.md, coinbase/x402) ----
const SPEC = {
  signature: "0x2d6a7588d6acca505cbf0d9a4a227e0c52c6c34008c8e8986a1283259764173608a2ce6496642e377d6da8dbbf5836e9bd15092f9ecab05ded3d6293af148b571c",
  authorization: { from: "0x857b06519E91e3A54538791bDbb0E22373e36b66", to: "0x209693Bc6afc0C5328bA36FaF03C514EF312287C", value: "10000",
    validAfter: "1740672089", validBefore: "1740672154", nonce: "0xf3746613c2d920b5fdabc0856f2aeb2d4f88ee6037b8cc5d04a71a4462f13480" },
};
const SPEC_DIGEST = "0xf256992871671abcb27ff92885a7afa46218724e5fc0bac35d050115aa1d22e6";
function specCases() {
  const t1 = TARGETS.find((t) => t.ver === 1 && t.slug === "base-sepolia" && t.symbol === "usdc");
  const t2 = TARGETS.find((t) => t.ver === 2 && t.slug === "base-sepolia" && t.symbol === "usdc");
  const o = { amount: "10000", payTo: SPEC.authorization.to, maxTimeoutSeconds: 60 };
  const r1 = requirements(1, t1, o), r2 = requirements(2, t2, o);
  const mk = (ver, r, paymentPayload) => ({ name: `v${ver}/base-sepolia/usdc/spec-example/0`, x402Version: ver, now: 1740672100,
    request: { x402Version: ver, paymentPayload, paymentRequirements: r }, digest: SPEC_DIGEST, signer: SPEC.authorization.from,
    expect: { local: "valid", reason: null, ...(ver === 1 ? { legacyReason: null } : {}) } });
  return [
    mk(1, r1, { x402Version: 1, scheme: "exact", network: "base-sepolia", payload: clone(SPEC) }),
    mk(2, r2, { x402Version: 2, payload: clone(SPEC), resource: RESOURCE, accepted: clone(r2) }),
  ];
}

// ---- generation ----
const cases = [];
const generate = async (targets, kinds) => {
  for (const t of targets) {
    for (const k of kinds) {
      const built = await k.build(t);
      const reason = k.local === "unjudged" ? null : t.ver === 1 ? k.v1 : k.v2;
      const official = k.official === undefined ? undefined : typeof k.official === "object" ? k.official[t.ver] : k.official;
      const expect = { local: k.local, reason };
      if (t.ver === 1 && k.legacy !== undefined) expect.legacyReason = k.legacy;
      if (official !== undefined) expect.official = official;
      if (k.note) expect.note = k.note;
      cases.push({ name: `v${t.ver}/${t.slug}/${t.symbol}/${k.kind}/${cases.length}`, x402Version: t.ver,
        request: built.request, digest: built.digest, signer: built.signer, expect });
    }
  }
};
await generate(TARGETS, KINDS);
cases.push(...specCases());
await generate(EDGE_TARGETS, EDGE_KINDS);

// ---- independent checks ----
const fail = (c, msg) => { console.error(`CHECK FAILED ${c.name}: ${msg}`); process.exitCode = 1; };
if (hashTypedData({ domain: { name: "USDC", version: "2", chainId: 84532, verifyingContract: "0x036CbD53842c5426634e7929541eC2318f3dCF7e" },
  types: authorizationTypes, primaryType: "TransferWithAuthorization",
  message: { ...SPEC.authorization, value: 10000n, validAfter: 1740672089n, validBefore: 1740672154n } }) !== SPEC_DIGEST)
  console.error("CHECK FAILED spec digest"), (process.exitCode = 1);

// 1. viem: valid cases recover (from the request's own domain and message) to the signer == authorization.from.
for (const c of cases) {
  const { paymentPayload: p, paymentRequirements: r } = c.request, a = p.payload.authorization;
  if (c.expect.local !== "valid") continue;
  const recovered = await recoverTypedDataAddress({
    domain: { name: r.extra.name, version: r.extra.version, chainId: chainIdOf(r.network), verifyingContract: getAddress(r.asset) },
    types: authorizationTypes, primaryType: "TransferWithAuthorization",
    message: { ...a, value: BigInt(a.value), validAfter: BigInt(a.validAfter), validBefore: BigInt(a.validBefore) },
    signature: p.payload.signature });
  if (getAddress(recovered) !== getAddress(c.signer) || getAddress(a.from) !== getAddress(c.signer)) fail(c, `recovered ${recovered}`);
  if (getAddress(await recoverAddress({ hash: c.digest, signature: p.payload.signature })) !== getAddress(c.signer)) fail(c, "digest/signer");
}

// 2. replay every case through the official facilitator (x402Facilitator + @x402/evm) with a stub chain.
const assets = new Set(cases.map((c) => c.request.paymentRequirements.asset?.toLowerCase()));
const stubChain = {
  getAddresses: () => ["0x00000000000000000000000000000000000FacE0"],
  getCode: async ({ address }) => (assets.has(address.toLowerCase()) ? "0x6080604052" : "0x"), // payer: EOA; asset: contract
  readContract: async () => undefined, // transferWithAuthorization simulation succeeds
  verifyTypedData: async () => { throw new Error("unused"); },
  writeContract: async () => { throw new Error("unused"); },
  sendTransaction: async () => { throw new Error("unused"); },
  waitForTransactionReceipt: async () => { throw new Error("unused"); },
};
const facilitator = new x402Facilitator();
registerFacilitator(facilitator, { signer: stubChain, networks: [...new Set(TARGETS.filter((t) => t.ver === 2).map((t) => t.network))] });
const tally = {};
for (const c of cases) {
  clock = c.now ?? NOW;
  let got;
  try {
    const res = await facilitator.verify(clone(c.request.paymentPayload), clone(c.request.paymentRequirements));
    got = res.isValid ? "valid" : res.invalidReason;
  } catch (e) { got = "throws"; }
  const want = c.expect.official ?? (c.expect.local === "valid" ? "valid" : c.expect.reason);
  if (got !== want) fail(c, `official verify returned ${got}, expected ${want}`);
  const kind = c.name.split("/")[3];
  tally[kind] ??= { v1: 0, v2: 0 }; tally[kind][`v${c.x402Version}`]++;
}
clock = NOW;
console.error(`${cases.length} cases`, JSON.stringify(tally));
if (process.exitCode) process.exit(process.exitCode);

const generator = `generator/generate.mjs with @x402/core@${pkgVersion("@x402/core")}, @x402/evm@${pkgVersion("@x402/evm")}, viem@${pkgVersion("viem")}`;
process.stdout.write(`{"generator":${JSON.stringify(generator)},"now":${NOW},"cases":[\n` +
  cases.map((c) => JSON.stringify(c)).join(",\n") + "\n]}\n");
