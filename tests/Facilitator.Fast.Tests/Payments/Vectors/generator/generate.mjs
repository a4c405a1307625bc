// Generates ../seed-vectors.json: payments in the seed's /v1/verify shape {proof, requirements}
// (rest-api-websocket.md, seed-types.md) whose signature is viem's signTypedData of the EIP-3009
// TransferWithAuthorization (the types @x402/evm signs), plus tampered variants. Each case says what
// Facilitator.Fast's SeedPaymentTranslator must answer: either a seed error code, or the x402 v2 request it
// must produce, which this script builds by the README's translation rules and replays through the
// official x402Facilitator (@x402/evm exact, stub chain: payer = EOA, asset = contract, simulation succeeds).
// Any disagreement with a case's declared verdict aborts the run.
//
// Run:  cd generator && npm ci && node generate.mjs > ../seed-vectors.json
// Deterministic: keys, addresses and nonces come from keccak256(SEED:counter); the clock is fixed at NOW.
import { x402Facilitator } from "@x402/core/facilitator";
import { registerExactEvmScheme as registerFacilitator } from "@x402/evm/exact/facilitator";
import { authorizationTypes } from "@x402/evm";
import { getAddress, hashTypedData, keccak256, toHex, hexToBytes, recoverTypedDataAddress } from "viem";
import { privateKeyToAccount } from "viem/accounts";
import { readFileSync } from "node:fs";

const NOW = 1767225600; // 2026-01-01T00:00:00Z
const SEED = "facilitator-fast/seed-payment-vectors";
const PLACEHOLDER_RESOURCE = "urn:facilitator-fast:v1-verify";
const pkgVersion = (p) => JSON.parse(readFileSync(new URL(`./node_modules/${p}/package.json`, import.meta.url))).version;

let counter = 0;
const rand32 = () => keccak256(toHex(`${SEED}:${counter++}`));
let clock = NOW;
Date.now = () => clock * 1000;
const newAccount = () => privateKeyToAccount(rand32());
const newAddress = () => getAddress(`0x${rand32().slice(26)}`);
const clone = (o) => JSON.parse(JSON.stringify(o));

// The known-asset table's entries used here (@x402/evm DEFAULT_ASSETS).
const TARGETS = {
  "base-sepolia": { network: "eip155:84532", chainId: 84532, asset: "0x036CbD53842c5426634e7929541eC2318f3dCF7e", name: "USDC", version: "2", decimals: 6 },
  base: { network: "eip155:8453", chainId: 8453, asset: "0x833589fCD6eDb6E08f4c7C32D4f71b54bdA02913", name: "USD Coin", version: "2", decimals: 6 },
};

const toAtomic = (amount, decimals) => {
  const [whole, fraction = ""] = amount.split(".");
  return BigInt(whole + fraction.padEnd(decimals, "0"));
};
const domainOf = (t) => ({ name: t.name, version: t.version, chainId: t.chainId, verifyingContract: t.asset });

// A seed-shape body signed by `account`. o: amount/required (token units), payTo, to (signed and claimed
// payee), deadline, validAfter (signed; omitted from the proof unless showValidAfter), sign (overrides of what
// is signed: {to, amount, target}), proof/payload/requirements (overrides of the written fields).
async function pay(t, o = {}) {
  o = { amount: "1.00", account: newAccount(), payTo: newAddress(), deadline: NOW + 300, validAfter: 0, ...o };
  o.required ??= o.amount;
  o.to ??= o.payTo;
  const nonce = rand32();
  const signedTarget = o.sign?.target ?? t;
  const message = {
    from: o.account.address, to: o.sign?.to ?? o.to, value: toAtomic(o.sign?.amount ?? o.amount, t.decimals),
    validAfter: BigInt(o.validAfter), validBefore: BigInt(o.deadline), nonce,
  };
  const typed = { domain: domainOf(signedTarget), types: authorizationTypes, primaryType: "TransferWithAuthorization", message };
  const signature = await o.account.signTypedData(typed);
  const payload = { amount: o.amount, asset: t.asset, from: o.account.address, to: o.to, nonce, deadline: o.deadline };
  if (o.showValidAfter) payload.validAfter = o.validAfter;
  const body = {
    proof: { scheme: "exact", network: t.network, signature, payload: { ...payload, ...(o.payload ?? {}) }, ...(o.proof ?? {}) },
    requirements: { scheme: "exact", network: t.network, amount: o.required, asset: t.asset, payTo: o.payTo, ...(o.requirements ?? {}) },
  };
  return { body, signer: o.account.address, digest: hashTypedData(typed) };
}

// The x402 v2 request the translation rules give for a body that translates (README, "The seed's verify shape").
function translate(t, body) {
  const { proof, requirements: r } = body, p = proof.payload;
  const accepted = {
    scheme: "exact", network: t.network, amount: toAtomic(p.amount, t.decimals).toString(), asset: t.asset,
    payTo: getAddress(r.payTo), maxTimeoutSeconds: r.maxAge ?? 60, extra: { name: t.name, version: t.version },
  };
  const resource = { url: r.resource || PLACEHOLDER_RESOURCE, ...(r.description !== undefined ? { description: r.description } : {}) };
  const authorization = {
    from: getAddress(p.from), to: getAddress(p.to), value: accepted.amount, validAfter: String(p.validAfter ?? 0),
    validBefore: String(p.deadline), nonce: p.nonce.toLowerCase(),
  };
  return {
    x402Version: 2,
    paymentPayload: { x402Version: 2, resource, accepted: clone(accepted), payload: { signature: proof.signature.toLowerCase(), authorization } },
    paymentRequirements: accepted,
  };
}

const R = { sig: "invalid_exact_evm_signature", before: "invalid_exact_evm_payload_authorization_valid_before",
  after: "invalid_exact_evm_payload_authorization_valid_after" };
const flipByte = (sig, i) => { const b = hexToBytes(sig); b[i] ^= 0x01; return toHex(b); };
const refused = (code, status, ...fields) => ({ code, status, fields });
const other = (t) => (t === TARGETS.base ? TARGETS["base-sepolia"] : TARGETS.base);

// [kind, targets, build, expect]; expect: {local: "valid"} | {local: "invalid", check, official} | {refused}
const K = (kind, targets, build, expect, note) => ({ kind, targets, build, expect, note });
const BOTH = ["base-sepolia", "base"];
const KINDS = [
  K("valid", BOTH, (t) => pay(t, { requirements: { maxAge: 300, description: "Premium data", resource: "https://api.example.com/premium" } }),
    { local: "valid" }),
  K("valid-symbol-asset", BOTH, async (t) => {
    const c = await pay(t, { amount: "0.01", validAfter: NOW - 600, showValidAfter: true });
    c.body.proof.payload.asset = "USDC"; c.body.requirements.asset = "usdc"; c.body.proof.payload.validBefore = c.body.proof.payload.deadline;
    return c;
  }, { local: "valid" }),
  K("valid-overpayment", ["base-sepolia"], (t) => pay(t, { amount: "1.5", required: "1.25" }), { local: "valid" },
    "signed 1.5 against 1.25 required: accepted, and the x402 amount is the signed 1500000 (exact settles what was signed)"),
  K("valid-lowercase-addresses", ["base-sepolia"], async (t) => {
    const c = await pay(t, { amount: "0.000001" });
    const p = c.body.proof.payload;
    p.from = p.from.toLowerCase(); p.to = p.to.toLowerCase(); p.asset = p.asset.toLowerCase();
    c.body.requirements.payTo = c.body.requirements.payTo.toLowerCase();
    return c;
  }, { local: "valid" }),
  K("valid-large-amount", ["base"], (t) => pay(t, { amount: "1000000", required: "999999.999999" }), { local: "valid" }),
  K("wrong-signature", BOTH, async (t) => {
    const c = await pay(t), p = c.body.proof.payload, wrong = newAccount();
    c.body.proof.signature = await wrong.signTypedData({ domain: domainOf(t), types: authorizationTypes, primaryType: "TransferWithAuthorization",
      message: { from: p.from, to: p.to, value: toAtomic(p.amount, t.decimals), validAfter: 0n, validBefore: BigInt(p.deadline), nonce: p.nonce } });
    return c;
  }, { local: "invalid", check: "Signature", official: R.sig }),
  K("flipped-signature-byte", ["base-sepolia"], async (t) => {
    const c = await pay(t); c.body.proof.signature = flipByte(c.body.proof.signature, 10); return c;
  }, { local: "invalid", check: "Signature", official: R.sig }),
  K("signed-for-other-payee", ["base-sepolia"], (t) => pay(t, { sign: { to: newAddress() } }),
    { local: "invalid", check: "Signature", official: R.sig }, "payload.to equals payTo, but the signature authorizes another payee"),
  K("amount-raised-after-signing", ["base-sepolia"], (t) => pay(t, { sign: { amount: "0.50" } }),
    { local: "invalid", check: "Signature", official: R.sig }, "signed 0.50, claims the required 1.00"),
  K("signed-for-other-chain", BOTH, (t) => pay(t, { sign: { target: other(t) } }),
    { local: "invalid", check: "Signature", official: R.sig }, "signed under the other network's USDC domain"),
  K("expired", BOTH, (t) => pay(t, { deadline: NOW - 10, validAfter: NOW - 600, showValidAfter: true }),
    { local: "invalid", check: "ValidBefore", official: R.before }),
  K("not-yet-valid", ["base-sepolia"], (t) => pay(t, { validAfter: NOW + 3600, deadline: NOW + 7200, showValidAfter: true }),
    { local: "invalid", check: "ValidAfter", official: R.after }),
  K("wrong-payee", BOTH, (t) => pay(t, { to: newAddress() }), { refused: refused("REQUIREMENTS_NOT_MET", 422, "proof.payload.to") },
    "signed correctly, but to someone other than requirements.payTo"),
  K("amount-too-low", BOTH, (t) => pay(t, { amount: "0.99", required: "1.00" }), { refused: refused("INSUFFICIENT_AMOUNT", 402, "proof.payload.amount") }),
  K("network-mismatch", ["base-sepolia"], (t) => pay(t, { proof: { network: "eip155:8453" } }),
    { refused: refused("REQUIREMENTS_NOT_MET", 422, "proof.network") }),
  K("asset-mismatch", ["base-sepolia"], (t) => pay(t, { payload: { asset: newAddress() } }),
    { refused: refused("REQUIREMENTS_NOT_MET", 422, "proof.payload.asset") }),
  K("unknown-network", ["base-sepolia"], (t) => pay({ ...t, network: "eip155:999999", chainId: 999999 }),
    { refused: refused("UNSUPPORTED_NETWORK", 501, "requirements.network") }),
  K("v1-network-name", ["base-sepolia"], (t) => pay({ ...t, network: "base-sepolia" }),
    { refused: refused("UNSUPPORTED_NETWORK", 501, "requirements.network") }, "the seed's networks are CAIP-2 ids"),
  K("unknown-asset", ["base-sepolia"], async (t) => {
    const c = await pay(t), token = newAddress(); c.body.proof.payload.asset = token; c.body.requirements.asset = token; return c;
  }, { refused: refused("UNSUPPORTED_NETWORK", 501, "requirements.asset") }),
  K("scheme-upto", ["base-sepolia"], async (t) => {
    const c = await pay(t); c.body.proof.scheme = "upto"; c.body.requirements.scheme = "upto"; return c;
  }, { refused: refused("NOT_IMPLEMENTED", 501, "proof.scheme", "requirements.scheme") }),
  K("bad-nonce", ["base-sepolia"], async (t) => {
    const c = await pay(t); c.body.proof.payload.nonce = c.body.proof.payload.nonce.slice(0, 64); return c;
  }, { refused: refused("VALIDATION_ERROR", 400, "proof.payload.nonce") }, "31 bytes: not a bytes32"),
  K("signature-64-bytes", ["base-sepolia"], async (t) => {
    const c = await pay(t); c.body.proof.signature = c.body.proof.signature.slice(0, 130); return c;
  }, { refused: refused("VALIDATION_ERROR", 400, "proof.signature") }),
  K("valid-before-differs", ["base-sepolia"], async (t) => {
    const c = await pay(t); c.body.proof.payload.validBefore = c.body.proof.payload.deadline + 60; return c;
  }, { refused: refused("VALIDATION_ERROR", 400, "proof.payload.validBefore") }),
  K("too-many-decimals", ["base-sepolia"], async (t) => {
    const c = await pay(t); c.body.proof.payload.amount = "1.0000001"; return c;
  }, { refused: refused("VALIDATION_ERROR", 400, "proof.payload.amount") }),
  K("amount-as-number", ["base-sepolia"], async (t) => {
    const c = await pay(t); c.body.proof.payload.amount = 1; return c;
  }, { refused: refused("VALIDATION_ERROR", 400, "proof.payload.amount") }, "the seed's schema takes amounts as strings only"),
];

const cases = [];
for (const k of KINDS) {
  for (const slug of k.targets) {
    const t = TARGETS[slug];
    const built = await k.build(t);
    const expect = k.expect.refused ? { translation: k.expect.refused }
      : { translation: "ok", x402: translate(t, built.body), local: k.expect.local, check: k.expect.check ?? null, official: k.expect.official ?? "valid" };
    const c = { name: `seed/${slug}/${k.kind}/${cases.length}`, body: built.body, signer: built.signer, digest: k.expect.local === "valid" ? built.digest : null, expect };
    if (k.note) c.note = k.note;
    cases.push(c);
  }
}

// ---- independent checks ----
const fail = (c, msg) => { console.error(`CHECK FAILED ${c.name}: ${msg}`); process.exitCode = 1; };
const stubChain = {
  getAddresses: () => ["0x00000000000000000000000000000000000FacE0"],
  getCode: async ({ address }) => (Object.values(TARGETS).some((t) => t.asset.toLowerCase() === address.toLowerCase()) ? "0x6080604052" : "0x"),
  readContract: async () => undefined,
  verifyTypedData: async () => { throw new Error("unused"); },
  writeContract: async () => { throw new Error("unused"); },
  sendTransaction: async () => { throw new Error("unused"); },
  waitForTransactionReceipt: async () => { throw new Error("unused"); },
};
const facilitator = new x402Facilitator();
registerFacilitator(facilitator, { signer: stubChain, networks: Object.values(TARGETS).map((t) => t.network) });
for (const c of cases) {
  if (c.expect.translation !== "ok") continue;
  const { paymentPayload: p, paymentRequirements: r } = c.expect.x402, a = p.payload.authorization;
  // 1. viem recovers the signer of each valid case from the translated request's own domain and message.
  if (c.expect.local === "valid") {
    const recovered = await recoverTypedDataAddress({
      domain: { name: r.extra.name, version: r.extra.version, chainId: Number(r.network.slice(7)), verifyingContract: r.asset },
      types: authorizationTypes, primaryType: "TransferWithAuthorization",
      message: { ...a, value: BigInt(a.value), validAfter: BigInt(a.validAfter), validBefore: BigInt(a.validBefore) },
      signature: p.payload.signature });
    if (getAddress(recovered) !== getAddress(c.signer)) fail(c, `recovered ${recovered}`);
  }
  // 2. the official facilitator judges the translated request as declared.
  clock = NOW;
  const res = await facilitator.verify(clone(p), clone(r));
  const got = res.isValid ? "valid" : res.invalidReason;
  if (got !== c.expect.official) fail(c, `official verify returned ${got}, expected ${c.expect.official}`);
}
console.error(`${cases.length} cases`);
if (process.exitCode) process.exit(process.exitCode);

const generator = `generator/generate.mjs with @x402/core@${pkgVersion("@x402/core")}, @x402/evm@${pkgVersion("@x402/evm")}, viem@${pkgVersion("viem")}`;
process.stdout.write(`{"generator":${JSON.stringify(generator)},"now":${NOW},"cases":[\n` +
  cases.map((c) => JSON.stringify(c)).join(",\n") + "\n]}\n");
