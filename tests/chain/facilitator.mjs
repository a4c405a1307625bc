// The official x402 facilitator (@x402/core's x402Facilitator with @x402/evm's exact scheme, v1 and v2) on the local
// chain, served over HTTP the way the official HTTPFacilitatorClient calls it (POST /verify, POST /settle,
// GET /supported), in the shape of the official example facilitator. Env: RPC_URL, PORT, FACILITATOR_KEY,
// CONFIRMATION_TIMEOUT_MS (how long a settle waits for its receipt), CRASH_FLAG (a file: when it exists at a settle,
// the process deletes it and kills itself right after broadcasting the transaction, before answering).
import fs from "node:fs";
import express from "express";
import { createWalletClient, http, publicActions } from "viem";
import { nonceManager, privateKeyToAccount } from "viem/accounts";
import { x402Facilitator } from "@x402/core/facilitator";
import { toFacilitatorEvmSigner } from "@x402/evm";
import { registerExactEvmScheme } from "@x402/evm/exact/facilitator";
import { localBaseSepolia } from "./lib/network.mjs";

const rpcUrl = process.env.RPC_URL;
const crashFlag = process.env.CRASH_FLAG;

// Concurrent settles need the nonce manager, or they race for the signer's transaction nonce.
const account = privateKeyToAccount(process.env.FACILITATOR_KEY, { nonceManager });
const wallet = createWalletClient({ account, chain: localBaseSepolia(rpcUrl), transport: http(rpcUrl) }).extend(publicActions);

const signer = toFacilitatorEvmSigner({
  address: account.address,
  getCode: (args) => wallet.getCode(args),
  readContract: (args) => wallet.readContract({ ...args, args: args.args || [] }),
  verifyTypedData: (args) => wallet.verifyTypedData(args),
  writeContract: async (args) => {
    const hash = await wallet.writeContract({ ...args, args: args.args || [] });
    if (crashFlag && fs.existsSync(crashFlag)) {
      fs.rmSync(crashFlag);
      process.kill(process.pid, "SIGKILL");
    }

    return hash;
  },
  sendTransaction: (args) => wallet.sendTransaction(args),
  waitForTransactionReceipt: (args) => wallet.waitForTransactionReceipt(args),
}, { confirmationTimeoutMs: Number(process.env.CONFIRMATION_TIMEOUT_MS ?? 30_000) });

const facilitator = new x402Facilitator();
registerExactEvmScheme(facilitator, { signer, networks: "eip155:84532" });

const counts = { verify: 0, settle: 0 };
const plain = (value) => JSON.parse(JSON.stringify(value, (_, v) => (typeof v === "bigint" ? v.toString() : v)));
const app = express();
app.use(express.json({ limit: "1mb" }));

for (const operation of ["verify", "settle"]) {
  app.post(`/${operation}`, async (request, response) => {
    counts[operation]++;
    const { paymentPayload, paymentRequirements } = request.body ?? {};
    if (!paymentPayload || !paymentRequirements) {
      return response.status(400).json({ error: "Missing paymentPayload or paymentRequirements" });
    }

    try {
      response.json(plain(await facilitator[operation](paymentPayload, paymentRequirements)));
    } catch (error) {
      response.status(500).json({ error: error instanceof Error ? error.message : "Unknown error" });
    }
  });
}

app.get("/supported", (_request, response) => response.json(facilitator.getSupported()));
app.get("/counts", (_request, response) => response.json(counts));

app.listen(Number(process.env.PORT), "127.0.0.1", () => console.log(`facilitator ${account.address} on ${process.env.PORT}`));
