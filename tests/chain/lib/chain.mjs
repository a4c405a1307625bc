// The local chain: anvil as "Base Sepolia" (chain id 84532), the test token compiled with solc-js and put at Base
// Sepolia's USDC address, Multicall3 at its canonical address, and what the tests read from the chain.
import crypto from "node:crypto";
import fs from "node:fs";
import path from "node:path";
import { createRequire } from "node:module";
import solc from "solc";
import { createPublicClient, createWalletClient, getAddress, http, parseAbiItem } from "viem";
import { privateKeyToAccount } from "viem/accounts";
import { ACCOUNTS, CHAIN_ID, MULTICALL3, SUITE, USDC, freePort, localBaseSepolia, rpc } from "./network.mjs";
import { LOGS, start } from "./processes.mjs";

const require = createRequire(import.meta.url);

/** anvil's own binary from its platform package (not the node wrapper), so the process id is anvil's. */
function anvilBinary() {
  const arch = process.arch === "x64" ? "amd64" : process.arch;
  return require.resolve(`@foundry-rs/anvil-${process.platform}-${arch}/bin/anvil`);
}

/** The token's runtime code and ABI, compiled once per source (cached by its hash under artifacts/chain). */
export function compileToken() {
  const source = fs.readFileSync(path.join(SUITE, "contracts", "TestUSDC.sol"), "utf8");
  const digest = crypto.createHash("sha256").update(source).update(solc.version()).digest("hex").slice(0, 16);
  const cached = path.join(LOGS, `TestUSDC-${digest}.json`);
  if (fs.existsSync(cached)) {
    return JSON.parse(fs.readFileSync(cached, "utf8"));
  }

  const input = {
    language: "Solidity",
    sources: { "TestUSDC.sol": { content: source } },
    settings: {
      optimizer: { enabled: true, runs: 200 },
      evmVersion: "cancun",
      outputSelection: { "TestUSDC.sol": { TestUSDC: ["abi", "evm.deployedBytecode.object"] } },
    },
  };
  const output = JSON.parse(solc.compile(JSON.stringify(input)));
  const errors = (output.errors ?? []).filter((e) => e.severity === "error");
  if (errors.length > 0) {
    throw new Error(errors.map((e) => e.formattedMessage).join("\n"));
  }

  const contract = output.contracts["TestUSDC.sol"].TestUSDC;
  const artifact = { abi: contract.abi, runtime: `0x${contract.evm.deployedBytecode.object}` };
  fs.mkdirSync(LOGS, { recursive: true });
  fs.writeFileSync(cached, JSON.stringify(artifact));
  return artifact;
}

/** Multicall3's runtime code: viem's creation code for it, run in an eth_call (the official facilitator needs it). */
async function multicall3Runtime(rpcUrl) {
  const file = path.join(path.dirname(require.resolve("viem/package.json")), "_esm", "constants", "contracts.js");
  const creation = fs.readFileSync(file, "utf8").match(/multicall3Bytecode\s*=\s*'(0x[0-9a-f]+)'/)?.[1];
  if (!creation) {
    throw new Error(`Multicall3's creation code was not found in ${file}`);
  }

  return rpc(rpcUrl, "eth_call", [{ data: creation }, "latest"]);
}

/** Starts anvil on a free port and sets up the token (funding the payer) and Multicall3. */
export async function startChain() {
  const port = await freePort();
  const rpcUrl = `http://127.0.0.1:${port}`;
  const process = await start("anvil", anvilBinary(), ["--host", "127.0.0.1", "--port", String(port), "--chain-id", String(CHAIN_ID)], {
    ready: async () => (await rpc(rpcUrl, "eth_chainId")) === `0x${CHAIN_ID.toString(16)}`,
  });
  const token = compileToken();
  await rpc(rpcUrl, "anvil_setCode", [USDC, token.runtime]);
  if ((await rpc(rpcUrl, "eth_getCode", [MULTICALL3, "latest"])) === "0x") {
    await rpc(rpcUrl, "anvil_setCode", [MULTICALL3, await multicall3Runtime(rpcUrl)]);
  }

  const chain = new Chain(rpcUrl, token.abi, process);
  await chain.mint(ACCOUNTS.payer.address, 1_000_000_000n);
  return chain;
}

/** What the tests ask of the chain: balances, authorization states, receipts and transfers. */
export class Chain {
  constructor(rpcUrl, abi, process) {
    this.rpcUrl = rpcUrl;
    this.abi = abi;
    this.process = process;
    this.client = createPublicClient({ chain: localBaseSepolia(rpcUrl), transport: http(rpcUrl) });
  }

  async mint(to, amount) {
    const wallet = createWalletClient({
      chain: localBaseSepolia(this.rpcUrl),
      transport: http(this.rpcUrl),
      account: privateKeyToAccount(ACCOUNTS.payee.key),
    });
    const hash = await wallet.writeContract({ address: USDC, abi: this.abi, functionName: "mint", args: [getAddress(to), amount] });
    const receipt = await this.client.waitForTransactionReceipt({ hash });
    if (receipt.status !== "success") {
      throw new Error(`mint to ${to} failed: ${hash}`);
    }
  }

  balanceOf(address) {
    return this.client.readContract({ address: USDC, abi: this.abi, functionName: "balanceOf", args: [getAddress(address)] });
  }

  /** Whether the token has spent (or cancelled) this authorization's nonce. */
  authorizationState(authorizer, nonce) {
    return this.client.readContract({ address: USDC, abi: this.abi, functionName: "authorizationState", args: [getAddress(authorizer), nonce] });
  }

  receipt(hash) {
    return this.client.getTransactionReceipt({ hash });
  }

  /** The token's Transfer events from `from` to `to` since `fromBlock`. */
  async transfers(from, to, fromBlock = 0n) {
    return this.client.getLogs({
      address: USDC,
      event: parseAbiItem("event Transfer(address indexed from, address indexed to, uint256 value)"),
      args: { from: getAddress(from), to: getAddress(to) },
      fromBlock,
      toBlock: "latest",
    });
  }

  blockNumber() {
    return this.client.getBlockNumber();
  }

  /** Stops mining (transactions wait in the mempool) or starts it again, as a congested chain would. */
  automine(enabled) {
    return rpc(this.rpcUrl, "evm_setAutomine", [enabled]);
  }

  mine() {
    return rpc(this.rpcUrl, "evm_mine", []);
  }
}
