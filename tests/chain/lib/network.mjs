// Loopback plumbing shared by the chain suite: free ports, JSON-RPC, polling with a deadline, anvil's dev accounts.
import net from "node:net";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { defineChain } from "viem";
import { baseSepolia } from "viem/chains";

export const SUITE = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
export const REPOSITORY = path.resolve(SUITE, "..", "..");
export const CHAIN_ID = 84532;

/** Base Sepolia's USDC address: the official packages price "$0.01" on eip155:84532 in this token. */
export const USDC = "0x036CbD53842c5426634e7929541eC2318f3dCF7e";
export const MULTICALL3 = "0xcA11bde05977b3631167028862bE2a173976CA11";

/** anvil's dev accounts (mnemonic "test test ... junk"): well known, funded with ETH, never used off this machine. */
export const ACCOUNTS = {
  primaryFacilitator: { address: "0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266", key: "0xac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80" },
  payer: { address: "0x70997970C51812dc3A010C7d01b50e0d17dc79C8", key: "0x59c6995e998f97a5a0044966f0945389dc9e86dae88c7a8412f4603b6b78690d" },
  payee: { address: "0x3C44CdDdB6a900fa2b585dd299e03d12FA4293BC", key: "0x5de4111afa1a4b94908f83103eb1f1706367c2e68ca870fc3fb9a804cdab365a" },
  poorPayer: { address: "0x90F79bf6EB2c4f870365E785982E1f101E93b906", key: "0x7c852118294e51e653712a81e05800f419141751be58f605c371e15141b007a6" },
  backupFacilitator: { address: "0x15d34AAf54267DB7D7c367839AAf71A00a2C6A65", key: "0x47e179ec197488593b187f80a00eb0da91f1b9d0b13f8733639f19c30a34926a" },
};

/** Base Sepolia as viem knows it, with its RPC pointed at the local chain. */
export function localBaseSepolia(rpcUrl) {
  return defineChain({ ...baseSepolia, rpcUrls: { default: { http: [rpcUrl] } } });
}

/** A port the kernel says is free on 127.0.0.1. */
export function freePort() {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const { port } = server.address();
      server.close(() => resolve(port));
    });
  });
}

export async function rpc(url, method, params = []) {
  const response = await fetch(url, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ jsonrpc: "2.0", id: 1, method, params }),
  });
  const answer = await response.json();
  if (answer.error) {
    throw new Error(`${method}: ${JSON.stringify(answer.error)}`);
  }

  return answer.result;
}

/** Polls until `condition` returns something truthy, failing after `timeoutMs`. */
export async function eventually(condition, what, timeoutMs = 20_000) {
  const deadline = Date.now() + timeoutMs;
  let last;
  while (Date.now() < deadline) {
    try {
      const value = await condition();
      if (value) {
        return value;
      }
    } catch (error) {
      last = error;
    }

    await new Promise((resolve) => setTimeout(resolve, 50));
  }

  throw new Error(`timed out waiting until ${what}${last ? `: ${last.message}` : ""}`);
}

export const nowSeconds = () => Math.floor(Date.now() / 1000);
